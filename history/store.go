package history

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/llmbench/llmbench/reports"
	"golang.org/x/perf/storage"
	sbenchfmt "golang.org/x/perf/storage/benchfmt"
)

// Configuration keys that place a run in the history, written before its
// results.
const (
	// KeyCommit is the commit the run measured (its hash).
	KeyCommit = "commit"
	// KeyCommitTime is its commit time, RFC 3339: it orders the history.
	KeyCommitTime = "commit-time"
	// KeyMachine names the machine that ran it.
	KeyMachine = "machine"
	// KeyUpload is the label x/perf's storage gives every record of an
	// upload: its ID.
	KeyUpload = "upload"
)

// A Store holds the runs: x/perf's storage database or a perfdata server.
// Queries are x/perf's storage query syntax ("key:value", "key>value", …;
// "" matches everything).
type Store interface {
	// Add stores one file of benchmark output (name is its file name, "" for
	// none) as a new upload and returns the upload's ID.
	Add(ctx context.Context, name string, data []byte) (string, error)
	// Uploads lists the uploads with a result matching query, newest first,
	// each with the values of labels; limit > 0 keeps the newest limit.
	Uploads(ctx context.Context, query string, labels []string, limit int) ([]storage.UploadInfo, error)
	// Results writes the results matching query to w as Go benchmark output:
	// each result line after the configuration lines in effect for it.
	Results(ctx context.Context, query string, w io.Writer) error
	// Close releases the store.
	Close() error
}

// Open opens the store named by dsn: an http:// or https:// URL is a
// perfdata server; anything else is the path of a SQLite file, created
// when missing.
func Open(dsn string) (Store, error) {
	if strings.HasPrefix(dsn, "http://") || strings.HasPrefix(dsn, "https://") {
		return &server{c: &storage.Client{BaseURL: strings.TrimSuffix(dsn, "/")}}, nil
	}
	return openSQLite(dsn)
}

// A Run is one benchmark run to store.
type Run struct {
	// Commit is the hash of the commit measured. Required.
	Commit string
	// CommitTime is the commit's time; it orders the history. Required.
	CommitTime time.Time
	// Machine names the machine; "" leaves the line out.
	Machine string
	// Labels are more configuration lines for every result of the run
	// (engine-build: generic). Keys are lowercase words joined by hyphens.
	Labels map[string]string
	// Name is the file name the run came from (bench.txt); "" for none.
	Name string
	// Data is the run's Go benchmark output.
	Data []byte
}

// ErrRun is returned (wrapped) for a run that cannot be stored: no commit,
// no commit time, a bad label or no benchmark results.
var ErrRun = errors.New("run not stored")

// Add stores run in st as one upload and returns the upload's ID. The run's
// output must hold benchmark results; its facts (commit, commit-time,
// machine, Labels) become configuration lines before them, so every record
// carries them.
func Add(ctx context.Context, st Store, run Run) (string, error) {
	name := run.Name
	if name == "" {
		name = "run"
	}
	if run.Commit == "" || strings.ContainsAny(run.Commit, " \t\n") {
		return "", fmt.Errorf("%s: %w: commit %q is not a commit hash", name, ErrRun, run.Commit)
	}
	if run.CommitTime.IsZero() {
		return "", fmt.Errorf("%s: %w: no commit time", name, ErrRun)
	}
	if _, err := reports.Parse(bytes.NewReader(run.Data), name, io.Discard); errors.Is(err, reports.ErrNoResults) {
		return "", fmt.Errorf("%s: %w: %w", name, ErrRun, reports.ErrNoResults)
	} else if err != nil {
		return "", fmt.Errorf("%w: %w", ErrRun, err)
	}
	lines := map[string]string{KeyCommit: run.Commit, KeyCommitTime: run.CommitTime.UTC().Format(time.RFC3339)}
	if run.Machine != "" {
		lines[KeyMachine] = run.Machine
	}
	for k, v := range run.Labels {
		if !validKey(k) || strings.ContainsAny(v, "\n\r") {
			return "", fmt.Errorf("%s: %w: label %q: want a lowercase key without spaces and a one-line value", name, ErrRun, k+"="+v)
		}
		lines[k] = v
	}
	var buf bytes.Buffer
	for _, k := range slices.Sorted(maps.Keys(lines)) {
		fmt.Fprintf(&buf, "%s: %s\n", k, lines[k])
	}
	buf.Write(run.Data)
	id, err := st.Add(ctx, run.Name, buf.Bytes())
	if err != nil {
		return "", fmt.Errorf("storing %s: %w", name, err)
	}
	return id, nil
}

// validKey reports whether k is a configuration key benchfmt reads as one:
// a lowercase letter first, no spaces or capitals, no colon.
func validKey(k string) bool {
	if k == "" || k[0] < 'a' || k[0] > 'z' {
		return false
	}
	return !strings.ContainsFunc(k, func(r rune) bool {
		return r == ':' || r == ' ' || r == '\t' || (r >= 'A' && r <= 'Z')
	})
}

// iterator is what x/perf's storage queries have in common, the database's
// (db.Query) and the client's (storage.Query).
type iterator interface {
	Next() bool
	Result() *sbenchfmt.Result
	Err() error
	Close() error
}

// printResults writes every result of q to w with its configuration lines.
func printResults(q iterator, w io.Writer) error {
	p := sbenchfmt.NewPrinter(w)
	for q.Next() {
		if err := p.Print(q.Result()); err != nil {
			q.Close()
			return err
		}
	}
	if err := q.Err(); err != nil {
		q.Close()
		return err
	}
	return q.Close()
}

// uploadIterator is what x/perf's upload lists have in common.
type uploadIterator interface {
	Next() bool
	Info() storage.UploadInfo
	Err() error
	Close() error
}

func collectUploads(ul uploadIterator) ([]storage.UploadInfo, error) {
	var out []storage.UploadInfo
	for ul.Next() {
		out = append(out, ul.Info())
	}
	if err := ul.Err(); err != nil {
		ul.Close()
		return nil, err
	}
	return out, ul.Close()
}

// server is a perfdata server, reached through x/perf's storage client.
type server struct{ c *storage.Client }

func (s *server) Add(ctx context.Context, name string, data []byte) (string, error) {
	u := s.c.NewUpload(ctx)
	w, err := u.CreateFile(name)
	if err != nil {
		u.Abort()
		return "", fmt.Errorf("perfdata server %s: %w", s.c.BaseURL, err)
	}
	if _, err := w.Write(data); err != nil {
		u.Abort()
		return "", fmt.Errorf("perfdata server %s: %w", s.c.BaseURL, err)
	}
	st, err := u.Commit()
	if err != nil {
		return "", fmt.Errorf("perfdata server %s: %w", s.c.BaseURL, err)
	}
	return st.UploadID, nil
}

func (s *server) Uploads(ctx context.Context, query string, labels []string, limit int) ([]storage.UploadInfo, error) {
	out, err := collectUploads(s.c.ListUploads(ctx, query, labels, limit))
	if err != nil {
		return nil, fmt.Errorf("perfdata server %s: uploads %q: %w", s.c.BaseURL, query, err)
	}
	return out, nil
}

func (s *server) Results(ctx context.Context, query string, w io.Writer) error {
	if err := printResults(s.c.Query(ctx, query), w); err != nil {
		return fmt.Errorf("perfdata server %s: query %q: %w", s.c.BaseURL, query, err)
	}
	return nil
}

func (s *server) Close() error { return nil }
