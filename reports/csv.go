package reports

import (
	"encoding/csv"
	"io"
	"math"
	"strconv"
)

// StatColumns are the per-metric statistics of results.csv, in column order.
// Each metric M contributes the columns Column(M)+"_"+stat.
var StatColumns = []string{"n", "mean", "median", "stddev", "min", "max", "ci_low", "ci_high"}

// WriteCSV writes results.csv: one row per group (benchmark × model × prompt ×
// any other name key), in input order. Columns:
//
//	benchmark            benchmark name without "Benchmark": Generate, Load
//	<key>…               one per name key in s.Keys: model, prompt, concurrency…
//	params               model-params config value ("" when unknown)
//	synthetic            true for a model-synthetic model, else false
//	<metric>_<stat>…     for each metric in s.Metrics, the StatColumns
//
// A metric's column prefix (Column) keeps its unit: ttft_ns_median is in ns,
// peak_rss_B_max in bytes, tokens_per_s_mean in tokens/s. Numbers are plain
// decimals in the benchmark's own unit; an absent metric, a standard
// deviation of one value and a confidence interval of fewer than 6 values
// are empty cells.
func WriteCSV(w io.Writer, s *Set) error {
	cw := csv.NewWriter(w)
	header := []string{"benchmark"}
	header = append(header, s.Keys...)
	header = append(header, "params", "synthetic")
	for _, m := range s.Metrics {
		for _, st := range StatColumns {
			header = append(header, Column(m)+"_"+st)
		}
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, g := range s.Groups {
		row := []string{g.Benchmark}
		for _, k := range s.Keys {
			row = append(row, g.Get(k))
		}
		params := ""
		if g.Params > 0 {
			params = num(g.Params)
		}
		row = append(row, params, strconv.FormatBool(g.Synthetic))
		for _, m := range s.Metrics {
			st, ok := g.Stats(m)
			if !ok {
				for range StatColumns {
					row = append(row, "")
				}
				continue
			}
			row = append(row, strconv.Itoa(st.N), num(st.Mean), num(st.Median), num(st.Stddev),
				num(st.Min), num(st.Max), num(st.Lo), num(st.Hi))
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// num formats v as a plain decimal, shortest form that reads back exactly;
// NaN and ±Inf are "".
func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}
