package bench_test

import (
	"context"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/backends/ollama/ollamatest"
	"github.com/llmbench/llmbench/loadgen"
	"github.com/llmbench/llmbench/metric"
)

// TestSessionsRealEngine: multi-turn sessions through the real Ollama, native
// (/api/chat) and through /v1/chat/completions. Two sessions of three turns at
// once: every session's turns come in order, each sent at least the think
// time after the previous answer ended; the engine's prompt tokens grow turn
// by turn by at least the previous answer's tokens (the history is sent with
// it); and the per-turn metrics are the records' own numbers.
func TestSessionsRealEngine(t *testing.T) {
	ollamatest.NeedEngine(t)
	const turns, think, maxTokens = 3, 100 * time.Millisecond, 24
	for _, backend := range []string{"ollama", "openai"} {
		t.Run(backend, func(t *testing.T) {
			cfg, s := loadSuite(t, nil, `ollama: {manage: always, num_parallel: 2}
models:
  - {name: tiny, backend: %s, model: "synthetic:tiny-llama", options: {max_tokens: %d, threads: 1, context: 2048}, load: {concurrency: 2, requests: 6, warmup: 1, sessions: {turns: %d, think_time: %v}, records: true}}
`, backend, maxTokens, turns, think)
			ms := runOnly(t, cfg, s, "Load/model=tiny/concurrency=2")
			assert.Equal(t, 0.0, ms["error-rate"])
			assert.Equal(t, 0.0, ms["shrunk-turns"], "every turn's prompt grew")
			recs := fileRecords(t, filepath.Join(cfg.Output, loadgen.RecordsFile))
			require.Len(t, recs, 6, "two sessions of three turns")
			bySession := map[int64][]loadgen.Record{}
			for _, r := range recs {
				require.NotNil(t, r.Session, "request %d has its session", r.I)
				assert.Equal(t, *r.Session*turns+int64(r.Turn)-1, r.I)
				assert.Empty(t, r.Error, r.Message)
				assert.Equal(t, maxTokens, r.OutputTokens, "the exact length")
				bySession[*r.Session] = append(bySession[*r.Session], r)
			}
			require.Len(t, bySession, 2)
			prompt := map[int][]float64{}
			for sess, rs := range bySession {
				sort.Slice(rs, func(i, j int) bool { return rs[i].Turn < rs[j].Turn })
				require.Len(t, rs, turns)
				for k, r := range rs {
					assert.Equal(t, k+1, r.Turn)
					prompt[r.Turn] = append(prompt[r.Turn], float64(r.PromptTokens))
					if k == 0 {
						continue
					}
					prev := rs[k-1]
					end := prev.Sent + prev.E2E
					assert.GreaterOrEqual(t, r.Scheduled, end+int64(think), "session %d turn %d planned the think time after the answer", sess, r.Turn)
					assert.GreaterOrEqual(t, r.Sent, r.Scheduled)
					// The answer's text is re-tokenised in the history, so its
					// share need not be exactly its output_tokens (docs/load.md):
					// at least half of it, and the whole previous prompt.
					assert.GreaterOrEqual(t, r.PromptTokens, prev.PromptTokens+prev.OutputTokens/2,
						"session %d turn %d: %d prompt tokens, at least turn %d's %d + half its %d-token answer", sess, r.Turn, r.PromptTokens, prev.Turn, prev.PromptTokens, prev.OutputTokens)
				}
			}
			for k := 1; k <= turns; k++ {
				mean := (prompt[k][0] + prompt[k][1]) / 2
				assert.Equal(t, mean, ms[metric.TurnPromptTokens(k)], "turn %d's mean prompt tokens are the records'", k)
				assert.Contains(t, ms, metric.TurnQuantile(k, "ttft", 50))
				assert.Contains(t, ms, metric.TurnQuantile(k, "itl", 99))
			}
			assert.NotContains(t, ms, metric.TurnPromptTokens(turns+1))
		})
	}
}

