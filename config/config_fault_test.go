package config_test

import (
	"strings"
	"testing"

	"github.com/llmbench/llmbench/config"
)

// TestParseNonFiniteTemperature checks that a temperature of .nan or .inf is
// refused: neither is a sampling temperature, and NaN cannot even be written as
// JSON, so the openai backend would send a malformed request body.
func TestParseNonFiniteTemperature(t *testing.T) {
	for _, v := range []string{".nan", ".inf", "-.inf"} {
		doc := "models:\n  - {name: a, backend: openai, model: m, options: {temperature: " + v + "}}\n"
		_, err := config.Parse("t.yaml", []byte(doc))
		if err == nil {
			t.Fatalf("temperature %s is accepted", v)
		}
		if !strings.Contains(err.Error(), "options.temperature") || !strings.HasPrefix(err.Error(), `t.yaml:2: model "a"`) {
			t.Errorf("temperature %s: error %q does not name the file, line, model and options.temperature", v, err)
		}
	}
}
