//go:build !llamacpp

package llamacpp

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmbench/llmbench/backends"
)

func TestNotBuilt(t *testing.T) {
	b, err := New(context.Background(), "m.gguf", backends.Spec{Name: "m"})
	require.ErrorIs(t, err, ErrNotBuilt)
	assert.Nil(t, b)
	assert.Contains(t, err.Error(), "-tags llamacpp")
}
