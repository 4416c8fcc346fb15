package bench

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/llmbench/llmbench/loadgen"
)

// recordsFile is the suite's per-request records file (loadgen.RecordsFile in
// the output folder), shared by every load case that writes records. It is
// created, empty, when the first such case runs, and closed with the suite.
type recordsFile struct {
	*loadgen.RecordWriter
	f *os.File
}

func (r *recordsFile) Close() error { return r.f.Close() }

// records returns the suite's records writer, opening its file on first use.
func (s *Suite) records() (*loadgen.RecordWriter, error) {
	path := filepath.Join(s.Config.Output, loadgen.RecordsFile)
	c, err := s.Shared("bench:records:"+path, func() (_ io.Closer, err error) {
		if err := os.MkdirAll(s.Config.Output, 0o755); err != nil {
			return nil, err
		}
		f, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		return &recordsFile{loadgen.NewRecordWriter(f), f}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("request records: %w", err)
	}
	return c.(*recordsFile).RecordWriter, nil
}
