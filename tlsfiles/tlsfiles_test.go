package tlsfiles_test

import (
	"crypto/tls"
	"errors"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/testkit"

	"github.com/eeo-gateway/eeo-gateway/tlsfiles"
)

const every = 10 * time.Second

// fixture is a Reloader over files in a temp dir, with a fake clock and
// captured logs.
type fixture struct {
	serverCA, clientCA, otherCA *testkit.Cert
	certFile, keyFile, caFile   string
	clock                       *testkit.Clock
	logs                        *logBuffer
	r                           *tlsfiles.Reloader
}

func newFixture(t *testing.T, mtls bool) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{
		serverCA: testkit.NewCA("server CA"),
		clientCA: testkit.NewCA("client CA"),
		otherCA:  testkit.NewCA("untrusted CA"),
		certFile: filepath.Join(dir, "tls.crt"),
		keyFile:  filepath.Join(dir, "tls.key"),
		clock:    testkit.NewClockAt(time.Now()),
		logs:     &logBuffer{},
	}
	f.writePair(f.serverCA.Server("server-gen1", testkit.Serial(1)))
	opts := tlsfiles.Options{
		CertFile:   f.certFile,
		KeyFile:    f.keyFile,
		CheckEvery: every,
		Now:        f.clock.Now,
		Logger:     f.logs.logger(),
	}
	if mtls {
		f.caFile = filepath.Join(dir, "client-ca.crt")
		writeAtomic(f.caFile, f.clientCA.CertPEM)
		opts.ClientCAFile = f.caFile
	}
	r, err := tlsfiles.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	f.r = r
	t.Cleanup(func() {
		if strings.Contains(f.logs.String(), "PRIVATE KEY") {
			t.Error("logs contain key material")
		}
		if t.Failed() {
			t.Logf("reloader logs:\n%s", f.logs.String())
		}
	})
	return f
}

func (f *fixture) writePair(p *testkit.Cert) {
	writeAtomic(f.certFile, p.CertPEM)
	writeAtomic(f.keyFile, p.KeyPEM)
}

// client returns a client config trusting the server CA, optionally
// presenting cert. The certificate is sent even if its issuer is not among
// the server's advertised CAs (crypto/tls would otherwise send none), so the
// server's verification is what gets tested.
func (f *fixture) client(cert *testkit.Cert) *tls.Config {
	c := &tls.Config{RootCAs: testkit.Pool(f.serverCA), ServerName: "localhost"}
	if cert != nil {
		tc := cert.TLS()
		c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &tc, nil }
	}
	return c
}

// serial handshakes and returns the serial of the certificate served.
func (f *fixture) serial(t *testing.T, srv *tlsServer) int64 {
	t.Helper()
	st, err := dial(srv.addr, f.client(nil))
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	if r := srv.next(t); r.err != nil {
		t.Fatalf("server-side handshake: %v", r.err)
	}
	return st.PeerCertificates[0].SerialNumber.Int64()
}

func TestReloadsCertificateAfterCheckEvery(t *testing.T) {
	f := newFixture(t, false)
	srv := serveTLS(t, f.r.ServerConfig())

	if got := f.serial(t, srv); got != 1 {
		t.Fatalf("served serial %d, want 1", got)
	}
	if cn := f.r.Current().Subject.CommonName; cn != "server-gen1" {
		t.Fatalf("Current() = %q, want server-gen1", cn)
	}

	f.writePair(f.serverCA.Server("server-gen2", testkit.Serial(2)))

	// Not yet: the files are only looked at once CheckEvery has passed.
	f.clock.Advance(every - time.Nanosecond)
	if got := f.serial(t, srv); got != 1 {
		t.Fatalf("before CheckEvery: served serial %d, want still 1", got)
	}
	if got := f.r.Current().SerialNumber.Int64(); got != 1 {
		t.Fatalf("before CheckEvery: Current() serial %d, want 1", got)
	}

	f.clock.Advance(time.Nanosecond)
	if got := f.serial(t, srv); got != 2 {
		t.Fatalf("after CheckEvery: served serial %d, want 2", got)
	}
	if cn := f.r.Current().Subject.CommonName; cn != "server-gen2" {
		t.Fatalf("Current() = %q, want server-gen2", cn)
	}
	if n := f.logs.count("level=INFO", "certificate reloaded", "CN=server-gen2", f.certFile); n != 1 {
		t.Fatalf("want 1 reload log naming the file and subject, got %d", n)
	}

	// Unchanged files: later checks don't reload.
	f.clock.Advance(every)
	if got := f.serial(t, srv); got != 2 {
		t.Fatalf("served serial %d, want 2", got)
	}
	if n := f.logs.count("reloaded"); n != 1 {
		t.Fatalf("unchanged files reloaded again (%d reload logs)", n)
	}
}

