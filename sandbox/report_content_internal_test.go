package sandbox

import (
	"bytes"
	"fmt"
	"io"
	"testing"
	"testing/iotest"
	"time"
)

// layouts returns one generator of each report type.
func layouts() map[string]rowLayout {
	return map[string]rowLayout{
		"grants":       newGrantsLayout(time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC), 42),
		"participants": participantsLayout{seed: 42},
	}
}

func TestAppendPadded(t *testing.T) {
	for _, n := range []uint64{0, 7, 42, 123, 9_876_543_210, 1<<64 - 1} {
		for _, width := range []int{1, 2, 3, 10, 12} {
			want := fmt.Sprintf("%0*d", width, n)
			want = want[len(want)-width:] // the low digits when n does not fit
			if got := string(appendPadded([]byte("x"), n, width)); got != "x"+want {
				t.Errorf("appendPadded(%d, %d) = %q, want x%s", n, width, got, want)
			}
		}
	}
}

// TestContentSize checks what size_bytes relies on: every row is rowLen
// bytes, so the size is known without generating, whatever the row number.
func TestContentSize(t *testing.T) {
	for name, l := range layouts() {
		for _, i := range []uint64{0, 1, 9, 99_999_999} {
			if row := l.appendRow(nil, i); len(row) != l.rowLen() || row[len(row)-1] != '\n' {
				t.Errorf("%s row %d = %q, want %d bytes ending in a newline", name, i, row, l.rowLen())
			}
		}
		for _, rows := range []int64{0, 1, 1000, 5000} {
			n, err := io.Copy(io.Discard, newContentReader(l, rows))
			if err != nil || n != contentSize(l, rows) {
				t.Errorf("%s with %d rows: generated %d bytes (%v), contentSize %d", name, rows, n, err, contentSize(l, rows))
			}
		}
	}
}

// TestContentReadMatchesWriteTo checks that both ways of consuming a
// report (io.Copy uses WriteTo; other readers use Read) see the same bytes.
func TestContentReadMatchesWriteTo(t *testing.T) {
	for name, l := range layouts() {
		var viaWriteTo bytes.Buffer
		if _, err := newContentReader(l, 3000).WriteTo(&viaWriteTo); err != nil {
			t.Fatal(err)
		}
		if err := iotest.TestReader(newContentReader(l, 3000), viaWriteTo.Bytes()); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// BenchmarkReportContent measures generation alone, in MB/s.
func BenchmarkReportContent(b *testing.B) {
	for name, l := range layouts() {
		b.Run(name, func(b *testing.B) {
			const rows = 1 << 20
			b.SetBytes(contentSize(l, rows))
			for b.Loop() {
				if _, err := io.Copy(io.Discard, newContentReader(l, rows)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
