package synth

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	gguf "github.com/gpustack/gguf-parser-go"
)

// A reference forward pass (CPU, float32, no batching tricks) of both architectures,
// after llama.cpp's gpt2 graph and Ollama's llama model, used to check that greedy
// decoding of the files runs to full length: no control token, no token repeated.

// weights gives rows of a file's tensors, decoded.
type weights interface {
	// row returns row r of the tensor (dims[0] values); the slice may be reused.
	row(name string, r int) []float32
	// shape returns the tensor's dims, innermost first.
	shape(name string) []int
}

// fileWeights decodes a written file (the test's own decoder).
type fileWeights struct{ m *model }

func (f fileWeights) row(name string, r int) []float32 {
	n := int(f.m.infos[name].Dimensions[0])
	return f.m.tensor(name)[r*n : (r+1)*n]
}

func (f fileWeights) shape(name string) []int {
	var d []int
	for _, x := range f.m.infos[name].Dimensions {
		d = append(d, int(x))
	}
	return d
}

// genWeights generates rows from a layout without writing a file.
type genWeights struct {
	byName map[string]*tensor
	buf    []byte
}

func newGenWeights(spec Spec) *genWeights {
	g := &genWeights{byName: map[string]*tensor{}}
	for _, t := range layoutOf(spec).tensors {
		g.byName[t.name] = t
	}
	return g
}

func (g *genWeights) row(name string, r int) []float32 {
	t := g.byName[name]
	if cap(g.buf) < t.rowBytes() {
		g.buf = make([]byte, t.rowBytes())
	}
	b := g.buf[:t.rowBytes()]
	t.encodeRow(b, r)
	return decode(t.typ, b, t.dims[0])
}

func (g *genWeights) shape(name string) []int { return g.byName[name].dims }

// sim runs a preset's forward pass with a KV cache.
type sim struct {
	p    Preset
	w    weights
	k, v [][][]float32 // layer, position → key / value vector
	pos  int
}

func newSim(p Preset, w weights) *sim {
	return &sim{p: p, w: w, k: make([][][]float32, p.Layers), v: make([][][]float32, p.Layers)}
}

// matmul applies the [in, out] matrix name to each x.
func (s *sim) matmul(name string, xs [][]float32) [][]float32 {
	out := s.w.shape(name)[1]
	ys := make([][]float32, len(xs))
	for i := range ys {
		ys[i] = make([]float32, out)
	}
	for r := range out {
		w := s.w.row(name, r)
		for i, x := range xs {
			ys[i][r] = dot(w, x)
		}
	}
	return ys
}

func (s *sim) addBias(name string, xs [][]float32) {
	b := s.w.row(name, 0)
	for _, x := range xs {
		for i := range x {
			x[i] += b[i]
		}
	}
}

