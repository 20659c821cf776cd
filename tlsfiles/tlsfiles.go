// Package tlsfiles serves TLS from PEM certificate and key files that are
// reloaded when they change, without restarting the process, and optionally
// requires client certificates (mTLS) verified against a CA bundle file that
// is reloaded the same way.
//
// There is no background goroutine and no file watcher. Change detection is
// lazy: the [tls.Config.GetConfigForClient] callback installed by
// [Reloader.ServerConfig] runs on every handshake and, at most once per
// [Options.CheckEvery], stats the files (modification time, size and inode).
// Only when a stamp differs from the one of the last successful load are the
// files re-read and re-parsed. A reload that fails (a half-written file, bad
// PEM, a key that does not match the certificate, an empty CA bundle) keeps
// serving the last good material, logs the error and is retried at the next
// check.
//
// Rotate files by writing a temporary file in the same directory and renaming
// it over the old one (as cert-manager, Kubernetes secret volumes and most
// ACME clients do): the new inode makes the change visible even when the
// size is unchanged and the rewrite falls within the filesystem's timestamp
// granularity. Replace the certificate and key in either order; until the
// pair matches again, the reload fails and the old pair is served.
package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultCheckEvery is the change-check interval used when
// [Options.CheckEvery] is zero or negative.
const DefaultCheckEvery = 10 * time.Second

// Options configures a [Reloader].
type Options struct {
	// CertFile and KeyFile are PEM files holding the certificate chain
	// (leaf first, then intermediates) and its private key (PKCS#8, PKCS#1
	// or SEC 1; unencrypted). Both are required; they may name the same
	// file.
	CertFile, KeyFile string

	// ClientCAFile is an optional PEM bundle of CA certificates. When set,
	// every client must present a certificate that verifies against it
	// (tls.RequireAndVerifyClientCert). It is reloaded on change like the
	// certificate, so a CA can be added or retired without a restart.
	ClientCAFile string

	// CheckEvery is the minimum interval between two looks at the files;
	// DefaultCheckEvery (10s) when zero or negative. Checks run inside the
	// handshake callback, so a server that sees no handshakes never looks.
	CheckEvery time.Duration

	// Now is the clock used to schedule checks and to report certificate
	// validity in logs; time.Now when nil.
	Now func() time.Time

	// Logger receives one record per load or failed reload, with file
	// paths, certificate subject, serial and expiry (never key material).
	// Nil discards.
	Logger *slog.Logger
}

// Reloader holds the current certificate and client-CA pool and reloads them
// from disk when the files change. It is safe for concurrent use.
type Reloader struct {
	certFile, keyFile, caFile string // certFile and keyFile are empty for a client without a certificate
	caRole                    string // RoleClientCA, or RoleCA for a client
	every                     time.Duration
	now                       func() time.Time
	log                       *slog.Logger

	cur atomic.Pointer[material] // never nil after New

	schedMu   sync.Mutex
	nextCheck time.Time // guarded by schedMu

	reloadMu  sync.Mutex // serialises reloads; guards the stamps below
	pairStamp [2]stamp   // cert, key as of the last successful load
	caStamp   stamp      // CA bundle as of the last successful load
}

// material is one immutable generation of what handshakes are served with.
type material struct {
	cert *tls.Certificate // Leaf is set; nil for a client without a certificate
	cas  *x509.CertPool   // the client CAs (a server's) or root CAs (a client's); nil without a CA file
}

// New loads the certificate, key and (if configured) client CA bundle once
// and returns a Reloader serving them. Errors name the offending file and
// the problem: not found, not PEM, unparsable, key not matching the
// certificate, no certificates in the CA bundle.
func New(opts Options) (*Reloader, error) {
	if opts.CertFile == "" {
		return nil, errors.New("tlsfiles: Options.CertFile is required")
	}
	if opts.KeyFile == "" {
		return nil, errors.New("tlsfiles: Options.KeyFile is required")
	}
	return load(&Reloader{
		certFile: opts.CertFile,
		keyFile:  opts.KeyFile,
		caFile:   opts.ClientCAFile,
		caRole:   RoleClientCA,
		every:    opts.CheckEvery,
		now:      opts.Now,
		log:      opts.Logger,
	})
}

// load fills in r's defaults and loads its files once.
func load(r *Reloader) (*Reloader, error) {
	if r.every <= 0 {
		r.every = DefaultCheckEvery
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}

	m := &material{}
	if r.certFile != "" {
		st, cert, err := loadPair(r.certFile, r.keyFile)
		if err != nil {
			return nil, err
		}
		m.cert, r.pairStamp = cert, st
		r.logPairLoaded("tlsfiles: certificate loaded", cert)
	}
	if r.caFile != "" {
		st, pool, n, err := loadCAs(r.caRole, r.caFile)
		if err != nil {
			return nil, err
		}
		m.cas, r.caStamp = pool, st
		r.logCALoaded("loaded", n)
	}
	r.cur.Store(m)
	r.nextCheck = r.now().Add(r.every)
	return r, nil
}

// Current returns the leaf certificate currently being served (nil for a
// client without a certificate). It does not look at the files; only
// handshakes (and ClientConfig) trigger checks.
func (r *Reloader) Current() (leaf *x509.Certificate) {
	if c := r.cur.Load().cert; c != nil {
		return c.Leaf
	}
	return nil
}

