package client_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/client"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

func sha256Hex(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func TestTokenSourceReusesUntilNearTheEarlierExpiry(t *testing.T) {
	f, c := startFake(t)
	ts := c.TokenSource("demo")
	tok, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken != "tok-1" || client.Fingerprint(tok) != "fp-1" || tok.Type() != "Bearer" {
		t.Fatalf("token = %q %q %q", tok.AccessToken, client.Fingerprint(tok), tok.Type())
	}
	// The idle expiry (50 min) comes before the lifetime (1 h).
	if want := f.clock.Now().Add(50 * time.Minute); !tok.Expiry.Equal(want) {
		t.Errorf("Expiry = %v, want idle_expire_time %v", tok.Expiry, want)
	}
	f.clock.Advance(50*time.Minute - client.DefaultExpiryDelta - time.Second)
	if again, _ := ts.Token(); again.AccessToken != "tok-1" {
		t.Errorf("a token good for longer than the delta was replaced by %q", again.AccessToken)
	}
	f.clock.Advance(time.Second)
	if again, _ := ts.Token(); again.AccessToken != "tok-2" {
		t.Errorf("a token within the delta of its expiry was reused: %q", again.AccessToken)
	}
	if issued, _ := f.counts(); issued != 2 {
		t.Errorf("GetToken calls = %d, want 2", issued)
	}
	if c.TokenSource("demo") != ts {
		t.Error("TokenSource returned a second source for the same account")
	}
}

// eeoStub is an EEO endpoint accepting only one access token and recording
// the request bodies it saw.
type eeoStub struct {
	accept atomic.Value // string
	bodies atomic.Value // []string
	calls  atomic.Int32
}

func (e *eeoStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.calls.Add(1)
	b, _ := io.ReadAll(r.Body)
	prev, _ := e.bodies.Load().([]string)
	e.bodies.Store(append(prev, string(b)))
	if r.Header.Get("Authorization") != "Bearer "+e.accept.Load().(string) {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func TestTransportRetriesOnceWithANewTokenAfter401(t *testing.T) {
	f, c := startFake(t)
	stub := &eeoStub{}
	stub.accept.Store("tok-2") // EEO has already dropped tok-1
	ts := httptest.NewServer(stub)
	defer ts.Close()
	if _, err := c.TokenSource("demo").Token(); err != nil { // caches tok-1
		t.Fatal(err)
	}

	hc := &http.Client{Transport: c.Transport("demo", ts.Client().Transport)}
	resp, err := hc.Post(ts.URL, "text/plain", strings.NewReader("payload"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200 after the retry", resp.StatusCode)
	}
	if got := stub.bodies.Load().([]string); len(got) != 2 || got[1] != "payload" {
		t.Errorf("EEO saw bodies %q, want the body twice", got)
	}
	if _, inv := f.counts(); len(inv) != 1 || inv[0] != "fp-1" {
		t.Errorf("InvalidateToken fingerprints = %q, want [fp-1]", inv)
	}
}

func TestTransportRetriesOnlyOnce(t *testing.T) {
	f, c := startFake(t)
	stub := &eeoStub{}
	stub.accept.Store("never")
	ts := httptest.NewServer(stub)
	defer ts.Close()
	hc := &http.Client{Transport: c.Transport("demo", ts.Client().Transport)}
	resp, err := hc.Get(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || stub.calls.Load() != 2 {
		t.Errorf("status %d after %d calls, want 401 after 2", resp.StatusCode, stub.calls.Load())
	}
	if _, inv := f.counts(); len(inv) != 1 {
		t.Errorf("InvalidateToken calls = %d, want 1", len(inv))
	}
}

func TestTransportDoesNotReplayAnUnreplayableBody(t *testing.T) {
	f, c := startFake(t)
	stub := &eeoStub{}
	stub.accept.Store("tok-2")
	ts := httptest.NewServer(stub)
	defer ts.Close()
	hc := &http.Client{Transport: c.Transport("demo", ts.Client().Transport)}
	// A pipe-like reader: http.NewRequest sets no GetBody for it.
	body := io.NopCloser(io.MultiReader(strings.NewReader("once")))
	req, _ := http.NewRequest(http.MethodPost, ts.URL, body)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || stub.calls.Load() != 1 {
		t.Errorf("status %d after %d calls, want EEO's 401 after 1", resp.StatusCode, stub.calls.Load())
	}
	if _, inv := f.counts(); len(inv) != 0 {
		t.Errorf("InvalidateToken was called (%q) for a request it could not retry", inv)
	}
}

func TestPerRPCCredentials(t *testing.T) {
	_, c := startFake(t)
	creds := c.PerRPCCredentials("demo")
	md, err := creds.GetRequestMetadata(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if md["authorization"] != "Bearer tok-1" {
		t.Errorf("metadata = %v", md)
	}
	// gRPC itself refuses to send a bearer token over plaintext.
	conn, err := grpc.NewClient("127.0.0.1:1", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(creds))
	if err == nil {
		conn.Close()
		t.Fatal("an insecure connection accepted the EEO token's credentials")
	}
}

// onlyReader hides any Seek method, as a network stream has none.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func TestUploadChunksAndSetsRequestIDAndSHA256(t *testing.T) {
	f, c := startFake(t, client.WithChunkSize(1<<10))
	data := bytes.Repeat([]byte("P1,Ada,Lovelace,ada@example.com\n"), 100) // 3200 bytes
	imp, err := c.Upload(t.Context(), &eeov1.ImportMetadata{Account: "demo", ImportType: "participants", FileName: "p.csv"}, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	md, chunks, received := f.metadata, f.chunks, f.received
	f.mu.Unlock()
	if chunks != 4 || !bytes.Equal(received, data) {
		t.Errorf("gateway got %d chunks, %d bytes; want 4 chunks, the file", chunks, len(received))
	}
	if md.GetExpectedSha256() != sha256Hex(data) || md.GetSizeBytes() != int64(len(data)) {
		t.Errorf("metadata expected_sha256 %q size %d, want the file's", md.GetExpectedSha256(), md.GetSizeBytes())
	}
	if md.GetRequestId() == "" || imp.GetRequestId() != md.GetRequestId() {
		t.Errorf("request id %q, import's %q", md.GetRequestId(), imp.GetRequestId())
	}
}

func TestUploadFromAStreamChecksTheGatewaysSHA256(t *testing.T) {
	f, c := startFake(t)
	data := []byte("participant_id\nP1\n")
	if _, err := c.Upload(t.Context(), &eeov1.ImportMetadata{Account: "demo", ImportType: "participants", FileName: "p.csv", RequestId: "mine"},
		onlyReader{bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	if f.metadata.GetExpectedSha256() != "" || f.metadata.GetRequestId() != "mine" {
		t.Errorf("metadata = %v: a stream cannot be hashed before sending; the caller's request id is kept", f.metadata)
	}
	f.uploadSHA = sha256Hex([]byte("something else"))
	f.received = nil
	f.mu.Unlock()
	_, err := c.Upload(t.Context(), &eeov1.ImportMetadata{Account: "demo", ImportType: "participants", FileName: "p.csv"}, onlyReader{bytes.NewReader(data)})
	var ce *client.ChecksumError
	if !errors.As(err, &ce) || !errors.Is(err, client.ErrChecksumMismatch) || status.Code(err) != codes.DataLoss {
		t.Fatalf("err = %v (code %v), want a DATA_LOSS *ChecksumError", err, status.Code(err))
	}
}

func TestDownloadVerifiesSHA256(t *testing.T) {
	f, c := startFake(t)
	report := []byte("a,b\n1,2\n3,4\n")
	f.mu.Lock()
	f.report, f.reportSHA = report, sha256Hex(report)
	f.mu.Unlock()
	var buf bytes.Buffer
	d, err := c.Download(t.Context(), "demo", "rep_1", &buf)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), report) || d.Size != int64(len(report)) || d.SHA256 != sha256Hex(report) || d.ContentType != "text/csv" {
		t.Errorf("Download = %+v, %q", d, buf.String())
	}
	// It checks the SHA-256 itself, so it spares the gateway hashing too.
	f.mu.Lock()
	if got := f.verifiedBy; len(got) != 1 || got[0] != "caller" {
		t.Errorf("x-verify-sha256 metadata = %q, want [caller]", got)
	}
	f.mu.Unlock()

	for _, declared := range []string{sha256Hex([]byte("other")), ""} {
		f.mu.Lock()
		f.reportSHA = declared
		f.mu.Unlock()
		_, err = c.Download(t.Context(), "demo", "rep_1", io.Discard)
		if !errors.Is(err, client.ErrChecksumMismatch) || status.Code(err) != codes.DataLoss {
			t.Errorf("declared SHA-256 %q: err = %v, want DATA_LOSS checksum error", declared, err)
		}
	}
}
