package reports

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"golang.org/x/perf/benchfmt"

	"github.com/llmbench/llmbench/metric"
)

// A MetricInfo describes a metric llmbench knows by name.
type MetricInfo struct {
	// Unit is the metric as benchmark lines write it: "ttft-ns/op".
	Unit string
	// Title is its name for people: "TTFT".
	Title string
	// Better is the default direction: +1 higher is better, -1 lower is better,
	// 0 none (the gate skips it unless a `Unit … better=` line says otherwise).
	Better int
	// Quality marks text-quality metrics, meaningless for synthetic models.
	Quality bool
	// OneShot marks a figure measured once per model (when it is loaded), not
	// once per case and iteration: one sample per model, which reports show
	// in a per-model table and the gate leaves out of its significance tests
	// unless asked for it by name. Read moves such a figure found on case
	// lines to the model's stage line (see StageKey).
	OneShot bool
}

// KnownMetrics lists llmbench's metrics in report order: package metric's one
// table (metric.All), so reports know every metric the suite can print. Quality
// metrics have no default direction here: a change in them is a change in the
// text, which the gate judges only when a `Unit … better=` line gives a direction
// (llmbench run writes them), and never for synthetic models unless asked by name.
var KnownMetrics = func() []MetricInfo {
	var out []MetricInfo
	for _, m := range metric.All() {
		mi := MetricInfo{Unit: m.Unit, Title: m.Title, Better: int(m.Better), OneShot: m.OneShot}
		if m.Family == metric.Quality {
			mi.Better, mi.Quality = 0, true
		}
		out = append(out, mi)
	}
	return out
}()

func knownMetric(unit string) (MetricInfo, int) {
	for i, m := range KnownMetrics {
		if m.Unit == unit {
			return m, i
		}
	}
	return MetricInfo{}, -1
}

// sortMetrics puts known metrics first, in KnownMetrics order, then the others
// in their given (first-seen) order.
func sortMetrics(units []string) []string {
	out := slices.Clone(units)
	slices.SortStableFunc(out, func(a, b string) int {
		_, ia := knownMetric(a)
		_, ib := knownMetric(b)
		switch {
		case ia >= 0 && ib >= 0:
			return ia - ib
		case ia >= 0:
			return -1
		case ib >= 0:
			return 1
		}
		return 0
	})
	return out
}

// DefaultBetter is the direction of metric when no `Unit` line gives one:
// KnownMetrics first; then by unit: time (…ns, …sec) and bytes (…B) lower is
// better, rates (…/s) higher is better; otherwise 0.
func DefaultBetter(metric string) int {
	if m, i := knownMetric(metric); i >= 0 {
		return m.Better
	}
	switch unitKind(metric) {
	case kindTime, kindBytes:
		return -1
	case kindRate:
		return +1
	}
	return 0
}

// better looks metric up in the unit metadata: exactly, then without or with a
// "/op" suffix (a `Unit ttft-ns better=lower` line covers "ttft-ns/op"), then
// falls back to DefaultBetter.
func better(units benchfmt.UnitMetadataMap, metric string) int {
	for _, u := range []string{metric, strings.TrimSuffix(metric, "/op"), metric + "/op"} {
		if md := units.Get(u, "better"); md != nil {
			return units.GetBetter(u)
		}
	}
	return DefaultBetter(metric)
}

// Column is the CSV column prefix of metric: the unit without a "/op" suffix,
// "/" spelled "_per_" and other punctuation "_"; "ns/op" is "latency_ns",
// "B/op" "alloc_B". So "ttft-ns/op" → "ttft_ns", "tokens/s" → "tokens_per_s",
// "peak-rss-B" → "peak_rss_B", "J/token" → "J_per_token".
func Column(metric string) string {
	switch metric {
	case "ns/op", "sec/op":
		return "latency_ns"
	case "B/op":
		return "alloc_B"
	}
	u := strings.TrimSuffix(metric, "/op")
	u = strings.ReplaceAll(u, "/", "_per_")
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, u)
}

// Title is metric's name for people.
func Title(metric string) string {
	if m, i := knownMetric(metric); i >= 0 {
		return m.Title
	}
	return metric
}

func isQuality(metric string) bool {
	m, i := knownMetric(metric)
	return i >= 0 && m.Quality
}

// IsOneShot reports whether metric is measured once per model (see
// MetricInfo.OneShot).
func IsOneShot(metric string) bool {
	m, i := knownMetric(metric)
	return i >= 0 && m.OneShot
}

type kind int

const (
	kindPlain kind = iota
	kindTime       // ns
	kindBytes      // B
	kindRate       // per second
)

// unitKind classifies metric by its last hyphen word, per benchunit: "ns" time,
// "B" bytes, "…/s" rate.
func unitKind(metric string) kind {
	u := strings.TrimSuffix(metric, "/op")
	if strings.HasSuffix(u, "/s") {
		return kindRate
	}
	if i := strings.LastIndexByte(u, '-'); i >= 0 {
		u = u[i+1:]
	}
	switch u {
	case "ns", "sec":
		return kindTime
	case "B":
		return kindBytes
	}
	return kindPlain
}

// Human formats v of metric in human units: ms (µs, s), MiB/GiB; other
// units (rates, counts, ratios) as plain numbers with three significant digits. NaN and ±Inf are "–".
func Human(metric string, v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	switch unitKind(metric) {
	case kindTime:
		return humanNs(v)
	case kindBytes:
		return humanBytes(v)
	}
	return sig3(v)
}

func humanNs(ns float64) string {
	a := math.Abs(ns)
	switch {
	case a == 0:
		return "0 ms"
	case a < 1e6:
		return sig3(ns/1e3) + " µs"
	case a < 100e9:
		return sig3(ns/1e6) + " ms"
	}
	return sig3(ns/1e9) + " s"
}

func humanBytes(b float64) string {
	const mi, gi = 1 << 20, 1 << 30
	a := math.Abs(b)
	switch {
	case a >= gi:
		return fmt.Sprintf("%.2f GiB", b/gi)
	case a >= mi:
		return sig3(b/mi) + " MiB"
	case a >= 1<<10:
		return sig3(b/(1<<10)) + " KiB"
	}
	return sig3(b) + " B"
}

// sig3 formats x with about three significant digits, never in exponent form.
func sig3(x float64) string {
	a := math.Abs(x)
	switch {
	case a >= 100:
		return fmt.Sprintf("%.0f", x)
	case a >= 10:
		return fmt.Sprintf("%.1f", x)
	case a >= 1:
		return fmt.Sprintf("%.2f", x)
	case a == 0:
		return "0"
	case a >= 0.001:
		return fmt.Sprintf("%.3f", x)
	}
	return fmt.Sprintf("%.3g", x)
}
