package access

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"
)

// Limits on fetching and parsing a JWKS: an identity provider's key set is a
// few KiB, so anything much larger is a misconfiguration or an attack.
const (
	jwksFetchTimeout = 10 * time.Second
	maxJWKSBytes     = 1 << 20
	maxJWKSRedirects = 3
	minRSABits       = 2048
	// unknownKeyRefreshEvery spaces the refreshes a token with an unknown
	// kid may trigger: one is enough to pick up a rotated key, and tokens
	// with made-up kids cannot turn into a stream of requests to the
	// identity provider.
	unknownKeyRefreshEvery = 30 * time.Second
)

// parseJWKS parses a JWK Set with jwkset and keeps the keys this gateway
// verifies with: public signing keys of type RSA (2048 bits or more), EC or
// Ed25519. Others (encryption keys, symmetric keys, short RSA keys, members
// that do not decode) are skipped, since an identity provider may publish
// keys the gateway has no use for; a set with no usable key at all is an
// error.
func parseJWKS(data []byte) ([]jwkset.JWK, error) {
	var doc jwkset.JWKSMarshal
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not a JWK Set: %w", err)
	}
	var keys []jwkset.JWK
	var skipped []string
	for i, m := range doc.Keys {
		if m.USE != "" && m.USE != jwkset.UseSig {
			continue
		}
		// Private members, if a set carries them by mistake, are ignored:
		// only the public half is ever used.
		k, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		if err == nil {
			err = checkVerificationKey(k.Key())
		}
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("keys[%d] (kid %q): %v", i, m.KID, err))
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		if len(skipped) > 0 {
			return nil, fmt.Errorf("no usable signing key: %s", strings.Join(skipped, "; "))
		}
		return nil, errors.New("no usable signing key")
	}
	return keys, nil
}

// checkVerificationKey accepts the public key types the Guard verifies with.
func checkVerificationKey(key any) error {
	switch k := key.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return fmt.Errorf("RSA key shorter than %d bits", minRSABits)
		}
	case *ecdsa.PublicKey, ed25519.PublicKey:
	default:
		return fmt.Errorf("unsupported key type %T", key)
	}
	return nil
}

// keyFits reports whether key is of the type alg verifies with, so a key is
// never used with an algorithm it was not made for.
func keyFits(alg string, key any) bool {
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		_, ok := key.(*rsa.PublicKey)
		return ok
	case "ES256":
		return onCurve(key, 256)
	case "ES384":
		return onCurve(key, 384)
	case "ES512":
		return onCurve(key, 521)
	case "EdDSA":
		_, ok := key.(ed25519.PublicKey)
		return ok
	}
	return false
}

// onCurve reports whether key is an ECDSA key on the NIST curve of that size:
// ES256 is defined for P-256 only, and so on (RFC 7518 §3.4).
func onCurve(key any, bits int) bool {
	k, ok := key.(*ecdsa.PublicKey)
	return ok && k.Curve.Params().BitSize == bits
}

// keySet is the issuer's JWKS in a jwkset store, looked up by keyfunc
// (kid, alg and use checks), and kept current from a file or URL:
//
//   - a file is re-read when a verification finds it due (every
//     RefreshEvery, by the Guard's clock), a URL by a background goroutine
//     every RefreshEvery, so verification never waits on the network for a
//     scheduled refresh;
//   - a token whose kid is not in the set triggers one refresh at once, so
//     a key rotation does not lock callers out until the next scheduled
//     one; such refreshes are shared by concurrent callers and spaced
//     unknownKeyRefreshEvery apart, and a token arriving in between fails
//     at once rather than waiting;
//   - a failed load keeps the last good set: an identity provider outage
//     must not lock every caller out.
type keySet struct {
	store *jwkset.MemoryJWKSet
	kf    keyfunc.Keyfunc
	load  func(ctx context.Context) ([]byte, error)
	src   slog.Attr // jwks_file or jwks_url, for logs
	now   func() time.Time
	log   *slog.Logger
	every time.Duration
	lazy  bool // a file: checked on use rather than by a goroutine

	unknownKey *rate.Limiter
	flight     singleflight.Group

	mu       sync.Mutex
	last     []byte    // guarded by mu; the data of the current set
	checked  time.Time // guarded by mu; the last scheduled check (lazy only)
	stop     context.CancelFunc
	done     chan struct{}
	closeFns []func()
}

