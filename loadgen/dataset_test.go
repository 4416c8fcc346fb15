package loadgen_test

import (
	"bytes"
	"context"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/backends/openai/openaitest"
	"github.com/llmbench/llmbench/loadgen"
	"github.com/llmbench/llmbench/synth"
)

// tokenizer is a backend with a tokenizer of known answers, for what a real
// engine cannot do on demand: a template of 3 tokens, words of more than 5
// letters 2 tokens (the rest 1), and drift, when set, added to the count of
// the prompts it picks (a tokenizer that merges across words).
type tokenizer struct {
	mu      sync.Mutex
	prompts []string
	drift   func(prompt string) int
	short   bool // every generation ends at end-of-sequence before its first token
}

const template = 3

func wordTokens(w string) int {
	if len(w) > 5 {
		return 2
	}
	return 1
}

func (f *tokenizer) Generate(_ context.Context, r backends.Request) (*backends.Result, error) {
	n := template
	for _, w := range strings.Fields(r.Prompt) {
		n += wordTokens(w)
	}
	if f.drift != nil {
		n += f.drift(r.Prompt)
	}
	f.mu.Lock()
	f.prompts = append(f.prompts, r.Prompt)
	f.mu.Unlock()
	now := time.Now()
	if f.short {
		res := &backends.Result{Sent: now, Done: now, PromptTokens: n}
		return res, backends.CheckLength(res, r.MaxTokens)
	}
	return &backends.Result{Sent: now, Chunks: []time.Time{now}, Done: now, PromptTokens: n, OutputTokens: r.MaxTokens}, nil
}

func (f *tokenizer) Close() error { return nil }

// TestCalibrate: against the known tokenizer, the overhead is the template
// and the anchor's token, and the one-token words are exactly the candidates
// of at most 5 letters, found by halving the groups that miss.
func TestCalibrate(t *testing.T) {
	tok, err := loadgen.Calibrate(context.Background(), &tokenizer{}, backends.Request{MaxTokens: 9})
	require.NoError(t, err)
	assert.Equal(t, template+wordTokens(tok.Anchor), tok.Overhead)
	var want []string
	for _, w := range synth.CommonWords() {
		if wordTokens(w) == 1 {
			want = append(want, w)
		}
	}
	slices.Sort(want)
	got := slices.Sorted(slices.Values(tok.Words))
	assert.Equal(t, want, got)
	assert.Less(t, tok.Probes, len(synth.CommonWords()), "groups, not one probe per word")
	t.Logf("%d of %d words in %d probes", len(tok.Words), len(synth.CommonWords()), tok.Probes)

	_, err = loadgen.Calibrate(context.Background(), &tokenizer{drift: func(p string) int { return -template - 100 }}, backends.Request{})
	assert.ErrorContains(t, err, "the engine reported no prompt token count")
	tok, err = loadgen.Calibrate(context.Background(), &tokenizer{short: true}, backends.Request{})
	require.NoError(t, err, "a probe that ends short still gives its prompt count")
	assert.Equal(t, got, slices.Sorted(slices.Values(tok.Words)))
	_, err = loadgen.Calibrate(context.Background(), &tokenizer{drift: func(p string) int { return len(p) }}, backends.Request{})
	assert.ErrorContains(t, err, "only 0 of the candidate words are one token each on this model (want 16)")
}

func calibrated(t *testing.T, b backends.Backend) *loadgen.Tokens {
	t.Helper()
	tok, err := loadgen.Calibrate(context.Background(), b, backends.Request{})
	require.NoError(t, err)
	return tok
}

// runDataset runs a sequential point of n requests of d (salted when salt)
// and returns the report and its records.
func runDataset(t *testing.T, b backends.Backend, d *loadgen.Dataset, n int, prefix, salt bool) (*loadgen.Report, []loadgen.Record) {
	t.Helper()
	var buf bytes.Buffer
	opts := []loadgen.Option{loadgen.WithDataset(d), loadgen.WithRecords(loadgen.NewRecordWriter(&buf), "b")}
	if salt {
		opts = append(opts, loadgen.WithSalt())
	}
	p := loadgen.Point{Name: "concurrency=1", Mode: loadgen.ModeSequential, Concurrency: 1, Requests: n, SharedPrefix: prefix}
	rep, err := loadgen.RunPoint(context.Background(), b, p, d.Requests(), opts...)
	require.NoError(t, err)
	recs, err := loadgen.ReadRecords(&buf, "b")
	require.NoError(t, err)
	slices.SortFunc(recs, func(a, b loadgen.Record) int { return int(a.I - b.I) })
	return rep, recs
}

