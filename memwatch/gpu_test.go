package memwatch

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOpenGPUNoGPU runs on machines without an NVIDIA GPU (CI, developers'): the
// error wraps ErrNoGPU, nothing panics, and Notice says what is left out.
func TestOpenGPUNoGPU(t *testing.T) {
	g, err := OpenGPU()
	if err == nil {
		g.Close()
		t.Skipf("this machine has a GPU: %+v", g.Info())
	}
	require.ErrorIs(t, err, ErrNoGPU)
	assert.Nil(t, g)
	t.Log(Notice(err))
	assert.Contains(t, Notice(err), "no peak-vram-B or J/token")
	assert.Empty(t, Notice(nil))
}
