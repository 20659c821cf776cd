package sandbox

import (
	"io"
	"time"
)

// Report content is generated, never stored: every row is a pure function
// of the report's seed and the row number, and every row of a type has the
// same length. So content of any size costs no memory, two downloads are
// byte-identical, and size_bytes is known without generating anything.

// rowLayout generates the rows of one report type.
type rowLayout interface {
	header() string
	// rowLen is the length of every row, newline included.
	rowLen() int
	// appendRow appends data row i (0-based), exactly rowLen bytes.
	appendRow(dst []byte, i uint64) []byte
}

// contentSize is the length of the content of a report with rows rows.
func contentSize(l rowLayout, rows int64) int64 {
	return int64(len(l.header())) + rows*int64(l.rowLen())
}

// contentChunk is roughly how many bytes of rows are generated at a time.
const contentChunk = 64 << 10

// contentReader streams a report's content. Its WriteTo lets io.Copy hand
// each generated chunk straight to the writer, without a copy.
type contentReader struct {
	layout     rowLayout
	rows, next uint64 // rows in all; next row to generate
	started    bool   // the header has been produced
	buf        []byte // reused for every chunk
	pending    []byte // generated and not yet consumed
}

func newContentReader(l rowLayout, rows int64) *contentReader {
	return &contentReader{layout: l, rows: uint64(rows), buf: make([]byte, 0, contentChunk+l.rowLen())}
}

// refill generates the next chunk into pending and reports whether there
// was any left.
func (c *contentReader) refill() bool {
	if !c.started {
		c.started = true
		c.pending = append(c.buf[:0], c.layout.header()...)
		return true
	}
	if c.next == c.rows {
		return false
	}
	b := c.buf[:0]
	for ; c.next < c.rows && len(b) < contentChunk; c.next++ {
		b = c.layout.appendRow(b, c.next)
	}
	c.pending = b
	return true
}

// Read implements io.Reader.
func (c *contentReader) Read(p []byte) (int, error) {
	if len(c.pending) == 0 && !c.refill() {
		return 0, io.EOF
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

// WriteTo implements io.WriterTo.
func (c *contentReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for len(c.pending) > 0 || c.refill() {
		n, err := w.Write(c.pending)
		total += int64(n)
		c.pending = c.pending[n:]
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// mix is the SplitMix64 finalizer: a cheap, well-distributed hash that
// turns (seed, row) into the row's pseudo-random values.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// digitPairs holds "00" to "99", for writing two digits per division.
const digitPairs = "0001020304050607080910111213141516171819" +
	"2021222324252627282930313233343536373839" +
	"4041424344454647484950515253545556575859" +
	"6061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

// appendPadded appends n as exactly width decimal digits, zero-padded (and
// truncated to its low digits should it not fit), which keeps rows fixed
// width and is faster than strconv for short numbers.
func appendPadded(b []byte, n uint64, width int) []byte {
	b = append(b, "0000000000000000"[:width]...)
	i := len(b) - 1
	for stop := len(b) - width; i > stop; i -= 2 {
		r := n % 100 * 2
		n /= 100
		b[i-1], b[i] = digitPairs[r], digitPairs[r+1]
	}
	if i == len(b)-width {
		b[i] = byte('0' + n%10)
	}
	return b
}

// grantsLayout generates the grants report:
//
//	grant_id,participant_id,grant_date,shares,plan
//	GRT-000000000001,PRT-0000481516,2026-01-31,0000023421,PLAN-042
type grantsLayout struct {
	seed  uint64
	dates [64][10]byte // grant dates, weekly back from as_of
}

func newGrantsLayout(asOf time.Time, seed uint64) *grantsLayout {
	g := &grantsLayout{seed: seed}
	for k := range g.dates {
		copy(g.dates[k][:], asOf.AddDate(0, 0, -7*k).Format(time.DateOnly))
	}
	return g
}

func (*grantsLayout) header() string { return "grant_id,participant_id,grant_date,shares,plan\n" }
func (*grantsLayout) rowLen() int    { return 63 }

func (g *grantsLayout) appendRow(b []byte, i uint64) []byte {
	h := mix(g.seed + i)
	b = appendPadded(append(b, "GRT-"...), i+1, 12)
	b = appendPadded(append(b, ",PRT-"...), 1+(h>>32)%1_000_000, 10)
	b = append(append(b, ','), g.dates[h&63][:]...)
	b = appendPadded(append(b, ','), 1+(h>>8)%100_000, 10)
	b = appendPadded(append(b, ",PLAN-"...), (h>>40)%1000, 3)
	return append(b, '\n')
}

// participantsLayout generates the participants report:
//
//	participant_id,first_name,last_name,email,department
//	PRT-0000000001,Alice,Garcia,alice.garcia.0000000001@example.com,ENG
type participantsLayout struct{ seed uint64 }

// Name tables have entries of equal length so rows stay fixed width.
var (
	firstNames  = [8]string{"Alice", "Brian", "Chloe", "David", "Ethan", "Fiona", "Grace", "Henry"}
	lastNames   = [8]string{"Garcia", "Nguyen", "Harris", "Wright", "Murphy", "Foster", "Turner", "Briggs"}
	firstLower  = [8]string{"alice", "brian", "chloe", "david", "ethan", "fiona", "grace", "henry"}
	lastLower   = [8]string{"garcia", "nguyen", "harris", "wright", "murphy", "foster", "turner", "briggs"}
	departments = [8]string{"ENG", "FIN", "OPS", "HRS", "LEG", "MKT", "SAL", "ITS"}
)

func (participantsLayout) header() string {
	return "participant_id,first_name,last_name,email,department\n"
}
func (participantsLayout) rowLen() int { return 68 }

func (p participantsLayout) appendRow(b []byte, i uint64) []byte {
	h := mix(p.seed + i)
	f, l := h&7, (h>>3)&7
	b = appendPadded(append(b, "PRT-"...), i+1, 10)
	b = append(append(append(append(b, ','), firstNames[f]...), ','), lastNames[l]...)
	b = append(append(append(append(b, ','), firstLower[f]...), '.'), lastLower[l]...)
	b = appendPadded(append(b, '.'), i+1, 10)
	b = append(append(b, "@example.com,"...), departments[(h>>6)&7]...)
	return append(b, '\n')
}
