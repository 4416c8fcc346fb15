package config

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// Prompt is one line of a prompt file.
type Prompt struct {
	// ID names the prompt in benchmark names and reports. Required, unique.
	ID string `json:"id"`
	// Prompt is the text sent to the model. Required.
	Prompt string `json:"prompt"`
	// MaxTokens, when set, is this prompt's exact output length, winning over the
	// model's options.max_tokens.
	MaxTokens int `json:"max_tokens,omitempty"`
	// Reference is an optional reference answer for quality metrics.
	Reference string `json:"reference,omitempty"`

	// Line is the prompt's line in its file.
	Line int `json:"-"`
}

// LoadPrompts reads a JSON-lines prompt file.
func LoadPrompts(path string) ([]Prompt, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("prompts: %w", err)
	}
	defer f.Close()
	return ParsePrompts(path, f)
}

// LoadPromptsFS is LoadPrompts reading from fsys.
func LoadPromptsFS(fsys fs.FS, path string) ([]Prompt, error) {
	data, err := fs.ReadFile(fsys, path)
	if err != nil {
		return nil, fmt.Errorf("prompts: %w", err)
	}
	return ParsePrompts(path, bytes.NewReader(data))
}

// ParsePrompts reads prompts, one JSON object per line; blank lines and lines
// starting with # or // are skipped. file names the source in errors.
func ParsePrompts(file string, r io.Reader) ([]Prompt, error) {
	var out []Prompt
	seen := map[string]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") || strings.HasPrefix(text, "//") {
			continue
		}
		var p Prompt
		dec := json.NewDecoder(strings.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", file, line, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("%s:%d: more than one JSON value on the line", file, line)
		}
		p.Line = line
		switch {
		case p.ID == "":
			return nil, fmt.Errorf("%s:%d: prompt has no id", file, line)
		case p.Prompt == "":
			return nil, fmt.Errorf("%s:%d: prompt %q has an empty prompt", file, line, p.ID)
		case p.MaxTokens < 0:
			return nil, fmt.Errorf("%s:%d: prompt %q: max_tokens is %d: want at least 1", file, line, p.ID, p.MaxTokens)
		}
		if prev, ok := seen[p.ID]; ok {
			return nil, fmt.Errorf("%s:%d: prompt id %q already used at line %d", file, line, p.ID, prev)
		}
		seen[p.ID] = line
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no prompts", file)
	}
	return out, nil
}
