package auth_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/eeo-gateway/eeo-gateway/auth"
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
