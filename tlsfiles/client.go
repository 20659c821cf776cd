package tlsfiles

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"time"
)

// ClientOptions configures NewClient: the files of the client side of TLS
// toward a server (Redis, say).
type ClientOptions struct {
	// CertFile and KeyFile are the client certificate, for servers that
	// require one: both or neither.
	CertFile, KeyFile string

	// CAFile is a PEM bundle of the CAs the server's certificate must
	// chain to, instead of the system's roots.
	CAFile string

	// CheckEvery is the minimum interval between two looks at the files,
	// which ClientConfig takes; DefaultCheckEvery (10s) when zero or
	// negative. A client that makes few connections can afford a look at
	// every one (time.Nanosecond): a look is a stat per file.
	CheckEvery time.Duration

	// Now and Logger are as in Options.
	Now    func() time.Time
	Logger *slog.Logger
}

// NewClient loads the client certificate and CA bundle, either or both,
// once and returns a Reloader that hands them out through ClientConfig,
// reloaded from the files when they change, with the same rules as a
// server's: a reload that fails keeps the last good material, logs the
// error and is retried at the next check. A file that cannot be loaded is
// a *FileError.
func NewClient(opts ClientOptions) (*Reloader, error) {
	if (opts.CertFile == "") != (opts.KeyFile == "") {
		return nil, errors.New("tlsfiles: ClientOptions.CertFile and KeyFile go together")
	}
	return load(&Reloader{
		certFile: opts.CertFile,
		keyFile:  opts.KeyFile,
		caFile:   opts.CAFile,
		caRole:   RoleCA,
		every:    opts.CheckEvery,
		now:      opts.Now,
		log:      opts.Logger,
	})
}

// ClientConfig returns a new client *tls.Config with the current material,
// after looking at the files if CheckEvery has passed: RootCAs from the CA
// file (nil, the system's, without one) and the client certificate if
// there is one, with MinVersion tls.VersionTLS12. A client's root CAs
// cannot change under a tls.Config in use, so call it for each new
// connection (from a dialer): a connection made after a rotation uses the
// new files, those already open keep theirs. Set ServerName and the rest
// on the returned config. Meant for a Reloader from NewClient; one from New
// would hand out its client CAs as root CAs.
func (r *Reloader) ClientConfig() *tls.Config {
	r.maybeReload()
	m := r.cur.Load()
	c := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: m.cas}
	if m.cert != nil {
		c.Certificates = []tls.Certificate{*m.cert}
	}
	return c
}
