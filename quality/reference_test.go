package quality

import (
	"fmt"
	"testing"
)

func TestRougeL(t *testing.T) {
	tests := []struct {
		name, cand, ref string
		want            float64
	}{
		{"both empty", "", "", nan},
		{"both wordless", "...", "!!", nan},
		{"empty candidate", "", "a reference", 0},
		{"empty reference", "a candidate", "", 0},
		{"equal", "The cat sat.", "the cat sat", 1},
		{"one word", "word", "word", 1},
		{"nothing shared", "alpha beta", "gamma delta", 0},
		{"repeated", "a a a a", "a a", 2 * 2.0 / 6},
		// Lin 2004, section 3.1: S2 and S3 against S1 "police killed the gunman".
		{"Lin S2", "police kill the gunman", "police killed the gunman", 0.75},
		{"Lin S3", "the gunman kill police", "police killed the gunman", 0.5},
		// Google rouge-score's README: rougeL fmeasure 0.5882352941176471 (LCS 5 of
		// 8 and 9 words: 10/17).
		{"rouge-score README", "The quick brown dog jumps on the log.",
			"The quick brown fox jumps over the lazy dog", 0.5882352941176471},
		{"unicode", unicodeText, "Na\u00efve, CAF\u00c9!", 0.8}, // LCS 2 of 3 and 2
		{"unicode equal", unicodeText, unicodeText, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkFloat(t, "RougeL", RougeL(tt.cand, tt.ref), tt.want, tol)
			checkFloat(t, "RougeL swapped", RougeL(tt.ref, tt.cand), tt.want, tol)
		})
	}
}

// The chrF expectations below are sacreBLEU's own outputs, from its test suite
// (test/test_chrf.py) and from the Hugging Face chrF metric card, which runs
// sacreBLEU 2 with its defaults.
func TestChrF(t *testing.T) {
	tests := []struct {
		name, hyp, ref string
		want           float64
	}{
		{"both empty", "", "", nan},
		{"both blank", " \t", "\n", nan},
		{"empty hypothesis", "", "reference", 0},
		{"empty reference", "hypothesis", "", 0},
		{"nothing shared", "abcdefg", "hijklmnop", 0},
		{"one char, different", "a", "b", 0},
		{"one char, equal", "a", "a", 100},
		{"equal", "Niemand hat die Absicht, eine Mauer zu errichten",
			"Niemand hat die Absicht, eine Mauer zu errichten", 100},
		{"spaces removed", "a b c", "abc", 100},
		{"case kept", "ABC", "abc", 0},
		// Order 1: P = R = 1/2; order 2: "aa" vs "ab", 0. Mean 1/4, F = 25.
		{"aa/ab", "aa", "ab", 25},
		// By hand: order 1 P 2/3 R 1, order 2 P 1/2 R 1, order 3 has no reference
		// n-gram. P = 7/12, R = 1: 5·(7/12)/(4·(7/12) + 1) = 35/40.
		{"unicode", "\u65e5\u672c\u8a9e", "\u65e5\u672c", 87.5},
		{"unicode equal", unicodeText, unicodeText, 100},
		// sacreBLEU 2, defaults (Hugging Face chrF metric card).
		{"HF card", "The relationship between Obama and Netanyahu is not exactly friendly.",
			"The ties between Obama and Netanyahu are not particularly friendly.", 61.576379378113785},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkFloat(t, "ChrF", ChrF(tt.hyp, tt.ref), tt.want, 1e-9)
		})
	}
}

// corpusChrF sums the statistics of several pairs before scoring, as sacreBLEU's
// corpus_score does; the package itself only scores single pairs.
func corpusChrF(hyps, refs []string, beta float64, score func([]chrfStat, float64) float64) float64 {
	total := make([]chrfStat, chrfOrder)
	for i := range hyps {
		for n, st := range chrfStats(stripSpace(hyps[i]), stripSpace(refs[i]), chrfOrder) {
			total[n].hyp += st.hyp
			total[n].ref += st.ref
			total[n].match += st.match
		}
	}
	return score(total, beta)
}

