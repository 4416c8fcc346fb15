package quality

import (
	"math"
	"strings"
)

// RougeL is ROUGE-L F1 (Lin 2004) of candidate against reference, over [Words]:
// with L the length of their longest common subsequence of words, m and n their
// word counts, precision P = L/n, recall R = L/m and
//
//	F1 = 2PR/(P+R) = 2L/(m+n)
//
// (β = 1, as Google's rouge-score reports it; Lin's ROUGE-1.5.5 leans on recall).
// It is symmetric in its arguments, in [0, 1], 1 when both have the same words, 0
// when they share none, and NaN when neither has a word.
//
// rouge-score tokenises differently (ASCII letters and digits only, optional
// stemming), so its numbers agree with these on plain lowercase ASCII prose only.
func RougeL(candidate, reference string) float64 {
	index := map[string]int{}
	return rougeL(ids(index, Words(candidate)), ids(index, Words(reference)))
}

// ids maps words to integer ids through index, adding the words it lacks, so that
// texts mapped through one index compare word for word as integers.
func ids(index map[string]int, words []string) []int {
	out := make([]int, len(words))
	for i, w := range words {
		id, ok := index[w]
		if !ok {
			id = len(index)
			index[w] = id
		}
		out[i] = id
	}
	return out
}

func rougeL(a, b []int) float64 {
	if len(a)+len(b) == 0 {
		return math.NaN()
	}
	return 2 * float64(lcs(a, b)) / float64(len(a)+len(b))
}

// lcs is the length of the longest common subsequence of a and b, in O(len(a) ·
// len(b)) time and O(min) memory.
func lcs(a, b []int) int {
	if len(a) < len(b) {
		a, b = b, a
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for _, x := range a {
		for j, y := range b {
			if x == y {
				cur[j+1] = prev[j] + 1
			} else {
				cur[j+1] = max(prev[j+1], cur[j])
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// chrF parameters, sacreBLEU 2's defaults.
const (
	chrfOrder = 6 // character n-grams of 1..6
	chrfBeta  = 2 // recall weighted twice as much as precision
)

// ChrF is the character n-gram F-score (Popović 2015) of hypothesis against
// reference, computed as sacreBLEU 2's sentence_chrf with its defaults (chrF2:
// char_order 6, word_order 0, β = 2, whitespace removed, case kept, no epsilon
// smoothing), on sacreBLEU's scale 0..100.
//
// Whitespace (as Python's str.split() sees it) is removed from both texts. For each
// order n = 1..6, let H_n and R_n be the multisets of the n-rune substrings of
// hypothesis and reference and M_n = Σ min(count in H_n, count in R_n). Over the
// orders where both H_n and R_n are non-empty ("effective" orders), precision
// P = mean(M_n/|H_n|) and recall R = mean(M_n/|R_n|), and
//
//	chrF = 100 · (1+β²)·P·R / (β²·P + R)
//
// or 0 when P + R = 0 or there is no effective order. It is 100 when the texts are
// equal once whitespace is removed, 0 when they share no character, and NaN when
// neither has a non-whitespace character.
func ChrF(hypothesis, reference string) float64 {
	h, r := stripSpace(hypothesis), stripSpace(reference)
	if h == "" && r == "" {
		return math.NaN()
	}
	return chrfScore(chrfStats(h, r, chrfOrder), chrfBeta)
}

// chrfStat holds one order's n-gram counts: in the hypothesis, in the reference,
// and matched (clipped by the reference's counts).
type chrfStat struct{ hyp, ref, match int }

// chrfStats counts the n-grams of orders 1..order of h and r, whose whitespace
// is already removed, as sacreBLEU's CHRF._get_match_statistics does.
func chrfStats(h, r string, order int) []chrfStat {
	ho, ro := runeStarts(h), runeStarts(r)
	stats := make([]chrfStat, order)
	for n := 1; n <= order; n++ {
		hc, rc := ngramCounts(h, ho, n), ngramCounts(r, ro, n)
		var st chrfStat
		for g, c := range hc {
			st.hyp += c
			st.match += min(c, rc[g])
		}
		for _, c := range rc {
			st.ref += c
		}
		if st.ref == 0 {
			st.hyp = 0 // sacreBLEU counts no hypothesis n-grams without a reference one
		}
		stats[n-1] = st
	}
	return stats
}

// chrfScore is sacreBLEU 2's CHRF._compute_f_score without epsilon smoothing, on
// 0..100.
func chrfScore(stats []chrfStat, beta float64) float64 {
	var prec, rec float64
	effective := 0
	for _, st := range stats {
		if st.hyp > 0 && st.ref > 0 {
			prec += float64(st.match) / float64(st.hyp)
			rec += float64(st.match) / float64(st.ref)
			effective++
		}
	}
	if effective == 0 {
		return 0
	}
	prec /= float64(effective)
	rec /= float64(effective)
	if prec+rec == 0 {
		return 0
	}
	b2 := beta * beta
	score := (1 + b2) * prec * rec // same order of operations as sacreBLEU
	score /= b2*prec + rec
	return 100 * score
}

// stripSpace removes every whitespace rune, like Python's "".join(s.split()).
func stripSpace(s string) string {
	return strings.Join(strings.FieldsFunc(s, isSpace), "")
}

// runeStarts returns the byte offset of each rune of s, then len(s).
func runeStarts(s string) []int {
	starts := make([]int, 0, len(s)+1)
	for i := range s {
		starts = append(starts, i)
	}
	return append(starts, len(s))
}

// ngramCounts counts the n-rune substrings of s (starts from runeStarts).
func ngramCounts(s string, starts []int, n int) map[string]int {
	runes := len(starts) - 1
	counts := make(map[string]int, max(runes-n+1, 0))
	for i := 0; i+n <= runes; i++ {
		counts[s[starts[i]:starts[i+n]]]++
	}
	return counts
}
