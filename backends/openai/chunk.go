package openai

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// chunk is what Generate needs from one streamed data payload.
type chunk struct {
	// content is the generated text the chunk carries: choices[0].delta.content,
	// else its reasoning_content or reasoning (thinking models), else
	// choices[0].text (/v1/completions). It may alias the payload.
	content []byte
	// reasoning is set when content is reasoning (reasoning_content or
	// reasoning) rather than answer text.
	reasoning bool
	// usage is set when the payload carried a non-null usage object.
	usage                          bool
	promptTokens, completionTokens int
	// cached is set when the usage object carried
	// prompt_tokens_details.cached_tokens (vLLM, SGLang, OpenAI): cachedTokens
	// of the prompt tokens were served from the server's prefix cache.
	cached       bool
	cachedTokens int
	// isError is set when the payload carried a non-null error object.
	isError bool
}

// parseChunk decodes one data payload. A fast hand-written scanner handles the
// shapes servers send; anything it is unsure of (escapes in keys, odd types,
// deep nesting, keys that differ from ours only in case) goes to encoding/json,
// which also decides whether the payload is malformed. Both paths agree on
// every payload the fast one accepts (FuzzParseChunk checks this).
func parseChunk(data []byte, c *chunk) error {
	*c = chunk{}
	if parseFast(data, c) {
		return nil
	}
	*c = chunk{}
	return parseSlow(data, c)
}