func dot(a, b []float32) float32 {
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// norm is RMSNorm (llama) or LayerNorm (gpt2) of each x with the named weight (and bias).
func (s *sim) norm(prefix string, xs [][]float32) [][]float32 {
	w := s.w.row(prefix+".weight", 0)
	var b []float32
	if s.p.Arch == ArchGPT2 {
		b = s.w.row(prefix+".bias", 0)
	}
	out := make([][]float32, len(xs))
	for i, x := range xs {
		var mean, ss float64
		if b != nil {
			for _, v := range x {
				mean += float64(v)
			}
			mean /= float64(len(x))
		}
		for _, v := range x {
			ss += (float64(v) - mean) * (float64(v) - mean)
		}
		scale := 1 / math.Sqrt(ss/float64(len(x))+normEpsilon)
		y := make([]float32, len(x))
		for j, v := range x {
			y[j] = float32((float64(v)-mean)*scale) * w[j]
			if b != nil {
				y[j] += b[j]
			}
		}
		out[i] = y
	}
	return out
}

// forward runs tokens at the next positions and returns the final normed states.
func (s *sim) forward(tokens []int) [][]float32 {
	p := s.p
	E, H, hd := p.Embedding, p.Heads, p.HeadDim()
	xs := make([][]float32, len(tokens))
	for i, tok := range tokens {
		xs[i] = slices.Clone(s.w.row("token_embd.weight", tok))
		if p.Arch == ArchGPT2 {
			pe := s.w.row("position_embd.weight", s.pos+i)
			for j := range xs[i] {
				xs[i][j] += pe[j]
			}
		}
	}
	for l := range p.Layers {
		b := fmt.Sprintf("blk.%d.", l)
		h := s.norm(b+"attn_norm", xs)
		var q, k, v [][]float32
		kvH := p.KVHeads
		if p.Arch == ArchGPT2 {
			kvH = H
			qkv := s.matmul(b+"attn_qkv.weight", h)
			s.addBias(b+"attn_qkv.bias", qkv)
			for _, x := range qkv {
				q, k, v = append(q, x[:E]), append(k, x[E:2*E]), append(v, x[2*E:])
			}
		} else {
			q = s.matmul(b+"attn_q.weight", h)
			k = s.matmul(b+"attn_k.weight", h)
			v = s.matmul(b+"attn_v.weight", h)
			for i := range q {
				rope(q[i], s.pos+i, hd, float64(p.RopeBase))
				rope(k[i], s.pos+i, hd, float64(p.RopeBase))
			}
		}
		s.k[l] = append(s.k[l], k...)
		s.v[l] = append(s.v[l], v...)
		att := make([][]float32, len(tokens))
		for i := range tokens {
			n := s.pos + i + 1 // causal: positions 0..pos+i
			o := make([]float32, E)
			for hh := range H {
				kh := hh / (H / kvH)
				qv := q[i][hh*hd : (hh+1)*hd]
				scores := make([]float64, n)
				maxS := math.Inf(-1)
				for j := range n {
					scores[j] = float64(dot(qv, s.k[l][j][kh*hd:(kh+1)*hd])) / math.Sqrt(float64(hd))
					maxS = max(maxS, scores[j])
				}
				var sum float64
				for j := range scores {
					scores[j] = math.Exp(scores[j] - maxS)
					sum += scores[j]
				}
				for j := range n {
					a := float32(scores[j] / sum)
					vv := s.v[l][j][kh*hd : (kh+1)*hd]
					for d := range hd {
						o[hh*hd+d] += a * vv[d]
					}
				}
			}
			att[i] = o
		}
		ao := s.matmul(b+"attn_output.weight", att)
		if p.Arch == ArchGPT2 {
			s.addBias(b+"attn_output.bias", ao)
		}
		for i := range xs {
			for j := range xs[i] {
				xs[i][j] += ao[i][j]
			}
		}
		h = s.norm(b+"ffn_norm", xs)
		var act [][]float32
		if p.Arch == ArchGPT2 {
			act = s.matmul(b+"ffn_up.weight", h)
			s.addBias(b+"ffn_up.bias", act)
			for _, x := range act {
				for j, u := range x {
					x[j] = float32(0.5 * float64(u) * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(float64(u)+0.044715*math.Pow(float64(u), 3)))))
				}
			}
		} else {
			g := s.matmul(b+"ffn_gate.weight", h)
			act = s.matmul(b+"ffn_up.weight", h)
			for i := range act {
				for j := range act[i] {
					gg := float64(g[i][j])
					act[i][j] *= float32(gg / (1 + math.Exp(-gg)))
				}
			}
		}
		d := s.matmul(b+"ffn_down.weight", act)
		if p.Arch == ArchGPT2 {
			s.addBias(b+"ffn_down.bias", d)
		}
		for i := range xs {
			for j := range xs[i] {
				xs[i][j] += d[i][j]
			}
		}
	}
	s.pos += len(tokens)
	return s.norm("output_norm", xs)
}

// rope rotates pairs (2i, 2i+1) of each head of x (llama's normal RoPE).
func rope(x []float32, pos, hd int, base float64) {
	for h := 0; h < len(x); h += hd {
		for i := 0; i < hd; i += 2 {
			theta := float64(pos) * math.Pow(base, -float64(i)/float64(hd))
			c, sn := math.Cos(theta), math.Sin(theta)
			a, b := float64(x[h+i]), float64(x[h+i+1])
			x[h+i], x[h+i+1] = float32(a*c-b*sn), float32(a*sn+b*c)
		}
	}
}

// logits of the normed state h: output.weight (llama) or the tied embedding (gpt2).
func (s *sim) logits(h []float32) []float32 {
	name := "output.weight"
	if s.p.Arch == ArchGPT2 {
		name = "token_embd.weight"
	}
	out := make([]float32, s.p.Vocab)
	for r := range out {
		out[r] = dot(s.w.row(name, r), h)
	}
	return out
}

// margin is the argmax of logits and how far it is ahead of the runner-up, in standard
// deviations of all logits.
func margin(logits []float32) (best int, z float64) {
	var sum, ss float64
	second := math.Inf(-1)
	for i, l := range logits {
		sum += float64(l)
		ss += float64(l) * float64(l)
		if l > logits[best] {
			best = i
		}
	}
	for i, l := range logits {
		if i != best {
			second = max(second, float64(l))
		}
	}
	n := float64(len(logits))
	std := math.Sqrt(ss/n - (sum/n)*(sum/n))
	return best, (float64(logits[best]) - second) / std
}