func TestFailedReloadKeepsServingLastGoodPair(t *testing.T) {
	f := newFixture(t, false)
	srv := serveTLS(t, f.r.ServerConfig())
	gen2 := f.serverCA.Server("server-gen2", testkit.Serial(2))

	// Half-written certificate file.
	writeAtomic(f.certFile, gen2.CertPEM[:len(gen2.CertPEM)/2])
	writeAtomic(f.keyFile, gen2.KeyPEM)
	f.clock.Advance(every)
	if got := f.serial(t, srv); got != 1 {
		t.Fatalf("after corrupt rewrite: served serial %d, want 1", got)
	}
	if n := f.logs.count("level=ERROR", "reload failed", f.certFile, "not PEM"); n != 1 {
		t.Fatalf("want 1 error log naming the cert file, got %d", n)
	}

	// Retried at the next check, not before.
	f.serial(t, srv)
	if n := f.logs.count("level=ERROR"); n != 1 {
		t.Fatalf("retried before CheckEvery passed (%d error logs)", n)
	}
	f.clock.Advance(every)
	if got := f.serial(t, srv); got != 1 {
		t.Fatalf("served serial %d, want 1", got)
	}
	if n := f.logs.count("level=ERROR"); n != 2 {
		t.Fatalf("want the failed reload retried at the next check (2 error logs), got %d", n)
	}

	// Certificate fixed but key now belongs to another certificate.
	writeAtomic(f.certFile, gen2.CertPEM)
	writeAtomic(f.keyFile, f.serverCA.Server("other", testkit.Serial(3)).KeyPEM)
	f.clock.Advance(every)
	if got := f.serial(t, srv); got != 1 {
		t.Fatalf("after mismatched key: served serial %d, want 1", got)
	}
	if n := f.logs.count("level=ERROR", "does not match"); n != 1 {
		t.Fatalf("want 1 mismatch error log, got %d", n)
	}

	// Fixed: picked up at the next check.
	writeAtomic(f.keyFile, gen2.KeyPEM)
	f.clock.Advance(every)
	if got := f.serial(t, srv); got != 2 {
		t.Fatalf("after fix: served serial %d, want 2", got)
	}
}

func TestMutualTLS(t *testing.T) {
	f := newFixture(t, true)
	srv := serveTLS(t, f.r.ServerConfig())
	trusted := f.clientCA.Client("client-trusted", testkit.Serial(10))
	untrusted := f.otherCA.Client("client-untrusted", testkit.Serial(11))

	accept := func(t *testing.T, cert *testkit.Cert) {
		t.Helper()
		if _, err := dial(srv.addr, f.client(cert)); err != nil {
			t.Fatalf("client %s rejected: %v", cert.Cert.Subject.CommonName, err)
		}
		r := srv.next(t)
		if r.err != nil {
			t.Fatalf("server-side: %v", r.err)
		}
		chains := r.state.VerifiedChains
		if len(chains) == 0 || chains[0][0].Subject.CommonName != cert.Cert.Subject.CommonName {
			t.Fatalf("server did not see a verified chain for %s: %v", cert.Cert.Subject.CommonName, chains)
		}
	}
	reject := func(t *testing.T, cert *testkit.Cert, wantServerErr string) {
		t.Helper()
		if _, err := dial(srv.addr, f.client(cert)); err == nil {
			t.Fatal("client was accepted, want rejection")
		}
		r := srv.next(t)
		if r.err == nil || !strings.Contains(r.err.Error(), wantServerErr) {
			t.Fatalf("server-side error %v, want one containing %q", r.err, wantServerErr)
		}
	}

	t.Run("trusted client accepted", func(t *testing.T) {
		accept(t, trusted)
		r := f.r.ServerConfig()
		if r.ClientAuth != tls.RequireAndVerifyClientCert {
			t.Fatalf("ClientAuth = %v", r.ClientAuth)
		}
	})
	t.Run("no client certificate rejected", func(t *testing.T) {
		reject(t, nil, "didn't provide a certificate")
	})
	t.Run("untrusted CA rejected", func(t *testing.T) {
		reject(t, untrusted, "unknown authority")
	})
	t.Run("CA rotation adds and retires trust", func(t *testing.T) {
		writeAtomic(f.caFile, testkit.PEMBundle(f.clientCA, f.otherCA))
		f.clock.Advance(every)
		accept(t, untrusted)
		accept(t, trusted)
		if n := f.logs.count("client CA bundle reloaded", "certs=2"); n != 1 {
			t.Fatalf("want 1 CA reload log, got %d", n)
		}

		writeAtomic(f.caFile, f.otherCA.CertPEM)
		f.clock.Advance(every)
		reject(t, trusted, "unknown authority")
		accept(t, untrusted)
	})
	t.Run("broken CA bundle keeps previous bundle", func(t *testing.T) {
		writeAtomic(f.caFile, nil)
		f.clock.Advance(every)
		accept(t, untrusted)
		if n := f.logs.count("level=ERROR", "client CA reload failed", f.caFile, "no certificates"); n != 1 {
			t.Fatalf("want 1 CA error log, got %d", n)
		}
		writeAtomic(f.caFile, f.clientCA.CertPEM)
		f.clock.Advance(every)
		accept(t, trusted)
		reject(t, untrusted, "unknown authority")
	})
}

