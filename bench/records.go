package bench

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/llmbench/llmbench/loadgen"
)

// recordsFile is one of the suite's JSON-lines files in the output folder
// (loadgen.RecordsFile, loadgen.SearchFile), shared by every load case that
// writes it. It is created, empty, when the first such case runs, and closed
// with the suite.
type recordsFile struct {
	*loadgen.RecordWriter
	f *os.File
}

func (r *recordsFile) Close() error { return r.f.Close() }

// lines returns the writer of the output folder's file name, opening the file
// on first use.
func (s *Suite) lines(name string) (*loadgen.RecordWriter, error) {
	path := filepath.Join(s.Config.Output, name)
	c, err := s.Shared("bench:lines:"+path, func() (_ io.Closer, err error) {
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
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return c.(*recordsFile).RecordWriter, nil
}
