package llamacpp

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSampler(t *testing.T) {
	logits := []float32{0.1, 3, 0.5, 2.9, -1}
	eog := []bool{false, true, false, false, false} // token 1 ends generation
	rng := func() *rand.Rand { return rand.New(rand.NewPCG(7, 0)) }

	greedy := sampler{rng: rng()}
	assert.Equal(t, 1, greedy.sample(logits), "unmasked argmax")
	greedy.mask = eog
	assert.Equal(t, 3, greedy.sample(logits), "masked: the runner-up")

	hot := sampler{temp: 1, rng: rng(), mask: eog}
	seen := map[int]int{}
	for range 2000 {
		seen[hot.sample(logits)]++
	}
	assert.Zero(t, seen[1], "a masked token is never drawn")
	assert.Greater(t, seen[3], seen[2], "higher logits are drawn more often")
	assert.Positive(t, seen[0])

	a, b := sampler{temp: 0.8, rng: rng()}, sampler{temp: 0.8, rng: rng()}
	for range 100 {
		assert.Equal(t, a.sample(logits), b.sample(logits), "same seed, same draws")
	}
}