func TestMinVersionTLS12(t *testing.T) {
	f := newFixture(t, false)
	cfg := f.r.ServerConfig()
	cfg.MinVersion = tls.VersionTLS10 // lowered by the caller: still floored at 1.2
	srv := serveTLS(t, cfg)

	old := f.client(nil)
	old.MinVersion, old.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	if _, err := dial(srv.addr, old); err == nil {
		t.Fatal("TLS 1.1 client accepted")
	}
	if r := srv.next(t); r.err == nil || !strings.Contains(r.err.Error(), "unsupported versions") {
		t.Fatalf("server-side error %v, want unsupported versions", r.err)
	}

	tls12 := f.client(nil)
	tls12.MaxVersion = tls.VersionTLS12
	st, err := dial(srv.addr, tls12)
	if err != nil {
		t.Fatalf("TLS 1.2 client rejected: %v", err)
	}
	srv.next(t)
	if st.Version != tls.VersionTLS12 {
		t.Fatalf("negotiated %x, want TLS 1.2", st.Version)
	}
}

func TestNextProtosCarriedOver(t *testing.T) {
	f := newFixture(t, false)
	cfg := f.r.ServerConfig()
	cfg.NextProtos = []string{"h2", "http/1.1"}
	srv := serveTLS(t, cfg)

	for _, proto := range []string{"h2", "http/1.1"} {
		c := f.client(nil)
		c.NextProtos = []string{proto}
		st, err := dial(srv.addr, c)
		if err != nil {
			t.Fatal(err)
		}
		srv.next(t)
		if st.NegotiatedProtocol != proto {
			t.Fatalf("client offering %q negotiated %q", proto, st.NegotiatedProtocol)
		}
	}
}

func TestHTTPServer(t *testing.T) {
	f := newFixture(t, false)
	cfg := f.r.ServerConfig()
	cfg.NextProtos = []string{"h2", "http/1.1"}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hello") }),
		TLSConfig:         cfg,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	served := make(chan error, 1)
	go func() { served <- srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("ServeTLS: %v", err)
		}
	})
	addr := ln.Addr().String()

	t.Run("plaintext request to TLS port does not succeed", func(t *testing.T) {
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		resp, err := c.Get("http://" + addr + "/")
		if err != nil {
			return // connection refused/reset: fine
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatalf("plaintext request succeeded: %s", body)
		}
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "HTTP request to an HTTPS server") {
			t.Logf("unexpected (but non-200) response %d %q", resp.StatusCode, body)
		}
	})

	t.Run("HTTPS over h2 and http/1.1", func(t *testing.T) {
		for _, h2 := range []bool{true, false} {
			tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: testkit.Pool(f.serverCA)}, ForceAttemptHTTP2: h2}
			c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			resp, err := c.Get("https://" + addr + "/")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			tr.CloseIdleConnections()
			want := map[bool]string{true: "HTTP/2.0", false: "HTTP/1.1"}[h2]
			if resp.StatusCode != http.StatusOK || string(body) != "hello" || resp.Proto != want {
				t.Fatalf("got %d %s %q, want 200 %s hello", resp.StatusCode, resp.Proto, body, want)
			}
		}
	})
}

