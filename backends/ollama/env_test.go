package ollama

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServerEnvReachesServer: the `ollama:` section's num_parallel and
// sched_spread are in the environment of the server llmbench starts (read back
// from /proc). Real engine; the skip rule is ollamatest.NeedEngine's, which
// this package's own tests cannot import.
func TestServerEnvReachesServer(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no real engine")
	}
	if _, err := FindBinary(); err != nil {
		if os.Getenv("LLMBENCH_REQUIRE_ENGINE") == "1" {
			t.Fatalf("LLMBENCH_REQUIRE_ENGINE=1 but %v", err)
		}
		t.Skipf("no real engine: %v", err)
	}
	s, err := Settings{Parallel: 3, SchedSpread: true}.resolve()
	require.NoError(t, err)
	srv, err := StartServer(context.Background(), ServerOptions{ModelsDir: t.TempDir(), Env: s.serverEnv()})
	require.NoError(t, err)
	defer srv.Stop()
	env, err := os.ReadFile("/proc/" + strconv.Itoa(srv.PID()) + "/environ")
	require.NoError(t, err)
	vars := bytes.Split(env, []byte{0})
	assert.Contains(t, vars, []byte("OLLAMA_SCHED_SPREAD=1"))
	assert.Contains(t, vars, []byte("OLLAMA_NUM_PARALLEL=3"))
	assert.NotContains(t, Settings{Parallel: 1}.serverEnv(), "OLLAMA_SCHED_SPREAD=1", "off unless asked for")
}
