//go:build cgo && linux

package memwatch

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// OpenGPU loads NVIDIA's NVML (libnvidia-ml.so.1, opened at run time) and finds
// the devices. Without the library, a working driver or a device, the error wraps
// [ErrNoGPU]. Options: [WithInterval] sets the sampling interval (default 10 ms).
// Close the GPU when done.
func OpenGPU(opts ...Option) (g GPU, err error) {
	defer func() {
		if r := recover(); r != nil {
			g, err = nil, fmt.Errorf("memwatch: %w: NVML failed: %v", ErrNoGPU, r)
		}
	}()
	n, err := openNVML(nvml.New(), newConfig(opts))
	if err != nil {
		return nil, err
	}
	return n, nil
}

var (
	_ GPU              = (*nvmlGPU)(nil)
	_ UsedMemoryReader = (*nvmlGPU)(nil)
)

// nvmlGPU implements GPU on NVML.
type nvmlGPU struct {
	lib      nvml.Interface
	devs     []nvml.Device
	info     GPUInfo
	interval time.Duration

	mu     sync.Mutex // guards run and closed
	run    *gpuRun
	closed bool
}

func openNVML(lib nvml.Interface, c config) (*nvmlGPU, error) {
	switch ret := lib.Init(); ret {
	case nvml.SUCCESS:
	case nvml.ERROR_LIBRARY_NOT_FOUND:
		return nil, fmt.Errorf("memwatch: %w: libnvidia-ml.so.1 not found (no NVIDIA driver)", ErrNoGPU)
	default:
		return nil, fmt.Errorf("memwatch: %w: NVML init: %v", ErrNoGPU, ret)
	}
	g := &nvmlGPU{lib: lib, interval: c.interval}
	if err := g.findDevices(); err != nil {
		lib.Shutdown()
		return nil, err
	}
	return g, nil
}

func (g *nvmlGPU) findDevices() error {
	n, ret := g.lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return fmt.Errorf("memwatch: %w: counting devices: %v", ErrNoGPU, ret)
	}
	if n == 0 {
		return fmt.Errorf("memwatch: %w: the driver reports no device", ErrNoGPU)
	}
	for i := range n {
		d, ret := g.lib.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			return fmt.Errorf("memwatch: %w: device %d: %v", ErrNoGPU, i, ret)
		}
		g.devs = append(g.devs, d)
	}
	g.info.Count = n
	g.info.Name, _ = g.devs[0].GetName()
	g.info.Driver, _ = g.lib.SystemGetDriverVersion()
	if m, ret := g.devs[0].GetMemoryInfo(); ret == nvml.SUCCESS {
		g.info.Memory = m.Total
	}
	if mw, ret := g.devs[0].GetEnforcedPowerLimit(); ret == nvml.SUCCESS {
		g.info.PowerLimitW = float64(mw) / 1000
	}
	return nil
}

func (g *nvmlGPU) Info() GPUInfo { return g.info }

// UsedMemory implements UsedMemoryReader.
func (g *nvmlGPU) UsedMemory() (uint64, error) {
	var sum uint64
	for i, d := range g.devs {
		m, ret := d.GetMemoryInfo()
		if ret != nvml.SUCCESS {
			return 0, fmt.Errorf("memwatch: GPU %d memory: %w", i, ret)
		}
		sum += m.Used
	}
	return sum, nil
}

func (g *nvmlGPU) StartCase(pid int) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.closed:
		return errors.New("memwatch: GPU closed")
	case g.run != nil:
		return fmt.Errorf("memwatch: GPU case of pid %d still running", g.run.pid)
	case pid <= 0:
		return fmt.Errorf("memwatch: invalid pid %d", pid)
	}
	r := newGPURun(g, pid)
	g.run = r
	go r.loop(g.interval)
	return nil
}

func (g *nvmlGPU) StopCase() (GPUCase, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.run == nil {
		return GPUCase{}, errors.New("memwatch: no GPU case running")
	}
	r := g.run
	g.run = nil
	return r.finish()
}

func (g *nvmlGPU) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	if g.run != nil {
		g.run.finish()
		g.run = nil
	}
	if ret := g.lib.Shutdown(); ret != nvml.SUCCESS {
		return fmt.Errorf("memwatch: NVML shutdown: %w", ret)
	}
	return nil
}

// gpuRun is one case: a goroutine samples until finish.
type gpuRun struct {
	g     *nvmlGPU
	pid   uint32
	start time.Time
	e0    []uint64 // energy counters at the start, mJ
	e0ok  []bool
	stop  chan struct{}
	done  chan struct{}

	// Written by sample, which runs in one goroutine at a time (newGPURun,
	// then loop, then finish).
	noGraphics []bool   // the device does not list graphics processes
	peak       uint64   // largest sum over devices in one sample
	devPeak    []uint64 // largest on each device
	seen       []bool   // the pid held memory on the device
	notAvail   bool     // NVML listed the pid without a memory figure
	samples    int
	err        error             // first failed NVML call
	others     map[uint32]uint64 // other PIDs seen, largest memory: for the error
	lastT      time.Time
	lastW      []float64 // last power reading, W; <0 when unknown
	powerJ     []float64 // integrated power, J
}

