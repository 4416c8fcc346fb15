package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/synth"
)

// Orders of a shared-prefix dataset's prompts (DatasetSpec.Order).
const (
	// OrderRandom shuffles the prompts with the dataset's seed.
	OrderRandom = "random"
	// OrderGrouped sends every suffix of prefix 0, then every suffix of
	// prefix 1, …: each prefix's requests follow one another, so even a cache
	// of one entry serves all but the first.
	OrderGrouped = "grouped"
	// OrderInterleaved sends suffix 0 of every prefix, then suffix 1 of every
	// prefix, …: consecutive requests never share a prefix, so a cache of
	// fewer entries than prefixes (kept by recency) serves none.
	OrderInterleaved = "interleaved"
)

// SaltWords is the number of one-token words in front of every prompt of a
// dataset, after its anchor: fixed words unsalted, words of the run's and
// request's own under WithSalt. So the salt's tokens are counted like the
// rest and a prompt is as long salted as not.
const SaltWords = 4

// LengthTolerance is the share by which an engine's prompt count may differ
// from a dataset's before the request fails as ErrPromptLength's kind.
const LengthTolerance = 0.01

// DatasetSpec makes a load's prompts instead of the prompt file (load:
// dataset:): prompts of an exact length in the model's own tokens, as the
// engine counts them, optionally built of shared prefixes.
//
//	dataset:
//	  input: {min: 128, max: 512}      # or {tokens: 256}, or {mean: 256, stddev: 32, min: 64}
//	  output: {tokens: 64}
//	  prefix: {count: 4, tokens: 256, suffixes: 8}
//	  order: grouped
type DatasetSpec struct {
	// Input is each prompt's whole length in the engine's prompt tokens
	// (template and shared prefix included). Required.
	Input LengthSpec `yaml:"input"`
	// Output is each request's exact output length (its max_tokens); nil
	// means the model's max_tokens.
	Output *LengthSpec `yaml:"output"`
	// Prompts is the number of distinct prompts; request i uses prompt i mod
	// Prompts. 0 means the run's request count (DefaultRequests without
	// one). With Prefix it is Prefix.Count × Prefix.Suffixes and must be 0.
	Prompts int `yaml:"prompts"`
	// Seed seeds the lengths, the words and a random order. 0 means 1.
	Seed int64 `yaml:"seed"`
	// Prefix, when set, builds every prompt of one of Count prefixes of
	// Tokens tokens followed by a suffix of its own.
	Prefix *PrefixSpec `yaml:"prefix"`
	// Order is the order of a prefix dataset's prompts: random (the
	// default), grouped or interleaved.
	Order string `yaml:"order"`
}

// PrefixSpec is a dataset's shared prefixes: Count prefixes of Tokens tokens,
// each followed by Suffixes different suffixes (a system prompt or few-shot
// examples before a question).
type PrefixSpec struct {
	Count    int `yaml:"count"`
	Tokens   int `yaml:"tokens"`
	Suffixes int `yaml:"suffixes"`
}

// LengthSpec is a distribution of lengths in tokens: fixed (Tokens), uniform
// over [Min, Max], or normal of Mean and StdDev rounded and kept within
// [Min, Max] where they are set (and at least 1).
type LengthSpec struct {
	Tokens int     `yaml:"tokens"`
	Min    int     `yaml:"min"`
	Max    int     `yaml:"max"`
	Mean   float64 `yaml:"mean"`
	StdDev float64 `yaml:"stddev"`
}

