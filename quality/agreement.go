package quality

import "math"

// Agreement is the fraction of the later iterations of one prompt whose text equals
// the first iteration's exactly (byte for byte, whitespace included):
//
//	#{ i ≥ 1 : texts[i] == texts[0] } / (len(texts) − 1)
//
// The first text is not counted against itself, so the value does not depend on the
// number of iterations: 1 means every iteration reproduced the first (deterministic
// decoding), 0 that none did. It is NaN for fewer than two texts.
func Agreement(texts []string) float64 {
	if len(texts) < 2 {
		return math.NaN()
	}
	same := 0
	for _, t := range texts[1:] {
		if t == texts[0] {
			same++
		}
	}
	return float64(same) / float64(len(texts)-1)
}

// AgreementRougeL is the softer agreement: the mean of [RougeL] over all
// len(texts)·(len(texts)−1)/2 unordered pairs of texts. A pair of which neither
// text has a word counts as 1 (the two agree on having none). It is in [0, 1],
// 1 when all texts have the same words, and NaN for fewer than two texts.
//
// It costs one longest-common-subsequence per pair, O(k² · N²) for k texts of N
// words: fine for tens of iterations of a few thousand words.
func AgreementRougeL(texts []string) float64 {
	if len(texts) < 2 {
		return math.NaN()
	}
	index := map[string]int{}
	words := make([][]int, len(texts))
	for i, t := range texts {
		words[i] = ids(index, Words(t))
	}
	sum, pairs := 0.0, 0
	for i := range words {
		for j := i + 1; j < len(words); j++ {
			f := rougeL(words[i], words[j])
			if math.IsNaN(f) {
				f = 1
			}
			sum += f
			pairs++
		}
	}
	return sum / float64(pairs)
}
