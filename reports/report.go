package reports

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Report file names.
const (
	ResultsFile = "results.csv"
	SummaryFile = "summary.md"
)

// WriteReport writes results.csv, summary.md, report.html (WriteHTML) and the
// plots (PNG and SVG) of s into dir, creating it. A skipped plot is noted on
// warn (which may be nil), in summary.md and in report.html. It returns the
// paths written.
func WriteReport(dir string, s *Set, warn io.Writer) ([]string, error) {
	if warn == nil {
		warn = io.Discard
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	var buf bytes.Buffer
	if err := WriteCSV(&buf, s); err != nil {
		return nil, err
	}
	csvPath := filepath.Join(dir, ResultsFile)
	if err := os.WriteFile(csvPath, buf.Bytes(), 0o644); err != nil {
		return nil, err
	}
	files = append(files, csvPath)

	plots := Plots(s)
	for _, p := range plots {
		if p.Skipped != "" {
			fmt.Fprintf(warn, "plot %s not drawn: %s\n", p.Name, p.Skipped)
		}
	}
	buf.Reset()
	if err := WriteSummary(&buf, s, plots); err != nil {
		return nil, err
	}
	mdPath := filepath.Join(dir, SummaryFile)
	if err := os.WriteFile(mdPath, buf.Bytes(), 0o644); err != nil {
		return nil, err
	}
	files = append(files, mdPath)

	buf.Reset()
	if err := WriteHTML(&buf, s, plots); err != nil {
		return files, err
	}
	htmlPath := filepath.Join(dir, HTMLFile)
	if err := os.WriteFile(htmlPath, buf.Bytes(), 0o644); err != nil {
		return files, err
	}
	files = append(files, htmlPath)

	pf, err := SavePlots(dir, plots)
	files = append(files, pf...)
	return files, err
}

// WriteComparison writes compare.csv, compare.md, compare.html (with the
// verdict of the default gate, or why it cannot judge) and the plot of
// relative change per metric (compare.png, compare.svg) into dir, creating
// it. A skipped plot is noted on warn (which may be nil). It returns the
// paths written.
func WriteComparison(dir string, c *Comparison, warn io.Writer) ([]string, error) {
	if warn == nil {
		warn = io.Discard
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	files, err := WriteFiles(dir, []File{{CompareCSVFile, c.WriteCSV}, {CompareMDFile, c.WriteMarkdown}, {CompareHTMLFile, func(w io.Writer) error {
		v, err := c.Gate(GateOptions{})
		return c.WriteHTML(w, v, err)
	}}})
	if err != nil {
		return files, err
	}
	p := c.Plot()
	if p.Skipped != "" {
		fmt.Fprintf(warn, "plot %s not drawn: %s\n", p.Name, p.Skipped)
		return files, nil
	}
	pf, err := SavePlots(dir, []Plot{p})
	return append(files, pf...), err
}

// A File is one file of a report: its name and what writes it.
type File struct {
	Name  string
	Write func(io.Writer) error
}

// WriteFiles writes each file into dir, which must exist, in order, and
// returns the paths written. A file is written only when its Write has
// succeeded whole.
func WriteFiles(dir string, files []File) ([]string, error) {
	var paths []string
	for _, f := range files {
		var buf bytes.Buffer
		if err := f.Write(&buf); err != nil {
			return paths, err
		}
		path := filepath.Join(dir, f.Name)
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			return paths, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}
