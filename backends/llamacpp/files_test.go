package llamacpp

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/llmbench/llmbench/synth"
)

// testModel writes (once per machine) the synthetic model of spec and returns its
// path. The folder is the one backends/ollama's tests use.
func testModel(t testing.TB, spec string) string {
	t.Helper()
	sp, err := synth.ParseSpec(spec)
	require.NoError(t, err)
	path, err := synth.WriteFile(filepath.Join(os.TempDir(), "llmbench-test-models"), sp)
	require.NoError(t, err)
	return path
}

// badFile is a file llama.cpp must not be given as is, and what its error says.
type badFile struct {
	name string
	path string
	// parses says the header is valid GGUF: only llama.cpp can refuse it.
	parses bool
}

// badFiles writes broken variants of the GGUF file at good into a temporary folder.
func badFiles(t *testing.T, good string) []badFile {
	t.Helper()
	data, err := os.ReadFile(good)
	require.NoError(t, err)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name+".gguf")
		require.NoError(t, os.WriteFile(p, b, 0o644))
		return p
	}
	var header bytes.Buffer
	sp, err := synth.ParseSpec("tiny-llama")
	require.NoError(t, err)
	_, err = synth.WriteHeader(&header, sp)
	require.NoError(t, err)

	garbage := make([]byte, 64<<10)
	for i := range garbage {
		garbage[i] = byte(i*131 + i>>8)
	}
	// general.architecture = "llama" becomes "llamb": a valid header naming an
	// architecture llama.cpp does not know.
	key := []byte("general.architecture")
	i := bytes.Index(data, key)
	require.Positive(t, i)
	val := i + len(key) + 4 + 8 // value type (u32), string length (u64)
	require.Equal(t, "llama", string(data[val:val+5]))
	unknown := bytes.Clone(data)
	unknown[val+4] = 'b'

	return []badFile{
		{name: "empty", path: write("empty", nil)},
		{name: "garbage", path: write("garbage", garbage)},
		{name: "magic only", path: write("magic-only", []byte("GGUF"))},
		{name: "header cut", path: write("header-cut", data[:header.Len()/2])},
		{name: "header only", path: write("header-only", header.Bytes())},
		{name: "data cut", path: write("data-cut", data[:len(data)-len(data)/3])},
		{name: "bad version", path: write("bad-version", append([]byte("GGUF\x09\x00\x00\x00"), data[8:]...))},
		{name: "unknown arch", path: write("unknown-arch", unknown), parses: true},
	}
}
