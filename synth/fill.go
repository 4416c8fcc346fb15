package synth

import (
	"encoding/binary"
	"math"
	"sync"
)

// Random values come from tables of 4096 quantiles of N(0, σ), indexed 12 bits at a
// time by a xorshift generator seeded per row. Seeding per row makes a row reproducible
// on its own, so one tensor can hold (scaled) copies of another's rows: that is how the
// files steer greedy decoding (see doc.go).

const tableBits = 12

// xorshift is Marsaglia's xorshift64 step.
func xorshift(x uint64) uint64 {
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	return x
}

// splitmix mixes a seed (SplitMix64's finaliser).
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// rowSeed is the generator state for row r of the tensor seeded with base.
func rowSeed(base uint64, r int) uint64 { return splitmix(base^splitmix(uint64(r))) | 1 }

// nameSeed is the base seed of a tensor name (FNV-1a).
func nameSeed(name string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= 1099511628211
	}
	return h
}

// tables holds one σ's value tables for every type.
type tables struct {
	f32 [1 << tableBits]uint32
	f16 [1 << tableBits]uint16
	q8  [1 << tableBits]int8
	q4  [1 << tableBits]uint8 // nibble 0..15, value (q-8)·d
	d8  uint16                // f16 scale of Q8_0 blocks
	d4  uint16                // f16 scale of Q4_0 blocks
}

// quantiles are the 4096 quantiles of N(0, 1), scaled to unit variance.
var quantiles = func() (z [1 << tableBits]float64) {
	n := float64(len(z))
	var ss float64
	for i := range z {
		z[i] = math.Sqrt2 * math.Erfinv(2*(float64(i)+0.5)/n-1)
		ss += z[i] * z[i]
	}
	s := math.Sqrt(ss / n)
	for i := range z {
		z[i] /= s
	}
	return z
}()

var tableCache sync.Map // math.Float64bits(σ) → *tables

// tablesFor returns the (cached) tables of N(0, σ).
func tablesFor(sigma float64) *tables {
	key := math.Float64bits(sigma)
	if t, ok := tableCache.Load(key); ok {
		return t.(*tables)
	}
	t := new(tables)
	var ss8, ss4 float64
	for i, z := range quantiles {
		x := z * sigma
		t.f32[i] = math.Float32bits(float32(x))
		t.f16[i] = f32ToF16(float32(x))
		q8 := math.Round(z * 32) // |z| < 3.6, so |q8| ≤ 116
		t.q8[i] = int8(q8)
		ss8 += q8 * q8
		q4 := max(-8, min(7, math.Round(z*2.25)))
		t.q4[i] = uint8(q4 + 8)
		ss4 += q4 * q4
	}
	n := float64(len(quantiles))
	// Scales that give the dequantised values standard deviation σ.
	t.d8 = f32ToF16(float32(sigma / math.Sqrt(ss8/n)))
	t.d4 = f32ToF16(float32(sigma / math.Sqrt(ss4/n)))
	actual, _ := tableCache.LoadOrStore(key, t)
	return actual.(*tables)
}

// randomRow fills dst, the encoding of n values of type typ, from the stream seeded
// with seed and the tables t.
func randomRow(dst []byte, typ Type, n int, t *tables, seed uint64) {
	switch typ {
	case F16:
		fillF16(dst[:2*n], t, seed)
	case F32:
		var idx [indexChunk]uint16
		x := seed
		for off := 0; off < n; off += indexChunk {
			k := min(indexChunk, n-off)
			x = fillIndices(idx[:k], x)
			for j, i := range idx[:k] {
				binary.LittleEndian.PutUint32(dst[4*(off+j):], t.f32[i])
			}
		}
	case Q8_0, Q4_0:
		// Indices in the same order as F16's, so a quantised row and an F16 row of
		// the same seed hold the same values (gpt2's position rows rely on it).
		var idx [indexChunk]uint16
		x := seed
		for off := 0; off < n; off += indexChunk {
			k := min(indexChunk, n-off)
			x = fillIndices(idx[:k], x)
			for b := 0; b < k/32; b++ {
				in := idx[32*b : 32*b+32 : 32*b+32]
				if typ == Q8_0 {
					blk := dst[34*(off/32+b):][:34:34]
					binary.LittleEndian.PutUint16(blk, t.d8)
					q := blk[2:34]
					for j, i := range in {
						q[j] = uint8(t.q8[i])
					}
				} else {
					// Byte j holds value j in its low nibble and value j+16 in its high.
					blk := dst[18*(off/32+b):][:18:18]
					binary.LittleEndian.PutUint16(blk, t.d4)
					q := blk[2:18]
					for j := range q {
						q[j] = t.q4[in[j]] | t.q4[in[j+16]]<<4
					}
				}
			}
		}
	default:
		panic("synth: bad type")
	}
}

// indexChunk is how many indices a row is generated in at a time (F32, Q8_0, Q4_0): a
// multiple of 5 (values per xorshift step) and of 32 (values per block).
const indexChunk = 35 * 32

// fillIndices fills idx with table indices, five per xorshift step from x, and returns
// the last state. The stream is that of fillF16 when len(idx) is a multiple of 5.
func fillIndices(idx []uint16, x uint64) uint64 {
	const m = 1<<tableBits - 1
	j := 0
	for ; j+5 <= len(idx); j += 5 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		d := idx[j : j+5 : j+5]
		d[0], d[1], d[2], d[3], d[4] = uint16(x&m), uint16(x>>12&m), uint16(x>>24&m), uint16(x>>36&m), uint16(x>>48&m)
	}
	if j < len(idx) {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		for v := x; j < len(idx); j++ {
			idx[j] = uint16(v & m)
			v >>= tableBits
		}
	}
	return x
}

// fillF16 is the hot loop: five values per xorshift step.
func fillF16(dst []byte, t *tables, x uint64) {
	const m = 1<<tableBits - 1
	tab := &t.f16
	i := 0
	for ; i+10 <= len(dst); i += 10 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		d := dst[i : i+10 : i+10]
		binary.LittleEndian.PutUint16(d[0:], tab[x&m])
		binary.LittleEndian.PutUint16(d[2:], tab[(x>>12)&m])
		binary.LittleEndian.PutUint16(d[4:], tab[(x>>24)&m])
		binary.LittleEndian.PutUint16(d[6:], tab[(x>>36)&m])
		binary.LittleEndian.PutUint16(d[8:], tab[(x>>48)&m])
	}
	if i < len(dst) {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		for ; i+2 <= len(dst); i += 2 {
			binary.LittleEndian.PutUint16(dst[i:], tab[x&m])
			x >>= tableBits
		}
	}
}

// constRow fills dst with n copies of v (F32 only: norms and biases).
func constRow(dst []byte, v float32) {
	b := math.Float32bits(v)
	for i := 0; i+4 <= len(dst); i += 4 {
		binary.LittleEndian.PutUint32(dst[i:], b)
	}
}

// f32ToF16 converts to IEEE half precision, rounding to nearest even.
func f32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	e := int(b>>23) & 0xff
	mant := b & 0x7fffff
	if e == 0xff {
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	exp := e - 127 + 15
	switch {
	case exp >= 31:
		return sign | 0x7c00
	case exp <= 0:
		if exp < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint(14 - exp)
		h := uint16(mant >> shift)
		rem, half := mant&(1<<shift-1), uint32(1)<<(shift-1)
		if rem > half || (rem == half && h&1 == 1) {
			h++
		}
		return sign | h
	}
	h := sign | uint16(exp)<<10 | uint16(mant>>13)
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++ // a carry into the exponent is still the right rounding
	}
	return h
}
