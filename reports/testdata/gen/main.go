// Command gen writes the crafted benchmark outputs under reports/testdata and
// cmd/llmbench/testdata/report. Run from the repository root:
//
//	go run ./reports/testdata/gen
//	(cd reports/testdata && go tool benchstat -format csv old.txt new.txt > benchstat.csv)
//	(cd cmd/llmbench/testdata/report && go tool benchstat -format csv base.txt regression.txt > benchstat.csv)
//
// The numbers are invented (deterministic pseudo-random noise around chosen
// centres); they exercise the reports, not any real model.
package main

import (
	"fmt"
	"io"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

type model struct {
	name      string
	params    float64
	synthetic bool
	ttftMs    float64 // per 100 prompt tokens
	tpotMs    float64
	rssMiB    float64
	vramMiB   float64 // 0: no GPU metric
	rouge     float64
}

var models = []model{
	{"synth-tiny", 1.3e8, true, 40, 12, 310, 0, 0.02},
	{"qwen2.5-0.5b", 4.94e8, false, 90, 25, 820, 610, 0.31},
	{"llama3.2-1b", 1.24e9, false, 160, 41, 1650, 1420, 0.38},
}

type prompt struct {
	id      string
	tokens  float64
	outToks float64
}

var prompts = []prompt{{"short", 24, 64}, {"long", 410, 128}}

const header = `goos: linux
goarch: amd64
pkg: github.com/llmbench/llmbench
cpu: AMD EPYC 7B13
engine: ollama v0.17.4
Unit ns/op better=lower
Unit ttft-ns/op better=lower
Unit tpot-ns/op better=lower
Unit tokens/s better=higher
Unit prompt-tokens/s better=higher
Unit gen-tokens/op assume=exact
Unit prompt-tokens/op assume=exact
Unit peak-rss-B better=lower
Unit peak-vram-B better=lower
Unit load-ns better=lower
Unit rouge-l better=higher
`

// scale multiplies the time metrics (and divides the rates) of one side.
func writeGenerate(w io.Writer, rng *rand.Rand, ms []model, ps []prompt, n int, scale, noise float64, full bool) {
	jit := func() float64 { return 1 + noise*(2*rng.Float64()-1) }
	for _, m := range ms {
		fmt.Fprintf(w, "model-params: %.0f\n", m.params)
		fmt.Fprintf(w, "model-synthetic: %v\n", m.synthetic)
		for _, p := range ps {
			for range n {
				ttft := m.ttftMs * 1e6 * (0.5 + p.tokens/100) * scale * jit()
				tpot := m.tpotMs * 1e6 * scale * jit()
				e2e := ttft + tpot*(p.outToks-1)
				rate := 1e9 / tpot
				prate := p.tokens / (ttft / 1e9)
				rss := m.rssMiB * (1 << 20) * (1 + p.tokens/4000) * (1 + noise/4*(2*rng.Float64()-1))
				var b strings.Builder
				fmt.Fprintf(&b, "BenchmarkGenerate/model=%s/prompt=%s \t       1\t%12.0f ns/op\t%11.0f ttft-ns/op\t%10.0f tpot-ns/op\t%7.2f tokens/s\t%8.1f prompt-tokens/s\t%4.0f gen-tokens/op\t%4.0f prompt-tokens/op\t%11.0f peak-rss-B",
					m.name, p.id, e2e, ttft, tpot, rate, prate, p.outToks, p.tokens, rss)
				if full {
					if m.vramMiB > 0 {
						fmt.Fprintf(&b, "\t%11.0f peak-vram-B", m.vramMiB*(1<<20)*(1+p.tokens/8000))
					}
					words := p.outToks * 0.75 * (1 + 0.05*(2*rng.Float64()-1))
					fmt.Fprintf(&b, "\t%5.1f out-words/op\t%.3f ttr\t%.3f distinct2\t%.3f rouge-l",
						words, 0.55+0.1*rng.Float64(), 0.80+0.15*rng.Float64(), m.rouge*(1+0.1*(2*rng.Float64()-1)))
				}
				fmt.Fprintln(w, b.String())
			}
		}
	}
}

// writeLoad writes BenchmarkLoad results as the suite does, loadgen's metrics
// per load point: the 0.5B through a concurrency sweep (no SLO), the
// synthetic model through a rate sweep with a TTFT SLO that its p99 breaks
// at the highest rates; n iterations per point.
func writeLoad(w io.Writer, rng *rand.Rand, n int) {
	jit := func() float64 { return 1 + 0.03*(2*rng.Float64()-1) }
	line := func(name string, ttft, tpot, reqs, good, lag float64, outToks float64, rss float64) {
		e2e := ttft + tpot*(outToks-1)
		fmt.Fprintf(w, "BenchmarkLoad/%s \t       1\t%7.3f req/s\t%8.2f tokens/s", name, reqs, reqs*outToks)
		if good >= 0 {
			fmt.Fprintf(w, "\t%7.3f goodput-req/s", good)
		}
		fmt.Fprintf(w, "\t0 error-rate")
		for _, h := range []struct {
			name string
			v    float64
		}{{"ttft", ttft}, {"tpot", tpot}, {"itl", tpot}, {"e2e", e2e}} {
			fmt.Fprintf(w, "\t%11.0f %s-p50-ns\t%11.0f %s-p90-ns\t%11.0f %s-p99-ns", h.v, h.name, h.v*1.3, h.name, h.v*1.8, h.name)
		}
		fmt.Fprintf(w, "\t%9.0f lag-p50-ns\t%9.0f lag-p99-ns\t%11.0f peak-rss-B\n", lag, lag*6, rss)
	}
	m := models[1]
	fmt.Fprintf(w, "model-params: %.0f\nmodel-synthetic: false\n", m.params)
	for _, c := range []int{1, 2, 4, 8} {
		for range n {
			j := jit()
			tpot := 25e6 * (1 + 0.25*float64(c-1)) * j
			ttft := 95e6 * (1 + 0.5*float64(c-1)) * j
			e2e := ttft + tpot*127
			line(fmt.Sprintf("model=%s/concurrency=%d", m.name, c), ttft, tpot, float64(c)/(e2e/1e9), -1, 4e4*j, 128,
				m.rssMiB*(1<<20)*(1+0.05*float64(c)))
		}
	}
	m = models[0]
	const slo = 300e6
	fmt.Fprintf(w, "model-params: %.0f\nmodel-synthetic: true\nslo-ttft-ns: %.0f\n", m.params, slo)
	for _, r := range []float64{1, 2, 4, 8} {
		for range n {
			j := jit()
			tpot := 12e6 * (1 + 0.04*r*r) * j
			ttft := 40e6 * (1 + 0.12*r*r) * j
			reqs := math.Min(r, 6.5) * j
			// The share of requests whose TTFT meets the SLO, with p99 = 1.8×p50.
			good := reqs * math.Max(0, math.Min(1, (slo-ttft)/(0.8*ttft)+0.5))
			line(fmt.Sprintf("model=%s/rate=%g", m.name, r), ttft, tpot, reqs, good, 1e5*r*r*j, 64,
				m.rssMiB*(1<<20)*(1+0.02*r))
		}
	}
	fmt.Fprintln(w, "slo-ttft-ns:")
}

func create(path string, f func(w io.Writer)) {
	out, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	f(out)
	if err := out.Close(); err != nil {
		log.Fatal(err)
	}
}

func main() {
	reports := filepath.Join("reports", "testdata")
	cmd := filepath.Join("cmd", "llmbench", "testdata", "report")
	for _, d := range []string{reports, cmd} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			log.Fatal(err)
		}
	}

	// A full run: three models (one synthetic, one without GPU), two prompts,
	// six iterations, quality metrics, and a load benchmark.
	create(filepath.Join(reports, "bench.txt"), func(w io.Writer) {
		rng := rand.New(rand.NewPCG(1, 2))
		io.WriteString(w, header)
		writeGenerate(w, rng, models, prompts, 6, 1, 0.02, true)
		writeLoad(w, rng, 6)
		io.WriteString(w, "PASS\nok  \tgithub.com/llmbench/llmbench\t61.552s\n")
	})

	// A comparison: the synthetic model unchanged, the 0.5B 15% faster, the
	// 1B only in the old run; 6 samples old, 7 new.
	create(filepath.Join(reports, "old.txt"), func(w io.Writer) {
		rng := rand.New(rand.NewPCG(11, 12))
		io.WriteString(w, header)
		writeGenerate(w, rng, models[:2], prompts, 6, 1, 0.02, true)
		writeGenerate(w, rng, models[2:], prompts[:1], 6, 1, 0.02, true)
	})
	create(filepath.Join(reports, "new.txt"), func(w io.Writer) {
		rng := rand.New(rand.NewPCG(13, 14))
		io.WriteString(w, header)
		writeGenerate(w, rng, models[:1], prompts, 7, 1, 0.02, true)
		writeGenerate(w, rng, models[1:2], prompts, 7, 0.85, 0.02, true)
	})

	// Gate pairs: the synthetic model and the 0.5B, two prompts, n=6 per side.
	pair := []model{models[0], models[1]}
	side := func(name string, seed uint64, scale float64) {
		create(filepath.Join(cmd, name), func(w io.Writer) {
			io.WriteString(w, header)
			writeGenerate(w, rand.New(rand.NewPCG(seed, 7)), pair, prompts, 6, scale, 0.02, false)
		})
	}
	side("base.txt", 1, 1)
	side("noise.txt", 2, 1)        // same distribution, other noise
	side("regression.txt", 3, 1.2) // 20% slower
	side("improvement.txt", 4, 0.8)
	// noise.txt with one broken result line (line 20).
	data, err := os.ReadFile(filepath.Join(cmd, "noise.txt"))
	if err != nil {
		log.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	lines[19] = strings.Replace(lines[19], " ns/op", "x ns/op", 1)
	if err := os.WriteFile(filepath.Join(cmd, "malformed.txt"), []byte(strings.Join(lines, "")), 0o644); err != nil {
		log.Fatal(err)
	}
	// Too few samples to say anything (n=2).
	create(filepath.Join(cmd, "small.txt"), func(w io.Writer) {
		io.WriteString(w, header)
		writeGenerate(w, rand.New(rand.NewPCG(5, 7)), pair, prompts, 2, 1.2, 0.02, false)
	})
	derived(cmd)
	// Different models: nothing in common with base.txt.
	create(filepath.Join(cmd, "other.txt"), func(w io.Writer) {
		io.WriteString(w, header)
		writeGenerate(w, rand.New(rand.NewPCG(6, 7)), []model{models[2]}, prompts, 6, 1, 0.02, false)
	})
}