func (l *LengthSpec) check(key string) error {
	switch {
	case l.Tokens < 0 || l.Min < 0 || l.Max < 0 || l.Mean < 0 || l.StdDev < 0 || math.IsNaN(l.Mean) || math.IsNaN(l.StdDev) || math.IsInf(l.Mean, 0) || math.IsInf(l.StdDev, 0):
		return fmt.Errorf("%s: lengths must be finite and not negative", key)
	case l.Tokens > 0:
		if l.Min != 0 || l.Max != 0 || l.Mean != 0 || l.StdDev != 0 {
			return fmt.Errorf("%s: tokens is a fixed length: leave out min, max, mean and stddev", key)
		}
	case l.Mean > 0:
		if l.StdDev == 0 {
			return fmt.Errorf("%s: a normal length needs stddev above 0 (for a fixed one write tokens: N)", key)
		}
		if l.Min > 0 && float64(l.Min) > l.Mean || l.Max > 0 && float64(l.Max) < l.Mean {
			return fmt.Errorf("%s: mean %g is outside [min, max]", key, l.Mean)
		}
	case l.StdDev > 0:
		return fmt.Errorf("%s: stddev needs a mean", key)
	case l.Min > 0 || l.Max > 0:
		if l.Min == 0 || l.Max == 0 || l.Min > l.Max {
			return fmt.Errorf("%s: a uniform length needs min and max, min at most max (got %d, %d)", key, l.Min, l.Max)
		}
	default:
		return fmt.Errorf("%s: give tokens: N, {min, max} (uniform) or {mean, stddev} (normal)", key)
	}
	return nil
}

// low and high are the shortest and longest lengths the distribution gives
// (high 0: no bound).
func (l *LengthSpec) low() int {
	switch {
	case l.Tokens > 0:
		return l.Tokens
	case l.Min > 0:
		return l.Min
	}
	return 1
}

func (l *LengthSpec) high() int {
	if l.Tokens > 0 {
		return l.Tokens
	}
	return l.Max
}

// draw returns one length.
func (l *LengthSpec) draw(rng *rand.Rand) int {
	switch {
	case l.Tokens > 0:
		return l.Tokens
	case l.Mean > 0:
		n := max(int(math.Round(l.Mean+l.StdDev*rng.NormFloat64())), l.low())
		if l.Max > 0 {
			n = min(n, l.Max)
		}
		return n
	}
	return l.Min + rng.IntN(l.Max-l.Min+1)
}

func (d *DatasetSpec) check() error {
	if err := d.Input.check("dataset.input"); err != nil {
		return err
	}
	if d.Input.Mean > 0 && d.Input.Min == 0 {
		// A normal draw can come to 1 token, shorter than any model's template.
		return errors.New("dataset.input: a normal length needs a min, above the model's template and salt (16 is enough for most) and above prefix.tokens with a prefix")
	}
	if d.Output != nil {
		if err := d.Output.check("dataset.output"); err != nil {
			return err
		}
	}
	switch {
	case d.Prompts < 0:
		return fmt.Errorf("dataset.prompts %d: want 0 (one per request) or more", d.Prompts)
	case d.Prefix == nil && d.Order != "":
		return errors.New("dataset.order applies to a dataset with a prefix")
	case d.Prefix == nil:
		return nil
	case d.Prefix.Count < 1 || d.Prefix.Tokens < 1 || d.Prefix.Suffixes < 1:
		return errors.New("dataset.prefix: want count, tokens and suffixes, each at least 1")
	case d.Prompts != 0:
		return fmt.Errorf("dataset.prompts: with a prefix there are count × suffixes = %d prompts: leave prompts out", d.Prefix.Count*d.Prefix.Suffixes)
	case d.Input.low() <= d.Prefix.Tokens:
		return fmt.Errorf("dataset.input: the shortest prompt, %d tokens, is not longer than prefix.tokens %d: input is the whole prompt, prefix included", d.Input.low(), d.Prefix.Tokens)
	}
	switch d.Order {
	case "", OrderRandom, OrderGrouped, OrderInterleaved:
	default:
		return fmt.Errorf("dataset.order %q: want random, grouped or interleaved", d.Order)
	}
	return nil
}

// Tokens is what Calibrate learned of a model's tokens through its engine.
type Tokens struct {
	// Anchor is the word every dataset prompt starts with, and Overhead the
	// engine's prompt count of the prompt Anchor alone: the template, BOS and
	// the anchor's own tokens.
	Anchor   string
	Overhead int
	// Words are the candidate words each of which adds exactly one prompt
	// token after a space.
	Words []string
	// Probes is the number of generations calibrating took.
	Probes int
}

// MinWords is the fewest one-token words Calibrate accepts.
const MinWords = 16

// ErrPromptLength is the cause of a request whose prompt came to another length
// on the engine than its dataset asked for (beyond LengthTolerance): error kind
// "prompt-length".
var ErrPromptLength = errors.New("prompt length")