func newKeySet(src slog.Attr, load func(context.Context) ([]byte, error), every time.Duration, now func() time.Time, log *slog.Logger) (*keySet, error) {
	store := jwkset.NewMemoryStorage()
	kf, err := keyfunc.New(keyfunc.Options{Storage: store, UseWhitelist: []jwkset.USE{jwkset.UseSig, ""}})
	if err != nil {
		return nil, err
	}
	return &keySet{
		store: store, kf: kf, load: load, src: src, now: now, log: log, every: every,
		unknownKey: rate.NewLimiter(rate.Every(unknownKeyRefreshEvery), 1),
	}, nil
}

// newFileKeySet reads the JWKS file now, failing if it is unusable.
func newFileKeySet(ctx context.Context, path string, every time.Duration, now func() time.Time, log *slog.Logger) (*keySet, error) {
	ks, err := newKeySet(slog.String("jwks_file", path), func(context.Context) ([]byte, error) { return readJWKSFile(path) }, every, now, log)
	if err != nil {
		return nil, err
	}
	ks.lazy = true
	if err := ks.refresh(ctx); err != nil {
		return nil, err
	}
	ks.checked = now()
	return ks, nil
}

func readJWKSFile(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return readCapped(fh)
}

func readCapped(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxJWKSBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxJWKSBytes {
		return nil, fmt.Errorf("larger than %d bytes", maxJWKSBytes)
	}
	return data, nil
}

// newURLKeySet fetches the set once, failing if that fails (a gateway that
// could verify no JWT would refuse every JWT caller), then refreshes it in
// the background until close.
func newURLKeySet(ctx context.Context, rawURL string, client *http.Client, every time.Duration, now func() time.Time, log *slog.Logger) (*keySet, error) {
	origin, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	var closeIdle func()
	if client == nil {
		// A transport of our own, so close can drop its idle connections
		// without touching anyone else's.
		client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		closeIdle = client.CloseIdleConnections
	}
	client = jwksClient(client, origin)
	fetch := func(ctx context.Context) ([]byte, error) { return fetchJWKS(ctx, client, rawURL) }
	// Redacted: a URL with user:password@ would otherwise put that
	// password in every JWKS log line (config does not refuse user info).
	ks, err := newKeySet(slog.String("jwks_url", origin.Redacted()), fetch, every, now, log)
	if err != nil {
		return nil, err
	}
	if closeIdle != nil {
		ks.closeFns = append(ks.closeFns, closeIdle)
	}
	if err := ks.refresh(ctx); err != nil {
		ks.close()
		return nil, err
	}
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	ks.stop, ks.done = stop, make(chan struct{})
	go ks.refreshEvery(bg)
	return ks, nil
}

// jwksClient is client made safe for fetching keys from origin, which New
// has checked is https or plain http to a loopback address: a redirect is
// followed only on origin's scheme and host, so every request, redirects
// included, goes where that check allowed. Keys fetched in the clear, or
// from wherever a redirect points, could be swapped, and whoever swaps them
// can mint any caller.
func jwksClient(client *http.Client, origin *url.URL) *http.Client {
	c := *client
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > maxJWKSRedirects {
			return fmt.Errorf("more than %d redirects", maxJWKSRedirects)
		}
		if req.URL.Scheme != origin.Scheme || !strings.EqualFold(req.URL.Host, origin.Host) {
			return fmt.Errorf("refusing a redirect from %s://%s to another scheme or host", origin.Scheme, origin.Host)
		}
		return nil
	}
	return &c
}

// secureJWKSURL reports whether keys may be fetched from u.
func secureJWKSURL(u *url.URL) bool {
	return u.Host != "" && (u.Scheme == "https" || u.Scheme == "http" && isLoopback(u.Hostname()))
}

func fetchJWKS(ctx context.Context, client *http.Client, rawURL string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return readCapped(resp.Body)
}

func (ks *keySet) refreshEvery(ctx context.Context) {
	defer close(ks.done)
	t := time.NewTicker(ks.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := ks.refresh(ctx); err != nil && ctx.Err() == nil {
			ks.log.LogAttrs(ctx, slog.LevelWarn, "JWKS refresh failed; keeping the last good keys", ks.src, slog.String("error", err.Error()))
		}
	}
}

