package filebench

import (
	"io"
	"strconv"
)

// CSV generates exactly size bytes of a valid participants CSV on the fly,
// so a benchmark of any size needs no file on disk. It is cheap (no fmt):
// on a small machine the client's CPU competes with the gateway's.
type CSV struct {
	left int64
	row  int64
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
	want := min(int64(len(p)), s.left)
	for int64(len(s.buf)) < want {
		s.row++
		b := s.buf
		b = appendPadded(b, s.row, 9)
		b = append(b, ",First"...)
		b = strconv.AppendInt(b, s.row%997, 10)
		b = append(b, ",Last"...)
		b = strconv.AppendInt(b, s.row%991, 10)
		b = append(b, ",p"...)
		b = strconv.AppendInt(b, s.row, 10)
		s.buf = append(b, "@example.com\n"...)
	}
	n := copy(p, s.buf[:want])
	s.buf = s.buf[:copy(s.buf, s.buf[n:])]
	s.left -= int64(n)
	return n, nil
}

// WriteTo writes the rest of the CSV in 1 MiB writes, as a file copied by
// curl or an HTTP client with large buffers would arrive, rather than in
// io.Copy's 32 KiB.
func (s *CSV) WriteTo(w io.Writer) (int64, error) {
	buf := make([]byte, 1<<20)
	var total int64
	for {
		n, err := s.Read(buf)
		if n > 0 {
			m, werr := w.Write(buf[:n])
			total += int64(m)
			if werr != nil {
				return total, werr
			}
		}
		if err == io.EOF {
			return total, nil
		}
	}
}

// appendPadded appends n in decimal, zero-padded to width digits.
func appendPadded(b []byte, n int64, width int) []byte {
	var digits [20]byte
	d := strconv.AppendInt(digits[:0], n, 10)
	for range width - len(d) {
		b = append(b, '0')
	}
	return append(b, d...)
}
