package client

import (
	"context"
	"fmt"
	"sync"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"golang.org/x/oauth2"
)

// Keys of the oauth2.Token Extra values the token source sets.
const (
	// ExtraFingerprint is the token's fingerprint (a string): safe to log,
	// and what InvalidateToken compares against.
	ExtraFingerprint = "fingerprint"
	// ExtraAccount is the gateway account the token belongs to (a string).
	ExtraAccount = "account"
)

// TokenSource returns the account's token source: GetToken on the gateway,
// the answer reused until DefaultExpiryDelta (see WithExpiryDelta) before
// the earlier of its expire_time and idle_expire_time. Every call for one
// account returns the same source, shared with PerRPCCredentials and
// Transport, so a token one of them reports bad is dropped for all.
//
// The token's Expiry is that earlier time, and its fingerprint is
// available as Fingerprint(tok). Token has no context; it waits for the
// gateway as long as the connection does.
func (c *Client) TokenSource(account string) oauth2.TokenSource {
	return c.source(account)
}

// Fingerprint returns the gateway's fingerprint of a token from
// TokenSource, or "" for another token.
func Fingerprint(tok *oauth2.Token) string {
	if tok == nil {
		return ""
	}
	fp, _ := tok.Extra(ExtraFingerprint).(string)
	return fp
}

// tokenSource is one account's token, fetched from the gateway and reused.
type tokenSource struct {
	c       *Client
	account string

	// mu is held across a GetToken so concurrent callers share one call.
	mu  sync.Mutex
	tok *oauth2.Token
}

// Token implements oauth2.TokenSource.
func (s *tokenSource) Token() (*oauth2.Token, error) {
	return s.token(context.Background())
}

// token returns the cached token if it is good for longer than the
// expiry delta, else a new one from GetToken.
func (s *tokenSource) token(ctx context.Context) (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != nil && s.c.opts.now().Add(s.c.opts.expiryDelta).Before(s.tok.Expiry) {
		return s.tok, nil
	}
	resp, err := s.c.tokens.GetToken(ctx, &eeov1.GetTokenRequest{Account: s.account})
	if err != nil {
		return nil, fmt.Errorf("client: GetToken for account %q: %w", s.account, err)
	}
	s.tok = toOAuth2(resp.GetToken())
	return s.tok, nil
}

// invalidate reports the token with this fingerprint bad: the gateway drops
// it if it is still its cached token, and so does the source.
func (s *tokenSource) invalidate(ctx context.Context, fingerprint string) error {
	s.mu.Lock()
	if s.tok != nil && Fingerprint(s.tok) == fingerprint {
		s.tok = nil
	}
	s.mu.Unlock()
	_, err := s.c.tokens.InvalidateToken(ctx, &eeov1.InvalidateTokenRequest{Account: s.account, Fingerprint: fingerprint})
	if err != nil {
		return fmt.Errorf("client: InvalidateToken for account %q: %w", s.account, err)
	}
	return nil
}

// toOAuth2 converts the gateway's token. Its Expiry is the earlier of the
// two times the gateway stops serving it: reusing it past idle_expire_time
// would hand out a token EEO may already have timed out.
func toOAuth2(t *eeov1.Token) *oauth2.Token {
	expiry := t.GetExpireTime().AsTime()
	if idle := t.GetIdleExpireTime(); idle != nil && idle.AsTime().Before(expiry) {
		expiry = idle.AsTime()
	}
	tok := &oauth2.Token{
		AccessToken: t.GetAccessToken(),
		TokenType:   t.GetTokenType(),
		Expiry:      expiry,
	}
	return tok.WithExtra(map[string]any{
		ExtraFingerprint: t.GetFingerprint(),
		ExtraAccount:     t.GetAccount(),
	})
}
