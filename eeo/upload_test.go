package eeo_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/eeo-gateway/eeo-gateway/eeo"
)

// received is what an upload handler saw of one request body.
type received struct {
	token string
	n     int64
	sum   string
	err   error
}

// readBody reads a request body to its end, hashing it.
func readBody(r *http.Request) received {
	hash := sha256.New()
	n, err := io.Copy(hash, r.Body)
	return received{token: bearer(r), n: n, sum: hex.EncodeToString(hash.Sum(nil)), err: err}
}

func csvData(rows int) []byte {
	var b bytes.Buffer
	b.WriteString("participant_id,first_name,last_name,email\n")
	for i := range rows {
		n := strconv.Itoa(i)
		b.WriteString("p" + n + ",First" + n + ",Last" + n + ",p" + n + "@example.com\n")
	}
	return b.Bytes()
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// onlyReader hides bytes.Reader's type so that nothing can take a shortcut
// (such as reading its length) and the body is a plain stream.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func TestCreateImportSendsHeadersAndStreamsBody(t *testing.T) {
	data := csvData(2000)
	for _, tt := range []struct {
		name    string
		size    int64
		chunked bool
	}{
		{"known size", int64(len(data)), false},
		{"unknown size", -1, true},
		{"zero size", 0, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got received
			h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
				q := r.URL.Query()
				if r.Method != "POST" || r.URL.Path != "/v1/imports" || q.Get("import_type") != "participants" || q.Get("file_name") != "p q&r.csv" || len(q) != 2 {
					t.Errorf("request %s %s", r.Method, r.URL)
				}
				for k, want := range map[string]string{
					"Content-Type": "text/csv", "Idempotency-Key": "req-1", "X-Content-SHA256": sha(data),
					"Expect": "100-continue", "Authorization": "Bearer tok-1", "Accept": "application/json", "User-Agent": "eeo-gateway",
				} {
					if v := r.Header.Get(k); v != want {
						t.Errorf("%s: %q, want %q", k, v, want)
					}
				}
				if tt.chunked {
					if r.ContentLength != -1 || len(r.TransferEncoding) != 1 || r.TransferEncoding[0] != "chunked" {
						t.Errorf("Content-Length %d, Transfer-Encoding %v; want chunked", r.ContentLength, r.TransferEncoding)
					}
				} else if r.ContentLength != tt.size {
					t.Errorf("Content-Length %d, want %d", r.ContentLength, tt.size)
				}
				got = readBody(r)
				reply(w, http.StatusCreated, importJSON)
			})
			imp, err := h.client.CreateImport(testContext(t), eeo.Upload{
				ImportType: "participants", FileName: "p q&r.csv", RequestID: "req-1", ExpectedSHA256: strings.ToUpper(sha(data)),
				Size: tt.size, Body: onlyReader{bytes.NewReader(data)},
			})
			if err != nil {
				t.Fatal(err)
			}
			if imp != wantImport {
				t.Errorf("import %+v", imp)
			}
			if got.err != nil || got.n != int64(len(data)) || got.sum != sha(data) {
				t.Errorf("server read %d bytes, sha %s, err %v", got.n, got.sum, got.err)
			}
		})
	}
}

func TestCreateImportOmitsUnsetHeaders(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		for _, k := range []string{"Idempotency-Key", "X-Content-SHA256"} {
			if _, ok := r.Header[k]; ok {
				t.Errorf("%s sent", k)
			}
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/vnd.ms-excel" {
			t.Errorf("Content-Type %q", ct)
		}
		readBody(r)
		reply(w, http.StatusOK, importJSON) // an idempotent replay answers 200
	})
	_, err := h.client.CreateImport(testContext(t), eeo.Upload{ImportType: "participants", FileName: "p.csv",
		ContentType: "application/vnd.ms-excel", Body: bytes.NewReader([]byte("a\n1\n"))})
	if err != nil {
		t.Fatal(err)
	}
}

// sourceReader counts what has been read from a caller's stream.
type sourceReader struct {
	r io.Reader
	n atomic.Int64
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.n.Add(int64(n))
	return n, err
}

