package synth

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	gguf "github.com/gpustack/gguf-parser-go"
	"github.com/x448/float16"
)

func TestParseSpec(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    string // Spec.String(); "" for an error
		wantErr string
	}{
		{in: "tiny-llama", want: "tiny-llama:f16"},
		{in: "llama-1.3b:q4_0", want: "llama-1.3b:q4_0"},
		{in: "distilgpt2:Q8_0", want: "distilgpt2:q8_0"},
		{in: " gpt2-medium:f32 ", want: "gpt2-medium:f32"},
		{in: "llama-70b", wantErr: "presets: tiny-llama, tiny-gpt2, distilgpt2"},
		{in: "", wantErr: "unknown preset"},
		{in: "tiny-gpt2:q5_k", wantErr: `unknown type "q5_k"`},
		{in: "tiny-gpt2:", wantErr: "unknown type"},
	} {
		s, err := ParseSpec(tc.in)
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseSpec(%q) = %v, %v; want error containing %q", tc.in, s, err, tc.wantErr)
			}
		case err != nil:
			t.Errorf("ParseSpec(%q): %v", tc.in, err)
		case s.String() != tc.want:
			t.Errorf("ParseSpec(%q) = %s, want %s", tc.in, s, tc.want)
		}
	}
	s, _ := ParseSpec("llama-1.3b")
	if got := s.FileName(); got != "llama-1.3b-f16.gguf" {
		t.Errorf("FileName = %q", got)
	}
}

// TestRoundTrip writes every type of the tiny presets and reads them back with
// gguf-parser-go.
func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"tiny-llama", "tiny-gpt2"} {
		for _, typ := range Types {
			spec := Spec{Preset: mustPreset(t, name), Type: typ}
			t.Run(spec.String(), func(t *testing.T) {
				path, err := WriteFile(dir, spec)
				if err != nil {
					t.Fatal(err)
				}
				fi, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Size() != spec.Size() {
					t.Errorf("file size %d, Size() %d", fi.Size(), spec.Size())
				}
				gf, err := gguf.ParseGGUFFile(path, gguf.UseMMap())
				if err != nil {
					t.Fatal(err)
				}
				checkParsed(t, spec, gf)
				checkValues(t, spec, path, gf)
			})
		}
	}
}

// TestBigPresets checks the headers of the large presets: their files are written
// sparse (header, then a hole of the data's size), so nothing big touches the disk.
func TestBigPresets(t *testing.T) {
	classes := map[string][2]float64{
		"distilgpt2":  {81e6, 83e6},
		"gpt2-medium": {350e6, 360e6},
		"llama-1.3b":  {1.2e9, 1.45e9},
		"llama-8b":    {7e9, 8.5e9},
	}
	dir := t.TempDir()
	for name, class := range classes {
		for _, typ := range []Type{F16, Q4_0} {
			spec := Spec{Preset: mustPreset(t, name), Type: typ}
			t.Run(spec.String(), func(t *testing.T) {
				path := filepath.Join(dir, spec.FileName())
				f, err := os.Create(path)
				if err != nil {
					t.Fatal(err)
				}
				n, err := WriteHeader(f, spec)
				if err == nil {
					err = f.Truncate(spec.Size())
				}
				if cerr := f.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					t.Fatal(err)
				}
				gf, err := gguf.ParseGGUFFile(path, gguf.UseMMap())
				if err != nil {
					t.Fatal(err)
				}
				if gf.TensorDataStartOffset != n {
					t.Errorf("data at %d, WriteHeader wrote %d", gf.TensorDataStartOffset, n)
				}
				checkParsed(t, spec, gf)
				if p := float64(spec.Params()); p < class[0] || p > class[1] {
					t.Errorf("%d parameters, want %.3g to %.3g", spec.Params(), class[0], class[1])
				}
			})
		}
	}
}