// TestGreedy decodes 64 tokens greedily from each tiny file, as Ollama does with
// temperature 0, and requires what makes Ollama return all 64: no end-of-sequence or
// other control token, and no token whose text repeats its predecessor's (Ollama's
// server ends a stream after 30 repeats; see doc.go).
func TestGreedy(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"tiny-llama", "tiny-gpt2"} {
		for _, typ := range Types {
			spec := Spec{Preset: mustPreset(t, name), Type: typ}
			t.Run(spec.String(), func(t *testing.T) {
				path, err := WriteFile(dir, spec)
				if err != nil {
					t.Fatal(err)
				}
				gf, err := gguf.ParseGGUFFile(path, gguf.UseMMap())
				if err != nil {
					t.Fatal(err)
				}
				p := spec.Preset
				v := vocabOf(p)
				s := newSim(p, fileWeights{loadModel(t, path, gf)})
				var prompt []int
				if p.Arch == ArchLlama {
					enc, _ := spmCoder(v)
					prompt = append([]int{int(v.bos)}, enc("hello world!")...)
				} else {
					enc, _ := bpeCoder(t, v)
					prompt = enc("hello world!")
				}
				index := map[int]int{} // word → its index in v.words
				for i, w := range v.words {
					index[w] = i
				}
				stride := coprimeStride(len(v.words))
				hs := s.forward(prompt)
				h := hs[len(hs)-1]
				var out []string
				minZ := math.Inf(1)
				for i := range 64 {
					tok, z := margin(s.logits(h))
					text := v.tokens[tok]
					out = append(out, text)
					k, isWord := index[tok]
					if !isWord {
						t.Fatalf("token %d is %d %q, not a word; so far %q", i, tok, text, out)
					}
					if i > 0 && out[i] == out[i-1] {
						t.Fatalf("token %d repeats %q", i, text)
					}
					// The mechanism: llama walks the word cycle (after its first, free
					// choice); gpt2's position p predicts word p·stride.
					var want int
					switch {
					case p.Arch == ArchLlama && i > 0:
						want = (index[prev(out, v)] + stride) % len(v.words)
					case p.Arch == ArchGPT2:
						want = (s.pos - 1) * stride % len(v.words)
					default:
						want = k
					}
					if k != want {
						t.Errorf("token %d is %q, want %q", i, text, v.tokens[v.words[want]])
					}
					if p.Arch == ArchGPT2 || i > 0 {
						minZ = min(minZ, z)
					}
					h = s.forward([]int{tok})[0]
				}
				t.Logf("min margin %.1fσ; %s", minZ, strings.Join(out[:8], ""))
			})
		}
	}
}

// prev is the id of the second last token of out.
func prev(out []string, v *vocab) int {
	return slices.Index(v.tokens, out[len(out)-2])
}

// TestGreedySimulation checks the big presets the same way, teacher-forced over a few
// positions with weights generated in memory. It takes minutes (llama-8b most), so it
// runs only with SYNTH_SIMULATE=1 (or =PRESET).
func TestGreedySimulation(t *testing.T) {
	want := os.Getenv("SYNTH_SIMULATE")
	if want == "" {
		t.Skip("set SYNTH_SIMULATE=1 (or a preset name) to run")
	}
	for _, p := range Presets {
		if want != "1" && want != p.Name {
			continue
		}
		t.Run(p.Name, func(t *testing.T) {
			spec := Spec{Preset: p, Type: F16}
			v := vocabOf(p)
			s := newSim(p, newGenWeights(spec))
			stride := coprimeStride(len(v.words))
			// Expected prediction at each position.
			var seq, expect []int
			switch p.Arch {
			case ArchLlama:
				k := len(v.words) / 3
				seq = append(seq, int(v.bos))
				for range 6 {
					seq = append(seq, v.words[k])
					k = (k + stride) % len(v.words)
					expect = append(expect, v.words[k])
				}
			case ArchGPT2:
				for i := range 6 {
					seq = append(seq, v.words[(i*7919)%len(v.words)])
					expect = append(expect, v.words[i*stride%len(v.words)])
				}
			}
			hs := s.forward(seq)
			if p.Arch == ArchLlama {
				hs = hs[1:] // after <s> the prediction is any word
			}
			for i, h := range hs {
				tok, z := margin(s.logits(h))
				t.Logf("position %d: %q → %q, margin %.1fσ (want %q)", i, v.tokens[seq[i]], v.tokens[tok], z, v.tokens[expect[i]])
				if tok != expect[i] {
					t.Errorf("position %d predicts %q, want %q", i, v.tokens[tok], v.tokens[expect[i]])
				}
			}
		})
	}
}