// TestDatasetExactLengths: every prompt, salted or not, comes to exactly the
// length drawn for it on the known tokenizer, and the lengths follow their
// distribution (uniform: both ends reached, nothing outside; normal: mean and
// standard deviation of 2000 draws within 3%; fixed), output lengths too.
func TestDatasetExactLengths(t *testing.T) {
	b := &tokenizer{}
	tok := calibrated(t, b)
	for _, salt := range []bool{false, true} {
		spec := &loadgen.DatasetSpec{Input: loadgen.LengthSpec{Min: 20, Max: 30}, Output: &loadgen.LengthSpec{Min: 2, Max: 5}, Prompts: 50}
		d, err := loadgen.NewDataset(spec, tok, backends.Request{}, 0)
		require.NoError(t, err)
		rep, recs := runDataset(t, b, d, 100, false, salt)
		assert.Equal(t, 100, rep.Succeeded)
		assert.Zero(t, rep.Failed)
		var ins, outs []int
		for _, r := range recs {
			assert.Equal(t, r.WantPromptTokens, r.PromptTokens, "request %d: exact", r.I)
			ins, outs = append(ins, r.PromptTokens), append(outs, r.OutputTokens)
			assert.Equal(t, d.Requests()[r.I%50].MaxTokens, r.OutputTokens)
		}
		assert.Equal(t, []int{20, 30}, []int{slices.Min(ins), slices.Max(ins)})
		assert.Equal(t, []int{2, 5}, []int{slices.Min(outs), slices.Max(outs)})
		assert.Equal(t, ins[:50], ins[50:], "request i uses prompt i mod 50")
	}
	salted := b.prompts[len(b.prompts)-100:]
	assert.Len(t, slices.Compact(slices.Sorted(slices.Values(salted))), 100, "salted: every request's prompt is its own")

	d, err := loadgen.NewDataset(&loadgen.DatasetSpec{Input: loadgen.LengthSpec{Mean: 200, StdDev: 30, Min: 50}, Seed: 7}, tok, backends.Request{MaxTokens: 3}, 2000)
	require.NoError(t, err)
	var sum, sq float64
	for i := range d.Requests() {
		w := float64(d.Want(int64(i)))
		sum, sq = sum+w, sq+w*w
	}
	mean := sum / 2000
	sd := math.Sqrt(sq/2000 - mean*mean)
	assert.InEpsilon(t, 200, mean, 0.03)
	assert.InEpsilon(t, 30, sd, 0.03)
	assert.Equal(t, 3, d.Requests()[0].MaxTokens, "output: the model's max_tokens without output")
	_, recs := runDataset(t, b, d, 40, false, true)
	for _, r := range recs {
		assert.Equal(t, r.WantPromptTokens, r.PromptTokens)
	}

	d, err = loadgen.NewDataset(&loadgen.DatasetSpec{Input: loadgen.LengthSpec{Tokens: 128}}, tok, backends.Request{}, 0)
	require.NoError(t, err)
	assert.Len(t, d.Requests(), loadgen.DefaultRequests, "one prompt per request, 100 without a count")
	assert.Equal(t, 128, d.Want(99))

	_, err = loadgen.NewDataset(&loadgen.DatasetSpec{Input: loadgen.LengthSpec{Tokens: 8}}, tok, backends.Request{}, 0)
	assert.ErrorContains(t, err, "the shortest prompt, 8 tokens, leaves no room after the 8 every prompt has on this model (template and anchor 4, salt 4, prefix 0): set input's tokens or min above 8")
}

// TestDatasetLengthMiss: a prompt the engine counts more than 1% off is a
// failed request of kind prompt-length, with both counts in its message; one
// within 1% passes; Verify refuses a dataset whose longest prompt misses
// before anything runs.
func TestDatasetLengthMiss(t *testing.T) {
	tok := calibrated(t, &tokenizer{})
	d, err := loadgen.NewDataset(&loadgen.DatasetSpec{Input: loadgen.LengthSpec{Tokens: 400}, Prompts: 4}, tok, backends.Request{}, 0)
	require.NoError(t, err)
	var k int
	drift := &tokenizer{drift: func(string) int { k++; return []int{0, 4, 5, -4}[(k-1)%4] }}
	rep, recs := runDataset(t, drift, d, 4, false, false)
	assert.Equal(t, 3, rep.Succeeded, "0 and ±4 of 400 are within 1%")
	assert.Equal(t, map[string]int{"prompt-length": 1}, rep.Errors)
	assert.Equal(t, "prompt length: the engine counted 405 prompt tokens, the dataset made 400 (more than 1% off)", rep.ErrorSamples["prompt-length"])
	assert.Equal(t, "prompt-length", recs[2].Error)
	assert.InDelta(t, 0.25, metrics(rep)["error-rate"], 1e-12)

	require.NoError(t, d.Verify(context.Background(), &tokenizer{}))
	truncate := &tokenizer{drift: func(string) int { return -50 }}
	assert.ErrorContains(t, d.Verify(context.Background(), truncate), "verifying the longest prompt: prompt length: the engine counted 350 prompt tokens, the dataset made 400")
}

