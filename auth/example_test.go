package auth_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/auth/authtest"
)

func ExampleCache() {
	// A stand-in for EEO's Get Access Token API.
	eeo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"abc123","token_type":"Bearer"}`)
	}))
	defer eeo.Close()

	cache, err := auth.NewCache([]auth.Account{{
		Name:    "demo",
		Fetcher: &auth.ClientCredentials{TokenURL: eeo.URL, ClientID: "id", ClientSecret: auth.NewSecret("secret")},
	}}, auth.Options{})
	if err != nil {
		panic(err)
	}
	defer cache.Close()

	tok, err := cache.Token(context.Background(), "demo")
	if err != nil {
		panic(err)
	}
	fmt.Println(tok.TokenType, tok.AccessToken, tok.AccessToken.Reveal())
	fmt.Println("idle timeout:", tok.IdleTimeout)
	// Output:
	// Bearer [REDACTED] abc123
	// idle timeout: 59m59s
}

// Two replicas of the gateway share one token per account through a
// SharedStore: in production auth/redisstore on Redis, here the in-memory
// one from authtest. The second replica takes the token the first fetched
// instead of asking EEO for its own.
func ExampleOptions_shared() {
	eeo := &authtest.Fetcher{} // stands in for EEO's token endpoint
	store := &authtest.SharedStore{}
	var replicas []*auth.Cache
	for range 2 {
		c, err := auth.NewCache([]auth.Account{{Name: "demo", Fetcher: eeo}}, auth.Options{Shared: store})
		if err != nil {
			panic(err)
		}
		defer c.Close()
		replicas = append(replicas, c)
	}
	a, _ := replicas[0].Token(context.Background(), "demo")
	b, _ := replicas[1].Token(context.Background(), "demo")
	fmt.Println("same token:", a.Fingerprint == b.Fingerprint)
	fmt.Println("token requests:", eeo.Calls())
	fmt.Println("shared store up:", replicas[1].SharedStatus().Up)
	// Output:
	// same token: true
	// token requests: 1
	// shared store up: true
}
