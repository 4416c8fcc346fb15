//go:build linux

// Command gpuproof checks memwatch's GPU figures against known allocations, on a
// machine with an NVIDIA GPU, python3 and PyTorch (Go is not needed there):
//
//	CGO_ENABLED=1 go build -o bin/gpuproof ./tools/gpuproof   # where Go is
//	bin/gpuproof [-alloc 4294967296] [-busy 2s]                     # on the GPU machine
//
// It starts a Python process that allocates GPU memory with torch on command and
// measures that process with memwatch:
//
//   - context: the process with a CUDA context and a 1-element tensor. NVML's
//     per-process figure minus torch's reserved memory is the CUDA context.
//   - alloc: torch.empty of -alloc bytes. NVML's increase must equal torch's
//     (within -tol).
//   - spike: -spike bytes more for 200 ms, then freed: the 10 ms sampler must see it.
//   - host: 1 GiB of host memory touched and freed: memwatch's RSS peak must see it.
//   - idle and busy: energy over 1 s idle and over -busy of bf16 matrix products;
//     the busy power must be well above idle and at most the power limit. The
//     sampler's own CPU cost is measured during the idle case.
//
// It prints every raw figure, then one PASS, FAIL or WARN (informational) line per
// check, and exits 1 if any check failed.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/llmbench/llmbench/memwatch"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout, os.Stderr, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gpuproof:", err)
		os.Exit(1)
	}
}

// script is the Python side: it answers each command on stdin with one line
// "ok …" once the work is done on the GPU.
const script = `
import sys, time, torch
dev = torch.device("cuda")
torch.zeros(1, device=dev)
torch.cuda.synchronize()
def say(*a):
    print(*a, flush=True)
say("ready", torch.cuda.memory_reserved())
held = []
a = b = None
for line in sys.stdin:
    f = line.split()
    if not f:
        continue
    if f[0] == "alloc":
        held.append(torch.empty(int(f[1]), dtype=torch.uint8, device=dev))
        torch.cuda.synchronize()
        say("ok", torch.cuda.memory_reserved())
    elif f[0] == "spike":
        x = torch.empty(int(f[1]), dtype=torch.uint8, device=dev)
        torch.cuda.synchronize()
        peak = torch.cuda.memory_reserved()
        time.sleep(float(f[2]))
        del x
        torch.cuda.empty_cache()
        torch.cuda.synchronize()
        say("ok", peak, torch.cuda.memory_reserved())
    elif f[0] == "host":
        h = b"\x01" * int(f[1])
        time.sleep(0.1)
        del h
        say("ok")
    elif f[0] == "prep":
        n = int(f[1])
        a = torch.randn(n, n, device=dev, dtype=torch.bfloat16)
        b = torch.randn(n, n, device=dev, dtype=torch.bfloat16)
        (a @ b)
        torch.cuda.synchronize()
        say("ok", torch.cuda.memory_reserved())
    elif f[0] == "busy":
        secs, n, k = float(f[1]), a.shape[0], 0
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < secs:
            for _ in range(20):
                c = a @ b
            k += 20
            torch.cuda.synchronize()
        el = time.perf_counter() - t0
        say("ok", k, el, 2 * n**3 * k / el / 1e12)
    elif f[0] == "quit":
        break
`

