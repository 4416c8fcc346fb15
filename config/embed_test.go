package config

import (
	"slices"
	"strings"
	"testing"

	"github.com/llmbench/llmbench/embedbench"
	"github.com/llmbench/llmbench/loadgen"
)

func parseEmbed(t *testing.T, backend, extra string) (*Model, error) {
	t.Helper()
	doc := "models:\n  - name: m\n    backend: " + backend + "\n    model: synthetic:tiny-llama\n" + indent(extra, "    ")
	c, err := Parse("test.yaml", []byte(doc))
	if err != nil {
		return nil, err
	}
	return &c.Models[0], nil
}

func TestEmbedSpecParse(t *testing.T) {
	m, err := parseEmbed(t, "ollama", "embed: {batch: [1, 8, 32], requests: 50}")
	if err != nil {
		t.Fatal(err)
	}
	if m.Embed == nil || !slices.Equal(m.Embed.Batch, loadgen.Ints{1, 8, 32}) || m.Embed.Requests != 50 || !m.Spec.Embed {
		t.Errorf("embed: %+v, spec.Embed %v", m.Embed, m.Spec.Embed)
	}
	m, err = parseEmbed(t, "openai", "embed: {batch: 4}")
	if err != nil || !slices.Equal(m.Embed.Batch, loadgen.Ints{4}) {
		t.Errorf("scalar batch: %+v %v", m, err)
	}
	m, err = parseEmbed(t, "openai", "embed: {}")
	if err != nil || m.Embed == nil || m.Embed.Points()[0] != (embedbench.Point{Name: "batch=1", Batch: 1, Requests: embedbench.Defaults.Requests}) {
		t.Errorf("defaults: %+v %v", m, err)
	}
	m, err = parseEmbed(t, "ollama", "options: {threads: 2}")
	if err != nil || m.Embed != nil || m.Spec.Embed {
		t.Errorf("no embed: %+v %v", m, err)
	}
}

// Every mistake names the file and the model's line (or the key's line).
func TestEmbedSpecErrors(t *testing.T) {
	for _, tc := range []struct{ backend, extra, want string }{
		{"ollama", "embed: {batch: [0, 1]}", `test.yaml:2: model "m": embed: batch 0: want 1 or more inputs per request`},
		{"ollama", "embed: {batch: [8, 8]}", `test.yaml:2: model "m": embed: batch 8 is listed twice`},
		{"openai", "embed: {requests: -3}", `test.yaml:2: model "m": embed: requests -3: want 1 or more`},
		{"ollama", "embed: {batch: many}", `line 5: "many" is not an integer`},
		{"ollama", "embed: {batches: [1]}", "line 5: unknown key models.embed.batches: want one of batch, requests"},
		{"transformers", "embed: {}", `test.yaml:2: model "m": embed: the transformers engine serves no embeddings: use backend ollama or openai`},
		{"ollama", "embed: {batch: 1}\nload: {concurrency: 2}", `test.yaml:2: model "m": embed: a model has load: or embed:, not both`},
	} {
		_, err := parseEmbed(t, tc.backend, tc.extra)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got error %v, want it to contain %q", tc.extra, err, tc.want)
		}
	}
}
