package synth

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
)

// bufferSize is the write buffer: tensor rows are generated straight into it.
const bufferSize = 4 << 20

// Write writes the GGUF file of spec to w. The same spec always gives the same bytes,
// Size() of them. Tensor data is generated as it is written, a buffer at a time.
func Write(w io.Writer, spec Spec) error { return write(context.Background(), w, spec) }

// WriteHeader writes only the header of spec's file: metadata, tensor infos and the
// padding up to the data section. It returns the number of bytes written, which is
// also the offset of the tensor data.
func WriteHeader(w io.Writer, spec Spec) (int64, error) {
	l := layoutOf(spec)
	cw := newChunkWriter(context.Background(), w)
	writeHeader(cw, l)
	cw.flush()
	if cw.err != nil {
		return 0, fmt.Errorf("synth: %s: %w", spec, cw.err)
	}
	return cw.n, nil
}

// WriteFile writes spec's file into dir as spec.FileName() and returns its path. It is
// idempotent: a file of that name and of the right size is kept as it is. The data is
// written to a temporary name in dir and renamed when complete.
func WriteFile(dir string, spec Spec) (path string, err error) {
	return WriteFileContext(context.Background(), dir, spec)
}

// WriteFileContext is WriteFile, stopped (and the temporary file removed) when ctx is
// done.
func WriteFileContext(ctx context.Context, dir string, spec Spec) (path string, err error) {
	path = filepath.Join(dir, spec.FileName())
	want := spec.Size()
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Size() == want && sameHeader(path, spec) {
		return path, nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("synth: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("synth: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+spec.FileName()+".*.tmp")
	if err != nil {
		return "", fmt.Errorf("synth: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := write(ctx, f, spec); err != nil {
		return "", err
	}
	if err := f.Chmod(0o644); err != nil {
		return "", fmt.Errorf("synth: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("synth: %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return "", fmt.Errorf("synth: %w", err)
	}
	return path, nil
}

func write(ctx context.Context, w io.Writer, spec Spec) error {
	l := layoutOf(spec)
	cw := newChunkWriter(ctx, w)
	writeHeader(cw, l)
	data := cw.n
	for _, t := range l.tensors {
		if pad := data + t.offset - cw.n; pad > 0 {
			clear(cw.grab(int(pad)))
		}
		writeTensor(cw, t)
		if cw.err != nil {
			break
		}
	}
	cw.flush()
	if cw.err != nil {
		return fmt.Errorf("synth: writing %s: %w", spec, cw.err)
	}
	return nil
}

// writeTensor writes t's data, a row at a time.
func writeTensor(cw *chunkWriter, t *tensor) {
	rb := t.rowBytes()
	for r := range t.rows() {
		if cw.err != nil {
			return
		}
		t.encodeRow(cw.grab(rb), r)
	}
}

// encodeRow fills dst, t.rowBytes() long, with row r of t.
func (t *tensor) encodeRow(dst []byte, r int) {
	switch t.kind {
	case fillZero:
		clear(dst)
	case fillOne:
		constRow(dst, 1)
	case fillRandom:
		if src := t.rowSource(r); src >= 0 {
			randomRow(dst, t.typ, t.dims[0], tablesFor(t.sigma), rowSeed(t.seed, src))
		} else {
			clear(dst)
		}
	}
}

// GGUF value types.
const (
	ggufUint32  = 4
	ggufInt32   = 5
	ggufFloat32 = 6
	ggufBool    = 7
	ggufString  = 8
	ggufArray   = 9
	ggufUint64  = 10
)

// writeHeader writes the header of l and pads it to the alignment.
func writeHeader(cw *chunkWriter, l *layout) {
	cw.put([]byte("GGUF"))
	cw.u32(3)
	cw.u64(uint64(len(l.tensors)))
	cw.u64(uint64(len(l.kvs)))
	for _, e := range l.kvs {
		cw.str(e.key)
		cw.value(e.value)
	}
	for _, t := range l.tensors {
		cw.str(t.name)
		cw.u32(uint32(len(t.dims)))
		for _, d := range t.dims {
			cw.u64(uint64(d))
		}
		cw.u32(uint32(t.typ))
		cw.u64(uint64(t.offset))
	}
	if pad := alignUp(cw.n) - cw.n; pad > 0 {
		clear(cw.grab(int(pad)))
	}
}

func (cw *chunkWriter) value(v any) {
	switch v := v.(type) {
	case uint32:
		cw.u32(ggufUint32)
		cw.u32(v)
	case int32:
		cw.u32(ggufInt32)
		cw.u32(uint32(v))
	case float32:
		cw.u32(ggufFloat32)
		cw.u32(math.Float32bits(v))
	case bool:
		cw.u32(ggufBool)
		b := cw.grab(1)
		b[0] = 0
		if v {
			b[0] = 1
		}
	case string:
		cw.u32(ggufString)
		cw.str(v)
	case uint64:
		cw.u32(ggufUint64)
		cw.u64(v)
	case []string:
		cw.u32(ggufArray)
		cw.u32(ggufString)
		cw.u64(uint64(len(v)))
		for _, s := range v {
			cw.str(s)
		}
	case []float32:
		cw.u32(ggufArray)
		cw.u32(ggufFloat32)
		cw.u64(uint64(len(v)))
		for _, f := range v {
			cw.u32(math.Float32bits(f))
		}
	case []int32:
		cw.u32(ggufArray)
		cw.u32(ggufInt32)
		cw.u64(uint64(len(v)))
		for _, i := range v {
			cw.u32(uint32(i))
		}
	default:
		panic(fmt.Sprintf("synth: metadata value of type %T", v))
	}
}

// chunkWriter is a bufio.Writer whose callers fill its buffer in place (grab).
// After the first error it writes nothing more; err keeps that error.
type chunkWriter struct {
	ctx context.Context
	w   io.Writer
	buf []byte
	off int
	n   int64 // bytes of the stream so far
	err error
}

func newChunkWriter(ctx context.Context, w io.Writer) *chunkWriter {
	return &chunkWriter{ctx: ctx, w: w, buf: make([]byte, bufferSize)}
}

// newCountWriter counts the bytes of a header and writes nothing.
func newCountWriter() *chunkWriter {
	return &chunkWriter{ctx: context.Background(), w: io.Discard, buf: make([]byte, 64<<10)}
}

// grab returns the next k bytes of the stream, k at most the buffer's size, for the
// caller to fill entirely.
func (cw *chunkWriter) grab(k int) []byte {
	if cw.off+k > len(cw.buf) {
		cw.flush()
	}
	b := cw.buf[cw.off : cw.off+k : cw.off+k]
	cw.off += k
	cw.n += int64(k)
	return b
}

// put copies p into the stream.
func (cw *chunkWriter) put(p []byte) {
	for len(p) > 0 {
		k := min(len(p), len(cw.buf)/2)
		copy(cw.grab(k), p[:k])
		p = p[k:]
	}
}

func (cw *chunkWriter) u32(v uint32) { binary.LittleEndian.PutUint32(cw.grab(4), v) }
func (cw *chunkWriter) u64(v uint64) { binary.LittleEndian.PutUint64(cw.grab(8), v) }

func (cw *chunkWriter) str(s string) {
	cw.u64(uint64(len(s)))
	for len(s) > 0 {
		k := min(len(s), len(cw.buf)/2)
		copy(cw.grab(k), s[:k])
		s = s[k:]
	}
}

// flush writes the buffer out; it also notices a cancelled context.
func (cw *chunkWriter) flush() {
	if cw.err == nil {
		cw.err = cw.ctx.Err()
	}
	if cw.err == nil && cw.off > 0 {
		_, cw.err = cw.w.Write(cw.buf[:cw.off])
	}
	cw.off = 0
}

// sameHeader reports whether the file at path starts with spec's header (metadata
// and tensor infos): a preset whose metadata changed without changing the file's
// size (a context length, say) is written again.
func sameHeader(path string, spec Spec) bool {
	var want bytes.Buffer
	if _, err := WriteHeader(&want, spec); err != nil {
		return false
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	got := make([]byte, want.Len())
	if _, err := io.ReadFull(f, got); err != nil {
		return false
	}
	return bytes.Equal(got, want.Bytes())
}
