// Package history keeps every benchmark run of a project in Go's own
// performance storage and follows its metrics across commits.
//
// A run is its Go benchmark output (bench.txt) with configuration lines that
// place it: commit, commit-time, machine. It is stored as one upload of
// golang.org/x/perf/storage: by default in a local SQLite file through
// x/perf's storage/db (the database behind its perfdata server and
// localperfdata), or on a perfdata server through x/perf's storage client.
// Both keep what x/perf's storage keeps: every result line with its
// configuration lines, labelled with the upload (upload, upload-part,
// upload-time, upload-file); `Unit` lines are not kept, so directions come
// from llmbench's defaults (reports.DefaultBetter).
//
//	st, err := history.Open("history.db")            // or "http://perfdata.example:8080"
//	id, err := history.Add(ctx, st, history.Run{Commit: sha, CommitTime: t, Name: "bench.txt", Data: data})
//	commits, err := history.Load(ctx, st, "", 0)       // oldest commit first
//	tr, err := history.Build(commits, history.Options{})
//
// Build follows each benchmark (model × prompt) and metric over the commits
// with golang.org/x/perf/benchseries: each commit's samples against the
// baseline commit's (the trend: a ratio with its bootstrapped 95% interval)
// and against the previous commit's (the step). A change point is a commit
// whose interval of the ratio to the baseline is disjoint from the previous
// commit's: benchseries' change score (ComparisonSummary.HeurOverlap) of at
// least Options.MinScore, 1 by default.
package history