// EEO refuses the token before asking for the body ("100-continue"), so the
// body is untouched and the upload is retried with a new token: the server
// receives the whole file exactly once.
func TestCreateImportRetriesWhenRefusedBeforeBody(t *testing.T) {
	data := csvData(20000) // large enough that an eager transport would have started sending
	for _, size := range []int64{int64(len(data)), -1} {
		t.Run("size "+strconv.FormatInt(size, 10), func(t *testing.T) {
			var mu sync.Mutex
			var bodies []received
			var refused int
			h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
				if bearer(r) == "tok-1" {
					// Answer without touching the body: Go's server then sends
					// no "100 Continue".
					mu.Lock()
					refused++
					mu.Unlock()
					unauthorized(w)
					return
				}
				got := readBody(r)
				mu.Lock()
				bodies = append(bodies, got)
				mu.Unlock()
				reply(w, http.StatusCreated, importJSON)
			})
			src := &sourceReader{r: bytes.NewReader(data)}
			_, err := h.client.CreateImport(testContext(t), eeo.Upload{ImportType: "participants", FileName: "p.csv",
				ExpectedSHA256: sha(data), Size: size, Body: src})
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if refused != 1 || len(bodies) != 1 {
				t.Fatalf("%d refusals and %d bodies, want 1 and 1", refused, len(bodies))
			}
			if b := bodies[0]; b.token != "tok-2" || b.err != nil || b.n != int64(len(data)) || b.sum != sha(data) {
				t.Errorf("server received %+v, want %d bytes with sha %s", b, len(data), sha(data))
			}
			if n := src.n.Load(); n != int64(len(data)) {
				t.Errorf("source read %d bytes, want exactly %d", n, len(data))
			}
			if n := h.fetcher.Calls(); n != 2 {
				t.Errorf("%d token fetches, want 2", n)
			}
		})
	}
}

// A 401 after EEO has read the body cannot be retried: the stream is spent.
func TestCreateImportRefusedAfterBodyIsMidUpload(t *testing.T) {
	data := csvData(100)
	var got received
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/imports" {
			got = readBody(r)
			unauthorized(w)
			return
		}
		reply(w, http.StatusOK, importJSON)
	})
	_, err := h.client.CreateImport(testContext(t), eeo.Upload{ImportType: "participants", FileName: "p.csv",
		Size: int64(len(data)), Body: bytes.NewReader(data)})
	var ee *eeo.Error
	if !errors.As(err, &ee) || ee.Code != eeo.CodeTokenRejectedMidUpload || ee.StatusCode != http.StatusUnauthorized || ee.Op != "create import" {
		t.Fatalf("error %v", err)
	}
	checkClean(t, err)
	if got.n != int64(len(data)) || h.requests.Load() != 1 || h.fetcher.Calls() != 1 {
		t.Errorf("server read %d bytes in %d requests; %d fetches", got.n, h.requests.Load(), h.fetcher.Calls())
	}
	// The refused token was dropped: the next call fetches a new one.
	if _, err := h.client.GetImport(testContext(t), "imp_1"); err != nil {
		t.Fatal(err)
	}
	if n := h.fetcher.Calls(); n != 2 {
		t.Errorf("%d token fetches, want 2", n)
	}
}

// failingReader yields n bytes, then fails.
type failingReader struct {
	n   int
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, f.err
	}
	k := min(len(p), f.n)
	for i := range k {
		p[i] = 'x'
	}
	f.n -= k
	return k, nil
}

// A failing body aborts the request: the server sees a broken body, and the
// caller a *BodyError wrapping its reader's error, not an EEO failure.
func TestCreateImportBodyErrorAbortsRequest(t *testing.T) {
	errSource := errors.New("source broke")
	for _, tt := range []struct {
		name string
		size int64
		body io.Reader
		want error
		most int64 // the most bytes the server may see
	}{
		{"reader fails, known size", 50000, &failingReader{n: 20000, err: errSource}, errSource, 20000},
		{"reader fails, chunked", -1, &failingReader{n: 20000, err: errSource}, errSource, 20000},
		{"reader short of size", 50000, onlyReader{bytes.NewReader(make([]byte, 20000))}, io.ErrUnexpectedEOF, 20000},
		// EEO must not receive all 20000 declared bytes, or it would create
		// an import of them.
		{"reader longer than size", 20000, onlyReader{bytes.NewReader(make([]byte, 20001))}, nil, 19999},
		{"reader much longer than size", 20000, onlyReader{bytes.NewReader(make([]byte, 1<<20))}, nil, 19999},
	} {
		t.Run(tt.name, func(t *testing.T) {
			seen := make(chan received, 1)
			h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
				got := readBody(r)
				seen <- got
				if got.err == nil {
					reply(w, http.StatusCreated, importJSON)
				}
			})
			_, err := h.client.CreateImport(testContext(t), eeo.Upload{ImportType: "participants", FileName: "p.csv",
				Size: tt.size, Body: tt.body})
			var be *eeo.BodyError
			var ee *eeo.Error
			if !errors.As(err, &be) || (tt.want != nil && !errors.Is(err, tt.want)) || errors.As(err, &ee) {
				t.Fatalf("error %v, want a *BodyError wrapping %v", err, tt.want)
			}
			select {
			case got := <-seen:
				if got.err == nil || got.n > tt.most {
					t.Errorf("server read %d bytes with error %v; want a short, failed body", got.n, got.err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("server never saw the request")
			}
		})
	}
}