// derived writes the gate inputs made from noise.txt and base.txt: a run that
// lost a model, one that lost a metric of one benchmark, and the one-shot load
// figures once per model (on every case line, as llmbench wrote them before
// stage lines, or on stage lines), the new side's load 3× slower.
func derived(dir string) {
	read := func(name string) []string {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			log.Fatal(err)
		}
		return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	}
	write := func(name string, lines []string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	noise, base := read("noise.txt"), read("base.txt")
	for i, l := range noise {
		if l == "model-params: 494000000" {
			write("lost-model.txt", noise[:i])
			break
		}
	}
	tokens := regexp.MustCompile(`\s+[0-9.e+]+ tokens/s(\s|$)`)
	var lost []string
	for _, l := range noise {
		if strings.HasPrefix(l, "BenchmarkGenerate/model=qwen2.5-0.5b/prompt=long") {
			l = tokens.ReplaceAllString(l, "$1")
		}
		lost = append(lost, l)
	}
	write("lost-metric.txt", lost)

	type load struct{ ns, rss int64 }
	loads := map[string]load{"synth-tiny": {812345678, 301989888}, "qwen2.5-0.5b": {1534567890, 801112064}}
	slower := func(l load) load { return load{l.ns * 3, l.rss * 3 / 2} }
	model := regexp.MustCompile(`^BenchmarkGenerate/model=([^/]+)/`)
	var old, cases, stages []string
	for _, l := range base {
		if m := model.FindStringSubmatch(l); m != nil {
			l += fmt.Sprintf("\t%d load-ns\t%d rss-after-load-B", loads[m[1]].ns, loads[m[1]].rss)
		}
		old = append(old, l)
	}
	for _, l := range noise {
		stages = append(stages, l)
		if name, ok := map[string]string{"model-synthetic: true": "synth-tiny", "model-synthetic: false": "qwen2.5-0.5b"}[l]; ok {
			ld := slower(loads[name])
			stages = append(stages, fmt.Sprintf("BenchmarkGenerate/model=%s/stage=load \t       1\t  %d load-ns\t  %d rss-after-load-B", name, ld.ns, ld.rss))
		}
		if m := model.FindStringSubmatch(l); m != nil {
			ld := slower(loads[m[1]])
			l += fmt.Sprintf("\t%d load-ns\t%d rss-after-load-B", ld.ns, ld.rss)
		}
		cases = append(cases, l)
	}
	write("oneshot-base.txt", old)
	write("oneshot-new.txt", stages)
	write("oneshot-cases.txt", cases)
}
