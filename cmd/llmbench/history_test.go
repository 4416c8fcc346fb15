package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const historyTD = "testdata/history/"

// historyRuns are three commits a day apart: two of base.txt, then one of
// slow.txt, whose latency and TTFT are 25% higher and tokens/s 20% lower
// (every sample of a case equal, so every number is exact).
var historyRuns = []struct{ commit, time, file string }{
	{"aaaa111aaaa111aaaa111aaaa111aaaa111aaaa1", "2026-11-01T10:00:00Z", "base.txt"},
	{"bbbb222bbbb222bbbb222bbbb222bbbb222bbbb2", "2026-11-02T10:00:00Z", "base.txt"},
	{"cccc333cccc333cccc333cccc333cccc333cccc3", "2026-11-03T10:00:00Z", "slow.txt"},
}

var storedLine = regexp.MustCompile(`^stored (base|slow)\.txt as upload \d{8}\.\d+ of h\.db: commit [0-9a-f]{40}, 2026-11-0\dT10:00:00Z\n$`)

// TestHistoryCommand stores three runs with history add and prints their
// trend (golden): one change point, commit 3, in latency, TTFT and tokens/s.
func TestHistoryCommand(t *testing.T) {
	inTempDir(t)
	for _, r := range historyRuns {
		code, stdout, stderr := runCLI(t, "history", "add", "--db", "h.db", "--commit", r.commit, "--commit-time", r.time,
			"--machine", "m1", "--label", "engine-build=native", historyTD+r.file)
		require.Equal(t, 0, code, stderr)
		assert.Regexp(t, storedLine, stdout)
		assert.Empty(t, stderr)
	}
	out := goldenRun(t, "history-trend", 0, "history", "trend", "--db", "h.db", "-o", "$OUT")
	for _, f := range []string{"trend.csv", "trend.md", "report.html", "trend-latency_ns.png", "trend-ttft_ns.svg", "trend-tokens_per_s.png"} {
		assert.FileExists(t, filepath.Join(out, f))
	}
	goldenRun(t, "history-trend-metric", 0, "history", "trend", "--db", "h.db", "-o", "$OUT",
		"--metrics", "tokens/s", "--baseline", "cccc", "--last", "2")
}

// inTempDir makes a temporary folder the current directory, with the
// package's testdata linked into it (golden files and inputs by their
// relative paths, the history beside them).
func inTempDir(t *testing.T) {
	t.Helper()
	td, err := filepath.Abs("testdata")
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.Symlink(td, filepath.Join(dir, "testdata")))
	t.Chdir(dir)
}

// TestHistoryErrors: command-line mistakes and unusable input exit 2 with a
// message naming what is wrong.
func TestHistoryErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
	}{
		{"history-none", []string{"history"}},
		{"history-add-nofile", []string{"history", "add", "--commit", "abc", "--commit-time", "2026-11-01T10:00:00Z"}},
		{"history-add-badtime", []string{"history", "add", "--db", "$OUT/h.db", "--commit", "abc", "--commit-time", "yesterday", historyTD + "base.txt"}},
		{"history-add-badlabel", []string{"history", "add", "--db", "$OUT/h.db", "--commit", "abc", "--commit-time", "2026-11-01T10:00:00Z", "--label", "Engine=x", historyTD + "base.txt"}},
		{"history-add-noresults", []string{"history", "add", "--db", "$OUT/h.db", "--commit", "abc", "--commit-time", "2026-11-01T10:00:00Z", "testdata/shards.yaml"}},
		{"history-trend-nodb", []string{"history", "trend", "--db", "$OUT/none.db", "-o", "$OUT"}},
	} {
		t.Run(c.name, func(t *testing.T) { goldenRun(t, c.name, 2, c.args...) })
	}
}

// TestHistorySecondProcess: each history add is a process of its own, and
// a later process's history trend reads what they wrote to the SQLite file.
func TestHistorySecondProcess(t *testing.T) {
	db := filepath.Join(t.TempDir(), "h.db")
	llmbench := func(args ...string) string {
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = append(os.Environ(), "LLMBENCH_AS_MAIN=1")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		require.NoError(t, cmd.Run(), "llmbench %v\n%s", args, stderr.String())
		return stdout.String()
	}
	for _, r := range historyRuns {
		llmbench("history", "add", "--db", db, "--commit", r.commit, "--commit-time", r.time, historyTD+r.file)
	}
	md := llmbench("history", "trend", "--db", db, "-o", t.TempDir())
	assert.Contains(t, md, "# Trend over 3 commits")
	for _, row := range []string{
		"| 3 | cccc333 | Generate/model=tiny-llama/prompt=hello | Latency | +25.0% | +25.0% … +25.0% | 100.00 | regression |",
		"| 3 | cccc333 | Generate/model=tiny-llama/prompt=hello | Decode tokens/s | -20.0% | -20.0% … -20.0% | -100.00 | regression |",
	} {
		assert.Contains(t, md, row)
	}
	assert.Contains(t, md, "## Change points: 3\n")
}

// TestHistoryAddFromGit: without --commit and --commit-time, history add
// takes git's HEAD of the current directory and its commit time.
func TestHistoryAddFromGit(t *testing.T) {
	inTempDir(t)
	gitRun := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Env = append(os.Environ(), "GIT_COMMITTER_DATE=2026-11-05T08:30:00+01:00", "GIT_AUTHOR_DATE=2026-11-05T08:30:00+01:00",
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
		return string(bytes.TrimSpace(out))
	}
	gitRun("init", "-q")
	gitRun("commit", "-q", "--allow-empty", "-m", "x")
	head := gitRun("rev-parse", "HEAD")
	code, stdout, stderr := runCLI(t, "history", "add", "--db", "h.db", historyTD+"base.txt")
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, fmt.Sprintf(`^stored base\.txt as upload \d{8}\.1 of h\.db: commit %s, 2026-11-05T07:30:00Z\n$`, head), stdout)
}