func TestCreateImportRefusesBadArguments(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) { t.Errorf("request sent") })
	for _, tt := range []struct {
		field string
		u     eeo.Upload
	}{
		{"body", eeo.Upload{ImportType: "participants"}},
		{"request_id", eeo.Upload{Body: bytes.NewReader(nil), RequestID: "a\nb"}},
		{"request_id", eeo.Upload{Body: bytes.NewReader(nil), RequestID: strings.Repeat("r", 256)}},
		{"content_type", eeo.Upload{Body: bytes.NewReader(nil), ContentType: "text/csv; x=\"unterminated"}},
		{"expected_sha256", eeo.Upload{Body: bytes.NewReader(nil), ExpectedSHA256: "ab\r\ncd"}},
		{"expected_sha256", eeo.Upload{Body: bytes.NewReader(nil), ExpectedSHA256: strings.Repeat("z", 64)}},
	} {
		_, err := h.client.CreateImport(testContext(t), tt.u)
		var ae *eeo.ArgumentError
		if !errors.As(err, &ae) || ae.Field != tt.field || ae.Op != "create import" {
			t.Errorf("%s: error %v", tt.field, err)
		}
	}
	if _, err := h.client.CreateReport(testContext(t), eeo.ReportRequest{ReportType: "grants", RequestID: "a\x00"}); err == nil {
		t.Error("CreateReport accepted a request id with a control character")
	}
}

// An early answer (413 while the body is still being sent) ends the call,
// and once it has returned no read of the caller's stream is in progress
// and none starts. Whether the client sees the 413 or only the connection
// reset that follows it is a race in net/http (golang.org/issue/11745);
// either is an *Error, never a *BodyError.
//
// The real transport runs over an in-memory network in a synctest bubble,
// and every read of the source takes a (fake) millisecond, so a read is in
// progress whenever EEO answers; after the call, the fake clock runs on
// until every goroutine is idle, so a read left behind would be counted.
func TestCreateImportEarlyAnswerStopsReading(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newMemClient(t, func(w http.ResponseWriter, r *http.Request) {
			io.CopyN(io.Discard, r.Body, 64<<10)
			replyError(w, http.StatusRequestEntityTooLarge, "file_too_large", "")
		})
		src := &sourceReader{r: slowReader{io.LimitReader(zeros{}, 64<<20)}}
		_, err := c.CreateImport(t.Context(), eeo.Upload{ImportType: "participants", FileName: "p.csv", Size: -1, Body: src})
		var ee *eeo.Error
		var be *eeo.BodyError
		switch {
		case !errors.As(err, &ee) || errors.As(err, &be):
			t.Fatalf("error %v", err)
		case ee.StatusCode != 0 && (ee.StatusCode != http.StatusRequestEntityTooLarge || ee.Code != eeo.CodeFileTooLarge):
			t.Fatalf("error %v", err)
		}
		checkClean(t, err)
		n := src.n.Load()
		time.Sleep(time.Minute) // fake time: any read still pending finishes
		synctest.Wait()
		if m := src.n.Load(); m != n || n >= 64<<20 {
			t.Errorf("source read %d bytes at return and %d later", n, m)
		}
	})
}

// slowReader takes a millisecond of the bubble's fake clock for each Read.
type slowReader struct{ r io.Reader }

func (s slowReader) Read(p []byte) (int, error) {
	time.Sleep(time.Millisecond)
	return s.r.Read(p)
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