// checkParsed compares what gguf-parser-go read with the spec.
func checkParsed(t *testing.T, spec Spec, gf *gguf.GGUFFile) {
	t.Helper()
	p := spec.Preset
	if int64(gf.ModelParameters) != spec.Params() {
		t.Errorf("parser counts %d parameters, Params() %d", gf.ModelParameters, spec.Params())
	}
	if int64(gf.Size) != spec.Size() {
		t.Errorf("parser size %d, Size() %d", gf.Size, spec.Size())
	}
	a := gf.Architecture()
	if a.Architecture != p.Arch || a.BlockCount != uint64(p.Layers) ||
		a.EmbeddingLength != uint64(p.Embedding) || a.AttentionHeadCount != uint64(p.Heads) ||
		a.MaximumContextLength != uint64(p.Context) {
		t.Errorf("architecture %s %d×%d, %d heads, ctx %d; want %s %d×%d, %d heads, ctx %d",
			a.Architecture, a.BlockCount, a.EmbeddingLength, a.AttentionHeadCount, a.MaximumContextLength,
			p.Arch, p.Layers, p.Embedding, p.Heads, p.Context)
	}
	kvs := gf.Header.MetadataKV
	get := func(key string) gguf.GGUFMetadataKV {
		t.Helper()
		v, ok := kvs.Get(key)
		if !ok {
			t.Errorf("no key %s", key)
		}
		return v
	}
	a2 := p.Arch + "."
	if v := get(a2 + "feed_forward_length"); v.ValueUint32() != uint32(p.FFN) {
		t.Errorf("ffn %d, want %d", v.ValueUint32(), p.FFN)
	}
	if v := get("general.file_type"); v.ValueUint32() != spec.Type.fileType() {
		t.Errorf("file_type %d", v.ValueUint32())
	}
	if v := get("general.alignment"); v.ValueUint32() != 32 {
		t.Errorf("alignment %d", v.ValueUint32())
	}
	if v := get(keyParamCount); v.ValueUint64() != uint64(spec.Params()) {
		t.Errorf("%s = %d", keyParamCount, v.ValueUint64())
	}
	tokens := get("tokenizer.ggml.tokens").ValueArray().ValuesString()
	if len(tokens) != p.Vocab {
		t.Errorf("%d tokens, want %d", len(tokens), p.Vocab)
	}
	if len(slices.Compact(slices.Sorted(slices.Values(tokens)))) != len(tokens) {
		t.Error("tokens are not unique")
	}
	types := get("tokenizer.ggml.token_type").ValueArray()
	if types.Type != gguf.GGUFMetadataValueTypeInt32 || types.Len != uint64(p.Vocab) {
		t.Errorf("token_type: %d of %v", types.Len, types.Type)
	}
	bos, eos := get("tokenizer.ggml.bos_token_id").ValueUint32(), get("tokenizer.ggml.eos_token_id").ValueUint32()
	switch p.Arch {
	case ArchLlama:
		if v := get("tokenizer.ggml.add_bos_token"); v.ValueType != gguf.GGUFMetadataValueTypeBool || !v.ValueBool() {
			t.Errorf("add_bos_token is %v %v, want bool true", v.ValueType, v.Value)
		}
		if v := get("llama.attention.head_count_kv"); v.ValueUint32() != uint32(p.KVHeads) {
			t.Errorf("head_count_kv %d", v.ValueUint32())
		}
		if v := get("llama.rope.dimension_count"); v.ValueUint32() != uint32(p.HeadDim()) {
			t.Errorf("rope.dimension_count %d", v.ValueUint32())
		}
		if v := get("llama.vocab_size"); v.ValueUint32() != uint32(p.Vocab) {
			t.Errorf("vocab_size %d", v.ValueUint32())
		}
		get("llama.attention.layer_norm_rms_epsilon")
		get("llama.rope.freq_base")
		if len(get("tokenizer.ggml.scores").ValueArray().ValuesFloat32()) != p.Vocab {
			t.Error("scores")
		}
		if tokens[0] != "<unk>" || tokens[bos] != "<s>" || tokens[eos] != "</s>" ||
			tokens[3] != "<0x00>" || tokens[258] != "<0xFF>" || !strings.HasPrefix(tokens[p.Vocab-1], spmSpace) &&
			!isLetters(tokens[p.Vocab-1]) {
			t.Errorf("llama tokens: %q %q %q %q %q … %q", tokens[0], tokens[bos], tokens[eos], tokens[3], tokens[258], tokens[p.Vocab-1])
		}
	case ArchGPT2:
		if bos != eos || tokens[eos] != "<|endoftext|>" || int(eos) != p.Vocab-1 {
			t.Errorf("bos %d eos %d %q", bos, eos, tokens[eos])
		}
		if v := get("tokenizer.ggml.pre"); v.ValueString() != "gpt-2" {
			t.Errorf("pre %q", v.ValueString())
		}
		get("gpt2.attention.layer_norm_epsilon")
		merges := get("tokenizer.ggml.merges").ValueArray().ValuesString()
		if len(merges) != p.Vocab-257 {
			t.Errorf("%d merges, want %d", len(merges), p.Vocab-257)
		}
		if tokens[0] != "!" || tokens[187] != "ÿ" || tokens[188] != "Ā" || tokens[220] != "Ġ" {
			t.Errorf("byte symbols out of GPT-2's order: %q %q %q %q", tokens[0], tokens[187], tokens[188], tokens[220])
		}
	}
	// Tensors: names, shapes (innermost first), types.
	want := map[string]struct {
		dims []uint64
		typ  gguf.GGMLType
	}{}
	E, F, V, C := uint64(p.Embedding), uint64(p.FFN), uint64(p.Vocab), uint64(p.Context)
	mat, f32 := gguf.GGMLType(spec.Type), gguf.GGMLTypeF32
	add := func(name string, typ gguf.GGMLType, dims ...uint64) {
		want[name] = struct {
			dims []uint64
			typ  gguf.GGMLType
		}{dims, typ}
	}
	add("token_embd.weight", mat, E, V)
	add("output_norm.weight", f32, E)
	switch p.Arch {
	case ArchLlama:
		Ekv := E / uint64(p.Heads) * uint64(p.KVHeads)
		add("output.weight", mat, E, V)
		for i := range p.Layers {
			b := fmt.Sprintf("blk.%d.", i)
			add(b+"attn_norm.weight", f32, E)
			add(b+"attn_q.weight", mat, E, E)
			add(b+"attn_k.weight", mat, E, Ekv)
			add(b+"attn_v.weight", mat, E, Ekv)
			add(b+"attn_output.weight", mat, E, E)
			add(b+"ffn_norm.weight", f32, E)
			add(b+"ffn_gate.weight", mat, E, F)
			add(b+"ffn_up.weight", mat, E, F)
			add(b+"ffn_down.weight", mat, F, E)
		}
	case ArchGPT2:
		pos := gguf.GGMLTypeF16
		if spec.Type == F32 {
			pos = f32
		}
		add("position_embd.weight", pos, E, C)
		add("output_norm.bias", f32, E)
		for i := range p.Layers {
			b := fmt.Sprintf("blk.%d.", i)
			add(b+"attn_norm.weight", f32, E)
			add(b+"attn_norm.bias", f32, E)
			add(b+"attn_qkv.weight", mat, E, 3*E)
			add(b+"attn_qkv.bias", f32, 3*E)
			add(b+"attn_output.weight", mat, E, E)
			add(b+"attn_output.bias", f32, E)
			add(b+"ffn_norm.weight", f32, E)
			add(b+"ffn_norm.bias", f32, E)
			add(b+"ffn_up.weight", mat, E, F)
			add(b+"ffn_up.bias", f32, F)
			add(b+"ffn_down.weight", mat, F, E)
			add(b+"ffn_down.bias", f32, E)
		}
	}
	if len(gf.TensorInfos) != len(want) {
		t.Errorf("%d tensors, want %d", len(gf.TensorInfos), len(want))
	}
	for _, ti := range gf.TensorInfos {
		w, ok := want[ti.Name]
		switch {
		case !ok:
			t.Errorf("unexpected tensor %s", ti.Name)
		case !slices.Equal(ti.Dimensions, w.dims) || ti.Type != w.typ:
			t.Errorf("%s: %v %v, want %v %v", ti.Name, ti.Dimensions, ti.Type, w.dims, w.typ)
		case ti.Offset%32 != 0:
			t.Errorf("%s at offset %d, not aligned", ti.Name, ti.Offset)
		}
	}
}

