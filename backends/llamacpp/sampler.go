package llamacpp

import (
	"math"
	"math/rand/v2"
)

// sampler picks tokens: argmax at temperature 0, else a draw from
// softmax(logits/temp). Tokens with mask[id] set are never picked.
type sampler struct {
	temp float64
	rng  *rand.Rand
	mask []bool
}

func (s *sampler) sample(logits []float32) int {
	allowed := func(id int) bool { return s.mask == nil || !s.mask[id] }
	best := -1
	for id, l := range logits {
		if allowed(id) && (best < 0 || l > logits[best]) {
			best = id
		}
	}
	if s.temp <= 0 || best < 0 {
		return max(best, 0)
	}
	top := float64(logits[best])
	var sum float64
	for id, l := range logits {
		if allowed(id) {
			sum += math.Exp((float64(l) - top) / s.temp)
		}
	}
	r := s.rng.Float64() * sum
	for id, l := range logits {
		if !allowed(id) {
			continue
		}
		if r -= math.Exp((float64(l) - top) / s.temp); r <= 0 {
			return id
		}
	}
	return best
}