func run(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	fs := flag.NewFlagSet("gpuproof", flag.ContinueOnError)
	fs.SetOutput(stderr)
	python := fs.String("python", "python3", "Python with torch and CUDA")
	alloc := fs.Uint64("alloc", 4<<30, "bytes to allocate with torch.empty in the alloc case")
	spike := fs.Uint64("spike", 2<<30, "bytes allocated for 200 ms in the spike case")
	host := fs.Uint64("host", 1<<30, "bytes of host memory touched in the host case")
	busy := fs.Duration("busy", 2*time.Second, "length of the busy (matrix product) case")
	matrix := fs.Int("matrix", 8192, "side of the bf16 matrices multiplied in the busy case")
	interval := fs.Duration("interval", memwatch.DefaultInterval, "sampling interval")
	tol := fs.Float64("tol", 0.02, "relative tolerance of the memory checks")
	if err := fs.Parse(args); err != nil {
		return err
	}

	gpu, err := memwatch.OpenGPU(memwatch.WithInterval(*interval))
	if err != nil {
		fmt.Fprintln(stdout, memwatch.Notice(err))
		return err
	}
	defer gpu.Close()
	info := gpu.Info()
	fmt.Fprintf(stdout, "gpu: %s ×%d, driver %s, %s, power limit %.0f W\n",
		info.Name, info.Count, info.Driver, gib(info.Memory), info.PowerLimitW)
	used, _ := gpu.(memwatch.UsedMemoryReader)
	var used0 uint64
	if used != nil {
		used0, _ = used.UsedMemory()
		fmt.Fprintf(stdout, "device memory in use before: %s\n", gib(used0))
	}

	py, err := startPython(ctx, *python, stderr)
	if err != nil {
		return err
	}
	defer py.stop()
	ready, err := py.wait(3 * time.Minute) // importing torch can be slow
	if err != nil {
		return err
	}
	if len(ready) != 2 || ready[0] != "ready" {
		return fmt.Errorf("python said %q", ready)
	}
	r0 := atou(ready[1])
	pid := py.cmd.Process.Pid
	fmt.Fprintf(stdout, "python pid %d, torch reserved %d B after CUDA init\n", pid, r0)

	var checks []check
	add := func(name string, ok bool, format string, a ...any) {
		checks = append(checks, check{name: name, ok: ok, what: fmt.Sprintf(format, a...)})
	}
	warn := func(name string, ok bool, format string, a ...any) {
		checks = append(checks, check{name: name, ok: ok, soft: true, what: fmt.Sprintf(format, a...)})
	}
	measure := func(name string, during func() error) (memwatch.GPUCase, error) {
		if err := gpu.StartCase(pid); err != nil {
			return memwatch.GPUCase{}, err
		}
		derr := during()
		c, err := gpu.StopCase()
		if derr != nil {
			return c, derr
		}
		fmt.Fprintf(stdout, "case %s: peak %d B (%s), %d samples, %.1f J over %s = %.1f W (%s on GPUs %v; power readings give %.1f J)",
			name, c.PeakVRAM, gib(c.PeakVRAM), c.Samples, c.EnergyJ, c.Duration.Round(time.Millisecond), c.AvgPowerW,
			c.EnergyMethod, c.Devices, c.PowerSampledJ)
		if err != nil {
			fmt.Fprintf(stdout, "; error: %v", err)
		}
		fmt.Fprintln(stdout)
		return c, err
	}
	sleep := func(d time.Duration) func() error {
		return func() error { time.Sleep(d); return nil }
	}

	// context: NVML's figure for a process that holds only a CUDA context.
	c0, err := measure("context", sleep(300*time.Millisecond))
	if errors.Is(err, memwatch.ErrNotOnGPU) {
		add("per-process", false, "NVML does not report pid %d: %v", pid, err)
		// What the device as a whole shows instead.
		if f, err := py.do(fmt.Sprint("alloc ", *alloc), time.Minute); err == nil && used != nil {
			if u, err := used.UsedMemory(); err == nil {
				du, dt := int64(u)-int64(used0), int64(atou(f[1]))
				fmt.Fprintf(stdout, "device memory in use: +%d B since before python; torch reserved %d B\n", du, dt)
				warn("device-level", du > dt, "device memory grew by %s for torch's %s (the rest: CUDA context)", gib(uint64(max(du, 0))), gib(uint64(dt)))
			}
		}
		smi(ctx, stdout)
		return report(stdout, checks)
	} else if err != nil {
		return err
	}
	b0 := c0.PeakVRAM
	fmt.Fprintf(stdout, "CUDA context and driver overhead: NVML %d B - torch reserved %d B = %d B (%s)\n",
		b0, r0, int64(b0)-int64(r0), gib(b0-r0))
	add("context", b0 > r0 && b0-r0 < 4<<30, "NVML %s exceeds torch's %s by a plausible context (%s)", gib(b0), gib(r0), gib(b0-r0))

	// alloc: a known allocation.
	var r1 uint64
	c1, err := measure("alloc", func() error {
		f, err := py.do(fmt.Sprint("alloc ", *alloc), time.Minute)
		if err == nil {
			r1 = atou(f[1])
			time.Sleep(300 * time.Millisecond)
		}
		return err
	})
	if err != nil {
		return err
	}
	b1 := c1.PeakVRAM
	dn, dt := int64(b1)-int64(b0), int64(r1)-int64(r0)
	fmt.Fprintf(stdout, "alloc: torch.empty(%d): torch reserved %d B (+%d B); NVML %d B (+%d B); raw NVML - torch = %d B\n",
		*alloc, r1, dt, b1, dn, int64(b1)-int64(r1))
	add("alloc", near(dn, dt, *tol), "NVML increase %d B vs torch's %d B (%+.3f%%, tolerance %.1f%%)", dn, dt, pct(dn, dt), 100**tol)
	if used != nil {
		if u, err := used.UsedMemory(); err == nil {
			fmt.Fprintf(stdout, "device memory in use now: %s, +%s since before python (NVML per-process: %s)\n",
				gib(u), gib(u-used0), gib(b1))
		}
	}
	smi(ctx, stdout)

	// spike: a short-lived allocation must show in the peak.
	var sp uint64
	c2, err := measure("spike", func() error {
		f, err := py.do(fmt.Sprintf("spike %d 0.2", *spike), time.Minute)
		if err == nil {
			sp = atou(f[1])
			time.Sleep(100 * time.Millisecond)
		}
		return err
	})
	if err != nil {
		return err
	}
	ds, dts := int64(c2.PeakVRAM)-int64(b1), int64(sp)-int64(r1)
	add("spike", near(ds, dts, *tol), "200 ms spike: NVML peak +%d B vs torch +%d B (%+.3f%%)", ds, dts, pct(ds, dts))

	// host: memwatch's RSS peak of the same process.
	rss, err := memwatch.NewRSS(pid)
	if err != nil {
		return err
	}
	defer rss.Close()
	fmt.Fprintf(stdout, "rss-method: %s %s\n", rss.Method(), rss.Notice())
	if err := rss.Reset(); err != nil {
		return err
	}
	base, _ := rss.Current()
	if _, err := py.do(fmt.Sprint("host ", *host), time.Minute); err != nil {
		return err
	}
	peak, err := rss.Peak()
	if err != nil {
		return err
	}
	cur, _ := rss.Current()
	dh := int64(peak) - int64(base)
	fmt.Fprintf(stdout, "host: RSS %d B before, peak %d B, %d B after\n", base, peak, cur)
	add("host-rss", near(dh, int64(*host), 0.05), "RSS peak +%d B vs %d B touched (%+.3f%%, tolerance 5%%)", dh, *host, pct(dh, int64(*host)))

	// energy: idle, then busy.
	if _, err := py.do(fmt.Sprint("prep ", *matrix), time.Minute); err != nil {
		return err
	}
	cpu0, t0 := cpuTime(), time.Now()
	idle, err := measure("idle", sleep(time.Second))
	if err != nil {
		return err
	}
	overhead := 100 * (cpuTime() - cpu0).Seconds() / time.Since(t0).Seconds()
	fmt.Fprintf(stdout, "GPU sampler at %s: %.2f%% of one core (this process's CPU during the idle case)\n", *interval, overhead)
	var tflops string
	hot, err := measure("busy", func() error {
		f, err := py.do(fmt.Sprintf("busy %g", busy.Seconds()), time.Minute)
		if err == nil {
			tflops = fmt.Sprintf("%s products in %s s at %s TFLOP/s", f[1], f[2], f[3])
		}
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "busy: %s; %.1f J, %.1f W on average (idle %.1f W); power readings give %.1f J (%+.1f%%)\n",
		tflops, hot.EnergyJ, hot.AvgPowerW, idle.AvgPowerW, hot.PowerSampledJ, 100*(hot.PowerSampledJ/hot.EnergyJ-1))
	limit := info.PowerLimitW
	if limit == 0 {
		limit = 2000
	}
	add("energy", hot.EnergyMethod == "counter" && hot.AvgPowerW > 1.5*idle.AvgPowerW && hot.AvgPowerW <= 1.1*limit,
		"busy %.1f W vs idle %.1f W and limit %.0f W, from the %s", hot.AvgPowerW, idle.AvgPowerW, info.PowerLimitW, hot.EnergyMethod)
	warn("sampler-cpu", overhead < 1, "%.2f%% of one core at %s (target < 1%%)", overhead, *interval)

	py.do("quit", 0)
	return report(stdout, checks)
}

// check is one verdict. A soft check that misses prints WARN and fails nothing.
type check struct {
	name string
	ok   bool
	soft bool
	what string
}

func report(w io.Writer, checks []check) error {
	failed := 0
	for _, c := range checks {
		verdict := "PASS"
		switch {
		case c.ok:
		case c.soft:
			verdict = "WARN"
		default:
			verdict = "FAIL"
			failed++
		}
		fmt.Fprintf(w, "%s %s: %s\n", verdict, c.name, c.what)
	}
	fmt.Fprintf(w, "gpuproof: %d passed, %d failed\n", len(checks)-failed, failed)
	if failed > 0 {
		return fmt.Errorf("%d of %d checks failed", failed, len(checks))
	}
	return nil
}

// python is the running Python side.
type python struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan string
}