func isLetters(s string) bool {
	return strings.Trim(s, "abcdefghijklmnopqrstuvwxyz") == ""
}

// checkValues decodes the file's tensors and checks their values: norms 1, biases 0,
// matrices ≈ N(0, σ).
func checkValues(t *testing.T, spec Spec, path string, gf *gguf.GGUFFile) {
	t.Helper()
	m := loadModel(t, path, gf)
	for _, ti := range gf.TensorInfos {
		vals := m.tensor(ti.Name)
		var sum, ss float64
		for _, v := range vals {
			sum += float64(v)
			ss += float64(v) * float64(v)
		}
		n := float64(len(vals))
		mean, std := sum/n, math.Sqrt(ss/n-(sum/n)*(sum/n))
		name := ti.Name
		switch {
		case strings.HasSuffix(name, "norm.weight"):
			if mean != 1 || std != 0 {
				t.Errorf("%s: mean %g std %g, want all 1", name, mean, std)
			}
		case strings.HasSuffix(name, ".bias"):
			if mean != 0 || std != 0 {
				t.Errorf("%s: mean %g std %g, want all 0", name, mean, std)
			}
		case name == "token_embd.weight" || name == "output.weight" || name == "position_embd.weight":
			// Scaled copies and zero rows: checked by TestGreedy.
		default:
			if math.Abs(mean) > 0.002 || math.Abs(std-weightSigma)/weightSigma > 0.05 {
				t.Errorf("%s: mean %.4f std %.4f, want ≈ N(0, %g)", name, mean, std, weightSigma)
			}
		}
	}
}

