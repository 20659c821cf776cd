package server

import (
	"context"
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/accountview"
	"github.com/eeo-gateway/eeo-gateway/internal/callnote"
	"github.com/eeo-gateway/eeo-gateway/internal/paging"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TokenCache is what TokenService needs from the token cache; *auth.Cache
// implements it.
type TokenCache interface {
	Token(ctx context.Context, account string) (auth.Token, error)
	Refresh(ctx context.Context, account string) (auth.Token, error)
	InvalidateFingerprint(account, fingerprint string) (bool, error)
	Drop(account string) (bool, error)
	Accounts() []auth.AccountState
}

// tokenService implements eeov1.TokenServiceServer on a TokenCache.
type tokenService struct {
	eeov1.UnimplementedTokenServiceServer
	tokens TokenCache
	now    func() time.Time
}

func (s *tokenService) GetToken(ctx context.Context, req *eeov1.GetTokenRequest) (*eeov1.GetTokenResponse, error) {
	if err := requireAccount(req.GetAccount()); err != nil {
		return nil, err
	}
	tok, err := s.tokens.Token(ctx, req.GetAccount())
	if err != nil {
		return nil, toStatus(err, s.now())
	}
	if !tok.Fetched {
		// Routine: the access guard leaves it out of the audit log.
		callnote.CacheHit(ctx)
	}
	// One allocation for the response and everything in it.
	m := new(struct {
		resp eeov1.GetTokenResponse
		tokenMessages
	})
	m.resp.Token = m.fill(tok)
	return &m.resp, nil
}

func (s *tokenService) RefreshToken(ctx context.Context, req *eeov1.RefreshTokenRequest) (*eeov1.RefreshTokenResponse, error) {
	if err := requireAccount(req.GetAccount()); err != nil {
		return nil, err
	}
	tok, err := s.tokens.Refresh(ctx, req.GetAccount())
	if err != nil {
		return nil, toStatus(err, s.now())
	}
	return &eeov1.RefreshTokenResponse{Token: tokenProto(tok)}, nil
}

func (s *tokenService) InvalidateToken(_ context.Context, req *eeov1.InvalidateTokenRequest) (*eeov1.InvalidateTokenResponse, error) {
	if err := requireAccount(req.GetAccount()); err != nil {
		return nil, err
	}
	var dropped bool
	var err error
	if fp := req.GetFingerprint(); fp != "" {
		dropped, err = s.tokens.InvalidateFingerprint(req.GetAccount(), fp)
	} else {
		dropped, err = s.tokens.Drop(req.GetAccount())
	}
	if err != nil {
		return nil, toStatus(err, s.now())
	}
	return &eeov1.InvalidateTokenResponse{Invalidated: dropped}, nil
}

// ListAccounts pages through the accounts the caller may see, filtered
// before paging (accountview, set by the access guard), so every page but
// the last holds page_size accounts.
func (s *tokenService) ListAccounts(ctx context.Context, req *eeov1.ListAccountsRequest) (*eeov1.ListAccountsResponse, error) {
	states, scope := visibleAccounts(ctx, s.tokens.Accounts())
	states, next, err := paging.Page(states, req.GetPageSize(), req.GetPageToken(), scope)
	if err != nil {
		return nil, err
	}
	resp := &eeov1.ListAccountsResponse{Accounts: make([]*eeov1.Account, 0, len(states)), NextPageToken: next}
	for _, st := range states {
		resp.Accounts = append(resp.Accounts, &eeov1.Account{
			Name:             st.Name,
			TokenState:       tokenStateProto(st.State),
			IssueTime:        timestamp(st.IssuedAt),
			LastUseTime:      timestamp(st.LastUsedAt),
			IdleExpireTime:   timestamp(st.IdleDeadline),
			ExpireTime:       timestamp(st.ExpiresAt),
			TokenFingerprint: st.Fingerprint,
			FetchCount:       st.Fetches,
			LastErrorReason:  reason(st.LastError),
			LastErrorTime:    timestamp(st.LastErrorAt),
			RetryTime:        timestamp(st.RetryAt),
		})
	}
	return resp, nil
}

// visibleAccounts returns the accounts of all that ctx's caller may see,
// and the paging scope of that list. A restricted view binds the scope to
// itself: its tokens are offsets into its own list, which another view
// must refuse rather than read as an offset into a different one.
func visibleAccounts(ctx context.Context, all []auth.AccountState) ([]auth.AccountState, string) {
	view, ok := accountview.From(ctx)
	if !ok {
		return all, "ListAccounts"
	}
	// A new slice: the cache's may not be ours to reorder.
	out := make([]auth.AccountState, 0, len(all))
	for _, st := range all {
		if view.Visible(st.Name) {
			out = append(out, st)
		}
	}
	return out, "ListAccounts\x00view\x00" + view.Scope()
}

func tokenProto(t auth.Token) *eeov1.Token { return new(tokenMessages).fill(t) }

// tokenMessages is a Token message and the messages it points to, to be
// allocated together: GetToken is the hot path, and a Token built field
// by field was six allocations (its three timestamps and its duration
// each one) where one does. The messages are only ever used in place,
// through pointers, never copied.
type tokenMessages struct {
	tok                       eeov1.Token
	issue, idleExpire, expire timestamppb.Timestamp
	idleTimeout               durationpb.Duration
}

// fill makes m's Token t's and returns it.
func (m *tokenMessages) fill(t auth.Token) *eeov1.Token {
	m.tok.Account = t.Account
	m.tok.AccessToken = t.AccessToken.Reveal()
	m.tok.TokenType = t.TokenType
	m.tok.IssueTime = timestampIn(&m.issue, t.IssuedAt)
	m.tok.IdleExpireTime = timestampIn(&m.idleExpire, t.IdleDeadline)
	m.tok.ExpireTime = timestampIn(&m.expire, t.ExpiresAt)
	m.idleTimeout.Seconds = int64(t.IdleTimeout / time.Second)
	m.idleTimeout.Nanos = int32(t.IdleTimeout % time.Second)
	m.tok.IdleTimeout = &m.idleTimeout
	m.tok.Fingerprint = t.Fingerprint
	return &m.tok
}

// timestampIn is timestamp, setting *p rather than allocating.
func timestampIn(p *timestamppb.Timestamp, t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	p.Seconds, p.Nanos = t.Unix(), int32(t.Nanosecond())
	return p
}

func tokenStateProto(s auth.TokenState) eeov1.TokenState {
	switch s {
	case auth.StateNone:
		return eeov1.TokenState_TOKEN_STATE_NONE
	case auth.StateFresh:
		return eeov1.TokenState_TOKEN_STATE_FRESH
	case auth.StateRefreshing:
		return eeov1.TokenState_TOKEN_STATE_REFRESHING
	case auth.StateExpired:
		return eeov1.TokenState_TOKEN_STATE_EXPIRED
	}
	return eeov1.TokenState_TOKEN_STATE_UNSPECIFIED
}

// timestamp leaves unset times unset rather than sending 1970.
func timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