func startPython(ctx context.Context, exe string, stderr io.Writer) (*python, error) {
	cmd := exec.CommandContext(ctx, exe, "-u", "-c", script)
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", exe, err)
	}
	p := &python{cmd: cmd, in: in, lines: make(chan string)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	return p, nil
}

// wait returns the next line's fields.
func (p *python) wait(timeout time.Duration) ([]string, error) {
	select {
	case l, ok := <-p.lines:
		if !ok {
			return nil, errors.New("python exited (its error is above)")
		}
		return strings.Fields(l), nil
	case <-time.After(timeout):
		return nil, fmt.Errorf("python did not answer in %s", timeout)
	}
}

// do sends a command and waits for its "ok" (a zero timeout waits for nothing).
func (p *python) do(command string, timeout time.Duration) ([]string, error) {
	if _, err := fmt.Fprintln(p.in, command); err != nil {
		return nil, fmt.Errorf("python %q: %w", command, err)
	}
	if timeout == 0 {
		return nil, nil
	}
	f, err := p.wait(timeout)
	if err != nil {
		return nil, fmt.Errorf("python %q: %w", command, err)
	}
	if len(f) == 0 || f[0] != "ok" {
		return nil, fmt.Errorf("python %q answered %q", command, f)
	}
	return f, nil
}

func (p *python) stop() {
	p.in.Close()
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

// smi prints nvidia-smi's view of the compute processes, when it is installed.
func smi(ctx context.Context, w io.Writer) {
	out, err := exec.CommandContext(ctx, "nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader").CombinedOutput()
	if err != nil {
		return
	}
	fmt.Fprintf(w, "nvidia-smi compute apps: %s\n", strings.Join(strings.Fields(strings.ReplaceAll(string(out), "\n", ";")), " "))
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func atou(s string) uint64 {
	v, _ := strconv.ParseUint(s, 10, 64)
	return v
}

func gib(b uint64) string { return fmt.Sprintf("%.3f GiB", float64(b)/(1<<30)) }

func pct(got, want int64) float64 {
	if want == 0 {
		return 0
	}
	return 100 * (float64(got)/float64(want) - 1)
}

// near reports whether got is within tol (relative) of want, want > 0.
func near(got, want int64, tol float64) bool {
	if want <= 0 {
		return false
	}
	d := float64(got - want)
	return d <= tol*float64(want) && -d <= tol*float64(want)
}
