//go:build !linux

package memwatch

import (
	"context"
	"errors"
	"fmt"
	"runtime"
)

// FindDescendant is implemented on Linux only; see the Linux documentation.
func FindDescendant(ctx context.Context, root int, match func(args []string) bool) (int, error) {
	return 0, fmt.Errorf("memwatch: finding a process under pid %d on %s: %w", root, runtime.GOOS, errors.ErrUnsupported)
}

// PIDByListenPort is implemented on Linux only; see the Linux documentation.
func PIDByListenPort(port int) (int, error) {
	return 0, fmt.Errorf("memwatch: finding the process on port %d on %s: %w", port, runtime.GOOS, errors.ErrUnsupported)
}
