//go:build !(cgo && linux)

package memwatch

import (
	"fmt"
	"runtime"
)

// OpenGPU loads NVML. This build has no NVML (it needs cgo on Linux), so it
// returns an error wrapping [ErrNoGPU].
func OpenGPU(opts ...Option) (GPU, error) {
	if runtime.GOOS != "linux" {
		return nil, fmt.Errorf("memwatch: %w: NVML is read on Linux only (this is %s)", ErrNoGPU, runtime.GOOS)
	}
	return nil, fmt.Errorf("memwatch: %w: built without cgo (CGO_ENABLED=0), so NVML cannot be loaded", ErrNoGPU)
}
