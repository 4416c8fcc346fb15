//go:build cgo && linux

package memwatch

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeNVML builds testdata/fakenvml.c into a stand-in for libnvidia-ml with
// devices devices, and returns it opened, its state folder, a setter of a PID's
// GPU memory on a device, and a wait for n more process listings.
func fakeNVML(t *testing.T, devices int) (g *nvmlGPU, state string, setVRAM func(dev, pid int, b uint64), waitCalls func(n int)) {
	t.Helper()
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler")
	}
	lib := filepath.Join(t.TempDir(), "libfakenvml.so")
	if out, err := exec.Command(cc, "-O2", "-shared", "-fPIC", "-o", lib, "testdata/fakenvml.c", "-lpthread").CombinedOutput(); err != nil {
		t.Fatalf("building the fake NVML: %v\n%s", err, out)
	}
	state = t.TempDir()
	t.Setenv("FAKENVML_DIR", state)
	t.Setenv("FAKENVML_DEVICES", strconv.Itoa(devices))
	devDir := func(dev int) string {
		if dev == 0 {
			return state
		}
		d := filepath.Join(state, "gpu"+strconv.Itoa(dev))
		require.NoError(t, os.MkdirAll(d, 0o755))
		return d
	}
	setVRAM = func(dev, pid int, b uint64) {
		require.NoError(t, os.WriteFile(filepath.Join(devDir(dev), strconv.Itoa(pid)), []byte(strconv.FormatUint(b, 10)), 0o644))
	}
	calls := func() int {
		b, _ := os.ReadFile(filepath.Join(state, "calls"))
		n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return n
	}
	waitCalls = func(n int) {
		want := calls() + n
		for deadline := time.Now().Add(10 * time.Second); calls() < want; time.Sleep(time.Millisecond) {
			require.False(t, time.Now().After(deadline), "sampler stalled")
		}
	}
	g, err = openNVML(nvml.New(nvml.WithLibraryPath(lib)), newConfig([]Option{WithInterval(2 * time.Millisecond)}))
	require.NoError(t, err)
	t.Cleanup(func() { g.Close() })
	return g, state, setVRAM, waitCalls
}

// TestGPUFakeNVML runs the real cgo and dlopen path against testdata/fakenvml.c,
// built here into a stand-in for libnvidia-ml. It needs a C compiler (cgo does).
func TestGPUFakeNVML(t *testing.T) {
	g, state, set, waitCalls := fakeNVML(t, 1)
	setVRAM := func(pid int, b uint64) { set(0, pid, b) }
	assert.Equal(t, GPUInfo{Name: "Fake H100", Driver: "999.fake", Memory: 80 * gib, PowerLimitW: 700, Count: 1}, g.Info())

	const pid = 4242
	setVRAM(pid, 1*gib)
	setVRAM(77, 5*gib)
	used, err := g.UsedMemory()
	require.NoError(t, err)
	assert.Equal(t, uint64(6*gib+512<<20), used)

	require.NoError(t, os.WriteFile(filepath.Join(state, "busy"), nil, 0o644)) // 500 W
	require.NoError(t, g.StartCase(pid))
	waitCalls(2)
	setVRAM(pid, 3*gib)
	waitCalls(2)
	setVRAM(pid, 1*gib)
	time.Sleep(300 * time.Millisecond) // long enough for ±10% on a loaded machine
	c, err := g.StopCase()
	require.NoError(t, err)
	assert.Equal(t, uint64(3*gib), c.PeakVRAM)
	assert.Equal(t, []int{0}, c.Devices)
	assert.Equal(t, "counter", c.EnergyMethod)
	assert.InEpsilon(t, 500, c.AvgPowerW, 0.1)
	assert.InEpsilon(t, c.EnergyJ, c.PowerSampledJ, 0.1)

	require.NoError(t, g.StartCase(99))
	_, err = g.StopCase()
	assert.ErrorIs(t, err, ErrNotOnGPU)
	assert.Contains(t, err.Error(), "pid 77: 5368709120 B")
}

// TestGPUFakeNVMLTwoDevices: an engine process holding memory on two devices,
// one busy and one idle, through the real cgo path: the peak is the sum, each
// device keeps its own peak and energy, and the energy counts both.
func TestGPUFakeNVMLTwoDevices(t *testing.T) {
	g, state, setVRAM, waitCalls := fakeNVML(t, 2)
	assert.Equal(t, 2, g.Info().Count)
	const pid = 4242
	setVRAM(0, pid, 1*gib)
	setVRAM(1, pid, 2*gib)
	setVRAM(1, 77, 5*gib)                                                              // another process on device 1: not ours
	require.NoError(t, os.WriteFile(filepath.Join(state, "gpu1", "busy"), nil, 0o644)) // 500 W; device 0 80 W
	require.NoError(t, g.StartCase(pid))
	waitCalls(4)
	setVRAM(1, pid, 3*gib)
	waitCalls(4)
	time.Sleep(300 * time.Millisecond)
	c, err := g.StopCase()
	require.NoError(t, err)
	assert.Equal(t, uint64(4*gib), c.PeakVRAM)
	assert.Equal(t, []int{0, 1}, c.Devices)
	require.Len(t, c.PerDevice, 2)
	assert.Equal(t, uint64(1*gib), c.PerDevice[0].PeakVRAM)
	assert.Equal(t, uint64(3*gib), c.PerDevice[1].PeakVRAM)
	s := c.Duration.Seconds()
	assert.InEpsilon(t, 80, c.PerDevice[0].EnergyJ/s, 0.1)
	assert.InEpsilon(t, 500, c.PerDevice[1].EnergyJ/s, 0.1)
	assert.InEpsilon(t, 580, c.AvgPowerW, 0.1)
}
