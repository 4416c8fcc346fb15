package history

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/llmbench/llmbench/reports"
)

// A Commit is every run of one commit in the history, pooled.
type Commit struct {
	// Hash and Time are the run's commit and commit-time lines.
	Hash string
	Time time.Time
	// Uploads are the IDs of its runs, oldest first.
	Uploads []string
	// Data is their results as Go benchmark output, one upload after another,
	// without the upload's own labels (upload, upload-time, …), in which the
	// pooled runs of one commit always differ.
	Data []byte
	// Set is Data read by package reports.
	Set *reports.Set
}

// Short is the hash's first 7 characters, as git abbreviates it.
func (c *Commit) Short() string { return c.Hash[:min(7, len(c.Hash))] }

// ErrEmpty is returned (wrapped) when the history holds no run to load.
var ErrEmpty = errors.New("no runs in the history")

// Load reads the runs of st that match query (x/perf's query syntax; ""
// for all), the newest last ones when last > 0, and pools them by commit:
// oldest commit-time first, ties by hash. An upload without a commit or a
// readable commit-time is reported to warn (which may be nil) and skipped.
func Load(ctx context.Context, st Store, query string, last int, warn io.Writer) ([]*Commit, error) {
	if warn == nil {
		warn = io.Discard
	}
	ups, err := st.Uploads(ctx, query, []string{KeyCommit, KeyCommitTime}, last)
	if err != nil {
		return nil, err
	}
	byHash := map[string]*Commit{}
	var commits []*Commit
	for _, u := range slices.Backward(ups) {
		hash := u.LabelValues[KeyCommit]
		t, err := time.Parse(time.RFC3339, u.LabelValues[KeyCommitTime])
		if hash == "" || err != nil {
			fmt.Fprintf(warn, "upload %s: no %s or %s line with an RFC 3339 time: skipped\n", u.UploadID, KeyCommit, KeyCommitTime)
			continue
		}
		c := byHash[hash]
		if c == nil {
			c = &Commit{Hash: hash, Time: t}
			byHash[hash] = c
			commits = append(commits, c)
		}
		c.Uploads = append(c.Uploads, u.UploadID)
		var buf bytes.Buffer
		if err := st.Results(ctx, strings.TrimSpace(KeyUpload+":"+u.UploadID+" "+query), &buf); err != nil {
			return nil, err
		}
		c.Data = append(c.Data, dropUploadLines(buf.Bytes())...)
	}
	if len(commits) == 0 {
		return nil, fmt.Errorf("%w (query %q)", ErrEmpty, query)
	}
	slices.SortStableFunc(commits, func(a, b *Commit) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.Hash, b.Hash))
	})
	for _, c := range commits {
		set, err := reports.Parse(bytes.NewReader(c.Data), "commit "+c.Short(), warn)
		if err != nil {
			return nil, err
		}
		c.Set = set
	}
	return commits, nil
}

// uploadLabels are the labels x/perf's storage gives each upload.
var uploadLabels = []string{KeyUpload, "upload-part", "upload-time", "upload-file", "by"}

// dropUploadLines removes the configuration lines of uploadLabels from Go
// benchmark output.
func dropUploadLines(data []byte) []byte {
	var out []byte
	for line := range bytes.Lines(data) {
		key, _, ok := bytes.Cut(line, []byte(":"))
		if ok && slices.Contains(uploadLabels, string(key)) {
			continue
		}
		out = append(out, line...)
	}
	return out
}
