package sandbox

import (
	"crypto/subtle"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"time"
)

// basicChallenge is sent with 401s when the client used HTTP Basic, as
// RFC 6749 §5.2 requires.
const basicChallenge = `Basic realm="eeo-sandbox"`

// Why presented client credentials are unusable before any secret is checked.
var (
	errNoCredentials        = errors.New("no client credentials")
	errMalformedBasic       = errors.New("malformed Basic credentials")
	errAmbiguousCredentials = errors.New("client credentials in both Authorization header and body")
)

// credentials is what a token request presented to authenticate its client.
type credentials struct {
	id, secret string
	basic      bool  // presented with HTTP Basic, so a 401 carries a Basic challenge
	err        error // why the presentation itself is unusable, if it is
}

// tokenResponse is the RFC 6749 §5.1 success body.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   *int64 `json:"expires_in,omitempty"` // nil when Options.ExpiresIn < 0
	Scope       string `json:"scope,omitempty"`
}

// handleToken implements the client credentials grant (RFC 6749 §4.4).
func (s *Sandbox) handleToken(w http.ResponseWriter, r *http.Request) {
	s.stats.tokenRequests.Add(1)
	// RFC 6749 §5.1 forbids caching token responses; errors are not worth
	// caching either, so every answer from this endpoint carries these.
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")

	// Credentials are read before faults so that faulted requests are still
	// attributed to their client in Stats.
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	formErr := r.ParseForm()
	creds := readCredentials(r)
	if _, known := s.clients[creds.id]; known {
		s.stats.countClient(creds.id)
	}

	if s.injectFault(w, r, s.Faults().Token) {
		return
	}
	if !methodAllowed(w, r, http.MethodPost) {
		return
	}
	if formErr != nil || !isForm(r) || repeatsParams(r.PostForm) {
		writeError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	switch r.PostForm.Get("grant_type") {
	case "client_credentials":
	case "":
		writeError(w, http.StatusBadRequest, "invalid_request")
		return
	default:
		writeError(w, http.StatusBadRequest, "unsupported_grant_type")
		return
	}
	if errors.Is(creds.err, errAmbiguousCredentials) {
		writeError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	if !s.authenticate(creds) {
		reason := "unknown client or wrong secret"
		if creds.err != nil {
			reason = creds.err.Error()
		}
		s.log.Info("sandbox: client authentication failed", "client_id", creds.id, "basic", creds.basic, "reason", reason)
		if creds.basic {
			w.Header().Set("WWW-Authenticate", basicChallenge)
		}
		writeError(w, http.StatusUnauthorized, "invalid_client")
		return
	}

	token := newToken()
	revoked := s.tokens.add(token, creds.id, s.now())
	s.stats.tokensIssued.Add(1)
	s.stats.tokensRevoked.Add(int64(revoked))
	s.log.Debug("sandbox: token issued", "client_id", creds.id, "token_fp", fingerprint(token), "revoked_earlier", revoked)

	resp := tokenResponse{AccessToken: token, TokenType: "Bearer", Scope: r.PostForm.Get("scope")}
	if s.expiresIn > 0 {
		// Truncate: reporting more time than the client has would be worse.
		secs := int64(s.expiresIn / time.Second)
		resp.ExpiresIn = &secs
	}
	writeJSON(w, http.StatusOK, resp)
}

// readCredentials extracts client credentials from r without checking
// them. RFC 6749 §2.3.1 form-url-encodes the ID and secret before Basic
// encoding, so they are unescaped here; skipping that step would corrupt
// secrets containing '+', '%' or ':'.
func readCredentials(r *http.Request) credentials {
	formID, formSecret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if r.Header.Get("Authorization") == "" {
		if formID == "" || formSecret == "" {
			return credentials{id: formID, err: errNoCredentials}
		}
		return credentials{id: formID, secret: formSecret}
	}

	c := credentials{basic: true}
	rawID, rawSecret, ok := r.BasicAuth()
	if ok {
		var idErr, secretErr error
		c.id, idErr = url.QueryUnescape(rawID)
		c.secret, secretErr = url.QueryUnescape(rawSecret)
		ok = idErr == nil && secretErr == nil
	}
	switch {
	case !ok:
		c.err = errMalformedBasic
	case r.PostForm.Has("client_secret") || (formID != "" && formID != c.id):
		// RFC 6749 §2.3: a client must use one authentication method per request.
		c.err = errAmbiguousCredentials
	}
	return c
}

// authenticate reports whether c names a configured client with the right
// secret. The secret comparison runs in constant time, and runs even for
// unknown IDs so timing does not reveal which IDs exist.
func (s *Sandbox) authenticate(c credentials) bool {
	want, known := s.clients[c.id]
	match := subtle.ConstantTimeCompare([]byte(c.secret), []byte(want)) == 1
	return c.err == nil && known && match
}

// isForm reports whether r's body is declared as a URL-encoded form.
func isForm(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// repeatsParams reports whether a token request parameter appears more than
// once, which RFC 6749 §3.2 forbids.
func repeatsParams(form url.Values) bool {
	for _, k := range []string{"grant_type", "scope", "client_id", "client_secret"} {
		if len(form[k]) > 1 {
			return true
		}
	}
	return false
}
