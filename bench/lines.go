package bench

import (
	"bufio"
	"os"
	"runtime"
	"slices"
	"strconv"

	"strings"
)

// ModelKeys are the per-model configuration keys every model writes, in order,
// before its results (docs/metrics.md); a backend's further facts
// (Description.Extra) follow them.
var ModelKeys = []string{"engine", "model-id", "model-arch", "model-params", "model-quant", "model-digest", "model-size",
	"model-synthetic", "device", "threads", "prefix-cache", "think", "rss-method"}

// ConfigLines returns m's configuration lines as key, value pairs: ModelKeys in
// order (empty when unknown), then the backend's extra facts.
func (m *Model) ConfigLines() [][2]string {
	d := m.Desc
	num := func(n int64) string {
		if n <= 0 {
			return ""
		}
		return strconv.FormatInt(n, 10)
	}
	o := m.Config.Spec.Options
	think := ""
	if o.Think != nil {
		think = strconv.FormatBool(*o.Think)
	}
	_, synthetic := m.Config.Spec.Synthetic()
	vals := map[string]string{
		"engine": d.Engine, "model-id": m.Config.Model, "model-arch": d.Arch, "model-params": num(d.Params),
		"model-quant": d.Quant, "model-digest": d.Digest, "model-size": num(d.Size),
		"model-synthetic": strconv.FormatBool(d.Synthetic || synthetic), "device": d.Device,
		"threads": num(int64(o.Threads)), "prefix-cache": string(o.PrefixCache), "think": think,
		"rss-method": m.RSSMethod,
	}
	out := make([][2]string, 0, len(ModelKeys)+len(d.Extra))
	for _, k := range ModelKeys {
		out = append(out, [2]string{k, vals[k]})
	}
	for _, kv := range d.Extra {
		if !slices.Contains(ModelKeys, kv[0]) {
			out = append(out, kv)
		}
	}
	return out
}

// ModelLines returns the configuration lines to write before m's results: m's own
// (ConfigLines), and an empty value for every key the previous model wrote that m
// does not (an empty value deletes a key in the benchmark format), so no fact
// leaks from one model to the next.
func (s *Suite) ModelLines(m *Model) [][2]string {
	out := m.ConfigLines()
	keys := make([]string, len(out))
	for i, kv := range out {
		keys[i] = kv[0]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.lastKeys {
		if !slices.Contains(keys, k) {
			out = append(out, [2]string{k, ""})
		}
	}
	s.lastKeys = keys
	return out
}

// HostLines returns the lines `go test` writes at the start of benchmark output
// (goos, goarch, cpu), for output written without it.
func HostLines() [][2]string {
	return [][2]string{{"goos", runtime.GOOS}, {"goarch", runtime.GOARCH}, {"cpu", cpuName()}}
}

func cpuName() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
