package loadgen

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/llmbench/llmbench/backends"
)

// Trace formats accepted in TraceSpec.Format.
const (
	// TraceMooncake is the Mooncake trace's JSON lines: {"timestamp": ms,
	// "input_length": tokens, "output_length": tokens, "hash_ids": [ids of
	// the prompt's blocks of MooncakeBlock tokens]}.
	TraceMooncake = "mooncake"
	// TraceBurstGPT is BurstGPT's CSV: a header naming at least Timestamp
	// (seconds), Request tokens and Response tokens. Rows of 0 response
	// tokens (BurstGPT's failed requests) are left out.
	TraceBurstGPT = "burstgpt"
)

// MooncakeBlock is the number of prompt tokens one Mooncake hash id stands
// for.
const MooncakeBlock = 512

// TraceSpec is a trace to replay as the configuration writes it (load:
// trace:). It makes the load mode trace: every entry is sent at its own time,
// whatever the server's speed (an open loop, capped by max_concurrency).
type TraceSpec struct {
	// File is the trace, relative to the working directory.
	File string `yaml:"file"`
	// Format is mooncake or burstgpt; empty means by the file's extension
	// (.csv is burstgpt, anything else mooncake).
	Format string `yaml:"format"`
	// TimeScale multiplies every time of the trace: 0.5 replays it twice as
	// fast. 0 means 1.
	TimeScale float64 `yaml:"time_scale"`
	// Window keeps the entries whose timestamp (in the trace's own time,
	// before scaling) is in [From, To), and replays them from From. A zero To
	// means to the end.
	Window struct {
		From Duration `yaml:"from"`
		To   Duration `yaml:"to"`
	} `yaml:"window"`
}

func (t *TraceSpec) check() error {
	switch {
	case t.File == "":
		return errors.New("trace.file: name the trace file")
	case t.Format != "" && t.Format != TraceMooncake && t.Format != TraceBurstGPT:
		return fmt.Errorf("trace.format %q: want mooncake or burstgpt", t.Format)
	case !(t.TimeScale >= 0) || math.IsInf(t.TimeScale, 0):
		return fmt.Errorf("trace.time_scale %g: want a factor above 0 (0 means 1)", t.TimeScale)
	case t.Window.From.Duration < 0:
		return fmt.Errorf("trace.window.from %v: want 0 or more", t.Window.From.Duration)
	case t.Window.To.Duration != 0 && t.Window.To.Duration <= t.Window.From.Duration:
		return fmt.Errorf("trace.window.to %v: want after from (%v), or 0 for the end", t.Window.To.Duration, t.Window.From.Duration)
	}
	return nil
}

// format returns the trace's format, inferred from the file name when unset.
func (t *TraceSpec) format() string {
	switch {
	case t.Format != "":
		return t.Format
	case strings.EqualFold(filepath.Ext(t.File), ".csv"):
		return TraceBurstGPT
	}
	return TraceMooncake
}

// name is the trace point's name: trace=FILE without folder and extension.
func (t *TraceSpec) name() string {
	base := filepath.Base(t.File)
	return "trace=" + strings.TrimSuffix(base, filepath.Ext(base))
}

// TraceEntry is one request of a trace.
type TraceEntry struct {
	// At is when it is sent, from the replay's start: its timestamp less the
	// window's start, times the time scale.
	At time.Duration
	// Input and Output are its prompt and output lengths in tokens.
	Input, Output int
	// HashIDs name its prompt's blocks (Mooncake): entries that share a
	// leading id share that block of prompt.
	HashIDs []int
	// Line is its line in the trace file.
	Line int
}

// ReadTrace reads the spec's trace file: its entries in the window, in time
// order, times scaled. Errors name the file and line.
func ReadTrace(t *TraceSpec) ([]TraceEntry, error) {
	f, err := os.Open(t.File)
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	defer f.Close()
	return ParseTrace(f, t)
}

// ParseTrace is ReadTrace reading from r (t.File names it in errors).
func ParseTrace(r io.Reader, t *TraceSpec) ([]TraceEntry, error) {
	var (
		all []TraceEntry
		ts  []time.Duration // each entry's own timestamp
		err error
	)
	if t.format() == TraceBurstGPT {
		all, ts, err = parseBurstGPT(r, t.File)
	} else {
		all, ts, err = parseMooncake(r, t.File)
	}
	if err != nil {
		return nil, err
	}
	scale := t.TimeScale
	if scale == 0 {
		scale = 1
	}
	from, to := t.Window.From.Duration, t.Window.To.Duration
	var out []TraceEntry
	for i, e := range all {
		if i > 0 && ts[i] < ts[i-1] {
			return nil, fmt.Errorf("%s:%d: timestamp %v is before the previous entry's %v: a trace is in time order", t.File, e.Line, ts[i], ts[i-1])
		}
		if ts[i] < from || to > 0 && ts[i] >= to {
			continue
		}
		e.At = time.Duration(math.Round(float64(ts[i]-from) * scale))
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no entry in the window [%v, %v)", t.File, from, to)
	}
	return out, nil
}