// TestSessionsSendHistoryExactly: the prompt of a later turn is exactly the
// conversation so far, as the engine counts it. A synthetic model has no chat
// template, and Ollama's default one ({{ .Prompt }}{{ .Response }} for each
// exchange) renders a conversation as its messages' contents one after the
// other, so one user message holding that text (the user messages and the
// answers the engine gave) must cost exactly the turn's prompt tokens;
// without the answers it costs fewer.
func TestSessionsSendHistoryExactly(t *testing.T) {
	ollamatest.NeedEngine(t)
	ctx := context.Background()
	for _, backend := range []string{"ollama", "openai"} {
		t.Run(backend, func(t *testing.T) {
			cfg, s := loadSuite(t, nil, `ollama: {manage: always}
models:
  - {name: tiny, backend: %s, model: "synthetic:tiny-llama", options: {max_tokens: 6, threads: 1, context: 2048}, load: {requests: 3, sessions: {turns: 3}}}
`, backend)
			cases := loadCases(t, cfg, s)
			require.Len(t, cases, 1)
			b := cases[0].Model.Backend
			type turn struct {
				req backends.Request
				res *backends.Result
			}
			var (
				mu  sync.Mutex
				got []turn
			)
			reqs := []backends.Request{{Prompt: "one two three", MaxTokens: 6}, {Prompt: "four five", MaxTokens: 6}}
			_, err := loadgen.RunPoint(ctx, b, cases[0].Point, reqs, loadgen.WithSalt(), loadgen.WithObserver(func(i int, req backends.Request, res *backends.Result, err error) {
				require.NoError(t, err)
				mu.Lock()
				defer mu.Unlock()
				got = append(got, turn{req, res})
			}))
			require.NoError(t, err)
			require.Len(t, got, 3)
			for k, g := range got {
				require.Len(t, g.req.Messages, 2*k+1, "turn %d sends its history", k+1)
				var all, users []string
				for j, m := range g.req.Messages {
					assert.Equal(t, []string{backends.RoleUser, backends.RoleAssistant}[j%2], m.Role)
					all = append(all, m.Content)
					if j%2 == 0 {
						users = append(users, m.Content)
					} else {
						assert.Equal(t, got[j/2].res.Text, m.Content, "turn %d carries turn %d's answer", k+1, j/2+1)
					}
				}
				one := func(text string) int {
					r, err := b.Generate(ctx, backends.Request{Messages: []backends.Message{{Role: backends.RoleUser, Content: text}}, MaxTokens: 1})
					require.NoError(t, err)
					return r.PromptTokens
				}
				assert.Equal(t, one(strings.Join(all, "")), g.res.PromptTokens, "turn %d's prompt is its whole conversation", k+1)
				if k > 0 {
					assert.Less(t, one(strings.Join(users, "")), g.res.PromptTokens, "turn %d's prompt holds the answers", k+1)
				}
			}
		})
	}
}

// TestSessionsOutgrowContext: a conversation that outgrows the context is cut
// by the engine (Ollama drops the oldest messages, then truncates), which
// shows as turns whose prompt did not grow: shrunk-turns above 0, a notice
// saying what to change, and no prompt above the context.
func TestSessionsOutgrowContext(t *testing.T) {
	ollamatest.NeedEngine(t)
	var notes strings.Builder
	cfg, s := loadSuite(t, &notes, `ollama: {manage: always}
models:
  - {name: tiny, backend: ollama, model: "synthetic:tiny-llama", options: {max_tokens: 24, threads: 1, context: 128}, load: {requests: 5, sessions: {turns: 5}, records: true}}
`)
	ms := runOnly(t, cfg, s, "Load/model=tiny/concurrency=1")
	assert.Positive(t, ms["shrunk-turns"], "the conversation of 5 turns of 24-token answers outgrows 128 tokens")
	assert.Contains(t, notes.String(), "the engine cut the conversation, which outgrew its context; raise options.context or lower sessions.turns")
	for _, r := range fileRecords(t, filepath.Join(cfg.Output, loadgen.RecordsFile)) {
		assert.LessOrEqual(t, r.PromptTokens, 128, "turn %d", r.Turn)
	}
}
