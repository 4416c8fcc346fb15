// Package memwatch measures what one benchmark case costs the process that runs
// the model: its exact peak resident memory, its peak GPU memory, and the GPU
// energy spent while the case ran.
//
// Which process: [FindDescendant] finds the worker a server started (an engine
// package says which command line is its runner's); [PIDByListenPort] finds a
// local server by its port. This package knows no engine.
//
// Peak RSS: an [RSS] watches one process. On Linux, where this process may write
// /proc/PID/clear_refs, [RSS.Reset] writes "5" there, which resets the kernel's
// high-water mark (VmHWM) to the current RSS, and [RSS.Peak] reads VmHWM: the
// exact peak since the reset, however short, at no cost between the two calls.
// Elsewhere (another user's process without root, a kernel before 4.0, a sandbox
// that refuses the write) it samples /proc/PID/statm in a goroutine, every 10 ms
// by default, and a peak shorter than the interval can be missed.
// [RSS.Method] names the method for a config line (`rss-method: vmhwm`).
//
// GPU: [OpenGPU] loads NVIDIA's NVML at run time (cgo, Linux). Between
// [GPU.StartCase] and [GPU.StopCase] it samples the per-process GPU memory of one
// PID on every device and reads each device's energy counter at both ends. On a
// machine without cgo, driver or device, OpenGPU returns an error wrapping
// [ErrNoGPU]: report no GPU metric at all then (never zeros), and print
// [Notice] once.
//
// A typical case:
//
//	pid, err := memwatch.FindDescendant(ctx, server.PID(), isRunner)
//	rss, err := memwatch.NewRSS(pid)      // config line: "rss-method: " + rss.Method()
//	defer rss.Close()
//	gpu, gerr := memwatch.OpenGPU()       // gerr wraps ErrNoGPU on a CPU machine:
//	                                      // print memwatch.Notice(gerr) once
//	rss.Reset()
//	if gpu != nil { gpu.StartCase(pid) }
//	… run the case …
//	peak, err := rss.Peak()               // wraps ErrExited if the runner died
//	b.ReportMetric(float64(peak), "peak-rss-B")
//	if gpu != nil {
//		g, err := gpu.StopCase()      // err wraps ErrNotOnGPU: report no vram
//		b.ReportMetric(float64(g.PeakVRAM), "peak-vram-B")
//		b.ReportMetric(g.EnergyJ/float64(tokens), "J/token")
//	}
package memwatch
