package filebench

import (
	"fmt"
	"io"
)

// CSV generates exactly size bytes of a valid participants CSV on the fly,
// so a benchmark of any size needs no file on disk.
type CSV struct {
	left int64
	row  int
	buf  []byte
}

// NewCSV returns a CSV of size bytes.
func NewCSV(size int64) *CSV {
	return &CSV{left: size, buf: []byte("participant_id,first_name,last_name,email\n")}
}

// Read implements io.Reader.
func (s *CSV) Read(p []byte) (int, error) {
	if s.left == 0 {
		return 0, io.EOF
	}
	for int64(len(s.buf)) < min(int64(len(p)), s.left) {
		s.row++
		s.buf = fmt.Appendf(s.buf, "%09d,First%d,Last%d,p%d@example.com\n", s.row, s.row%997, s.row%991, s.row)
	}
	n := copy(p, s.buf[:min(int64(len(p)), s.left)])
	s.buf = s.buf[:copy(s.buf, s.buf[n:])]
	s.left -= int64(n)
	return n, nil
}