type lengthError struct{ got, want int }

func (e *lengthError) Error() string {
	return fmt.Sprintf("%v: the engine counted %d prompt tokens, the dataset made %d (more than %g%% off)", ErrPromptLength, e.got, e.want, 100*LengthTolerance)
}
func (e *lengthError) Unwrap() error     { return ErrPromptLength }
func (e *lengthError) ErrorKind() string { return "prompt-length" }

// Calibrate learns, from the engine itself, how many tokens a prompt of its
// words comes to, with generations of one output token of base's other
// fields: the count of the anchor alone (the fixed overhead), then of the
// anchor followed by groups of candidate words (synth.CommonWords), halving
// a group whose count is not its number of words until every word is known
// to be one token or not. llmbench never tokenises: the engine's
// PromptTokens decide.
func Calibrate(ctx context.Context, b backends.Backend, base backends.Request) (*Tokens, error) {
	t := &Tokens{Anchor: "the"}
	count := func(words []string) (int, error) {
		r := base
		r.Prompt = strings.Join(append([]string{t.Anchor}, words...), " ")
		t.Probes++
		n, err := promptCount(ctx, b, r)
		if err != nil {
			return 0, fmt.Errorf("calibrating prompt lengths: %w", err)
		}
		return n, nil
	}
	var err error
	if t.Overhead, err = count(nil); err != nil {
		return nil, err
	}
	var test func(ws []string) error
	test = func(ws []string) error {
		n, err := count(ws)
		switch {
		case err != nil:
			return err
		case n-t.Overhead == len(ws):
			t.Words = append(t.Words, ws...)
		case len(ws) > 1:
			if err := test(ws[:len(ws)/2]); err != nil {
				return err
			}
			return test(ws[len(ws)/2:])
		}
		return nil
	}
	if err := test(synth.CommonWords()); err != nil {
		return nil, err
	}
	if len(t.Words) < MinWords {
		return nil, fmt.Errorf("calibrating prompt lengths: only %d of the candidate words are one token each on this model (want %d)", len(t.Words), MinWords)
	}
	return t, nil
}

// promptCount sends r with one output token and returns the engine's count of
// its prompt. A probe that ended short (the model's end-of-sequence first)
// or without content still counts when the engine gave its prompt count: only
// that is asked of it.
func promptCount(ctx context.Context, b backends.Backend, r backends.Request) (int, error) {
	r.MaxTokens = 1
	res, err := b.Generate(ctx, r)
	short := errors.Is(err, backends.ErrShort) || errors.Is(err, backends.ErrNoContent)
	switch {
	case err != nil && !(short && res != nil && res.PromptTokens > 0):
		return 0, err
	case res.PromptTokens <= 0:
		return 0, errors.New("the engine reported no prompt token count (exact-length prompts need it)")
	}
	return res.PromptTokens, nil
}

// Dataset is a DatasetSpec made for one model: its requests, what each must
// come to on the engine, and which share a prefix.
type Dataset struct {
	tok    *Tokens
	reqs   []backends.Request
	bodies []string // each prompt after its salt slot
	want   []int    // each prompt's length in tokens
	// cacheable is each prompt's tokens a cache could serve in the run's
	// first pass over the prompts, again in a later pass.
	cacheable, again []int
	shared           []bool // salted per run, not per request: it shares a prefix
}

