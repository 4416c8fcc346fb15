package config_test

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/llmbench/llmbench/backends"
	"github.com/llmbench/llmbench/config"
	_ "github.com/llmbench/llmbench/engines" // the engines a configuration names
)

// addFiles adds the files matching each glob (relative to the package folder)
// to the fuzzer's seeds, so the real configurations and prompt sets of the
// repository are always among them, each cut to its first lines (up to 2 KiB)
// so that mutations are quick; the committed corpus in testdata/fuzz holds the
// rest.
func addFiles(f *testing.F, globs ...string) {
	f.Helper()
	n := 0
	for _, g := range globs {
		paths, err := filepath.Glob(g)
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			if len(data) > 2048 {
				data = data[:bytes.LastIndexByte(data[:2048], '\n')+1]
			}
			f.Add(data)
			n++
		}
	}
	if n == 0 {
		f.Fatalf("no seed files match %v", globs)
	}
}

// FuzzParse feeds arbitrary bytes to config.Parse: it must not panic, every
// error must name the file, and an accepted configuration must hold what
// Parse promises (models, unique names, known backends, defaults filled in,
// a valid load spec).
func FuzzParse(f *testing.F) {
	addFiles(f, "../configs/*.yaml", "../testdata/*.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		const file = "fuzz.yaml"
		c, err := config.Parse(file, data)
		if err != nil {
			if c != nil {
				t.Fatalf("error %v with a non-nil config", err)
			}
			if !strings.HasPrefix(err.Error(), file) {
				t.Fatalf("error %q does not start with the file name", err)
			}
			return
		}
		if c.File != file || len(c.Models) == 0 || c.Iterations < 1 || c.Warmup < 0 {
			t.Fatalf("accepted config breaks its defaults: %+v", c)
		}
		names := map[string]bool{}
		for _, m := range c.Models {
			if m.Name == "" || names[m.Name] || m.Spec.Name != m.Name {
				t.Fatalf("accepted model name %q (empty, repeated or not in its spec %q)", m.Name, m.Spec.Name)
			}
			names[m.Name] = true
			if !slices.Contains(backends.Engines(), m.Backend) || m.Model == "" {
				t.Fatalf("accepted model %+v", m)
			}
			o := m.Spec.Options
			if o.MaxTokens < 1 || o.Context < 1 || o.Temperature < 0 || math.IsNaN(o.Temperature) || math.IsInf(o.Temperature, 0) || o.Threads < 0 || o.Batch < 0 || o.KeepAlive < 0 {
				t.Fatalf("model %q: resolved options out of range: %+v", m.Name, o)
			}
			if err := m.Load.Check(); err != nil {
				t.Fatalf("model %q: accepted load spec fails Check: %v", m.Name, err)
			}
		}
	})
}

// FuzzParsePrompts feeds arbitrary bytes to config.ParsePrompts: it must not
// panic, every error must name the file and a line, and an accepted prompt set
// must hold unique ids and non-empty prompts, and read back the same when
// written out again one JSON object per line.
func FuzzParsePrompts(f *testing.F) {
	addFiles(f, "../data/*.jsonl", "../testdata/*.jsonl")
	f.Fuzz(func(t *testing.T, data []byte) {
		const file = "fuzz.jsonl"
		ps, err := config.ParsePrompts(file, bytes.NewReader(data))
		if err != nil {
			if ps != nil {
				t.Fatalf("error %v with prompts", err)
			}
			if !strings.HasPrefix(err.Error(), file+":") {
				t.Fatalf("error %q does not start with the file name", err)
			}
			return
		}
		if len(ps) == 0 {
			t.Fatal("no error and no prompts")
		}
		ids := map[string]bool{}
		var out bytes.Buffer
		for i, p := range ps {
			if p.ID == "" || p.Prompt == "" || p.MaxTokens < 0 || ids[p.ID] {
				t.Fatalf("accepted prompt %+v", p)
			}
			ids[p.ID] = true
			if i > 0 && p.Line <= ps[i-1].Line {
				t.Fatalf("lines out of order: %d after %d", p.Line, ps[i-1].Line)
			}
			out.Write(mustJSON(t, p))
			out.WriteByte('\n')
		}
		again, err := config.ParsePrompts(file, &out)
		if err != nil {
			t.Fatalf("prompts written back do not parse: %v\n%s", err, out.Bytes())
		}
		if len(again) != len(ps) {
			t.Fatalf("read back %d prompts of %d", len(again), len(ps))
		}
		for i := range ps {
			a, b := ps[i], again[i]
			a.Line, b.Line = 0, 0
			if a != b {
				t.Fatalf("prompt %d read back as %+v, was %+v", i, b, a)
			}
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
