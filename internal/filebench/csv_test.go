package filebench_test

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/internal/filebench"
)

func TestCSVIsExactlyTheSizeAndWellFormed(t *testing.T) {
	for _, size := range []int64{1, 100, 1 << 20, 3<<20 + 17} {
		var read, written bytes.Buffer
		if _, err := io.Copy(&read, struct{ io.Reader }{filebench.NewCSV(size)}); err != nil { // Read only
			t.Fatal(err)
		}
		if _, err := filebench.NewCSV(size).WriteTo(&written); err != nil {
			t.Fatal(err)
		}
		if int64(read.Len()) != size || !bytes.Equal(read.Bytes(), written.Bytes()) {
			t.Fatalf("size %d: read %d bytes, wrote %d, equal %v", size, read.Len(), written.Len(), bytes.Equal(read.Bytes(), written.Bytes()))
		}
	}
	var b bytes.Buffer
	io.Copy(&b, filebench.NewCSV(1<<16))
	lines := strings.Split(b.String(), "\n")
	if lines[0] != "participant_id,first_name,last_name,email" || lines[1] != "000000001,First1,Last1,p1@example.com" {
		t.Fatalf("first lines %q", lines[:2])
	}
	for _, l := range lines[1 : len(lines)-1] { // the last may be cut at the size
		if strings.Count(l, ",") != 3 || !strings.HasSuffix(l, "@example.com") {
			t.Fatalf("malformed row %q", l)
		}
	}
}