// NewDataset makes spec's prompts of tok's words: base's fields with each
// prompt and max_tokens; requests is the run's request count (the default
// number of prompts). A length too short for the overhead is an error.
func NewDataset(spec *DatasetSpec, tok *Tokens, base backends.Request, requests int) (*Dataset, error) {
	if err := spec.check(); err != nil {
		return nil, err
	}
	seed := spec.Seed
	if seed == 0 {
		seed = 1
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6578616374)) // lengths and order
	fixed := tok.Overhead + SaltWords
	pre := 0
	if spec.Prefix != nil {
		pre = spec.Prefix.Tokens
	}
	if low := spec.Input.low(); low <= fixed+pre {
		return nil, fmt.Errorf("dataset.input: the shortest prompt, %d tokens, leaves no room after the %d every prompt has on this model (template and anchor %d, salt %d, prefix %d): set input's tokens or min above %d",
			low, fixed+pre, tok.Overhead, SaltWords, pre, fixed+pre)
	}
	d := &Dataset{tok: tok}
	words := func(stream uint64, n int) string {
		r := rand.New(rand.NewPCG(uint64(seed), stream))
		ws := make([]string, n)
		for i := range ws {
			ws[i] = tok.Words[r.IntN(len(tok.Words))]
		}
		return strings.Join(ws, " ")
	}
	add := func(r backends.Request, body string, want, cacheable, again int) {
		if spec.Output != nil {
			r.MaxTokens = spec.Output.draw(rng)
		}
		d.add(r, body, want, cacheable, again, again > 0)
	}
	if spec.Prefix == nil {
		n := spec.Prompts
		if n == 0 {
			n = orDefault(requests, DefaultRequests)
		}
		for i := range n {
			want := spec.Input.draw(rng)
			add(base, words(uint64(i)<<1, want-fixed), want, 0, 0)
		}
		return d, nil
	}
	p := spec.Prefix
	prefixes := make([]string, p.Count)
	for k := range prefixes {
		prefixes[k] = words(uint64(k)<<1|1, p.Tokens)
	}
	type pair struct{ k, s int }
	var order []pair
	for k := range p.Count {
		for s := range p.Suffixes {
			order = append(order, pair{k, s})
		}
	}
	switch spec.Order {
	case OrderGrouped:
	case OrderInterleaved:
		for i := range order {
			order[i] = pair{i % p.Count, i / p.Count}
		}
	default:
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	seen := make([]bool, p.Count)
	for _, o := range order {
		want, cacheable := spec.Input.draw(rng), 0
		if seen[o.k] {
			cacheable = p.Tokens
		}
		seen[o.k] = true
		add(base, prefixes[o.k]+" "+words(uint64(o.k*p.Suffixes+o.s)<<1, want-fixed-p.Tokens), want, cacheable, p.Tokens)
	}
	return d, nil
}

// add adds a prompt of body (after the anchor and salt slot) to the dataset:
// r with that prompt, its length want, its cacheable tokens in the run's
// first pass and in a later one, and whether it is salted per run (shared).
func (d *Dataset) add(r backends.Request, body string, want, cacheable, again int, shared bool) {
	r.Prompt = d.tok.Anchor + " " + strings.Join(d.tok.Words[:SaltWords], " ") + " " + body
	d.reqs = append(d.reqs, r)
	d.bodies = append(d.bodies, body)
	d.want = append(d.want, want)
	d.cacheable = append(d.cacheable, cacheable)
	d.again = append(d.again, again)
	d.shared = append(d.shared, shared)
}

// orDefault is a if it is set, else def.
func orDefault(a, def int) int {
	if a > 0 {
		return a
	}
	return def
}

// Requests returns the dataset's requests, in order: request i of a run
// sends Requests()[i mod len].
func (d *Dataset) Requests() []backends.Request { return d.reqs }

// Want returns the prompt tokens request i must come to on the engine.
func (d *Dataset) Want(i int64) int { return d.want[i%int64(len(d.want))] }

// Cacheable returns the prompt tokens of request i of a run that a prefix
// cache could serve: its prefix's tokens when a request of the same prefix
// was sent before it in the run (a trace's: the blocks it shares with an
// earlier entry), else 0. The template, anchor and salt tokens every prompt
// starts with are not counted.
func (d *Dataset) Cacheable(i int64) int {
	n := int64(len(d.reqs))
	if i < n {
		return d.cacheable[i]
	}
	return d.again[i%n]
}

// salt returns request i's prompt salted for the run: SaltWords words of the
// run's (a request that shares a prefix) or of the run's and the request's
// (one that shares none, and warm-up requests, i < 0) in its salt slot.
func (d *Dataset) salt(run string, i int64) string {
	n := int64(len(d.reqs))
	j := i % n
	if i < 0 {
		j = (-i - 1) % n
	}
	key := run
	if !d.shared[j] || i < 0 {
		key += "-" + strconv.FormatInt(i, 36)
	}
	h := uint64(14695981039346656037) // FNV-1a of the key
	for _, c := range []byte(key) {
		h = (h ^ uint64(c)) * 1099511628211
	}
	ws := make([]string, SaltWords)
	for k := range ws {
		ws[k] = d.tok.Words[mix(h, uint64(k))%uint64(len(d.tok.Words))]
	}
	return d.tok.Anchor + " " + strings.Join(ws, " ") + " " + d.bodies[j]
}

