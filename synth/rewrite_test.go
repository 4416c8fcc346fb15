package synth

import (
	"bytes"
	"os"
	"testing"
)

// A file of the right size whose header differs from the preset's (a preset whose
// metadata changed) is written again; an intact one is kept.
func TestWriteFileRewritesStaleHeader(t *testing.T) {
	spec, err := ParseSpec("tiny-llama")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path, err := WriteFile(dir, spec)
	if err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(path)
	stale := bytes.Clone(good)
	stale[40] ^= 0xff // inside the metadata
	if err := os.WriteFile(path, stale, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteFile(dir, spec); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, good) {
		t.Fatal("a file with a stale header of the right size was kept")
	}
	fi, _ := os.Stat(path)
	before := fi.ModTime()
	if _, err := WriteFile(dir, spec); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); !fi.ModTime().Equal(before) {
		t.Fatal("an intact file was written again")
	}
}