// ServerConfig returns a new server *tls.Config backed by the Reloader. Each
// call returns an independent config; use one per listener.
//
// The returned config has MinVersion tls.VersionTLS12 and a
// GetConfigForClient callback. For every handshake the callback checks the
// files if CheckEvery has elapsed and returns a Clone of the returned config
// (as it is at handshake time) with the current certificate and, if
// ClientCAFile is set, the current ClientCAs and
// ClientAuth = tls.RequireAndVerifyClientCert. MinVersion is raised to TLS
// 1.2 if set lower. Because the config used for the handshake is that clone,
// both the certificate and the CA bundle reload, and everything else set on
// the returned config (NextProtos, CipherSuites, CurvePreferences, a higher
// MinVersion, ...) carries over.
//
// NextProtos: set it on the returned config, before serving, to what the
// listener speaks — []string{"h2"} for gRPC, []string{"h2", "http/1.1"} for
// a net/http server with HTTP/2. Copies that a server library makes of the
// config and then edits (http.Server.ServeTLS, grpc credentials.NewTLS) are
// not what the callback clones, so their additions are only seen if the
// library also edits the original (net/http's bundled HTTP/2 does) or
// post-processes the callback's result (grpc-go does); setting NextProtos
// explicitly does not depend on either. As with any tls.Config, do not
// modify it once it is in use.
func (r *Reloader) ServerConfig() *tls.Config {
	base := &tls.Config{MinVersion: tls.VersionTLS12}
	if r.caFile != "" {
		base.ClientAuth = tls.RequireAndVerifyClientCert
	}
	base.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		r.maybeReload()
		m := r.cur.Load()
		c := base.Clone()
		c.GetConfigForClient = nil
		c.GetCertificate = nil
		c.Certificates = []tls.Certificate{*m.cert}
		if c.MinVersion < tls.VersionTLS12 {
			c.MinVersion = tls.VersionTLS12
		}
		if m.cas != nil {
			c.ClientCAs = m.cas
			c.ClientAuth = tls.RequireAndVerifyClientCert
		}
		return c, nil
	}
	return base
}

// maybeReload checks the files if CheckEvery has passed since the last
// check. Exactly one handshake per interval does the check; the others
// proceed with the current material without waiting.
func (r *Reloader) maybeReload() {
	now := r.now()
	r.schedMu.Lock()
	due := !now.Before(r.nextCheck)
	if due {
		r.nextCheck = now.Add(r.every)
	}
	r.schedMu.Unlock()
	if !due {
		return
	}
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()
	if r.certFile != "" {
		r.reloadPair()
	}
	if r.caFile != "" {
		r.reloadCAs()
	}
}

// reloadPair reloads the certificate and key if either file's stamp changed
// since the last successful load. Caller holds reloadMu.
func (r *Reloader) reloadPair() {
	st, err := stampPair(r.certFile, r.keyFile)
	if err == nil && st == r.pairStamp {
		return
	}
	var cert *tls.Certificate
	if err == nil {
		st, cert, err = loadPair(r.certFile, r.keyFile)
	}
	if err != nil {
		old := r.cur.Load().cert.Leaf
		r.log.Error("tlsfiles: certificate reload failed; keeping previous certificate",
			"cert_file", r.certFile, "key_file", r.keyFile, "err", err,
			"serving_subject", old.Subject.String(), "serving_not_after", old.NotAfter)
		return
	}
	old := r.cur.Load()
	r.cur.Store(&material{cert: cert, cas: old.cas})
	r.pairStamp = st
	r.logPairLoaded("tlsfiles: certificate reloaded", cert)
}

// reloadCAs reloads the CA bundle if its stamp changed since the last
// successful load. Caller holds reloadMu.
func (r *Reloader) reloadCAs() {
	st, err := stampFile(r.caRole, r.caFile)
	if err == nil && st == r.caStamp {
		return
	}
	var (
		pool *x509.CertPool
		n    int
		s    stamp
	)
	if err == nil {
		s, pool, n, err = loadCAs(r.caRole, r.caFile)
	}
	if err != nil {
		r.log.Error("tlsfiles: "+r.caName()+" reload failed; keeping previous CA bundle",
			r.caAttr(), r.caFile, "err", err)
		return
	}
	old := r.cur.Load()
	r.cur.Store(&material{cert: old.cert, cas: pool})
	r.caStamp = s
	r.logCALoaded("reloaded", n)
}

// caName names the CA bundle in log messages: "client CA" for a server's,
// "CA" for a client's.
func (r *Reloader) caName() string {
	if r.caRole == RoleClientCA {
		return "client CA"
	}
	return "CA"
}

// caAttr is the log attribute naming the CA file.
func (r *Reloader) caAttr() string {
	if r.caRole == RoleClientCA {
		return "client_ca_file"
	}
	return "ca_file"
}

func (r *Reloader) logPairLoaded(msg string, cert *tls.Certificate) {
	leaf := cert.Leaf
	attrs := []any{
		"cert_file", r.certFile, "key_file", r.keyFile,
		"subject", leaf.Subject.String(), "serial", leaf.SerialNumber.Text(16),
		"not_before", leaf.NotBefore, "not_after", leaf.NotAfter,
	}
	now := r.now()
	switch {
	case now.After(leaf.NotAfter):
		r.log.Warn(msg+" (certificate has expired)", attrs...)
	case now.Before(leaf.NotBefore):
		r.log.Warn(msg+" (certificate is not yet valid)", attrs...)
	default:
		r.log.Info(msg, attrs...)
	}
}

// logCALoaded logs the CA bundle's (re)load; what is "loaded" or
// "reloaded".
func (r *Reloader) logCALoaded(what string, n int) {
	r.log.Info("tlsfiles: "+r.caName()+" bundle "+what, r.caAttr(), r.caFile, "certs", n)
}
