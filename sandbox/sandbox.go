// Package sandbox is an in-process simulator of the E*TRADE Equity Edge
// Online (EEO) OAuth token endpoint and protected API (the probe, imports
// and reports), served over HTTP.
//
// It exists so the gateway can be run locally (make run) and tested end to
// end over loopback without EEO credentials. It implements the contract in
// docs/eeo-upstream.md, which records our assumptions about EEO rather than
// a published specification. It deliberately shares no code with the client
// side, so that a misreading of the contract in one cannot hide in the other.
//
// Beyond the contract, a Sandbox can inject faults (latency, forced status
// codes, malformed bodies, random failures), count requests and revoke every
// token, either from Go or through the /sandbox/ admin endpoints.
package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

const (
	// defaultIdleTimeout is EEO's documented inactivity rule: a token not
	// used for this long stops working.
	defaultIdleTimeout = 3599 * time.Second
	// defaultExpiresIn is what EEO reports as expires_in.
	defaultExpiresIn = 3599 * time.Second
	// shutdownTimeout bounds how long Serve waits for in-flight requests.
	shutdownTimeout = 5 * time.Second
	// maxBodyBytes caps request bodies other than uploads; no legitimate
	// request comes close.
	maxBodyBytes = 64 << 10
	// defaultStepDuration is how long imports and reports spend in each
	// non-terminal state unless Options.StepDuration says otherwise.
	defaultStepDuration = time.Second
	// defaultMaxUploadBytes is the upload limit unless
	// Options.MaxUploadBytes says otherwise.
	defaultMaxUploadBytes = 4 << 30
)

// Client is an OAuth client the sandbox accepts at the token endpoint.
type Client struct {
	ID     string
	Secret string
}

// Options configures a Sandbox. The zero value is usable but accepts no
// clients, so every token request fails with invalid_client.
type Options struct {
	// Clients are the accepted client credentials. If an ID repeats, the
	// last entry wins.
	Clients []Client
	// IdleTimeout is the EEO inactivity rule: a token is rejected once it
	// has not been used for this long. Zero or negative means 3599s.
	IdleTimeout time.Duration
	// Lifetime is an absolute token lifetime counted from issuance.
	// Zero or negative means none, because EEO documents only the idle rule;
	// set it to test clients against a stricter upstream.
	Lifetime time.Duration
	// ExpiresIn is the value reported as expires_in (whole seconds,
	// truncated). Zero means 3599s; negative omits the field, as an upstream
	// that does not report it would.
	ExpiresIn time.Duration
	// StepDuration is how long an import or report stays in each
	// non-terminal state: an import is QUEUED for one step, VALIDATING for
	// the next, PROCESSING for the third and terminal from then on; a report
	// is QUEUED, then RUNNING, then terminal. States are computed from Now on
	// every read, so advancing an injected clock moves them along; nothing
	// runs in the background. Zero or negative means 1s.
	StepDuration time.Duration
	// MaxUploadBytes is the largest accepted import file. A larger upload is
	// answered 413 file_too_large as soon as the limit is passed (or at once
	// if Content-Length declares it) and creates nothing. Zero or negative
	// means 4 GiB.
	MaxUploadBytes int64
	// OneActiveToken makes the token endpoint keep one active token per
	// client: issuing a token revokes the client's earlier ones, so a
	// protected request with an earlier token gets 401. Many OAuth
	// providers behave so and EEO's documentation does not rule it out; it
	// reproduces the 401 storm of several gateway replicas each fetching
	// their own token for the same client. Stats.TokensRevoked counts
	// the revocations.
	OneActiveToken bool
	// Now is the clock, a seam for tests. Nil means time.Now.
	Now func() time.Time
	// Logger receives debug and info events. Nil discards them. The sandbox
	// never logs client secrets or access tokens, only client IDs, counts
	// and token fingerprints.
	Logger *slog.Logger
}

// Sandbox is a simulated EEO upstream. It is an http.Handler; use Serve or
// httptest.NewServer to expose it. All methods are safe for concurrent use.
type Sandbox struct {
	clients   map[string]string // client ID → secret; read-only after New
	idle      time.Duration
	expiresIn time.Duration
	now       func() time.Time
	log       *slog.Logger
	mux       *http.ServeMux
	tokens    *tokenStore
	stats     counters
	step      time.Duration
	maxUpload int64
	imports   store[importRecord]
	reports   store[reportRecord]

	faultsMu sync.Mutex
	faults   Faults // guarded by faultsMu
}

