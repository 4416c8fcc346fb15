//go:build !cgo

package history

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestNoCgo: built without cgo (CGO_ENABLED=0 go test ./history), the SQLite
// history says why it cannot open, and what to do.
func TestNoCgo(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "h.db"))
	assert.ErrorContains(t, err, "built without cgo")
}
