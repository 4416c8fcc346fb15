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

// TestGPUFakeNVML runs the real cgo and dlopen path against testdata/fakenvml.c,
// built here into a stand-in for libnvidia-ml. It needs a C compiler (cgo does).
func TestGPUFakeNVML(t *testing.T) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler")
	}
	lib := filepath.Join(t.TempDir(), "libfakenvml.so")
	if out, err := exec.Command(cc, "-O2", "-shared", "-fPIC", "-o", lib, "testdata/fakenvml.c", "-lpthread").CombinedOutput(); err != nil {
		t.Fatalf("building the fake NVML: %v\n%s", err, out)
	}
	state := t.TempDir()
	t.Setenv("FAKENVML_DIR", state)
	setVRAM := func(pid int, b uint64) {
		require.NoError(t, os.WriteFile(filepath.Join(state, strconv.Itoa(pid)), []byte(strconv.FormatUint(b, 10)), 0o644))
	}
	calls := func() int {
		b, _ := os.ReadFile(filepath.Join(state, "calls"))
		n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return n
	}
	waitCalls := func(n int) {
		want := calls() + n
		for deadline := time.Now().Add(10 * time.Second); calls() < want; time.Sleep(time.Millisecond) {
			require.False(t, time.Now().After(deadline), "sampler stalled")
		}
	}

	g, err := openNVML(nvml.New(nvml.WithLibraryPath(lib)), newConfig([]Option{WithInterval(2 * time.Millisecond)}))
	require.NoError(t, err)
	defer g.Close()
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
