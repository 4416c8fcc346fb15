// Command generatecheck compares the decode rate llmbench measures for the
// transformers engine with plain model.generate, timed in the same worker and
// interleaved: for each model, after one untimed generation, it alternates a
// measured generation (the engine's Generate, as llmbench runs it: tokens/s =
// (n − 1) / decode on llmbench's clock, docs/metrics.md) with one plain
// model.generate of n tokens and one of 1 token (no streamer; decode rate
// (n − 1) / (t(n) − t(1))). It prints one JSON line per pair and per model a
// summary: the medians, their ratio, and each side's spread (max ÷ min).
//
// Pairs that move together show a swing of the machine (both sides slow down);
// a ratio that moves shows one of the measurement. Host facts are recorded with
// each pair for that reading: the share of CPU time the hypervisor stole
// (/proc/stat), the mean CPU clock from /proc/cpuinfo and the load average.
//
//	generatecheck -models distilgpt2,gpt2-medium,opt-1.3b -device cuda -dtype float16 -tokens 128 -repeats 7 -prompt TEXT
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/backends/transformers"
)

func main() {
	models := flag.String("models", "distilgpt2", "synthetic presets, comma-separated")
	device := flag.String("device", "cpu", "cpu or cuda")
	dtype := flag.String("dtype", "", "float32, float16 or bfloat16 (default: the engine's)")
	decode := flag.String("decode", transformers.DecodeGenerate, "the engine's decode option")
	tokens := flag.Int("tokens", 32, "exact output tokens")
	repeats := flag.Int("repeats", 5, "interleaved pairs per model")
	prompt := flag.String("prompt", "Continue the story: The lighthouse keeper had not seen a ship in forty days, until one foggy morning", "the prompt")
	flag.Parse()
	ok := true
	for _, m := range strings.Split(*models, ",") {
		if err := check(m, transformers.Options{Device: *device, DType: *dtype, Decode: *decode}, *prompt, *tokens, *repeats); err != nil {
			fmt.Fprintf(os.Stderr, "generatecheck: %s: %v\n", m, err)
			ok = false
		}
	}
	if !ok {
		os.Exit(1)
	}
}

// pair is one interleaved measurement.
type pair struct {
	Model     string  `json:"model"`
	Repeat    int     `json:"repeat"`
	Llmbench  float64 `json:"llmbench_tokens_per_s"`
	Generate  float64 `json:"generate_tokens_per_s"`
	Ratio     float64 `json:"ratio"`
	CPUMHz    float64 `json:"cpu_mhz"`
	StealPct  float64 `json:"cpu_steal_pct"` // of the host's CPU time during the pair (a VM's stolen time)
	LoadAvg1  float64 `json:"loadavg_1m"`
	Tokens    int     `json:"tokens"`
	TTFTms    float64 `json:"llmbench_ttft_ms"`
	Generate1 float64 `json:"generate1_ms"`
}

func check(preset string, o transformers.Options, prompt string, n, repeats int) error {
	ctx := context.Background()
	spec := backends.Spec{Name: preset, Model: "synthetic:" + preset, Options: backends.Options{MaxTokens: n, Seed: 42}}
	b, err := transformers.New(ctx, spec, o)
	if err != nil {
		return err
	}
	defer b.Close()
	req := backends.Request{Prompt: prompt, MaxTokens: n, Seed: 42}
	if _, err := b.Generate(ctx, req); err != nil {
		return err
	}
	zero := 0
	var ours, plain, ratios []float64
	enc := json.NewEncoder(os.Stdout)
	for i := range repeats {
		steal0, total0 := cpuStat()
		r, err := b.Generate(ctx, req)
		if err != nil {
			return err
		}
		if r.OutputTokens != n || r.DecodeTime() <= 0 {
			return fmt.Errorf("repeat %d: %d tokens, decode %v; want %d tokens", i, r.OutputTokens, r.DecodeTime(), n)
		}
		base, err := b.Baseline(ctx, transformers.BaselineRequest{Prompt: prompt, MaxTokens: n, Repeats: 1, Warmup: &zero})
		if err != nil {
			return err
		}
		if base.DecodeTokensPerSecond <= 0 {
			return fmt.Errorf("repeat %d: plain generate gave no decode rate (t(n) %v, t(1) %v)", i, base.Generate, base.Generate1)
		}
		p := pair{Model: preset, Repeat: i, Tokens: n,
			Llmbench: float64(n-1) / r.DecodeTime().Seconds(), Generate: base.DecodeTokensPerSecond,
			TTFTms: ms(r.TTFT()), Generate1: ms(base.Generate1)}
		p.Ratio = p.Llmbench / p.Generate
		p.CPUMHz, p.LoadAvg1 = host()
		if steal1, total1 := cpuStat(); total1 > total0 {
			p.StealPct = 100 * float64(steal1-steal0) / float64(total1-total0)
		}
		ours, plain, ratios = append(ours, p.Llmbench), append(plain, p.Generate), append(ratios, p.Ratio)
		if err := enc.Encode(p); err != nil {
			return err
		}
	}
	mo, mp := median(ours), median(plain)
	return enc.Encode(map[string]any{
		"model": preset, "summary": true, "repeats": repeats, "tokens": n, "decode": o.Decode,
		"llmbench_median": mo, "generate_median": mp, "ratio_of_medians": mo / mp,
		"ratio_min": slices.Min(ratios), "ratio_median": median(ratios), "ratio_max": slices.Max(ratios),
		"llmbench_spread": slices.Max(ours) / slices.Min(ours), "generate_spread": slices.Max(plain) / slices.Min(plain),
		"within_5pct": mo/mp >= 0.95 && mo/mp <= 1.05,
	})
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// cpuStat returns the steal ticks and all ticks of /proc/stat's cpu line; zeros
// where it cannot be read.
func cpuStat() (steal, total uint64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	for i, v := range f[1:] {
		x, _ := strconv.ParseUint(v, 10, 64)
		if i < 8 { // user nice system idle iowait irq softirq steal; guest is in user
			total += x
		}
		if i == 7 {
			steal = x
		}
	}
	return steal, total
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// host returns the mean "cpu MHz" of /proc/cpuinfo and the 1-minute load
// average; zeros where they cannot be read.
func host() (mhz, load float64) {
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		var sum float64
		var k int
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if name, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(name) == "cpu MHz" {
				if x, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					sum, k = sum+x, k+1
				}
			}
		}
		f.Close()
		if k > 0 {
			mhz = sum / float64(k)
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			load, _ = strconv.ParseFloat(f[0], 64)
		}
	}
	return mhz, load
}