// epsScore is sacreBLEU 2's chrF with eps_smoothing=True: the mean of the per-order
// F-scores, 1e-16 standing in for an undefined precision or recall. The package does
// not use it; it lets the tests check chrfStats against more of sacreBLEU's expected
// outputs, which were computed in that mode.
func epsScore(stats []chrfStat, beta float64) float64 {
	const eps = 1e-16
	b2 := beta * beta
	score := 0.0
	for _, st := range stats {
		prec, rec := eps, eps
		if st.hyp > 0 {
			prec = float64(st.match) / float64(st.hyp)
		}
		if st.ref > 0 {
			rec = float64(st.match) / float64(st.ref)
		}
		if denom := b2*prec + rec; denom > 0 {
			score += (1 + b2) * prec * rec / denom
		} else {
			score += eps
		}
	}
	return 100 * score / float64(len(stats))
}

// TestChrFStatistics checks the n-gram counting against sacreBLEU's expected scores
// in modes the package does not expose: corpus-level statistics, β = 3, and epsilon
// smoothing.
func TestChrFStatistics(t *testing.T) {
	tests := []struct {
		name       string
		hyps, refs []string
		beta       float64
		score      func([]chrfStat, float64) float64
		want       float64
	}{
		// Hugging Face chrF metric card: corpus of two, sacreBLEU 2 defaults.
		{"HF card corpus",
			[]string{"The relationship between cats and dogs is not exactly friendly.",
				"a good bookshop is just a genteel black hole that knows how to read."},
			[]string{"The relationship between dogs and cats is not exactly friendly.",
				"A good bookshop is just a genteel Black Hole that knows how to read."},
			2, chrfScore, 84.64214891738334},
		// sacreBLEU test_chrf.py, test_cases_effective_order (β = 3, no smoothing).
		{"eff corpus", []string{"a", "b"}, []string{"a", "c"}, 3, chrfScore, 50},
		{"eff aa/ab", []string{"aa"}, []string{"ab"}, 3, chrfScore, 25},
		{"eff a b c", []string{"a b c"}, []string{"abc"}, 3, chrfScore, 100},
		// sacreBLEU test_chrf.py, test_cases (β = 3, epsilon smoothing).
		{"eps a/a", []string{"a"}, []string{"a"}, 3, epsScore, 16.6667},
		{"eps aa/ab", []string{"aa"}, []string{"ab"}, 3, epsScore, 8.3333},
		{"eps risk assessment",
			[]string{" risk assessment must be made of those who are qualified and expertise in the sector - these are the scientists ."},
			[]string{"risk assessment has to be undertaken by those who are qualified and expert in that area - that is the scientists ."},
			3, epsScore, 63.361730},
		{"eps Beziehung",
			[]string{" Die    Beziehung zwischen  Obama und Netanjahu ist nicht gerade  freundlich. "},
			[]string{"Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich."},
			3, epsScore, 64.1302698},
		// sacreBLEU test_chrf.py, test_sentence_level_chrf (β = 2, epsilon smoothing).
		{"eps Czech 1",
			[]string{"Co nás nejvíc trápí, protože lékaři si vybírají, kdo bude žít a kdo zemře."},
			[]string{"Nejvíce smutní jsme z toho, že musíme rozhodovat o tom, kdo bude žít a kdo zemře."},
			2, epsScore, 39.14078509},
		{"eps Czech 2",
			[]string{"Nebo prostě nemají vybavení, které by jim pomohlo, uvedli lékaři."},
			[]string{"A někdy nemáme ani potřebný materiál, abychom jim pomohli, popsali lékaři."},
			2, epsScore, 31.22557079},
		{"eps Czech 3",
			[]string{"Lapali po dechu, jejich životy skončily dřív, než skutečně začaly."},
			[]string{"Lapali po dechu a pak jejich život skončil - dřív, než skutečně mohl začít, připomněli."},
			2, epsScore, 57.15704367},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := corpusChrF(tt.hyps, tt.refs, tt.beta, tt.score)
			checkFloat(t, fmt.Sprint("chrF ", tt.hyps), got, tt.want, 1e-4)
		})
	}
}
