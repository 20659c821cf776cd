package eeo_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/eeo"
)

// pattern is an endless deterministic stream (0, 1, …, 250, 0, 1, …), so
// a large body can be made and checked without holding it. It copies from a
// block that is a whole number of periods long, so that it stays fast under
// the race detector.
type pattern struct {
	block []byte
	off   int // position in the period, < 251
}

func (p *pattern) Read(b []byte) (int, error) {
	if p.block == nil {
		p.block = make([]byte, 251*256)
		for i := range p.block {
			p.block[i] = byte(i % 251)
		}
	}
	n := copy(b, p.block[p.off:])
	p.off = (p.off + n) % 251
	return n, nil
}

func patternSHA(n int64) string {
	h := sha256.New()
	io.CopyN(h, &pattern{}, n)
	return hex.EncodeToString(h.Sum(nil))
}

// The body is handed over live: DownloadReport returns while the server is
// still holding back most of it, and the caller streams 64 MiB through.
func TestDownloadReportStreams(t *testing.T) {
	const size = 64 << 20
	sum := patternSHA(size)
	returned := make(chan struct{})
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "GET" || r.URL.EscapedPath() != "/v1/reports/rpt_1/content" {
			t.Errorf("request %s %s", r.Method, r.URL)
		}
		if r.Header.Get("Authorization") != "Bearer tok-1" || r.Header.Get("User-Agent") != "eeo-gateway" || r.Header.Get("Accept") != "*/*" {
			t.Errorf("headers %v", r.Header)
		}
		w.Header().Set("Content-Type", "text/csv")
		w.Header().Set("Content-Length", strconv.Itoa(size))
		w.Header().Set("Content-Disposition", `attachment; filename="grants-2026-01-31.csv"`)
		w.Header().Set("X-Content-SHA256", strings.ToUpper(sum))
		src := &pattern{}
		io.CopyN(w, src, 1<<20)
		w.(http.Flusher).Flush()
		select {
		case <-returned:
		case <-time.After(5 * time.Second):
			t.Error("DownloadReport did not return before the body was complete")
			return
		}
		io.CopyN(w, src, size-1<<20)
	})
	d, err := h.client.DownloadReport(testContext(t), "rpt_1")
	close(returned)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Body.Close()
	if d.ContentType != "text/csv" || d.ContentLength != size || d.FileName != "grants-2026-01-31.csv" || d.SHA256 != sum {
		t.Errorf("download %+v", d)
	}
	hash := sha256.New()
	n, err := io.Copy(hash, d.Body)
	if err != nil || n != size || hex.EncodeToString(hash.Sum(nil)) != sum {
		t.Errorf("read %d bytes, err %v, sha mismatch %v", n, err, hex.EncodeToString(hash.Sum(nil)) != sum)
	}
}

func TestDownloadReportHeaders(t *testing.T) {
	for _, tt := range []struct {
		disposition, sha, wantName, wantSHA string
	}{
		{`attachment; filename="r.pdf"`, strings.Repeat("ab", 32), "r.pdf", strings.Repeat("ab", 32)},
		{`attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.csv`, "", "résumé.csv", ""},
		{`attachment; filename="../../etc/passwd"`, "abc", "passwd", ""},
		{`attachment; filename="..\\..\\boot.ini"`, strings.Repeat("g", 64), "boot.ini", ""},
		{`attachment; filename=".."`, "", "", ""},
		{`attachment; filename="a%0Ab"`, "", "a%0Ab", ""},
		{`attachment`, "", "", ""},
		{`attachment; filename="unterminated`, "", "", ""},
		{``, "", "", ""},
	} {
		h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
			if tt.disposition != "" {
				w.Header().Set("Content-Disposition", tt.disposition)
			}
			if tt.sha != "" {
				w.Header().Set("X-Content-SHA256", tt.sha)
			}
			io.WriteString(w, "a,b\n") // small and unflushed: Content-Length is set
		})
		d, err := h.client.DownloadReport(testContext(t), "rpt_1")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(d.Body)
		d.Body.Close()
		if d.FileName != tt.wantName || d.SHA256 != tt.wantSHA || d.ContentLength != 4 || string(body) != "a,b\n" {
			t.Errorf("%q, %q: got name %q sha %q length %d", tt.disposition, tt.sha, d.FileName, d.SHA256, d.ContentLength)
		}
	}
}

func TestDownloadReportUnknownLength(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "a,b\n")
		w.(http.Flusher).Flush() // chunked from here on
		io.WriteString(w, "1,2\n")
	})
	d, err := h.client.DownloadReport(testContext(t), "rpt_1")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Body.Close()
	body, err := io.ReadAll(d.Body)
	if err != nil || string(body) != "a,b\n1,2\n" || d.ContentLength != -1 {
		t.Errorf("body %q, err %v, length %d", body, err, d.ContentLength)
	}
}

func TestDownloadReportRetriesUnauthorized(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		if bearer(r) == "tok-1" {
			unauthorized(w)
			return
		}
		io.WriteString(w, "content")
	})
	d, err := h.client.DownloadReport(testContext(t), "rpt_1")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Body.Close()
	if body, _ := io.ReadAll(d.Body); string(body) != "content" || h.fetcher.Calls() != 2 {
		t.Errorf("body %q after %d fetches", body, h.fetcher.Calls())
	}
}

func TestDownloadReportNotReady(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		replyError(w, http.StatusConflict, "report_not_ready", "")
	})
	d, err := h.client.DownloadReport(testContext(t), "rpt_1")
	var ee *eeo.Error
	if d != nil || !errors.As(err, &ee) || ee.StatusCode != 409 || ee.Code != eeo.CodeReportNotReady || ee.Op != "download report" {
		t.Fatalf("download %v, error %v", d, err)
	}
	checkClean(t, err)
}