// check returns the error of a successful request i whose engine count is off
// its dataset's length by more than LengthTolerance; nil otherwise.
func (d *Dataset) check(i int64, res *backends.Result) error {
	want := d.Want(i)
	if got := res.PromptTokens; math.Abs(float64(got-want)) > LengthTolerance*float64(want) {
		return &lengthError{got: got, want: want}
	}
	return nil
}

// Longest returns the index of the dataset's longest prompt, to verify before
// a run that the engine counts it as made (a context that truncates it, a
// tokenizer that merges across words).
func (d *Dataset) Longest() int {
	best := 0
	for i, w := range d.want {
		if w > d.want[best] {
			best = i
		}
	}
	return best
}

// Verify sends the dataset's longest prompt once, with one output token, and
// returns an error when the engine's count of it misses. Its salt slot holds
// words of its own, so that no request of a run finds it in a prefix cache.
func (d *Dataset) Verify(ctx context.Context, b backends.Backend) error {
	i := d.Longest()
	r := d.reqs[i]
	r.Prompt = d.salt("verify-"+strconv.FormatInt(time.Now().UnixNano(), 36), -int64(i)-1)
	n, err := promptCount(ctx, b, r)
	if err != nil {
		return fmt.Errorf("verifying the longest prompt (%d tokens): %w", d.want[i], err)
	}
	if err := d.check(int64(i), &backends.Result{PromptTokens: n}); err != nil {
		return fmt.Errorf("verifying the longest prompt: %w: the context may truncate it, or the tokenizer merge words", err)
	}
	return nil
}

// NewTraceDataset makes a trace's prompts of tok's words at exactly each
// entry's input length in the engine's tokens, asking for its output length:
// a Mooncake entry's body is its blocks of MooncakeBlock tokens in order, each
// block's words drawn from its hash id (as TraceRequests does with words), so
// entries that share leading ids share that prefix; an entry without ids gets
// words of its own. An entry shorter than the model's fixed tokens (template,
// anchor and salt) plus one is made that long; raised counts them. An entry's
// cacheable tokens are those of its leading blocks that an earlier entry of
// the run had (up to the shorter of the two blocks); entries with ids are
// salted per run, so that they share their blocks within a run.
func NewTraceDataset(entries []TraceEntry, tok *Tokens, base backends.Request) (d *Dataset, raised int) {
	d = &Dataset{tok: tok}
	fixed := tok.Overhead + SaltWords
	cover := map[string]int{} // a run of leading ids → the longest last block an entry had of it
	for i, e := range entries {
		want := e.Input
		if want <= fixed {
			want, raised = fixed+1, raised+1
		}
		n := want - fixed
		ws := make([]string, n)
		for w := range ws {
			seed := uint64(i)<<32 | 1<<63 // an entry's own words
			if k := w / MooncakeBlock; k < len(e.HashIDs) {
				seed = uint64(e.HashIDs[k])
			}
			ws[w] = tok.Words[mix(seed, uint64(w%MooncakeBlock))%uint64(len(tok.Words))]
		}
		cacheable, sharing := 0, true
		var key strings.Builder
		for k := 0; k < len(e.HashIDs) && k*MooncakeBlock < n; k++ {
			fmt.Fprintf(&key, "%d,", e.HashIDs[k])
			block := min(MooncakeBlock, n-k*MooncakeBlock)
			had, ok := cover[key.String()]
			if sharing && ok {
				cacheable += min(block, had)
				sharing = had >= block
			} else {
				sharing = false
			}
			cover[key.String()] = max(had, block)
		}
		r := base
		r.MaxTokens = e.Output
		d.add(r, strings.Join(ws, " "), want, cacheable, cacheable, len(e.HashIDs) > 0)
	}
	return d, raised
}