// TestDatasetSharedPrefixes: 2 prefixes of 30 tokens × 3 suffixes, prompts of
// 50 tokens. Grouped, interleaved or shuffled, 4 of the 6 requests come after
// their prefix was sent (cacheable-prompt-share 4·30/(6·50) = 0.4), and a
// second pass over the prompts is all cacheable (10 of 12: 10·30/(12·50)); the
// order is what each key says; every prompt of a run shares the run's salt,
// so the prefixes are shared salted too, and no run shares another's.
func TestDatasetSharedPrefixes(t *testing.T) {
	b := &tokenizer{}
	tok := calibrated(t, b)
	spec := func(order string) *loadgen.DatasetSpec {
		return &loadgen.DatasetSpec{Input: loadgen.LengthSpec{Tokens: 50}, Prefix: &loadgen.PrefixSpec{Count: 2, Tokens: 30, Suffixes: 3}, Order: order}
	}
	prefixOf := func(p string) string {
		ws := strings.Fields(p)
		return strings.Join(ws[1+loadgen.SaltWords:1+loadgen.SaltWords+30], " ")
	}
	for _, tc := range []struct {
		order string
		seq   []int // which prefix each prompt has, by first appearance
	}{
		{loadgen.OrderGrouped, []int{0, 0, 0, 1, 1, 1}},
		{loadgen.OrderInterleaved, []int{0, 1, 0, 1, 0, 1}},
		{loadgen.OrderRandom, nil},
	} {
		d, err := loadgen.NewDataset(spec(tc.order), tok, backends.Request{}, 0)
		require.NoError(t, err)
		require.Len(t, d.Requests(), 6)
		rep, recs := runDataset(t, b, d, 6, true, true)
		assert.Equal(t, 0.4, metrics(rep)["cacheable-prompt-share"], tc.order)
		var cacheable []int
		ids := map[string]int{}
		var seq []int
		salts := map[string]bool{}
		for i, r := range recs {
			cacheable = append(cacheable, r.CacheableTokens)
			p := b.prompts[len(b.prompts)-6+i]
			if _, ok := ids[prefixOf(p)]; !ok {
				ids[prefixOf(p)] = len(ids)
			}
			seq = append(seq, ids[prefixOf(p)])
			salts[strings.Join(strings.Fields(p)[:1+loadgen.SaltWords], " ")] = true
			assert.Equal(t, 50, r.PromptTokens)
		}
		assert.Len(t, ids, 2, "two prefixes")
		assert.Len(t, salts, 1, "one salt for the run")
		if tc.seq != nil {
			assert.Equal(t, tc.seq, seq, tc.order)
		}
		first := map[int]bool{}
		for i, k := range seq {
			want := 30
			if !first[k] {
				want, first[k] = 0, true
			}
			assert.Equal(t, want, cacheable[i], "%s: request %d", tc.order, i)
		}
		rep, _ = runDataset(t, b, d, 12, true, true)
		assert.Equal(t, 10.0*30/(12*50), metrics(rep)["cacheable-prompt-share"], "a second pass: all cacheable")
		assert.NotEqual(t, b.prompts[len(b.prompts)-12][:60], b.prompts[len(b.prompts)-12-6][:60], "another run, another salt")
	}
	d, _ := loadgen.NewDataset(spec(""), tok, backends.Request{}, 0)
	rep, _ := runDataset(t, b, d, 6, false, true)
	_, ok := metrics(rep)["cacheable-prompt-share"]
	assert.False(t, ok, "only for a point of shared prefixes")
}

