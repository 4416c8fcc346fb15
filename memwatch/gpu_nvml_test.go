//go:build cgo && linux

package memwatch

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const gib = 1 << 30

// fakeDev is a device whose processes the test sets, drawing a constant power.
type fakeDev struct {
	mu       sync.Mutex
	compute  []nvml.ProcessInfo
	graphics []nvml.ProcessInfo // nil: not supported
	watts    float64
	noEnergy bool
	born     time.Time
	*mock.Device
}

func newFakeDev(watts float64, procs ...nvml.ProcessInfo) *fakeDev {
	f := &fakeDev{compute: procs, watts: watts, born: time.Now()}
	f.Device = &mock.Device{
		GetComputeRunningProcessesFunc: func() ([]nvml.ProcessInfo, nvml.Return) {
			f.mu.Lock()
			defer f.mu.Unlock()
			return slices.Clone(f.compute), nvml.SUCCESS
		},
		GetGraphicsRunningProcessesFunc: func() ([]nvml.ProcessInfo, nvml.Return) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.graphics == nil {
				return nil, nvml.ERROR_NOT_SUPPORTED
			}
			return slices.Clone(f.graphics), nvml.SUCCESS
		},
		GetTotalEnergyConsumptionFunc: func() (uint64, nvml.Return) {
			if f.noEnergy {
				return 0, nvml.ERROR_NOT_SUPPORTED
			}
			return 5e9 + uint64(f.watts*time.Since(f.born).Seconds()*1000), nvml.SUCCESS
		},
		GetPowerUsageFunc: func() (uint32, nvml.Return) { return uint32(f.watts * 1000), nvml.SUCCESS },
		GetNameFunc:       func() (string, nvml.Return) { return "NVIDIA H100 80GB HBM3", nvml.SUCCESS },
		GetMemoryInfoFunc: func() (nvml.Memory, nvml.Return) {
			return nvml.Memory{Total: 80 * gib, Used: 6 * gib}, nvml.SUCCESS
		},
		GetEnforcedPowerLimitFunc: func() (uint32, nvml.Return) { return 700000, nvml.SUCCESS },
	}
	return f
}

func (f *fakeDev) set(procs ...nvml.ProcessInfo) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.compute = procs
}

// waitCalls waits until the sampler has listed f's processes n more times.
func (f *fakeDev) waitCalls(t *testing.T, n int) {
	t.Helper()
	want := len(f.GetComputeRunningProcessesCalls()) + n
	for deadline := time.Now().Add(10 * time.Second); len(f.GetComputeRunningProcessesCalls()) < want; time.Sleep(time.Millisecond) {
		require.False(t, time.Now().After(deadline), "sampler stalled")
	}
}

// fakeLib is NVML with the given devices; shutdowns counts Shutdown calls.
func fakeLib(init nvml.Return, devs ...*fakeDev) (*mock.Interface, *int) {
	shutdowns := new(int)
	return &mock.Interface{
		InitFunc:           func() nvml.Return { return init },
		ShutdownFunc:       func() nvml.Return { *shutdowns++; return nvml.SUCCESS },
		DeviceGetCountFunc: func() (int, nvml.Return) { return len(devs), nvml.SUCCESS },
		DeviceGetHandleByIndexFunc: func(i int) (nvml.Device, nvml.Return) {
			return devs[i], nvml.SUCCESS
		},
		SystemGetDriverVersionFunc: func() (string, nvml.Return) { return "580.159.04", nvml.SUCCESS },
	}, shutdowns
}

func proc(pid uint32, mem uint64) nvml.ProcessInfo {
	return nvml.ProcessInfo{Pid: pid, UsedGpuMemory: mem}
}

func openFake(t *testing.T, devs ...*fakeDev) *nvmlGPU {
	t.Helper()
	lib, _ := fakeLib(nvml.SUCCESS, devs...)
	g, err := openNVML(lib, newConfig([]Option{WithInterval(2 * time.Millisecond)}))
	require.NoError(t, err)
	t.Cleanup(func() { g.Close() })
	return g
}

