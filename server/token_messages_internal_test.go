package server

import (
	"context"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// A Token built in one block is the message built field by field: unset
// times stay unset, and durations keep their fraction of a second.
func TestTokenProtoInOneBlock(t *testing.T) {
	at := time.Date(2026, 11, 30, 8, 0, 0, 123456789, time.UTC)
	for _, tok := range []auth.Token{
		{Account: "acme", AccessToken: auth.NewSecret("tok-1"), TokenType: "Bearer", IssuedAt: at, IdleDeadline: at.Add(time.Hour),
			ExpiresAt: at.Add(2 * time.Hour), IdleTimeout: 3599*time.Second + 250*time.Millisecond, Fingerprint: "fp"},
		{Account: "acme", AccessToken: auth.NewSecret("tok-2"), IdleTimeout: 0},
	} {
		want := &eeov1.Token{Account: tok.Account, AccessToken: tok.AccessToken.Reveal(), TokenType: tok.TokenType,
			IdleTimeout: durationpb.New(tok.IdleTimeout), Fingerprint: tok.Fingerprint}
		for _, f := range []struct {
			dst **timestamppb.Timestamp
			t   time.Time
		}{{&want.IssueTime, tok.IssuedAt}, {&want.IdleExpireTime, tok.IdleDeadline}, {&want.ExpireTime, tok.ExpiresAt}} {
			if !f.t.IsZero() {
				*f.dst = timestamppb.New(f.t)
			}
		}
		if got := tokenProto(tok); !proto.Equal(got, want) {
			t.Errorf("tokenProto = %v, want %v", got, want)
		}
	}
}

// cachedToken is a TokenCache whose every token is a hit.
type cachedToken struct {
	TokenCache
	tok auth.Token
}

func (c cachedToken) Token(context.Context, string) (auth.Token, error) { return c.tok, nil }

// A GetToken served from the cache allocates its response once.
func TestGetTokenResponseIsOneAllocation(t *testing.T) {
	at := time.Now()
	s := &tokenService{tokens: cachedToken{tok: auth.Token{Account: "acme", AccessToken: auth.NewSecret("tok"), TokenType: "Bearer",
		IssuedAt: at, IdleDeadline: at, ExpiresAt: at, IdleTimeout: time.Hour}}, now: time.Now}
	req := &eeov1.GetTokenRequest{Account: "acme"}
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() {
		if _, err := s.GetToken(ctx, req); err != nil {
			t.Fatal(err)
		}
	}); n != 1 {
		t.Errorf("GetToken from the cache: %v allocs, want 1", n)
	}
}
