// Package ollamatest starts the real engine for tests: a private Ollama server of
// the binary llmbench builds (make ollama), with synthetic models registered.
package ollamatest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/llmbench/llmbench/backends/ollama"
	"github.com/llmbench/llmbench/synth"
)

// RequireEnv is the environment variable that turns a missing engine from a skip
// into a failure (make test sets it), so a test that needs the engine cannot pass
// without running.
const RequireEnv = "LLMBENCH_REQUIRE_ENGINE"

// NeedEngine skips the test when there is no ollama binary (or under -short), and
// fails it instead when $LLMBENCH_REQUIRE_ENGINE is 1.
func NeedEngine(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no real engine")
	}
	if _, err := ollama.FindBinary(); err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%s=1 but %v", RequireEnv, err)
		}
		t.Skipf("no real engine: %v (make test builds it)", err)
	}
}

// Start starts a private server for the test and stops it when the test ends.
func Start(t testing.TB) *ollama.Server {
	t.Helper()
	NeedEngine(t)
	srv, err := ollama.StartServer(context.Background(), ollama.ServerOptions{ModelsDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	return srv
}

// ModelsDir is where tests keep synthetic GGUF files, shared between test runs.
func ModelsDir() string { return filepath.Join(os.TempDir(), "llmbench-test-models") }

// Synthetic writes the synthetic model spec (once) and registers it with srv,
// returning its name there.
func Synthetic(t testing.TB, srv *ollama.Server, spec string) string {
	t.Helper()
	sp, err := synth.ParseSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	path, err := synth.WriteFile(ModelsDir(), sp)
	if err != nil {
		t.Fatal(err)
	}
	name := "llmbench-test-" + sp.String()
	if err := ollama.Register(context.Background(), srv.URL, name, path); err != nil {
		t.Fatal(err)
	}
	return name
}
