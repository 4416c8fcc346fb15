package reports

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// svgBody matches an inline drawing, which the structure goldens leave out
// (the browser test looks at the pictures).
var svgBody = regexp.MustCompile(`(?s)<svg role="img".*?</svg>`)

// htmlReport is report.html of testdata/bench.txt.
func htmlReport(t *testing.T) string {
	t.Helper()
	s := readBench(t)
	var buf bytes.Buffer
	require.NoError(t, WriteHTML(&buf, s, Plots(s)))
	return buf.String()
}

// htmlComparison is compare.html of old.txt against new.txt with the gate's
// verdict.
func htmlComparison(t *testing.T) string {
	t.Helper()
	c := compareOldNew(t)
	v, err := c.Gate(GateOptions{})
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, c.WriteHTML(&buf, v, nil))
	return buf.String()
}

func TestHTMLGolden(t *testing.T) {
	page := htmlReport(t)
	golden(t, "report.html.golden", []byte(svgBody.ReplaceAllString(page, "<svg/>")))
	cmp := htmlComparison(t)
	golden(t, "compare.html.golden", []byte(svgBody.ReplaceAllString(cmp, "<svg/>")))
}

func TestHTMLSelfContained(t *testing.T) {
	for name, page := range map[string]string{"report": htmlReport(t), "compare": htmlComparison(t)} {
		// Nothing that would fetch: no src or href to another document, no
		// stylesheet link, no CSS url(); the only URLs are SVG namespaces.
		for _, bad := range []string{" src=", "<link", "url(", "@import", "<iframe", "<img"} {
			assert.NotContains(t, page, bad, name)
		}
		rest := strings.NewReplacer(`xmlns="http://www.w3.org/2000/svg"`, "", `xmlns:xlink="http://www.w3.org/1999/xlink"`, "").Replace(page)
		assert.NotContains(t, rest, "http://", name)
		assert.NotContains(t, rest, "https://", name)
		for _, href := range regexp.MustCompile(`href="([^"]*)"`).FindAllStringSubmatch(page, -1) {
			assert.True(t, strings.HasPrefix(href[1], "#"), "%s: link %s leaves the page", name, href[1])
		}
		assert.Equal(t, 1, strings.Count(page, "<script>"), "%s: one inline script, for sorting", name)
	}
}

func TestHTMLContents(t *testing.T) {
	s := readBench(t)
	page := htmlReport(t)
	assert.Contains(t, page, SyntheticNotice)
	assert.Contains(t, page, "<dt>cpu</dt><dd>AMD EPYC 7B13</dd>", "a machine fact every result shares")
	assert.Contains(t, page, "<dt>engine</dt><dd>ollama v0.17.4</dd>")
	// Every summary table, and every plot drawn or its reason.
	avg, per := s.Averaged("prompt"), s.Rows()
	for _, b := range s.benchmarks() {
		for _, tb := range summaryTables(s, avg, per, b) {
			assert.Contains(t, page, "<h3>"+tb.title+"</h3>")
		}
	}
	for _, p := range Plots(s) {
		if p.Skipped != "" {
			assert.Contains(t, page, `<p class="skipped" id="plot-`+p.Name+`">`)
		} else {
			assert.Contains(t, page, `<figure id="plot-`+p.Name+`"><svg role="img"`)
		}
	}
	// Human units with the interval on hover, the raw value to sort by.
	assert.Contains(t, page, `<td class="num" data-v="107877315.5" title="95% CI 106 ms … 109 ms (n=12)">108 ms<small>±2%</small></td>`)

	cmp := htmlComparison(t)
	assert.Contains(t, cmp, `<section id="verdict" class="verdict fail">`)
	assert.Contains(t, cmp, "Benchmark gate: FAIL, 1 benchmark missing", "new.txt lacks the 1B")
	assert.Contains(t, cmp, "missing from new.txt: Generate/model=llama3.2-1b/prompt=short: only in old.txt")
	assert.Contains(t, cmp, `class="num better"`, "the 0.5B got faster")
}