func parseMooncake(r io.Reader, file string) ([]TraceEntry, []time.Duration, error) {
	var (
		out []TraceEntry
		ts  []time.Duration
	)
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<24)
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var e struct {
			Timestamp    *float64 `json:"timestamp"`
			InputLength  *int     `json:"input_length"`
			OutputLength *int     `json:"output_length"`
			HashIDs      []int    `json:"hash_ids"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, nil, fmt.Errorf("%s:%d: %w", file, line, err)
		}
		switch {
		case e.Timestamp == nil || e.InputLength == nil || e.OutputLength == nil:
			return nil, nil, fmt.Errorf("%s:%d: want timestamp, input_length and output_length", file, line)
		case *e.Timestamp < 0 || *e.InputLength < 1 || *e.OutputLength < 1:
			return nil, nil, fmt.Errorf("%s:%d: want timestamp ≥ 0 and lengths ≥ 1", file, line)
		}
		out = append(out, TraceEntry{Input: *e.InputLength, Output: *e.OutputLength, HashIDs: e.HashIDs, Line: line})
		ts = append(ts, time.Duration(math.Round(*e.Timestamp*float64(time.Millisecond))))
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", file, err)
	}
	return out, ts, nil
}

func parseBurstGPT(r io.Reader, file string) ([]TraceEntry, []time.Duration, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("%s:1: %w", file, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(h)] = i
	}
	need := []string{"Timestamp", "Request tokens", "Response tokens"}
	for _, h := range need {
		if _, ok := col[h]; !ok {
			return nil, nil, fmt.Errorf("%s:1: no column %q (BurstGPT's header names %s)", file, h, strings.Join(need, ", "))
		}
	}
	var (
		out []TraceEntry
		ts  []time.Duration
	)
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s:%d: %w", file, line, err)
		}
		field := func(h string) (float64, error) {
			i := col[h]
			if i >= len(rec) {
				return 0, fmt.Errorf("%s:%d: no %s", file, line, h)
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(rec[i]), 64)
			if err != nil || v < 0 || math.IsInf(v, 0) {
				return 0, fmt.Errorf("%s:%d: %s %q: want a number ≥ 0", file, line, h, rec[i])
			}
			return v, nil
		}
		var vals [3]float64
		for i, h := range need {
			if vals[i], err = field(h); err != nil {
				return nil, nil, err
			}
		}
		if vals[2] == 0 {
			continue // a failed request in BurstGPT
		}
		out = append(out, TraceEntry{Input: max(int(vals[1]), 1), Output: int(vals[2]), Line: line})
		ts = append(ts, time.Duration(math.Round(vals[0]*float64(time.Second))))
	}
	return out, ts, nil
}

// traceWords is the vocabulary of trace prompts: short common words, most of
// them one token each for common tokenizers.
var traceWords = strings.Fields(`the of and to in is was for on are with as his they be at one have this from
or had by hot word but what some we can out other were all there when up use your how said an each she which
do their time if will way about many then them write would like so these her long make thing see him two has
look more day could go come did number sound no most people my over know water than call first who may down`)

// TraceRequests returns one request per entry: MaxTokens the entry's output
// length, a prompt of as many words as its input length. A Mooncake entry's
// prompt is its blocks of MooncakeBlock words in order, each block's words
// drawn from its hash id, so entries sharing leading ids share that prefix;
// an entry without ids gets words of its own. Words are not tokens: the
// server's prompt_tokens say what the prompt came to.
func TraceRequests(entries []TraceEntry, base backends.Request) []backends.Request {
	out := make([]backends.Request, len(entries))
	for i, e := range entries {
		var b strings.Builder
		for w := range e.Input {
			seed := uint64(i)<<32 | 1<<63 // an entry's own words
			if k := w / MooncakeBlock; k < len(e.HashIDs) {
				seed = uint64(e.HashIDs[k])
			}
			if w > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(traceWords[mix(seed, uint64(w%MooncakeBlock))%uint64(len(traceWords))])
		}
		r := base
		r.Prompt, r.MaxTokens = b.String(), e.Output
		out[i] = r
	}
	return out
}

// mix is splitmix64 of a and b: a block's word j.
func mix(a, b uint64) uint64 {
	z := a*0x9e3779b97f4a7c15 + b + 0x632be59bd9b4e019
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}
