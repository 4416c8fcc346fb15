package history

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/perf/storage"
	sbenchfmt "golang.org/x/perf/storage/benchfmt"
	"golang.org/x/perf/storage/db"
)

// sqliteStore is a SQLite file opened through x/perf's storage/db: the
// schema and queries of the perfdata server, without the server.
type sqliteStore struct {
	path string
	db   *db.DB
}

// busyTimeout is how long a writer waits for another process's lock on the
// file before it fails (SQLite's busy timeout, in ms).
const busyTimeout = 10000

func openSQLite(path string) (*sqliteStore, error) {
	if !slices.Contains(sql.Drivers(), "sqlite3") {
		return nil, fmt.Errorf("history %s: this llmbench was built without cgo, which the SQLite driver needs: "+
			"build it with CGO_ENABLED=1, or use a perfdata server", path)
	}
	dsn := path
	if !strings.Contains(dsn, "?") {
		dsn += fmt.Sprintf("?_busy_timeout=%d", busyTimeout)
	}
	d, err := db.OpenSQL("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("history %s: %w", path, err)
	}
	return &sqliteStore{path: path, db: d}, nil
}

// Add indexes data as the perfdata server's upload handler does: one
// upload, its records labelled upload, upload-part, upload-time and
// upload-file (these win over the file's own lines).
func (s *sqliteStore) Add(ctx context.Context, name string, data []byte) (id string, err error) {
	u, err := s.db.NewUpload(ctx)
	if err != nil {
		return "", fmt.Errorf("history %s: new upload: %w", s.path, err)
	}
	defer func() {
		if err != nil {
			u.Abort()
		}
	}()
	meta := sbenchfmt.Labels{
		KeyUpload:     u.ID,
		"upload-part": u.ID + "/0",
		"upload-time": time.Now().UTC().Format(time.RFC3339),
	}
	if name != "" {
		meta["upload-file"] = filepath.Base(name)
	}
	br := sbenchfmt.NewReader(bytes.NewReader(data))
	br.AddLabels(meta)
	n := 0
	for br.Next() {
		n++
		if err := u.InsertRecord(br.Result()); err != nil {
			return "", fmt.Errorf("history %s: upload %s: %w", s.path, u.ID, err)
		}
	}
	if err := br.Err(); err != nil {
		return "", fmt.Errorf("history %s: upload %s: %w", s.path, u.ID, err)
	}
	if n == 0 {
		return "", fmt.Errorf("history %s: upload %s: %w", s.path, u.ID, errors.New("no benchmark result lines"))
	}
	if err := u.Commit(); err != nil {
		return "", fmt.Errorf("history %s: upload %s: commit: %w", s.path, u.ID, err)
	}
	return u.ID, nil
}

func (s *sqliteStore) Uploads(_ context.Context, query string, labels []string, limit int) ([]storage.UploadInfo, error) {
	out, err := collectUploads(s.db.ListUploads(query, labels, limit))
	if err != nil {
		return nil, fmt.Errorf("history %s: uploads %q: %w", s.path, query, err)
	}
	return out, nil
}

func (s *sqliteStore) Results(_ context.Context, query string, w io.Writer) error {
	if err := printResults(s.db.Query(query), w); err != nil {
		return fmt.Errorf("history %s: query %q: %w", s.path, query, err)
	}
	return nil
}

func (s *sqliteStore) Close() error { return s.db.Close() }
