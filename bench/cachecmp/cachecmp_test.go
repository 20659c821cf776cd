package cachecmp_test

import (
	"context"
	"testing"
	"time"

	googleauth "cloud.google.com/go/auth"
	"github.com/eeo-gateway/eeo-gateway/auth"
	"golang.org/x/oauth2"
)

// The one token every source hands out: an hour of life, so no benchmark
// ever refreshes.
const (
	accessToken = "eyJhbGciOiJSUzI1NiJ9.bench-token-of-a-realistic-length.0123456789abcdef"
	lifetime    = time.Hour
)

// memFetcher is the gateway's in-memory source.
type memFetcher struct{}

func (memFetcher) FetchToken(context.Context) (auth.Grant, error) {
	return auth.Grant{AccessToken: auth.NewSecret(accessToken), TokenType: "Bearer", ExpiresIn: lifetime}, nil
}

// memOAuth2 is x/oauth2's in-memory source.
type memOAuth2 struct{}

func (memOAuth2) Token() (*oauth2.Token, error) {
	return &oauth2.Token{AccessToken: accessToken, TokenType: "Bearer", Expiry: time.Now().Add(lifetime)}, nil
}

// memGoogle is cloud.google.com/go/auth's in-memory source.
type memGoogle struct{}

func (memGoogle) Token(context.Context) (*googleauth.Token, error) {
	return &googleauth.Token{Value: accessToken, Type: "Bearer", Expiry: time.Now().Add(lifetime)}, nil
}

// hitter returns a token from a warm cache, or fails the benchmark.
type hitter func(ctx context.Context) error

func gateway(b *testing.B) hitter {
	c, err := auth.NewCache([]auth.Account{{Name: "demo", Fetcher: memFetcher{}}}, auth.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	return func(ctx context.Context) error {
		_, err := c.Token(ctx, "demo")
		return err
	}
}

func xOAuth2(*testing.B) hitter {
	src := oauth2.ReuseTokenSource(nil, memOAuth2{})
	return func(context.Context) error {
		_, err := src.Token()
		return err
	}
}

func googleAuth(*testing.B) hitter {
	tp := googleauth.NewCachedTokenProvider(memGoogle{}, nil)
	return func(ctx context.Context) error {
		_, err := tp.Token(ctx)
		return err
	}
}

var caches = []struct {
	name string
	new  func(*testing.B) hitter
}{
	{"eeo-gateway", gateway},
	{"x-oauth2-ReuseTokenSource", xOAuth2},
	{"google-auth-CachedTokenProvider", googleAuth},
}

// BenchmarkHitParallel is target 1 of the benchmark suite: a warm hit from
// every core at once.
func BenchmarkHitParallel(b *testing.B) {
	for _, c := range caches {
		b.Run(c.name, func(b *testing.B) {
			hit := c.new(b)
			ctx := context.Background()
			if err := hit(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := hit(ctx); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkHit is a warm hit from one goroutine.
func BenchmarkHit(b *testing.B) {
	for _, c := range caches {
		b.Run(c.name, func(b *testing.B) {
			hit := c.new(b)
			ctx := context.Background()
			if err := hit(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := hit(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestEveryCacheHandsOutTheSourceToken keeps the comparison honest: all
// three return the same token from a warm cache without calling the source
// again.
func TestEveryCacheHandsOutTheSourceToken(t *testing.T) {
	ctx := context.Background()
	c, err := auth.NewCache([]auth.Account{{Name: "demo", Fetcher: memFetcher{}}}, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 2 {
		tok, err := c.Token(ctx, "demo")
		if err != nil || tok.AccessToken.Reveal() != accessToken {
			t.Fatalf("gateway: %v", err)
		}
	}
	src := oauth2.ReuseTokenSource(nil, memOAuth2{})
	for range 2 {
		if tok, err := src.Token(); err != nil || tok.AccessToken != accessToken {
			t.Fatalf("x/oauth2: %v", err)
		}
	}
	tp := googleauth.NewCachedTokenProvider(memGoogle{}, nil)
	for range 2 {
		if tok, err := tp.Token(ctx); err != nil || tok.Value != accessToken {
			t.Fatalf("google auth: %v", err)
		}
	}
}