func TestOpenNVMLNoGPU(t *testing.T) {
	for _, tc := range []struct {
		name string
		init nvml.Return
		devs []*fakeDev
		want string
	}{
		{"no-library", nvml.ERROR_LIBRARY_NOT_FOUND, nil, "libnvidia-ml.so.1 not found"},
		{"no-driver", nvml.ERROR_DRIVER_NOT_LOADED, nil, "NVML init"},
		{"no-device", nvml.SUCCESS, nil, "no device"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lib, shutdowns := fakeLib(tc.init, tc.devs...)
			g, err := openNVML(lib, newConfig(nil))
			require.ErrorIs(t, err, ErrNoGPU)
			assert.Nil(t, g)
			assert.Contains(t, err.Error(), tc.want)
			if tc.init == nvml.SUCCESS {
				assert.Equal(t, 1, *shutdowns, "NVML shut down after a failed open")
			}
		})
	}
}

func TestGPUInfo(t *testing.T) {
	g := openFake(t, newFakeDev(70), newFakeDev(70))
	assert.Equal(t, GPUInfo{Name: "NVIDIA H100 80GB HBM3", Driver: "580.159.04", Memory: 80 * gib, PowerLimitW: 700, Count: 2}, g.Info())
	used, err := g.UsedMemory()
	require.NoError(t, err)
	assert.Equal(t, uint64(12*gib), used)
}

// TestGPUCase: the peak is the largest sum over devices among the samples, a
// process listed as compute and graphics counts once, and the energy counts the
// devices where the process was (300 W), not the other one (100 W).
func TestGPUCase(t *testing.T) {
	const pid = 4242
	d0 := newFakeDev(300, proc(pid, 1*gib), proc(7, 5*gib))
	d0.graphics = []nvml.ProcessInfo{proc(pid, 1*gib)}
	d1 := newFakeDev(100, proc(7, 9*gib))
	g := openFake(t, d0, d1)

	require.NoError(t, g.StartCase(pid))
	assert.Error(t, g.StartCase(pid), "cases do not overlap")
	d0.waitCalls(t, 2)
	d0.set(proc(pid, 3*gib), proc(7, 5*gib)) // the peak
	d0.waitCalls(t, 2)
	d0.set(proc(pid, 1*gib))
	time.Sleep(200 * time.Millisecond) // long enough for ±15% on a loaded machine
	c, err := g.StopCase()
	require.NoError(t, err)

	assert.Equal(t, uint64(3*gib), c.PeakVRAM)
	assert.Equal(t, []int{0}, c.Devices)
	assert.Equal(t, "counter", c.EnergyMethod)
	assert.GreaterOrEqual(t, c.Samples, 5)
	assert.InEpsilon(t, 300*c.Duration.Seconds(), c.EnergyJ, 0.15)
	assert.InEpsilon(t, 300, c.AvgPowerW, 0.15)
	assert.InEpsilon(t, 300*c.Duration.Seconds(), c.PowerSampledJ, 0.05)

	_, err = g.StopCase()
	assert.Error(t, err, "no case running")
}

