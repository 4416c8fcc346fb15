package engines_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmbench/llmbench/config"
	_ "github.com/llmbench/llmbench/engines"
)

// TestCommittedConfigs: every configuration under configs/ parses and passes its
// engines' checks with every engine linked in, so that a file meant for another
// machine (the GPU ones) is not first found broken there.
func TestCommittedConfigs(t *testing.T) {
	files, err := filepath.Glob("../configs/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, err := config.Load(f)
			require.NoError(t, err)
			assert.NotEmpty(t, c.Models)
		})
	}
}