// refresh loads and parses the set and, if it changed, replaces the keys.
func (ks *keySet) refresh(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, jwksFetchTimeout)
	defer cancel()
	data, err := ks.load(ctx)
	if err != nil {
		return err
	}
	ks.mu.Lock()
	same := bytes.Equal(data, ks.last)
	ks.mu.Unlock()
	if same {
		return nil
	}
	keys, err := parseJWKS(data)
	if err != nil {
		return err
	}
	if err := ks.store.KeyReplaceAll(ctx, keys); err != nil {
		return err
	}
	ks.mu.Lock()
	first := ks.last == nil
	ks.last = data
	ks.mu.Unlock()
	if !first {
		ks.log.LogAttrs(ctx, slog.LevelInfo, "JWKS reloaded", ks.src, slog.Int("keys", len(keys)))
	}
	return nil
}

// checkDue re-reads a file source if a scheduled check is due. A clock that
// went backwards counts as due, so a step back cannot postpone checks for
// as long as it stepped.
func (ks *keySet) checkDue(ctx context.Context) {
	if !ks.lazy {
		return
	}
	ks.mu.Lock()
	now := ks.now()
	since := now.Sub(ks.checked)
	due := since < 0 || since >= ks.every
	if due {
		ks.checked = now
	}
	ks.mu.Unlock()
	if !due {
		return
	}
	if err := ks.refresh(ctx); err != nil {
		ks.log.LogAttrs(ctx, slog.LevelWarn, "JWKS invalid or unreadable; keeping the last good keys", ks.src, slog.String("error", err.Error()))
	}
}

// errRefreshSpaced: an unknown-kid refresh ran too recently to run again.
var errRefreshSpaced = errors.New("an unknown-key refresh ran recently")

// refreshForUnknownKey refreshes the set because a token named a kid it
// does not hold, unless such a refresh ran in the last
// unknownKeyRefreshEvery. Concurrent callers share one refresh. It runs
// detached from the caller, so a caller that gives up fails no one else.
func (ks *keySet) refreshForUnknownKey(ctx context.Context) {
	ch := ks.flight.DoChan("refresh", func() (any, error) {
		if !ks.unknownKey.AllowN(ks.now(), 1) {
			return nil, errRefreshSpaced
		}
		err := ks.refresh(context.WithoutCancel(ctx))
		if err != nil {
			ks.log.LogAttrs(ctx, slog.LevelWarn, "JWKS refresh for an unknown key failed; keeping the last good keys", ks.src, slog.String("error", err.Error()))
		}
		return nil, err
	})
	select {
	case <-ch:
	case <-ctx.Done():
	}
}

// keyFor is the jwt.Keyfunc of a verification: keyfunc picks the key by
// kid (or every key, for a token without one) and checks the JWK's alg and
// use; the Guard then keeps only keys of the type alg needs.
func (ks *keySet) keyFor(ctx context.Context, t *jwt.Token) (any, error) {
	ks.checkDue(ctx)
	key, err := ks.kf.KeyfuncCtx(ctx)(t)
	if errors.Is(err, jwkset.ErrKeyNotFound) {
		// Look again whatever the refresh did: a refresh another caller
		// finished just before this one asked may have brought the key.
		ks.refreshForUnknownKey(ctx)
		key, err = ks.kf.KeyfuncCtx(ctx)(t)
	}
	if err != nil {
		return nil, errUnknownKey
	}
	alg := t.Method.Alg()
	if set, ok := key.(jwt.VerificationKeySet); ok {
		fit := jwt.VerificationKeySet{}
		for _, k := range set.Keys {
			if keyFits(alg, k) {
				fit.Keys = append(fit.Keys, k)
			}
		}
		if len(fit.Keys) == 0 {
			return nil, errUnknownKey
		}
		return fit, nil
	}
	if !keyFits(alg, key) {
		return nil, errUnknownKey
	}
	return key, nil
}

// close stops the background refresh and waits for it, so no fetch
// outlives the Guard.
func (ks *keySet) close() {
	if ks.stop != nil {
		ks.stop()
		<-ks.done
	}
	for _, f := range ks.closeFns {
		f()
	}
}
