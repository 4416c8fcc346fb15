package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/llmbench/llmbench/history"
)

func init() { commands["history"] = historyCmd }

const historyUsage = `usage: llmbench history add [--db FILE | --server URL] [--commit SHA] [--commit-time T]
                            [--machine NAME] [--label KEY=VALUE]… BENCH.txt
       llmbench history trend [--db FILE | --server URL] [-o DIR] [--query Q] [--last N]
                            [--metrics M,…] [--baseline SHA] [--min-score S]

add stores one run (Go benchmark output; "-" is standard input) in the history: by
default the SQLite file history.db, through golang.org/x/perf's storage (the database
of its perfdata server), or a perfdata server. The commit and its time default to git's
HEAD in the current directory, the machine to the host name.

trend follows every benchmark and metric over the commits with golang.org/x/perf's
benchseries (each commit's median over the baseline commit's, with a bootstrapped 95%
interval), flags change points (a commit whose interval is disjoint from the previous
commit's) and writes DIR/trend.csv, DIR/trend.md, a plot per metric and DIR/report.html
(the newest commit's report with a Trend section); prints trend.md.
`

func historyCmd(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, historyUsage)
		return usageErr("history: add or trend?")
	}
	switch args[0] {
	case "add":
		return historyAdd(ctx, stdout, stderr, args[1:])
	case "trend":
		return historyTrend(ctx, stdout, stderr, args[1:])
	case "-h", "--help", "help":
		fmt.Fprint(stderr, historyUsage)
		return nil
	}
	fmt.Fprint(stderr, historyUsage)
	return usageErr("history: unknown command %q", args[0])
}

// storeFlags are the flags that name the history.
type storeFlags struct{ db, server *string }

func addStoreFlags(fs interface {
	String(name, value, usage string) *string
}) storeFlags {
	return storeFlags{
		db:     fs.String("db", "history.db", "the history's SQLite `FILE` (created when missing)"),
		server: fs.String("server", "", "a perfdata server's `URL` instead of the file"),
	}
}

// open opens the history; a missing file is created only when create is
// set (add), so that a trend of a mistyped path is an error, not empty.
func (f storeFlags) open(create bool) (history.Store, error) {
	if *f.server != "" {
		return history.Open(*f.server)
	}
	if _, err := os.Stat(*f.db); err != nil && !create {
		return nil, fmt.Errorf("history %s: %w", *f.db, err)
	}
	return history.Open(*f.db)
}

// labelFlags collects repeated --label KEY=VALUE flags.
type labelFlags map[string]string

func (l labelFlags) String() string { return "" }

func (l labelFlags) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, not %q", s)
	}
	l[k] = v
	return nil
}

func historyAdd(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	fs := newFlags("history add", historyUsage, stderr)
	store := addStoreFlags(fs)
	commit := fs.String("commit", "", "the commit measured (default: git rev-parse HEAD)")
	when := fs.String("commit-time", "", "its commit time, RFC 3339 (default: git's, of the commit)")
	machine := fs.String("machine", "", "the machine's name (default: the host name)")
	labels := labelFlags{}
	fs.Var(labels, "label", "another configuration line for every result, `KEY=VALUE` (repeatable)")
	files, err := parseArgs(fs, args)
	if err != nil {
		return helpOK(err)
	}
	if len(files) != 1 {
		fs.Usage()
		return usageErr("history add: want one file of benchmark output, got %d", len(files))
	}
	run := history.Run{Commit: *commit, Machine: *machine, Labels: labels, Name: files[0]}
	if run.Commit == "" {
		if run.Commit, err = git(ctx, "rev-parse", "HEAD"); err != nil {
			return usageErr("history add: no --commit, and %w", err)
		}
	}
	if *when == "" {
		if *when, err = git(ctx, "show", "-s", "--format=%cI", run.Commit); err != nil {
			return usageErr("history add: no --commit-time, and %w", err)
		}
	}
	if run.CommitTime, err = time.Parse(time.RFC3339, *when); err != nil {
		return usageErr("history add: --commit-time %q: want RFC 3339, like 2026-12-03T09:15:00Z", *when)
	}
	if run.Machine == "" {
		run.Machine, _ = os.Hostname()
	}
	if files[0] == "-" {
		run.Name = ""
		run.Data, err = io.ReadAll(os.Stdin)
	} else {
		run.Data, err = os.ReadFile(files[0])
	}
	if err != nil {
		return inputErr(err)
	}
	st, err := store.open(true)
	if err != nil {
		return inputErr(err)
	}
	id, err := history.Add(ctx, st, run)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, history.ErrRun) {
		return inputErr(err)
	}
	if err != nil {
		return err
	}
	where := *store.db
	if *store.server != "" {
		where = *store.server
	}
	fmt.Fprintf(stdout, "stored %s as upload %s of %s: commit %s, %s\n", filepath.Base(files[0]), id, where,
		run.Commit, run.CommitTime.UTC().Format(time.RFC3339))
	return nil
}

// git runs git in the current directory and returns its output, trimmed.
func git(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "git", args...).Output()
	if err != nil {
		msg := err.Error()
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(ee.Stderr) > 0 {
			msg = strings.TrimSpace(string(ee.Stderr))
		}
		return "", fmt.Errorf("git %s failed: %s", strings.Join(args, " "), msg)
	}
	return strings.TrimSpace(string(out)), nil
}

func historyTrend(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	fs := newFlags("history trend", historyUsage, stderr)
	store := addStoreFlags(fs)
	out := fs.String("o", "outputs/trend", "write the trend into `DIR`")
	query := fs.String("query", "", "only the results matching `Q` (x/perf storage query: model:tiny-llama cpu:…)")
	last := fs.Int("last", 0, "only the newest `N` runs (0: all)")
	metrics := fs.String("metrics", "", "metrics to follow, as units or column prefixes, `M,…` (default: every metric with a direction)")
	baseline := fs.String("baseline", "", "the commit ratios are against, by hash or prefix (default: the oldest)")
	minScore := fs.Float64("min-score", 1, "benchseries change score from which a commit is a change point (1: disjoint 95% intervals)")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return helpOK(err)
	}
	if len(rest) > 0 {
		fs.Usage()
		return usageErr("history trend: unexpected argument %q", rest[0])
	}
	if *minScore <= 0 {
		return usageErr("history trend: --min-score %g: want a positive score", *minScore)
	}
	st, err := store.open(false)
	if err != nil {
		return inputErr(err)
	}
	defer st.Close()
	commits, err := history.Load(ctx, st, *query, *last, stderr)
	if err != nil {
		return inputErr(err)
	}
	opts := history.Options{Baseline: *baseline, MinScore: *minScore}
	if *metrics != "" {
		opts.Metrics = strings.Split(*metrics, ",")
	}
	tr, err := history.Build(commits, opts)
	if err != nil {
		return inputErr(err)
	}
	if _, err := history.Write(*out, tr); err != nil {
		return err
	}
	return tr.WriteMarkdown(stdout)
}