// TestCachedPromptShare: the engine's own count of cached prompt tokens
// (usage.prompt_tokens_details.cached_tokens, which Ollama does not send) from
// a scripted server that acts as a one-slot prefix cache: each prompt's words
// shared with the previous prompt are reported cached. Prompts "x y z 0",
// "x y z 1", "q 2", "q 3" report 0, 3, 0 and 1 of 12 tokens
// (cached-prompt-share 1/3); "n 4", which reports none, counts neither way.
func TestCachedPromptShare(t *testing.T) {
	var prev []string
	srv := openaitest.NewServer(openaitest.Script{Tokens: 2}, openaitest.WithPlan(func(r openaitest.Request) openaitest.Script {
		ws := strings.Fields(r.Prompt)
		n := 0
		for n < len(ws)-1 && n < len(prev) && ws[n] == prev[n] {
			n++
		}
		prev = ws
		if ws[0] == "n" {
			return openaitest.Script{Tokens: 2}
		}
		return openaitest.Script{Tokens: 2, CachedTokens: &n}
	}))
	defer srv.Close()
	var reqs []backends.Request
	for _, p := range []string{"x y z 0", "x y z 1", "q 2", "q 3", "n 4"} {
		reqs = append(reqs, backends.Request{Prompt: p, MaxTokens: 2})
	}
	var buf bytes.Buffer
	p := loadgen.Point{Name: "concurrency=1", Mode: loadgen.ModeSequential, Concurrency: 1, Requests: 5}
	rep, err := loadgen.RunPoint(context.Background(), backend(t, srv.URL), p, reqs, loadgen.WithRecords(loadgen.NewRecordWriter(&buf), "b"))
	require.NoError(t, err)
	assert.Equal(t, 1.0/3, metrics(rep)["cached-prompt-share"])
	recs, err := loadgen.ReadRecords(&buf, "b")
	require.NoError(t, err)
	var cached []any
	for _, r := range recs {
		if r.CachedTokens == nil {
			cached = append(cached, nil)
		} else {
			cached = append(cached, *r.CachedTokens)
		}
	}
	assert.Equal(t, []any{0, 3, 0, 1, nil}, cached)

	rep, err = loadgen.RunPoint(context.Background(), backend(t, srv.URL), p, reqs[4:])
	require.NoError(t, err)
	_, ok := metrics(rep)["cached-prompt-share"]
	assert.False(t, ok, "no request reported a cached count: no metric")
}

// TestTraceDataset: a trace's prompts at exactly each entry's input length,
// and the blocks they share. With 8 fixed tokens (template and anchor 4, salt
// 4), entries of ids [1 2] and 1000 tokens (blocks of 512 and 480), [1 2 3]
// and 1500 (512, 512, 468), [1 4] and 600 (512, 80), none and 5 tokens
// (raised to 9) and [1 2] and 1100 (512, 512) can have 0, 512+480, 512, 0 and
// 512+512 tokens served from cache; the four with ids share the run's salt.
func TestTraceDataset(t *testing.T) {
	b := &tokenizer{}
	tok := calibrated(t, b)
	entries := []loadgen.TraceEntry{
		{Input: 1000, Output: 2, HashIDs: []int{1, 2}},
		{Input: 1500, Output: 3, HashIDs: []int{1, 2, 3}},
		{Input: 600, Output: 2, HashIDs: []int{1, 4}},
		{Input: 5, Output: 1},
		{Input: 1100, Output: 2, HashIDs: []int{1, 2}},
	}
	d, raised := loadgen.NewTraceDataset(entries, tok, backends.Request{Seed: 3})
	assert.Equal(t, 1, raised)
	_, recs := runDataset(t, b, d, 5, true, true)
	var got, cacheable, out []int
	for _, r := range recs {
		got, cacheable, out = append(got, r.PromptTokens), append(cacheable, r.CacheableTokens), append(out, r.OutputTokens)
		assert.Equal(t, r.WantPromptTokens, r.PromptTokens)
	}
	assert.Equal(t, []int{1000, 1500, 600, 9, 1100}, got)
	assert.Equal(t, []int{0, 992, 512, 0, 1024}, cacheable)
	assert.Equal(t, []int{2, 3, 2, 1, 2}, out)
	sent := b.prompts[len(b.prompts)-5:]
	head := func(p string, n int) string { return strings.Join(strings.Fields(p)[:n], " ") }
	assert.Equal(t, head(sent[0], 1+loadgen.SaltWords+992), head(sent[1], 1+loadgen.SaltWords+992), "salt and the blocks of [1 2] shared")
	assert.Equal(t, head(sent[1], 1+loadgen.SaltWords+1024), head(sent[4], 1+loadgen.SaltWords+1024), "two whole blocks shared")
	assert.NotEqual(t, head(sent[1], 1+loadgen.SaltWords+1030), head(sent[4], 1+loadgen.SaltWords+1030), "then block 3 against words of its own")
	assert.NotEqual(t, head(sent[0], 1+loadgen.SaltWords), head(sent[3], 1+loadgen.SaltWords), "no ids: a salt of its own")
}
