package bench_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/llmbench/llmbench/backends/openai/openaitest"
)

// TestUnitLinesOfSuite: a suite writes the unit lines of what it can report —
// every generation and load metric, per-turn ones up to its most turns, and no
// per-device GPU ones on a machine without several GPUs (this one has none).
func TestUnitLinesOfSuite(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Script{})
	defer srv.Close()
	_, s := loadSuite(t, nil, `gpu: {off: true}
models:
  - {name: m, backend: openai, model: fake, host: %s}
  - {name: chat, backend: openai, model: fake, host: %[1]s, load: {sessions: {turns: 3}, requests: 6}}
`, srv.URL)
	lines := strings.Join(s.UnitLines(), "\n") + "\n"
	for _, want := range []string{"Unit ns better=lower\n", "Unit ttft-p99-ns better=lower\n", "Unit turn3-ttft-p50-ns better=lower\n", "Unit peak-vram-B better=lower\n"} {
		assert.Contains(t, lines, want)
	}
	for _, not := range []string{"Unit turn4-", "Unit gpu0-"} {
		assert.NotContains(t, lines, not)
	}
	_, s = loadSuite(t, nil, `gpu: {off: true}
models:
  - {name: m, backend: openai, model: fake, host: %s}
`, srv.URL)
	assert.NotContains(t, strings.Join(s.UnitLines(), "\n"), "Unit turn1-", "no sessions, no per-turn units")
}
