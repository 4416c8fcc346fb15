package openai

import (
	"bytes"
	"testing"
)

var chunkSeeds = []string{
	`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`,
	`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}],"usage":null}`,
	`{"id":"x","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":10,"total_tokens":15,"completion_tokens_details":{"reasoning_tokens":0}}}`,
	`{"choices":[{"index":0,"text":" world","finish_reason":"length"}]}`,
	`{"choices":[{"delta":{"content":"a\"b\\c\u00e9\n"}}]}`,
	`{"choices":[{"delta":{"content":null,"reasoning":"think"}}]}`,
	`{"choices":[{"delta":{"content":"x"}},{"delta":{"content":"y"}}]}`,
	`{"choices":null,"usage":{"prompt_tokens":null,"completion_tokens":3}}`,
	`{"error":{"message":"boom","code":500}}`,
	`{"error":null,"choices":[{"delta":null,"text":null}]}`,
	` { "choices" : [ { "delta" : { "content" : "sp" } } ] } `,
	`{"Choices":[{"delta":{"content":"case"}}]}`,
	`{"choices":[{"delta":{"content":"dup"}}],"choices":[]}`,
	`{"usage":{"prompt_tokens":1.0,"completion_tokens":2}}`,
	`{"usage":{"prompt_tokens":-0,"completion_tokens":1e2}}`,
	`{"choices":[{"delta":{"content":5}}]}`,
	`{"choices":[{"delta":{"content":"x"}}]} trailing`,
	`{"a":[1,-2.5e+3,true,false,null,{"b":"\ud83d\ude00"}],"choices":[]}`,
	`{"choices":[{"delta":{"content":"bad \x escape"}}]}`,
	"{\"choices\":[{\"delta\":{\"content\":\"\xff\xfe\"}}]}",
	`{"choices":[{"delta":{"cont\u0065nt":"esc key"}}]}`,
	`{"choices":[{"delta":{"ſontent":"fold"}}]}`,
	`{"a":01}`,
	`{"usage":{"prompt_tokens":9,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":6}}}`,
	`{"usage":{"prompt_tokens":9,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":null,"audio_tokens":0}}}`,
	`{"usage":{"prompt_tokens":9,"prompt_tokens_details":null}}`,
	`{"usage":{"prompt_tokens_details":{"Cached_Tokens":4}}}`,
	`null`,
	`[]`,
	``,
	`{`,
}

func TestParseChunk(t *testing.T) {
	for _, tc := range []struct {
		in             string
		content        string
		usage          bool
		prompt, output int
		isError, bad   bool
		hasCached      bool // usage.prompt_tokens_details.cached_tokens was given
		cached         int
	}{
		{in: chunkSeeds[0]},
		{in: chunkSeeds[1], content: "Hello"},
		{in: chunkSeeds[2], usage: true, prompt: 5, output: 10},
		{in: chunkSeeds[3], content: " world"},
		{in: chunkSeeds[4], content: "a\"b\\cé\n"},
		{in: chunkSeeds[5], content: "think"},
		{in: chunkSeeds[6], content: "x"},
		{in: chunkSeeds[7], usage: true, output: 3},
		{in: chunkSeeds[8], isError: true},
		{in: chunkSeeds[10], content: "sp"},
		{in: chunkSeeds[11], content: "case"},
		{in: chunkSeeds[13], bad: true},
		{in: chunkSeeds[15], bad: true},
		{in: chunkSeeds[16], bad: true},
		{in: chunkSeeds[19], content: "\uFFFD\uFFFD"},
		{in: chunkSeeds[23], usage: true, prompt: 9, output: 2, hasCached: true, cached: 6},
		{in: chunkSeeds[24], usage: true, prompt: 9, output: 2},
		{in: chunkSeeds[25], usage: true, prompt: 9},
		{in: chunkSeeds[26], usage: true, hasCached: true, cached: 4},
	} {
		var c chunk
		err := parseChunk([]byte(tc.in), &c)
		if (err != nil) != tc.bad {
			t.Errorf("%s: error %v, want bad=%v", tc.in, err, tc.bad)
			continue
		}
		if tc.bad {
			continue
		}
		if string(c.content) != tc.content || c.usage != tc.usage || c.promptTokens != tc.prompt || c.completionTokens != tc.output || c.isError != tc.isError ||
			c.cached != tc.hasCached || c.cachedTokens != tc.cached {
			t.Errorf("%s: got %+v content %q", tc.in, c, c.content)
		}
	}
}

// FuzzParseChunk checks that the fast scanner agrees with encoding/json on every
// payload it accepts.
func FuzzParseChunk(f *testing.F) {
	for _, s := range chunkSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var fast, slow chunk
		if !parseFast(data, &fast) {
			return
		}
		if err := parseSlow(data, &slow); err != nil {
			t.Fatalf("fast accepted %q, encoding/json: %v", data, err)
		}
		if !bytes.Equal(fast.content, slow.content) || fast.usage != slow.usage || fast.promptTokens != slow.promptTokens ||
			fast.completionTokens != slow.completionTokens || fast.isError != slow.isError || fast.cached != slow.cached || fast.cachedTokens != slow.cachedTokens {
			t.Fatalf("%q: fast %+v (%q), slow %+v (%q)", data, fast, fast.content, slow, slow.content)
		}
	})
}

func BenchmarkParseChunk(b *testing.B) {
	data := []byte(chunkSeeds[1])
	for _, bc := range []struct {
		name  string
		parse func([]byte, *chunk) error
	}{
		{"path=fast", parseChunk},
		{"path=encoding_json", parseSlow},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var c chunk
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if err := bc.parse(data, &c); err != nil || len(c.content) == 0 {
					b.Fatal(err)
				}
			}
		})
	}
}
