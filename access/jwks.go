package access

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Limits on fetching and parsing a JWKS: an identity provider's key set is a
// few KiB, so anything much larger is a misconfiguration or an attack.
const (
	jwksFetchTimeout = 10 * time.Second
	maxJWKSBytes     = 1 << 20
	minRSABits       = 2048
)

// jwk is one JSON Web Key, with the members RFC 7517, 7518 and 8037 define
// for the key types the Guard accepts.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Crv string `json:"crv"`
	N   string `json:"n"`
	E   string `json:"e"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// verificationKey is a parsed public key with the JWK members that restrict
// which tokens it may verify.
type verificationKey struct {
	kid string
	alg string // empty: any algorithm that fits the key type
	key crypto.PublicKey
}

// keySet is an immutable set of verification keys; a refresh replaces the
// whole set, so a verification never sees half of one.
type keySet struct {
	keys []verificationKey
}

// parseJWKS parses a JWK Set. Keys of other types, for encryption, or
// malformed are skipped, since an identity provider may publish keys this
// gateway has no use for; a set with no usable key at all is an error.
func parseJWKS(data []byte) (*keySet, error) {
	var doc struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not a JWK Set: %w", err)
	}
	set := &keySet{}
	var skipped []string
	for i, k := range doc.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		pub, err := k.publicKey()
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("keys[%d] (kid %q): %v", i, k.Kid, err))
			continue
		}
		set.keys = append(set.keys, verificationKey{kid: k.Kid, alg: k.Alg, key: pub})
	}
	if len(set.keys) == 0 {
		if len(skipped) > 0 {
			return nil, fmt.Errorf("no usable signing key: %s", strings.Join(skipped, "; "))
		}
		return nil, errors.New("no usable signing key")
	}
	return set, nil
}

// publicKey decodes an RSA, EC (P-256, P-384, P-521) or Ed25519 public key.
func (k jwk) publicKey() (crypto.PublicKey, error) {
	switch k.Kty {
	case "RSA":
		n, err := b64Bytes("n", k.N)
		if err != nil {
			return nil, err
		}
		e, err := b64Bytes("e", k.E)
		if err != nil {
			return nil, err
		}
		if len(e) > 4 {
			return nil, errors.New("RSA exponent too large")
		}
		exp := int(new(big.Int).SetBytes(e).Int64())
		if exp < 3 || exp%2 == 0 {
			return nil, errors.New("bad RSA exponent")
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: exp}
		if pub.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("RSA key shorter than %d bits", minRSABits)
		}
		return pub, nil
	case "EC":
		var curve elliptic.Curve
		switch k.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		case "P-521":
			curve = elliptic.P521()
		default:
			return nil, fmt.Errorf("unsupported EC curve %q", k.Crv)
		}
		size := (curve.Params().BitSize + 7) / 8
		x, err := b64Bytes("x", k.X)
		if err != nil {
			return nil, err
		}
		y, err := b64Bytes("y", k.Y)
		if err != nil {
			return nil, err
		}
		// RFC 7518 §6.2.1.2: coordinates are exactly the curve's size.
		if len(x) != size || len(y) != size {
			return nil, errors.New("EC coordinates of the wrong length")
		}
		point := append(append([]byte{4}, x...), y...)
		return ecdsa.ParseUncompressedPublicKey(curve, point) // rejects points off the curve
	case "OKP":
		if k.Crv != "Ed25519" {
			return nil, fmt.Errorf("unsupported OKP curve %q", k.Crv)
		}
		x, err := b64Bytes("x", k.X)
		if err != nil {
			return nil, err
		}
		if len(x) != ed25519.PublicKeySize {
			return nil, errors.New("Ed25519 key of the wrong length")
		}
		return ed25519.PublicKey(x), nil
	default:
		return nil, fmt.Errorf("unsupported key type %q", k.Kty)
	}
}

func b64Bytes(member, s string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) == 0 {
		return nil, fmt.Errorf("member %q is not base64url", member)
	}
	return b, nil
}

// candidates returns the keys that may verify a token signed with alg and
// naming kid. A token with a kid is verified only by the key with that kid;
// one without is tried against every key that fits the algorithm. A key's
// own alg member, when present, must match: RFC 7517 §4.4.
func (s *keySet) candidates(kid, alg string) []any {
	var out []any
	for _, k := range s.keys {
		if kid != "" && k.kid != kid {
			continue
		}
		if k.alg != "" && k.alg != alg {
			continue
		}
		if keyFits(alg, k.key) {
			out = append(out, k.key)
		}
	}
	return out
}

// keyFits reports whether key is of the type alg verifies with, so a key is
// never used with an algorithm it was not made for.
func keyFits(alg string, key crypto.PublicKey) bool {
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
func onCurve(key crypto.PublicKey, bits int) bool {
	k, ok := key.(*ecdsa.PublicKey)
	return ok && k.Curve.Params().BitSize == bits
}

// keySource yields the current key set.
type keySource interface {
	current(ctx context.Context) *keySet
	close()
}

// fileSource is a JWKS file, re-read when its modification time or size
// changes. The file is looked at during verification, at most once per
// interval, rather than from a goroutine: a stat every few minutes costs
// nothing, and nothing needs stopping.
type fileSource struct {
	path  string
	every time.Duration
	now   func() time.Time
	log   *slog.Logger

	mu      sync.Mutex
	set     *keySet
	modTime time.Time
	size    int64
	checked time.Time
}

func newFileSource(path string, every time.Duration, now func() time.Time, log *slog.Logger) (*fileSource, error) {
	f := &fileSource{path: path, every: every, now: now, log: log}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	set, err := readJWKSFile(path)
	if err != nil {
		return nil, err
	}
	f.set, f.modTime, f.size, f.checked = set, fi.ModTime(), fi.Size(), now()
	return f, nil
}

func readJWKSFile(path string) (*keySet, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, maxJWKSBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxJWKSBytes {
		return nil, fmt.Errorf("larger than %d bytes", maxJWKSBytes)
	}
	return parseJWKS(data)
}

// current re-reads the file if it is due for a check and has changed. A
// file that cannot be read or parsed (say, half written) leaves the last
// good set in place and is tried again at the next check.
func (f *fileSource) current(ctx context.Context) *keySet {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	// A clock that went backwards counts as due, so a step back cannot
	// postpone checks for as long as it stepped.
	if since := now.Sub(f.checked); since >= 0 && since < f.every {
		return f.set
	}
	f.checked = now
	fi, err := os.Stat(f.path)
	if err != nil {
		f.log.LogAttrs(ctx, slog.LevelWarn, "JWKS file unreadable; keeping the last good keys", slog.String("jwks_file", f.path), slog.String("error", err.Error()))
		return f.set
	}
	if fi.ModTime().Equal(f.modTime) && fi.Size() == f.size {
		return f.set
	}
	set, err := readJWKSFile(f.path)
	if err != nil {
		f.log.LogAttrs(ctx, slog.LevelWarn, "JWKS file invalid; keeping the last good keys", slog.String("jwks_file", f.path), slog.String("error", err.Error()))
		return f.set
	}
	f.set, f.modTime, f.size = set, fi.ModTime(), fi.Size()
	f.log.LogAttrs(ctx, slog.LevelInfo, "JWKS reloaded", slog.String("jwks_file", f.path), slog.Int("keys", len(set.keys)))
	return f.set
}

func (f *fileSource) close() {}

// urlSource is a JWKS fetched over HTTPS at start and then every interval by
// a background goroutine, so verification never waits on the network. A
// failed fetch keeps the last good set: an identity provider outage must
// not lock every caller out.
type urlSource struct {
	url       string
	client    *http.Client
	ownClient bool
	log       *slog.Logger
	set       atomic.Pointer[keySet]
	stop      context.CancelFunc
	done      chan struct{}
}

// newURLSource fetches the set once, failing if that fails (a gateway that
// could verify no JWT would refuse every JWT caller), then refreshes it in
// the background until close.
func newURLSource(ctx context.Context, url string, client *http.Client, every time.Duration, log *slog.Logger) (*urlSource, error) {
	u := &urlSource{url: url, client: client, log: log, done: make(chan struct{})}
	if u.client == nil {
		// A transport of our own, so close can drop its idle connections
		// without touching anyone else's.
		u.client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		u.ownClient = true
	}
	set, err := u.fetch(ctx)
	if err != nil {
		u.closeIdle()
		return nil, err
	}
	u.set.Store(set)
	ctx, u.stop = context.WithCancel(context.WithoutCancel(ctx))
	go u.refresh(ctx, every)
	return u, nil
}

func (u *urlSource) refresh(ctx context.Context, every time.Duration) {
	defer close(u.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		set, err := u.fetch(ctx)
		if err != nil {
			if ctx.Err() == nil {
				u.log.LogAttrs(ctx, slog.LevelWarn, "JWKS refresh failed; keeping the last good keys", slog.String("jwks_url", u.url), slog.String("error", err.Error()))
			}
			continue
		}
		u.set.Store(set)
	}
}

func (u *urlSource) fetch(ctx context.Context) (*keySet, error) {
	ctx, cancel := context.WithTimeout(ctx, jwksFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := u.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxJWKSBytes {
		return nil, fmt.Errorf("larger than %d bytes", maxJWKSBytes)
	}
	return parseJWKS(data)
}

func (u *urlSource) current(context.Context) *keySet { return u.set.Load() }

// close stops the refresh and waits for it, so no fetch outlives the Guard.
func (u *urlSource) close() {
	u.stop()
	<-u.done
	u.closeIdle()
}

func (u *urlSource) closeIdle() {
	if u.ownClient {
		u.client.CloseIdleConnections()
	}
}