// Handshakes racing with a reload all succeed with one generation or the
// other; run with -race.
func TestConcurrentHandshakesDuringReload(t *testing.T) {
	f := newFixture(t, true)
	cfg := f.r.ServerConfig()
	srv := serveTLS(t, cfg)
	clientCfg := f.client(f.clientCA.Client("client", testkit.Serial(20)))
	gen2 := f.serverCA.Server("server-gen2", testkit.Serial(2))

	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 4 {
		wg.Go(func() {
			for range 3 {
				st, err := dial(srv.addr, clientCfg)
				if err != nil {
					errs <- err
					return
				}
				if s := st.PeerCertificates[0].SerialNumber.Int64(); s != 1 && s != 2 {
					errs <- errors.New("unexpected serial")
				}
				_ = f.r.Current()
			}
		})
	}
	f.writePair(gen2)
	writeAtomic(f.caFile, testkit.PEMBundle(f.clientCA, f.otherCA))
	f.clock.Advance(every)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	f.clock.Advance(every) // in case no handshake happened after the advance
	if _, err := dial(srv.addr, clientCfg); err != nil {
		t.Fatal(err)
	}
	if got := f.r.Current().SerialNumber.Int64(); got != 2 {
		t.Fatalf("Current() serial %d, want 2", got)
	}
}

func TestNewErrorsNameFileAndProblem(t *testing.T) {
	ca := testkit.NewCA("ca")
	p := ca.Server("server", testkit.Serial(1))
	other := ca.Server("other", testkit.Serial(2))

	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	cert := write("cert.pem", p.CertPEM)
	key := write("key.pem", p.KeyPEM)
	otherKey := write("other-key.pem", other.KeyPEM)
	garbage := write("garbage.pem", []byte("this is not PEM\n"))
	empty := write("empty.pem", nil)
	keyOnly := write("key-only.pem", p.KeyPEM)
	ca1 := write("ca.pem", ca.CertPEM)
	missing := filepath.Join(dir, "missing.pem")

	tests := []struct {
		name string
		opts tlsfiles.Options
		file string // must appear in the error
		want string // problem, must appear in the error
	}{
		{"missing cert", tlsfiles.Options{CertFile: missing, KeyFile: key}, missing, "no such file"},
		{"missing key", tlsfiles.Options{CertFile: cert, KeyFile: missing}, missing, "no such file"},
		{"cert not PEM", tlsfiles.Options{CertFile: garbage, KeyFile: key}, garbage, "not PEM"},
		{"cert file has only a key", tlsfiles.Options{CertFile: keyOnly, KeyFile: key}, keyOnly, "no CERTIFICATE PEM block"},
		{"key not PEM", tlsfiles.Options{CertFile: cert, KeyFile: garbage}, garbage, "not PEM"},
		{"key file has only a cert", tlsfiles.Options{CertFile: cert, KeyFile: cert}, cert, "no PRIVATE KEY PEM block"},
		{"mismatched key", tlsfiles.Options{CertFile: cert, KeyFile: otherKey}, otherKey, "does not match certificate file \"" + cert},
		{"empty CA bundle", tlsfiles.Options{CertFile: cert, KeyFile: key, ClientCAFile: empty}, empty, "no certificates found"},
		{"CA bundle not PEM", tlsfiles.Options{CertFile: cert, KeyFile: key, ClientCAFile: garbage}, garbage, "no certificates found (not PEM)"},
		{"missing CA bundle", tlsfiles.Options{CertFile: cert, KeyFile: key, ClientCAFile: missing}, missing, "no such file"},
		{"no cert option", tlsfiles.Options{KeyFile: key}, "CertFile", "required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tlsfiles.New(tt.opts)
			if err == nil {
				t.Fatalf("New succeeded (%v)", r.Current().Subject)
			}
			if !strings.Contains(err.Error(), tt.file) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q, want it to name %q and say %q", err, tt.file, tt.want)
			}
			if tt.want == "no such file" && !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("error %q is not fs.ErrNotExist", err)
			}
		})
	}

	// Sanity: the good files load, and a combined cert+key file works.
	combined := write("combined.pem", append(append([]byte{}, p.CertPEM...), p.KeyPEM...))
	for _, o := range []tlsfiles.Options{
		{CertFile: cert, KeyFile: key, ClientCAFile: ca1},
		{CertFile: combined, KeyFile: combined},
	} {
		if _, err := tlsfiles.New(o); err != nil {
			t.Fatalf("New(%+v): %v", o, err)
		}
	}
}
