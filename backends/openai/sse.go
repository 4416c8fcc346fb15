package openai

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"sync"
)

// maxLine bounds one line of the stream; a longer one is malformed.
const maxLine = 4 << 20

var errLineTooLong = errors.New("line longer than 4 MiB")

// lineReader reads the lines of a server-sent event stream (RFC text/event-stream:
// lines end in \n, \r\n or \r-less variants we do not need). The slice it returns
// is valid until the next call.
type lineReader struct {
	r    *bufio.Reader
	long []byte // holds a line longer than r's buffer
	n    int    // lines read
}

var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 16<<10) }}

func newLineReader(r io.Reader) *lineReader {
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(r)
	return &lineReader{r: br}
}

func (l *lineReader) release() {
	l.r.Reset(nil)
	readerPool.Put(l.r)
	l.r = nil
}

// next returns the next line without its line ending. At the end of the stream
// it returns io.EOF; a last line without a line ending is returned first.
func (l *lineReader) next() ([]byte, error) {
	line, err := l.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		l.long = append(l.long[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = l.r.ReadSlice('\n')
			l.long = append(l.long, line...)
			if len(l.long) > maxLine {
				l.n++
				return nil, errLineTooLong
			}
		}
		line = l.long
	}
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			l.n++
			return line, nil
		}
		return nil, err
	}
	l.n++
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// field splits an event-stream line into its field name and value ("data: x" →
// "data", "x"); a comment line (":…") returns name "" and ok true.
func field(line []byte) (name, value []byte) {
	i := bytes.IndexByte(line, ':')
	if i < 0 {
		return line, nil
	}
	name, value = line[:i], line[i+1:]
	if len(value) > 0 && value[0] == ' ' {
		value = value[1:]
	}
	return name, value
}
