package bench

import (
	"bufio"
	"os"
	"runtime"
	"strings"
)

// ModelKeys are the per-model configuration keys, in the order they are written
// before a model's results. All are always written (an empty value deletes a key in
// the benchmark format), so no value leaks from one model to the next.
var ModelKeys = []string{"engine", "model-id", "model-arch", "model-params", "model-quant", "model-digest", "model-synthetic", "device", "threads", "rss-method"}

// ConfigLines returns m's configuration lines as key, value pairs in ModelKeys
// order; unknown values are empty.
func (m *Model) ConfigLines() [][2]string {
	info := map[string]string{"model-id": m.Config.Model, "model-synthetic": "false"}
	for k, v := range m.Info {
		info[k] = v
	}
	out := make([][2]string, len(ModelKeys))
	for i, k := range ModelKeys {
		out[i] = [2]string{k, info[k]}
	}
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
