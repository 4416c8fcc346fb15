//go:build !linux

package memwatch

import (
	"context"
	"errors"
	"fmt"
	"runtime"
)

// FindOllamaRunner is implemented on Linux only; see the Linux documentation.
func FindOllamaRunner(ctx context.Context, serverPID int) (int, error) {
	return 0, fmt.Errorf("memwatch: finding the ollama runner on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

// PIDByListenPort is implemented on Linux only; see the Linux documentation.
func PIDByListenPort(port int) (int, error) {
	return 0, fmt.Errorf("memwatch: finding the process on port %d on %s: %w", port, runtime.GOOS, errors.ErrUnsupported)
}
