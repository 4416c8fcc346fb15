package quality

import (
	"math"
	"strings"

	"github.com/llmbench/llmbench/metric"
)

// Metric is one named value, ready for testing.B.ReportMetric(m.Value, m.Unit):
// its Unit is one of [Names] and its Value is never NaN or infinite.
type Metric = metric.Metric

// Input is what [Metrics] scores: one generation, and optionally what it is
// compared with. The zero value of each optional field means "not given", and the
// metrics that need it are left out.
type Input struct {
	// Text is the generated text.
	Text string
	// Reference is the expected text. Blank (empty or whitespace only) means there is
	// none: rouge-l and chrf are left out.
	Reference string
	// Iterations are the texts of every iteration of the same prompt, in order (the
	// first is the one the others are compared with). Fewer than two: agreement and
	// agreement-rouge-l are left out.
	Iterations []string
	// Window is the MATTR window in words; zero means [DefaultWindow].
	Window int
}

// The metric names, in the order [Metrics] returns them. Hyphens join words; the
// last hyphen-separated word is what benchstat takes as the unit, and none of these
// is one benchstat rescales (ns, B, MB).
const (
	nameWords      = "out-words/op"      // WordCount
	nameChars      = "out-chars/op"      // CharCount
	nameTTR        = "ttr"               // TTR
	nameMATTR      = "mattr"             // MATTR with Input.Window
	nameMTLD       = "mtld"              // MTLD
	nameDistinct1  = "distinct1"         // Distinct(text, 1)
	nameDistinct2  = "distinct2"         // Distinct(text, 2)
	nameRep4       = "rep4"              // Repetition(text, 4)
	nameMaxRepRun  = "max-rep-run"       // MaxRepRun
	nameRougeL     = "rouge-l"           // RougeL(Text, Reference)
	nameChrF       = "chrf"              // ChrF(Text, Reference), 0..100
	nameAgreement  = "agreement"         // Agreement(Iterations)
	nameAgreementR = "agreement-rouge-l" // AgreementRougeL(Iterations)
)

var names = []string{
	nameWords, nameChars, nameTTR, nameMATTR, nameMTLD, nameDistinct1, nameDistinct2,
	nameRep4, nameMaxRepRun, nameRougeL, nameChrF, nameAgreement, nameAgreementR,
}

// Names returns every metric name [Metrics] can return, in its order:
//
//	out-words/op out-chars/op ttr mattr mtld distinct1 distinct2 rep4 max-rep-run
//	rouge-l chrf agreement agreement-rouge-l
func Names() []string { return append([]string(nil), names...) }

// Direction returns "higher" or "lower", the better direction of the named metric,
// for a `Unit NAME better=DIRECTION` line; "" for the lengths, which have no better
// direction, and for names this package does not know.
func Direction(name string) string {
	i, ok := metric.Lookup(name)
	if !ok || i.Family != metric.Quality {
		return ""
	}
	return i.Better.String()
}

// Metrics computes every metric that applies to in, in the order of [Names]:
//
//   - out-words/op and out-chars/op: always (0 for an empty text);
//   - ttr, mattr, distinct1, max-rep-run: when Text has a word;
//   - mtld: when Text has a repeated word (otherwise MTLD is undefined);
//   - distinct2: at least 2 words; rep4: at least 4 words;
//   - rouge-l and chrf: when Reference is not blank;
//   - agreement and agreement-rouge-l: when there are at least 2 Iterations.
//
// A metric that does not apply is absent, never 0.
func Metrics(in Input) []Metric {
	t := tokenize(in.Text)
	ms := make([]Metric, 0, len(names))
	add := func(name string, v float64) {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			ms = append(ms, Metric{Unit: name, Value: v})
		}
	}
	add(nameWords, float64(len(t.words)))
	add(nameChars, float64(CharCount(in.Text)))
	add(nameTTR, t.ttr())
	add(nameMATTR, t.mattr(in.Window))
	add(nameMTLD, t.mtld())
	add(nameDistinct1, t.distinct(1))
	add(nameDistinct2, t.distinct(2))
	add(nameRep4, t.repetition(4))
	if len(t.ids) > 0 {
		add(nameMaxRepRun, float64(longestRepeat(t.ids)))
	}
	if strings.TrimFunc(in.Reference, isSpace) != "" {
		add(nameRougeL, RougeL(in.Text, in.Reference))
		add(nameChrF, ChrF(in.Text, in.Reference))
	}
	add(nameAgreement, Agreement(in.Iterations))
	add(nameAgreementR, AgreementRougeL(in.Iterations))
	return ms
}
