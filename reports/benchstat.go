package reports

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"golang.org/x/perf/benchfmt"
)

// IsBenchstatCSV reports whether data looks like the output of
// `benchstat -format csv`: after any "key: value" configuration lines, the
// first line is a CSV header row, which starts with a comma. Go benchmark
// output never has such a line.
func IsBenchstatCSV(data []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
			continue
		case isConfigLine(line):
			continue
		}
		return strings.HasPrefix(line, ",")
	}
	return false
}

// isConfigLine is benchfmt's rule: a lower-case key without spaces or
// upper-case letters, then a colon.
func isConfigLine(line string) bool {
	key, _, ok := strings.Cut(line, ":")
	if !ok || key == "" || !(key[0] >= 'a' && key[0] <= 'z') {
		return false
	}
	return !strings.ContainsAny(key, " \t") && strings.ToLower(key) == key
}

// ReadBenchstatCSV reads the output of `benchstat -format csv OLD NEW` as a
// Comparison: its medians, ±% intervals, deltas ("~": not significant) and
// p-values. The CSV must have exactly two columns of results (old, new).
// Times that benchstat tidied to seconds ("sec/op", "ttft-sec/op") are turned
// back into llmbench's ns units ("ns/op", "ttft-ns/op"). Directions are
// DefaultBetter's: benchstat's CSV has no `Unit` lines.
func ReadBenchstatCSV(r io.Reader, name string) (*Comparison, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	c := &Comparison{FromBenchstat: true, Old: "old", New: "new"}
	var metric string
	var factor float64
	var labels []string              // the current table's column labels
	single := false                  // the current table has one column of results
	synthetic := false               // the current table's model-synthetic
	onlyIn := map[string][]Missing{} // by side
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		where := fmt.Sprintf("%s:%d", name, line)
		switch {
		case len(rec) == 1:
			// Configuration ("goos: linux"), which benchstat repeats when it
			// changes between tables.
			if k, v, ok := strings.Cut(rec[0], ":"); ok && k == ConfigSynthetic {
				synthetic = strings.TrimSpace(v) == "true"
			}
			continue
		case rec[0] == "" && len(rec) > 2 && rec[2] == "CI":
			// Unit header: ,sec/op,CI,sec/op,CI,vs base,P — or ,sec/op,CI
			// in a table of benchmarks that only one input has.
			switch len(rec) {
			case 3:
				single = true
			case 7:
				single = false
				if len(labels) > 3 {
					c.Old, c.New = labels[1], labels[3]
				}
			default:
				return nil, fmt.Errorf("%s: benchstat CSV with %d result columns; compare needs exactly two (old and new)", where, (len(rec)+1)/4)
			}
			metric, factor = untidy(rec[1])
		case rec[0] == "":
			// Column labels: ,old.txt,,new.txt,,,
			labels = rec
		case rec[0] == "geomean":
			continue
		default:
			if metric == "" {
				return nil, fmt.Errorf("%s: result row before any unit header", where)
			}
			for len(rec) < 7 {
				rec = append(rec, "")
			}
			id := rec[0]
			side := ""
			switch {
			case single && len(labels) > 1:
				side = labels[1]
			case rec[1] != "" && rec[3] == "" && len(labels) > 1:
				side = labels[1]
			case rec[1] == "" && rec[3] != "" && len(labels) > 3:
				side = labels[3]
			}
			if single || rec[1] == "" || rec[3] == "" {
				bench, labels := splitName(id)
				onlyIn[side] = append(onlyIn[side], Missing{Benchmark: bench, Labels: labels, Metric: metric,
					Synthetic: synthetic, Better: DefaultBetter(metric)})
				continue
			}
			d, err := parseBenchstatRow(rec, metric, factor)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			d.Synthetic = synthetic
			c.Deltas = append(c.Deltas, d)
		}
	}
	if len(c.Deltas) == 0 {
		return nil, fmt.Errorf("%s: no comparison rows in benchstat CSV: %w", name, ErrNoCommon)
	}
	compared := map[string]bool{}
	for _, d := range c.Deltas {
		compared[d.ID()] = true
	}
	for side, ms := range onlyIn {
		for i := range ms {
			ms[i].Whole = !compared[ms[i].ID()]
		}
		switch side {
		case c.Old:
			c.OnlyOld = append(c.OnlyOld, ms...)
		case c.New:
			c.OnlyNew = append(c.OnlyNew, ms...)
		}
	}
	return c, nil
}

// untidy maps benchstat's tidied unit back to llmbench's: seconds become ns.
func untidy(unit string) (metric string, factor float64) {
	num, den, _ := strings.Cut(unit, "/")
	if num == "sec" || strings.HasSuffix(num, "-sec") {
		m := strings.TrimSuffix(num, "sec") + "ns"
		if den != "" {
			m += "/" + den
		}
		return m, 1e9
	}
	return unit, 1
}

func parseBenchstatRow(rec []string, metric string, factor float64) (Delta, error) {
	d := Delta{Metric: metric, Better: DefaultBetter(metric)}
	bench, labels := splitName(rec[0])
	d.Benchmark, d.Labels = bench, labels
	var err error
	if d.Old, err = parseCenter(rec[1], rec[2], factor); err != nil {
		return d, err
	}
	if d.New, err = parseCenter(rec[3], rec[4], factor); err != nil {
		return d, err
	}
	d.Significant = rec[5] != "~"
	// P cell: "p=0.002 n=6", "p=0.030 n=6+7", or "n=6" for exact units.
	d.P = 0
	for _, f := range strings.Fields(rec[6]) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "p":
			if d.P, err = strconv.ParseFloat(v, 64); err != nil {
				return d, fmt.Errorf("bad p-value %q", rec[6])
			}
		case "n":
			a, b, two := strings.Cut(v, "+")
			n1, err1 := strconv.Atoi(a)
			n2 := n1
			var err2 error
			if two {
				n2, err2 = strconv.Atoi(b)
			}
			if err1 != nil || err2 != nil || n1 < 0 || n2 < 0 {
				return d, fmt.Errorf("bad sample count %q", rec[6])
			}
			d.Old.N, d.New.N = n1, n2
		}
	}
	d.setChange()
	return d, nil
}

// parseCenter reads a center and benchstat's "±%" interval ("2%", "∞", "?").
func parseCenter(center, ci string, factor float64) (Estimate, error) {
	v, err := strconv.ParseFloat(center, 64)
	if err != nil {
		return Estimate{}, fmt.Errorf("bad value %q", center)
	}
	e := Estimate{Center: v * factor, Lo: math.Inf(-1), Hi: math.Inf(1)}
	if p, ok := strings.CutSuffix(ci, "%"); ok {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil {
			return e, fmt.Errorf("bad interval %q", ci)
		}
		e.Lo, e.Hi = e.Center*(1-f/100), e.Center*(1+f/100)
	}
	return e, nil
}

// splitName splits a benchmark name ("Generate/model=a/prompt=p1-8") into its
// base and key=value labels, as benchfmt does; positional parts stay in the
// base and GOMAXPROCS is dropped.
func splitName(full string) (string, []Label) {
	base, parts := benchfmt.Name(full).Parts()
	name := string(base)
	var labels []Label
	for _, p := range parts {
		switch {
		case p[0] == '-':
		case bytes.IndexByte(p, '=') > 0:
			k, v, _ := strings.Cut(string(p[1:]), "=")
			labels = append(labels, Label{k, v})
		default:
			name += string(p)
		}
	}
	return name, labels
}
