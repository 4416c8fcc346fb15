// Package quality computes metrics over generated text: pure functions, no I/O and
// no model, so that every benchmark case can report them beside its timings.
//
// One tokenisation serves every word-level metric: [Words]. It splits the text on
// whitespace, strips punctuation and symbols from both ends of each piece, drops the
// pieces left empty and lowercases the rest.
//
// The metrics, grouped as in docs/quality.md:
//
//   - length: [WordCount], [CharCount] (output tokens come from the engine, never
//     from this package);
//   - vocabulary diversity: [TTR], [MATTR] (Covington & McFall 2010), [MTLD]
//     (McCarthy & Jarvis 2010), [Distinct] (distinct-n, Li et al. 2016);
//   - repetition: [Repetition] (seq-rep-n, Welleck et al. 2019) and [MaxRepRun],
//     the longest repeated word sequence;
//   - against a reference: [RougeL] (ROUGE-L F1, Lin 2004) and [ChrF] (chrF,
//     Popović 2015, as sacreBLEU 2 computes it);
//   - across iterations of one prompt: [Agreement] (exact match with the first) and
//     [AgreementRougeL] (mean pairwise ROUGE-L).
//
// A ratio that is undefined for its input (no words, no reference, fewer than two
// iterations) is NaN, never 0: 0 is a real value ("nothing matched"), NaN means "does
// not apply". [Metrics] turns one generation into named values in the benchmark's
// unit style ("ttr", "rouge-l", "out-words/op") and leaves the NaN ones out, so a
// metric that does not apply is absent from the results; [Direction] tells which way
// is better for each name, for the `Unit NAME better=...` lines.
//
// Scales: every ratio is in [0, 1] except [ChrF], which is in [0, 100] like
// sacreBLEU's, so that its numbers can be compared with sacreBLEU's directly.
//
// Text is compared as Unicode code points, without normalisation: "café" written
// with a precomposed é (U+00E9) and with e + U+0301 are different words, and
// characters are runes, not grapheme clusters.
package quality