// TestDeterminism pins the bytes of the tiny presets: a change of the generator,
// the tokenizer or the layout shows here (update the hashes deliberately).
func TestDeterminism(t *testing.T) {
	want := map[string]string{
		"tiny-llama:f16":  "d064b08ccfa1989f579b76b0439c43eec298c25ca93d01e136677958a9f9ff73",
		"tiny-gpt2:f16":   "a74d95507fe2512d358b4e4e33684d91f49944d5448ac5b207837a4c97dee9c7",
		"tiny-llama:q4_0": "fc5cbf5f15f0ab8f51b60bf37f870928023ed6e5f7db69ae073ea7359305ace9",
		"tiny-gpt2:q8_0":  "e8ea4d46b0ceaac3905c7504192f9a48fe01171516af73067c61bef44fbbb987",
	}
	for s, hash := range want {
		spec, err := ParseSpec(s)
		if err != nil {
			t.Fatal(err)
		}
		var sums [2]string
		for i := range sums {
			h := sha256.New()
			if err := Write(h, spec); err != nil {
				t.Fatal(err)
			}
			sums[i] = hex.EncodeToString(h.Sum(nil))
		}
		if sums[0] != sums[1] {
			t.Errorf("%s: two writes differ: %s, %s", s, sums[0], sums[1])
		}
		if sums[0] != hash {
			t.Errorf("%s: sha256 %s, want %s", s, sums[0], hash)
		}
	}
}