type slowChunk struct {
	Choices []struct {
		Delta *struct {
			Content          *string `json:"content"`
			ReasoningContent *string `json:"reasoning_content"`
			Reasoning        *string `json:"reasoning"`
		} `json:"delta"`
		Text *string `json:"text"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens        *int `json:"prompt_tokens"`
		CompletionTokens    *int `json:"completion_tokens"`
		PromptTokensDetails *struct {
			CachedTokens *int `json:"cached_tokens"`
		} `json:"prompt_tokens_details"`
	} `json:"usage"`
	Error json.RawMessage `json:"error"`
}

func parseSlow(data []byte, c *chunk) error {
	var s slowChunk
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	if len(s.Choices) > 0 {
		ch := s.Choices[0]
		var f fields
		if ch.Delta != nil {
			f.content = strBytes(ch.Delta.Content)
			f.reasoningContent = strBytes(ch.Delta.ReasoningContent)
			f.reasoning = strBytes(ch.Delta.Reasoning)
		}
		f.text = strBytes(ch.Text)
		c.content, c.reasoning = f.pick()
	}
	if s.Usage != nil {
		c.usage = true
		if s.Usage.PromptTokens != nil {
			c.promptTokens = *s.Usage.PromptTokens
		}
		if s.Usage.CompletionTokens != nil {
			c.completionTokens = *s.Usage.CompletionTokens
		}
		if d := s.Usage.PromptTokensDetails; d != nil && d.CachedTokens != nil {
			c.cached, c.cachedTokens = true, *d.CachedTokens
		}
	}
	c.isError = len(s.Error) > 0 && string(s.Error) != "null"
	return nil
}

func strBytes(s *string) []byte {
	if s == nil {
		return nil
	}
	return []byte(*s)
}

// fields are the candidate content strings of choices[0].
type fields struct{ content, reasoningContent, reasoning, text []byte }

// pick returns the chunk's content and whether it is reasoning.
func (f *fields) pick() ([]byte, bool) {
	for i, b := range [][]byte{f.content, f.reasoningContent, f.reasoning, f.text} {
		if len(b) > 0 {
			return b, i == 1 || i == 2
		}
	}
	return nil, false
}

// scanner is a minimal JSON reader over one payload. Its methods return false
// for anything they do not handle, sending the payload to encoding/json.
type scanner struct {
	b []byte
	i int
}

const maxDepth = 64

func parseFast(data []byte, c *chunk) bool {
	s := scanner{b: data}
	var seen [3]bool // choices, usage, error
	ok := s.object(func(key []byte) bool {
		switch string(key) {
		case "choices":
			if seen[0] {
				return false
			}
			seen[0] = true
			return s.choices(c)
		case "usage":
			if seen[1] {
				return false
			}
			seen[1] = true
			return s.usage(c)
		case "error":
			if seen[2] {
				return false
			}
			seen[2] = true
			return s.null() // a real error object goes the slow way
		}
		if foldsTo(key, "choices", "usage", "error") {
			return false
		}
		return s.skip(1)
	})
	if !ok {
		return false
	}
	s.ws()
	return s.i == len(s.b)
}

// foldsTo reports whether key might match one of names the way encoding/json
// matches keys (case-insensitively, with Unicode folding) without being equal.
func foldsTo(key []byte, names ...string) bool {
	for _, b := range key {
		if b >= utf8.RuneSelf {
			return true
		}
	}
	for _, n := range names {
		if len(n) == len(key) && bytes.EqualFold(key, []byte(n)) {
			return true
		}
	}
	return false
}

func (s *scanner) choices(c *chunk) bool {
	if s.null() {
		return true
	}
	first := true
	return s.array(func() bool {
		var f fields
		if !s.choice(&f) {
			return false
		}
		if first {
			c.content, c.reasoning = f.pick()
			first = false
		}
		return true
	})
}

func (s *scanner) choice(f *fields) bool {
	if s.null() {
		return true
	}
	var seen [2]bool
	return s.object(func(key []byte) bool {
		switch string(key) {
		case "delta":
			if seen[0] {
				return false
			}
			seen[0] = true
			return s.delta(f)
		case "text":
			if seen[1] {
				return false
			}
			seen[1] = true
			var ok bool
			f.text, ok = s.nullableString()
			return ok
		}
		if foldsTo(key, "delta", "text") {
			return false
		}
		return s.skip(3)
	})
}

func (s *scanner) delta(f *fields) bool {
	if s.null() {
		return true
	}
	var seen [3]bool
	return s.object(func(key []byte) bool {
		var dst *[]byte
		var i int
		switch string(key) {
		case "content":
			dst, i = &f.content, 0
		case "reasoning_content":
			dst, i = &f.reasoningContent, 1
		case "reasoning":
			dst, i = &f.reasoning, 2
		default:
			if foldsTo(key, "content", "reasoning_content", "reasoning") {
				return false
			}
			return s.skip(4)
		}
		if seen[i] {
			return false
		}
		seen[i] = true
		var ok bool
		*dst, ok = s.nullableString()
		return ok
	})
}

func (s *scanner) usage(c *chunk) bool {
	if s.null() {
		return true
	}
	c.usage = true
	var seen [3]bool
	return s.object(func(key []byte) bool {
		var dst *int
		var i int
		switch string(key) {
		case "prompt_tokens":
			dst, i = &c.promptTokens, 0
		case "completion_tokens":
			dst, i = &c.completionTokens, 1
		case "prompt_tokens_details":
			if seen[2] {
				return false
			}
			seen[2] = true
			return s.null() || s.promptDetails(c)
		default:
			if foldsTo(key, "prompt_tokens", "completion_tokens", "prompt_tokens_details") {
				return false
			}
			return s.skip(2)
		}
		if seen[i] {
			return false
		}
		seen[i] = true
		if s.null() {
			return true
		}
		return s.integer(dst)
	})
}

// promptDetails reads usage.prompt_tokens_details: its cached_tokens.
func (s *scanner) promptDetails(c *chunk) bool {
	seen := false
	return s.object(func(key []byte) bool {
		if string(key) != "cached_tokens" {
			if foldsTo(key, "cached_tokens") {
				return false
			}
			return s.skip(3)
		}
		if seen {
			return false
		}
		seen = true
		if s.null() {
			return true
		}
		c.cached = true
		return s.integer(&c.cachedTokens)
	})
}

func (s *scanner) ws() {
	if s.i < len(s.b) && s.b[s.i] > ' ' {
		return // the common case: no white space
	}
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) eat(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) lit(word string) bool {
	s.ws()
	if bytes.HasPrefix(s.b[s.i:], []byte(word)) {
		s.i += len(word)
		return true
	}
	return false
}

func (s *scanner) null() bool { return s.lit("null") }

// object reads {"key": value, …}, calling member after each key and colon; member
// must read the value.
func (s *scanner) object(member func(key []byte) bool) bool {
	if !s.eat('{') {
		return false
	}
	if s.eat('}') {
		return true
	}
	for {
		key, esc, ok := s.str()
		if !ok || esc || !s.eat(':') || !member(key) {
			return false
		}
		if s.eat(',') {
			continue
		}
		return s.eat('}')
	}
}

func (s *scanner) array(elem func() bool) bool {
	if !s.eat('[') {
		return false
	}
	if s.eat(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if s.eat(',') {
			continue
		}
		return s.eat(']')
	}
}

// str reads a string and returns its raw bytes between the quotes and whether
// they hold escapes. Escapes are checked for validity but not decoded.
func (s *scanner) str() (raw []byte, esc, ok bool) {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false, false
	}
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		c := s.b[j]
		if !strSpecial[c] {
			continue
		}
		switch {
		case c == '"':
			s.i = j + 1
			return s.b[start:j], esc, true
		case c == '\\':
			esc = true
			j++
			if j >= len(s.b) {
				return nil, false, false
			}
			switch s.b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(s.b) {
					return nil, false, false
				}
				for _, h := range s.b[j+1 : j+5] {
					if !isHex(h) {
						return nil, false, false
					}
				}
				j += 4
			default:
				return nil, false, false
			}
		default: // control character
			return nil, false, false
		}
	}
	return nil, false, false
}

// strSpecial marks the bytes that end the fast path through a string.
var strSpecial = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// nullableString reads a string or null. A string with escapes or invalid UTF-8
// is decoded by encoding/json, which turns bad UTF-8 into U+FFFD.
func (s *scanner) nullableString() ([]byte, bool) {
	if s.null() {
		return nil, true
	}
	start := s.i
	raw, esc, ok := s.str()
	if !ok {
		return nil, false
	}
	if !esc && utf8.Valid(raw) {
		return raw, true
	}
	var v string
	if json.Unmarshal(s.b[start:s.i], &v) != nil {
		return nil, false
	}
	return []byte(v), true
}

// integer reads a JSON integer that fits an int without doubt.
func (s *scanner) integer(dst *int) bool {
	s.ws()
	j := s.i
	if j < len(s.b) && s.b[j] == '-' {
		j++
	}
	d := j
	for j < len(s.b) && '0' <= s.b[j] && s.b[j] <= '9' {
		j++
	}
	n := j - d
	if n == 0 || n > 15 || (n > 1 && s.b[d] == '0') {
		return false
	}
	if j < len(s.b) {
		switch s.b[j] {
		case '.', 'e', 'E':
			return false
		}
	}
	v, err := strconv.Atoi(string(s.b[s.i:j]))
	if err != nil {
		return false
	}
	*dst = v
	s.i = j
	return true
}

// skip reads and discards any JSON value.
func (s *scanner) skip(depth int) bool {
	if depth > maxDepth {
		return false
	}
	s.ws()
	if s.i >= len(s.b) {
		return false
	}
	switch s.b[s.i] {
	case '"':
		_, _, ok := s.str()
		return ok
	case '{':
		return s.object(func([]byte) bool { return s.skip(depth + 1) })
	case '[':
		return s.array(func() bool { return s.skip(depth + 1) })
	case 't':
		return s.lit("true")
	case 'f':
		return s.lit("false")
	case 'n':
		return s.null()
	}
	return s.number()
}

// number reads a number per the JSON grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() bool {
	b, j := s.b, s.i
	digits := func() int {
		k := j
		for j < len(b) && '0' <= b[j] && b[j] <= '9' {
			j++
		}
		return j - k
	}
	if j < len(b) && b[j] == '-' {
		j++
	}
	start := j
	n := digits()
	if n == 0 || (n > 1 && b[start] == '0') {
		return false
	}
	if j < len(b) && b[j] == '.' {
		j++
		if digits() == 0 {
			return false
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		if digits() == 0 {
			return false
		}
	}
	s.i = j
	return true
}