func newGPURun(g *nvmlGPU, pid int) *gpuRun {
	n := len(g.devs)
	r := &gpuRun{
		g: g, pid: uint32(pid),
		e0: make([]uint64, n), e0ok: make([]bool, n),
		stop: make(chan struct{}), done: make(chan struct{}),
		noGraphics: make([]bool, n), seen: make([]bool, n), devPeak: make([]uint64, n),
		others: map[uint32]uint64{},
		lastW:  make([]float64, n), powerJ: make([]float64, n),
	}
	for i, d := range g.devs {
		r.lastW[i] = -1
		e, ret := d.GetTotalEnergyConsumption()
		r.e0[i], r.e0ok[i] = e, ret == nvml.SUCCESS
	}
	r.start = time.Now()
	r.sample(r.start)
	return r
}

func (r *gpuRun) loop(interval time.Duration) {
	defer close(r.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case now := <-t.C:
			r.sample(now)
		}
	}
}

// sample reads the pid's memory and the power of every device once.
func (r *gpuRun) sample(now time.Time) {
	var total uint64
	for i, d := range r.g.devs {
		procs, ret := d.GetComputeRunningProcesses()
		if ret != nvml.SUCCESS && ret != nvml.ERROR_NOT_SUPPORTED {
			r.fail(fmt.Errorf("GPU %d compute processes: %w", i, ret))
		}
		if !r.noGraphics[i] {
			gp, ret := d.GetGraphicsRunningProcesses()
			switch ret {
			case nvml.SUCCESS:
				procs = append(procs, gp...)
			case nvml.ERROR_NOT_SUPPORTED:
				r.noGraphics[i] = true
			default:
				r.fail(fmt.Errorf("GPU %d graphics processes: %w", i, ret))
			}
		}
		// A process listed as compute and graphics ("C+G") holds one amount.
		var mine uint64
		for _, p := range procs {
			mem := p.UsedGpuMemory
			unknown := mem == ^uint64(0)
			if unknown {
				mem = 0
			}
			if p.Pid != r.pid {
				r.others[p.Pid] = max(r.others[p.Pid], mem)
				continue
			}
			r.seen[i] = true
			r.notAvail = r.notAvail || unknown
			mine = max(mine, mem)
		}
		total += mine
		r.devPeak[i] = max(r.devPeak[i], mine)

		if mw, ret := d.GetPowerUsage(); ret == nvml.SUCCESS {
			w := float64(mw) / 1000
			if r.lastW[i] >= 0 {
				r.powerJ[i] += (r.lastW[i] + w) / 2 * now.Sub(r.lastT).Seconds()
			}
			r.lastW[i] = w
		}
	}
	r.lastT = now
	r.peak = max(r.peak, total)
	r.samples++
}

func (r *gpuRun) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// finish stops the sampler, samples once more and reads the energy counters.
func (r *gpuRun) finish() (GPUCase, error) {
	close(r.stop)
	<-r.done
	// The counters first, next to the clock reading, as at the start.
	e1 := make([]uint64, len(r.g.devs))
	e1ok := make([]bool, len(r.g.devs))
	for i, d := range r.g.devs {
		e, ret := d.GetTotalEnergyConsumption()
		e1[i], e1ok[i] = e, ret == nvml.SUCCESS
	}
	end := time.Now()
	r.sample(end)
	c := GPUCase{PeakVRAM: r.peak, Duration: end.Sub(r.start), Samples: r.samples}
	for i := range r.g.devs {
		if r.seen[i] {
			c.Devices = append(c.Devices, i)
		}
	}
	seen := len(c.Devices) > 0
	if !seen {
		for i := range r.g.devs {
			c.Devices = append(c.Devices, i)
		}
	}
	counter, sampled := 0, 0
	for _, i := range c.Devices {
		c.PowerSampledJ += r.powerJ[i]
		d := DeviceUse{Index: i, PeakVRAM: r.devPeak[i]}
		if r.e0ok[i] && e1ok[i] && e1[i] >= r.e0[i] {
			d.EnergyJ = float64(e1[i]-r.e0[i]) / 1000
			counter++
		} else {
			d.EnergyJ = r.powerJ[i]
			sampled++
		}
		c.EnergyJ += d.EnergyJ
		c.PerDevice = append(c.PerDevice, d)
	}
	switch {
	case sampled == 0:
		c.EnergyMethod = "counter"
	case counter == 0:
		c.EnergyMethod = "power-sampled"
	default:
		c.EnergyMethod = "mixed"
	}
	if s := c.Duration.Seconds(); s > 0 {
		c.AvgPowerW = c.EnergyJ / s
	}
	switch {
	case r.err != nil:
		return c, fmt.Errorf("memwatch: GPU case of pid %d: %w", r.pid, r.err)
	case r.notAvail:
		return c, fmt.Errorf("memwatch: pid %d: NVML lists it without a memory figure (no permission, or another PID namespace): %w", r.pid, ErrNotOnGPU)
	case !seen:
		return c, fmt.Errorf("memwatch: pid %d: %w%s", r.pid, ErrNotOnGPU, r.othersText())
	}
	return c, nil
}

// othersText lists the PIDs that NVML did report, largest first, at most 8.
func (r *gpuRun) othersText() string {
	if len(r.others) == 0 {
		return " (NVML listed no process at all)"
	}
	pids := make([]uint32, 0, len(r.others))
	for p := range r.others {
		pids = append(pids, p)
	}
	slices.SortFunc(pids, func(a, b uint32) int { return cmp.Compare(r.others[b], r.others[a]) })
	var b strings.Builder
	b.WriteString(" (NVML listed pid")
	for k, p := range pids {
		if k == 8 {
			fmt.Fprintf(&b, " and %d more", len(pids)-k)
			break
		}
		fmt.Fprintf(&b, " %d: %d B;", p, r.others[p])
	}
	b.WriteString(" a PID from another namespace, as in a container, does not match)")
	return b.String()
}