func TestWriteFileIdempotent(t *testing.T) {
	dir := t.TempDir()
	spec, _ := ParseSpec("tiny-gpt2:q4_0")
	path, err := WriteFile(dir, spec)
	if err != nil {
		t.Fatal(err)
	}
	// A file of the right size but not the preset's header is rewritten (an
	// intact one is kept: TestWriteFileRewritesStaleHeader); one of another size
	// is rewritten.
	if err := os.WriteFile(path, make([]byte, spec.Size()), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteFile(dir, spec); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b[:4], []byte("GGUF")) {
		t.Error("a file of the right size without the preset's header was kept")
	}
	if err := os.WriteFile(path, []byte("short"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteFile(dir, spec); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b[:4]) != "GGUF" || int64(len(b)) != spec.Size() {
		t.Error("a file of the wrong size was not rewritten")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("%d entries in the directory, want 1 (no temporary files left)", len(entries))
	}
}

// TestTokenizers tokenizes text byte-level with each vocabulary and decodes it back.
func TestTokenizers(t *testing.T) {
	texts := []string{"hello world", "The quick brown fox jumps over the lazy dog.",
		"Grüße, 世界! 🙂\n\ttabs  and  spaces", "\x00\x7f"}
	for _, name := range []string{"tiny-llama", "tiny-gpt2", "distilgpt2", "llama-8b"} {
		p := mustPreset(t, name)
		v := vocabOf(p)
		t.Run(name, func(t *testing.T) {
			if len(v.tokens) != p.Vocab || len(v.types) != p.Vocab {
				t.Fatalf("%d tokens, %d types, want %d", len(v.tokens), len(v.types), p.Vocab)
			}
			for _, s := range v.tokens {
				if strings.HasPrefix(s, "tok") && strings.Trim(s[3:], "0123456789") == "" {
					t.Fatalf("filler token %q", s)
				}
			}
			var enc func(string) []int
			var dec func([]int) string
			switch p.Arch {
			case ArchLlama:
				enc, dec = spmCoder(v)
			case ArchGPT2:
				enc, dec = bpeCoder(t, v)
			}
			for _, text := range texts {
				ids := enc(text)
				if got := dec(ids); got != text {
					t.Errorf("%q → %v → %q", text, ids, got)
				}
			}
			if ids := enc(" hello world"); len(ids) != 2 {
				t.Errorf(`" hello world" → %d tokens %v, want 2 words`, len(ids), ids)
			}
		})
	}
}

// spmCoder is a SentencePiece BPE coder after Ollama's: merge the adjacent pair of
// highest score while the merged piece exists, bytes for what is left over.
func spmCoder(v *vocab) (enc func(string) []int, dec func([]int) string) {
	ids := map[string]int{}
	for i, s := range v.tokens {
		ids[s] = i
	}
	enc = func(s string) []int {
		var parts []string
		for _, r := range strings.ReplaceAll(s, " ", spmSpace) {
			parts = append(parts, string(r))
		}
		for {
			best, bestScore := -1, float32(math.Inf(-1))
			for i := 0; i+1 < len(parts); i++ {
				if id, ok := ids[parts[i]+parts[i+1]]; ok && v.scores[id] > bestScore {
					best, bestScore = i, v.scores[id]
				}
			}
			if best < 0 {
				break
			}
			parts = slices.Replace(parts, best, best+2, parts[best]+parts[best+1])
		}
		var out []int
		for _, p := range parts {
			if id, ok := ids[p]; ok && v.types[id] == tokNormal {
				out = append(out, id)
				continue
			}
			for _, b := range []byte(p) {
				out = append(out, ids[fmt.Sprintf("<0x%02X>", b)])
			}
		}
		return out
	}
	dec = func(toks []int) string {
		var b []byte
		for _, id := range toks {
			s := v.tokens[id]
			if v.types[id] == tokByte {
				var x byte
				fmt.Sscanf(s, "<0x%02X>", &x)
				b = append(b, x)
				continue
			}
			b = append(b, strings.ReplaceAll(s, spmSpace, " ")...)
		}
		return string(b)
	}
	return enc, dec
}

// bpeCoder is a byte-level BPE coder after GPT-2's: split before spaces, map bytes to
// symbols, apply merges by rank. It also checks that every merge is real.
func bpeCoder(t *testing.T, v *vocab) (enc func(string) []int, dec func([]int) string) {
	ids := map[string]int{}
	for i, s := range v.tokens {
		ids[s] = i
	}
	rank := map[[2]string]int{}
	for i, m := range v.merges {
		a, b, ok := strings.Cut(m, " ")
		ia, oka := ids[a]
		ib, okb := ids[b]
		merged := 256 + i
		if !ok || !oka || !okb || v.tokens[merged] != a+b || ia >= merged || ib >= merged {
			t.Fatalf("merge %d %q does not make token %d %q from earlier tokens", i, m, merged, v.tokens[merged])
		}
		rank[[2]string{a, b}] = i
	}
	unsym := map[rune]byte{}
	for b := range 256 {
		r, _ := utf8.DecodeRuneInString(byteSymbol[b])
		unsym[r] = byte(b)
	}
	enc = func(s string) []int {
		var out []int
		for len(s) > 0 {
			end := strings.IndexByte(s[1:], ' ') + 1
			if end == 0 {
				end = len(s)
			}
			var parts []string
			for _, c := range []byte(s[:end]) {
				parts = append(parts, byteSymbol[c])
			}
			s = s[end:]
			for {
				best, bestRank := -1, math.MaxInt
				for i := 0; i+1 < len(parts); i++ {
					if r, ok := rank[[2]string{parts[i], parts[i+1]}]; ok && r < bestRank {
						best, bestRank = i, r
					}
				}
				if best < 0 {
					break
				}
				parts = slices.Replace(parts, best, best+2, parts[best]+parts[best+1])
			}
			for _, p := range parts {
				out = append(out, ids[p])
			}
		}
		return out
	}
	dec = func(toks []int) string {
		var b []byte
		for _, id := range toks {
			for _, r := range v.tokens[id] {
				b = append(b, unsym[r])
			}
		}
		return string(b)
	}
	return enc, dec
}

func mustPreset(t testing.TB, name string) Preset {
	p, ok := LookupPreset(name)
	if !ok {
		t.Fatalf("no preset %s", name)
	}
	return p
}

// model is a loaded file: tensor values by name, decoded by the test's own decoder.
type model struct {
	infos map[string]gguf.GGUFTensorInfo
	data  []byte
	cache map[string][]float32
}

func loadModel(t *testing.T, path string, gf *gguf.GGUFFile) *model {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := &model{infos: map[string]gguf.GGUFTensorInfo{}, data: b[gf.TensorDataStartOffset:], cache: map[string][]float32{}}
	for _, ti := range gf.TensorInfos {
		m.infos[ti.Name] = ti
	}
	return m
}

func (m *model) tensor(name string) []float32 {
	if v, ok := m.cache[name]; ok {
		return v
	}
	ti := m.infos[name]
	n := 1
	for _, d := range ti.Dimensions {
		n *= int(d)
	}
	vals := decode(Type(ti.Type), m.data[ti.Offset:], n)
	m.cache[name] = vals
	return vals
}

// decode decodes n values of type typ from b.
func decode(typ Type, b []byte, n int) []float32 {
	out := make([]float32, n)
	le := binary.LittleEndian
	switch typ {
	case F32:
		for i := range out {
			out[i] = math.Float32frombits(le.Uint32(b[4*i:]))
		}
	case F16:
		for i := range out {
			out[i] = float16.Frombits(le.Uint16(b[2*i:])).Float32()
		}
	case Q8_0:
		for blk := 0; blk < n/32; blk++ {
			p := b[34*blk:]
			d := float16.Frombits(le.Uint16(p)).Float32()
			for j := range 32 {
				out[32*blk+j] = d * float32(int8(p[2+j]))
			}
		}
	case Q4_0:
		for blk := 0; blk < n/32; blk++ {
			p := b[18*blk:]
			d := float16.Frombits(le.Uint16(p)).Float32()
			for j := range 16 {
				out[32*blk+j] = d * float32(int(p[2+j]&15)-8)
				out[32*blk+j+16] = d * float32(int(p[2+j]>>4)-8)
			}
		}
	}
	return out
}

func TestF32ToF16(t *testing.T) {
	for _, f := range []float32{0, 1, -1, 0.02, -0.02, 65504, 1e5, 6e-5, 6e-8, 3e-8, 1e-10,
		0.333333, float32(math.Inf(1)), 2049, 2051, 1.0009766} {
		want := float16.Fromfloat32(f).Bits()
		if got := f32ToF16(f); got != want {
			t.Errorf("f32ToF16(%g) = %#04x, want %#04x", f, got, want)
		}
	}
}

func BenchmarkWrite(b *testing.B) {
	for _, s := range []string{"distilgpt2:f16", "distilgpt2:q8_0", "distilgpt2:q4_0"} {
		spec, err := ParseSpec(s)
		if err != nil {
			b.Fatal(err)
		}
		name := "preset=" + spec.Preset.Name + "/type=" + spec.Type.String()
		b.Run(name, func(b *testing.B) {
			spec.Size() // layout and vocabulary, outside the timing
			b.SetBytes(spec.Size())
			for b.Loop() {
				if err := Write(io.Discard, spec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestStreamsAgree checks that a row seeded alike holds the same values in every type
// (quantised: up to rounding), which gpt2's F16 position rows copied from quantised
// embedding rows rely on.
func TestStreamsAgree(t *testing.T) {
	tab := tablesFor(weightSigma)
	for _, n := range []int{32, 160, 1152, 2304, 5504} {
		b16 := make([]byte, F16.rowBytes(n))
		randomRow(b16, F16, n, tab, 12345)
		ref := decode(F16, b16, n)
		for _, typ := range []Type{F32, Q8_0, Q4_0} {
			b := make([]byte, typ.rowBytes(n))
			randomRow(b, typ, n, tab, 12345)
			got := decode(typ, b, n)
			var num, da, db float64
			for i := range ref {
				num += float64(ref[i]) * float64(got[i])
				da += float64(ref[i]) * float64(ref[i])
				db += float64(got[i]) * float64(got[i])
			}
			if c := num / math.Sqrt(da*db); c < 0.98 {
				t.Errorf("n=%d %s: correlation with F16 %.3f", n, typ, c)
			}
		}
	}
}
