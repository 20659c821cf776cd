package server

import (
	"context"
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
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
	return &eeov1.GetTokenResponse{Token: tokenProto(tok)}, nil
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

func (s *tokenService) ListAccounts(_ context.Context, req *eeov1.ListAccountsRequest) (*eeov1.ListAccountsResponse, error) {
	states, next, err := paging.Page(s.tokens.Accounts(), req.GetPageSize(), req.GetPageToken(), "ListAccounts")
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

func tokenProto(t auth.Token) *eeov1.Token {
	return &eeov1.Token{
		Account:        t.Account,
		AccessToken:    t.AccessToken.Reveal(),
		TokenType:      t.TokenType,
		IssueTime:      timestamp(t.IssuedAt),
		IdleExpireTime: timestamp(t.IdleDeadline),
		ExpireTime:     timestamp(t.ExpiresAt),
		IdleTimeout:    durationpb.New(t.IdleTimeout),
		Fingerprint:    t.Fingerprint,
	}
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