// New returns a Sandbox configured by opts.
func New(opts Options) *Sandbox {
	s := &Sandbox{
		clients:   make(map[string]string, len(opts.Clients)),
		idle:      opts.IdleTimeout,
		expiresIn: opts.ExpiresIn,
		now:       opts.Now,
		log:       opts.Logger,
		mux:       http.NewServeMux(),
		stats:     counters{byClient: make(map[string]int64)},
		step:      opts.StepDuration,
		maxUpload: opts.MaxUploadBytes,
	}
	for _, c := range opts.Clients {
		s.clients[c.ID] = c.Secret
	}
	if s.idle <= 0 {
		s.idle = defaultIdleTimeout
	}
	if s.expiresIn == 0 {
		s.expiresIn = defaultExpiresIn
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.step <= 0 {
		s.step = defaultStepDuration
	}
	if s.maxUpload <= 0 {
		s.maxUpload = defaultMaxUploadBytes
	}
	s.tokens = newTokenStore(s.idle, opts.Lifetime, opts.OneActiveToken)

	// Routes match paths only and handlers check methods themselves, so the
	// token endpoint can count and fault every request, and the catch-all
	// below cannot shadow a 405.
	s.mux.HandleFunc("/oauth2/token", s.handleToken)
	// Every protected endpoint goes through requireToken, here and only here.
	for pattern, h := range map[string]http.HandlerFunc{
		"/v1/whoami":               s.handleWhoami,
		"/v1/import-types":         s.handleImportTypes,
		"/v1/imports":              s.handleImports,
		"/v1/imports/{id}":         s.handleImport,
		"/v1/imports/{id}/errors":  s.handleImportErrors,
		"/v1/imports/{id}/cancel":  s.handleCancelImport,
		"/v1/report-types":         s.handleReportTypes,
		"/v1/reports":              s.handleReports,
		"/v1/reports/{id}":         s.handleReport,
		"/v1/reports/{id}/cancel":  s.handleCancelReport,
		"/v1/reports/{id}/content": s.handleReportContent,
	} {
		s.mux.Handle(pattern, s.requireToken(h))
	}
	s.mux.HandleFunc("/sandbox/stats", s.handleStats)
	s.mux.HandleFunc("/sandbox/faults", s.handleFaults)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "not_found")
	})
	return s
}

// ServeHTTP implements http.Handler.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/sandbox/") {
		s.stats.seen(r)
	}
	s.mux.ServeHTTP(w, r)
}

// Serve serves HTTP on lis until ctx is done, then shuts down gracefully,
// waiting up to 5s for in-flight requests. It returns nil after a clean
// shutdown. Serve closes lis.
func (s *Sandbox) Serve(ctx context.Context, lis net.Listener) error {
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		// Request contexts derive from ctx so that injected latency ends as
		// soon as the sandbox is stopped instead of stalling Shutdown.
		BaseContext: func(net.Listener) context.Context { return ctx },
		ErrorLog:    slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	s.log.Info("sandbox: serving", "addr", lis.Addr().String())

	select {
	case err := <-errc:
		return fmt.Errorf("sandbox: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-errc // Serve returns ErrServerClosed as soon as Shutdown begins.
	if err != nil {
		_ = srv.Close() // Best effort; the Shutdown error is the one to report.
		return fmt.Errorf("sandbox: shutdown: %w", err)
	}
	s.log.Info("sandbox: stopped")
	return nil
}

// errorBody is the OAuth-style error document (RFC 6749 §5.2) used for
// every error the sandbox returns. Field names the request field at fault,
// which only the imports and reports endpoints report.
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
	Field       string `json:"field,omitempty"`
}

// writeJSON writes v as a JSON response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// An encode error means the client went away; there is no one to tell.
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes an errorBody with the given status and code.
func writeError(w http.ResponseWriter, status int, code string) {
	writeJSON(w, status, errorBody{Error: code})
}

// methodAllowed reports whether r uses one of methods, answering 405 with
// an Allow header if it does not.
func methodAllowed(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	if slices.Contains(methods, r.Method) {
		return true
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	writeError(w, http.StatusMethodNotAllowed, "method_not_allowed")
	return false
}