func TestGPUCaseSeveralDevices(t *testing.T) {
	const pid = 4242
	d0 := newFakeDev(300, proc(pid, 1*gib))
	d1 := newFakeDev(200, proc(pid, 2*gib))
	d1.noEnergy = true // this one's energy is integrated from power readings
	g := openFake(t, d0, d1)
	require.NoError(t, g.StartCase(pid))
	d1.waitCalls(t, 3)
	time.Sleep(200 * time.Millisecond)
	c, err := g.StopCase()
	require.NoError(t, err)
	assert.Equal(t, uint64(3*gib), c.PeakVRAM)
	assert.Equal(t, []int{0, 1}, c.Devices)
	assert.Equal(t, "mixed", c.EnergyMethod)
	assert.InEpsilon(t, 500, c.AvgPowerW, 0.15)
	require.Len(t, c.PerDevice, 2)
	assert.Equal(t, DeviceUse{Index: 0, PeakVRAM: 1 * gib, EnergyJ: c.PerDevice[0].EnergyJ}, c.PerDevice[0])
	assert.Equal(t, DeviceUse{Index: 1, PeakVRAM: 2 * gib, EnergyJ: c.PerDevice[1].EnergyJ}, c.PerDevice[1])
	assert.InEpsilon(t, 300*c.Duration.Seconds(), c.PerDevice[0].EnergyJ, 0.15, "device 0's counter")
	assert.InEpsilon(t, 200*c.Duration.Seconds(), c.PerDevice[1].EnergyJ, 0.15, "device 1's power readings")
	assert.InDelta(t, c.EnergyJ, c.PerDevice[0].EnergyJ+c.PerDevice[1].EnergyJ, 1e-9)
}

// TestGPUCasePeaksApart: one device's peak and the other's fall in different
// samples; the case's peak is the peak of the sum, each device keeps its own.
func TestGPUCasePeaksApart(t *testing.T) {
	const pid = 4242
	d0 := newFakeDev(100, proc(pid, 3*gib))
	d1 := newFakeDev(100, proc(pid, 1*gib))
	g := openFake(t, d0, d1)
	require.NoError(t, g.StartCase(pid))
	d1.waitCalls(t, 3)
	// One device at a time, so no sample can read 3 GiB beside 4 GiB.
	d0.set(proc(pid, 1*gib))
	d1.waitCalls(t, 3)
	d1.set(proc(pid, 4*gib))
	d1.waitCalls(t, 3)
	c, err := g.StopCase()
	require.NoError(t, err)
	assert.Equal(t, uint64(5*gib), c.PeakVRAM, "1 + 4 GiB in one sample; never 3 + 4")
	require.Len(t, c.PerDevice, 2)
	assert.Equal(t, uint64(3*gib), c.PerDevice[0].PeakVRAM)
	assert.Equal(t, uint64(4*gib), c.PerDevice[1].PeakVRAM)
}

func TestGPUCaseNotOnGPU(t *testing.T) {
	d0 := newFakeDev(100, proc(7, 5*gib))
	d0.noEnergy = true
	d1 := newFakeDev(100)
	d1.noEnergy = true
	g := openFake(t, d0, d1)
	require.NoError(t, g.StartCase(4242))
	d0.waitCalls(t, 2)
	c, err := g.StopCase()
	require.ErrorIs(t, err, ErrNotOnGPU)
	assert.Contains(t, err.Error(), "pid 7: 5368709120 B")
	assert.Equal(t, []int{0, 1}, c.Devices, "no device held the pid: energy of all")
	assert.Equal(t, "power-sampled", c.EnergyMethod)
	assert.InEpsilon(t, 200*c.Duration.Seconds(), c.EnergyJ, 0.05)
	assert.Zero(t, c.PeakVRAM)
}

func TestGPUCaseMemoryNotAvailable(t *testing.T) {
	d0 := newFakeDev(100, proc(4242, ^uint64(0)))
	g := openFake(t, d0)
	require.NoError(t, g.StartCase(4242))
	c, err := g.StopCase()
	require.ErrorIs(t, err, ErrNotOnGPU)
	assert.Contains(t, err.Error(), "without a memory figure")
	assert.Zero(t, c.PeakVRAM)
}

func TestGPUClose(t *testing.T) {
	lib, shutdowns := fakeLib(nvml.SUCCESS, newFakeDev(100))
	g, err := openNVML(lib, newConfig(nil))
	require.NoError(t, err)
	require.NoError(t, g.StartCase(1))
	require.NoError(t, g.Close(), "ends the running case")
	require.NoError(t, g.Close())
	assert.Equal(t, 1, *shutdowns)
	assert.Error(t, g.StartCase(1))
	assert.Error(t, g.StartCase(0))
}
