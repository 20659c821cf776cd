package sandbox

import (
	"context"
	"net/http"
	"strings"
	"time"
)

// bearerChallenge is sent with every 401 from a protected endpoint.
const bearerChallenge = `Bearer error="invalid_token"`

// clientIDKey is the context key under which requireToken stores the
// authenticated client ID.
type clientIDKey struct{}

// clientIDFrom returns the client ID requireToken stored in ctx.
func clientIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(clientIDKey{}).(string)
	return id
}

// requireToken guards a protected endpoint: it counts the request, applies
// API faults, then admits only requests with a live bearer token, sliding
// that token's idle window and passing its client ID on in the context.
// Every protected endpoint is wrapped in it so the rules cannot drift apart.
func (s *Sandbox) requireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.stats.apiRequests.Add(1)
		if s.injectFault(w, r, s.Faults().API) {
			return
		}
		token, ok := bearerToken(r)
		if !ok {
			s.rejectToken(w, "", errNoToken)
			return
		}
		clientID, err := s.tokens.use(token, s.now())
		if err != nil {
			s.rejectToken(w, token, err)
			return
		}
		s.log.Debug("sandbox: token accepted", "client_id", clientID, "token_fp", fingerprint(token))
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientIDKey{}, clientID)))
	})
}

// rejectToken answers 401 invalid_token (RFC 6750 §3.1). The reason is only
// logged: EEO-like servers do not say why, and clients must not depend on it.
func (s *Sandbox) rejectToken(w http.ResponseWriter, token string, reason error) {
	s.stats.rejectedTokens.Add(1)
	attrs := []any{"reason", reason.Error()}
	if token != "" {
		attrs = append(attrs, "token_fp", fingerprint(token))
	}
	s.log.Debug("sandbox: token rejected", attrs...)
	w.Header().Set("WWW-Authenticate", bearerChallenge)
	writeError(w, http.StatusUnauthorized, "invalid_token")
}

// bearerToken extracts the token from an "Authorization: Bearer" header.
// The scheme is case-insensitive (RFC 7235 §2.1).
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	return token, ok && strings.EqualFold(scheme, "Bearer") && token != ""
}

// whoamiResponse is the body of GET /v1/whoami.
type whoamiResponse struct {
	ClientID           string `json:"client_id"`
	IdleTimeoutSeconds int64  `json:"idle_timeout_seconds"`
}

// handleWhoami is the probe endpoint: the cheapest protected call, used to
// check that a token is still accepted.
func (s *Sandbox) handleWhoami(w http.ResponseWriter, r *http.Request) {
	if !methodAllowed(w, r, http.MethodGet) {
		return
	}
	writeJSON(w, http.StatusOK, whoamiResponse{
		ClientID:           clientIDFrom(r.Context()),
		IdleTimeoutSeconds: int64(s.idle / time.Second),
	})
}
