package llamacpp

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmbench/llmbench/synth"
)

func TestInspect(t *testing.T) {
	for _, spec := range []string{"tiny-llama", "tiny-gpt2:q8_0"} {
		t.Run(spec, func(t *testing.T) {
			path := testModel(t, spec)
			sp, err := synth.ParseSpec(spec)
			require.NoError(t, err)
			info, err := Inspect(path)
			require.NoError(t, err)
			assert.Equal(t, sp.Preset.Arch, info.Arch)
			assert.Equal(t, sp.Params(), info.Params)
			assert.Equal(t, sp.Size(), info.Size)
			assert.Equal(t, map[synth.Type]string{synth.F16: "F16", synth.Q8_0: "Q8_0"}[sp.Type], info.Quant)
		})
	}
}

func TestInspectMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.gguf")
	_, err := Inspect(path)
	require.ErrorIs(t, err, fs.ErrNotExist)
	assert.Contains(t, err.Error(), path)

	_, err = Inspect(t.TempDir())
	require.ErrorIs(t, err, ErrInvalidModel)
}

func TestInspectCorrupt(t *testing.T) {
	for _, f := range badFiles(t, testModel(t, "tiny-llama")) {
		t.Run(f.name, func(t *testing.T) {
			info, err := Inspect(f.path)
			if f.parses {
				require.NoError(t, err)
				assert.Equal(t, "llamb", info.Arch)
				return
			}
			require.ErrorIs(t, err, ErrInvalidModel)
			assert.Contains(t, err.Error(), f.path)
			t.Log(err)
		})
	}
}

func TestMain(m *testing.M) {
	// Units of the benchmarks in llamacpp_test.go (tag llamacpp).
	os.Stdout.WriteString("Unit tokens/s better=higher\nUnit prompt-tokens/s better=higher\n")
	os.Exit(m.Run())
}
