//go:build !linux

package memwatch

import (
	"errors"
	"fmt"
	"runtime"
)

// openSource has no implementation outside Linux yet: gopsutil's process
// package would serve (sampling only), but its dependencies are not in go.sum.
func openSource(pid int, c config) (source, string, error) {
	return nil, "", fmt.Errorf("memwatch: RSS of pid %d on %s: %w", pid, runtime.GOOS, errors.ErrUnsupported)
}
