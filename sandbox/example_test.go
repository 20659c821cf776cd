package sandbox_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/eeo-gateway/eeo-gateway/sandbox"
)

func ExampleNew() {
	sb := sandbox.New(sandbox.Options{
		Clients: []sandbox.Client{{ID: "demo", Secret: "s3cret+/="}},
	})
	ts := httptest.NewServer(sb)
	defer ts.Close()

	// Client credentials grant; Basic credentials are form-url-encoded first
	// (RFC 6749 §2.3.1).
	body := url.Values{"grant_type": {"client_credentials"}}.Encode()
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/oauth2/token", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape("demo"), url.QueryEscape("s3cret+/="))
	resp, err := ts.Client().Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, tok.TokenType, tok.ExpiresIn)

	// Use the token on the probe endpoint.
	req, _ = http.NewRequest(http.MethodGet, ts.URL+"/v1/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = ts.Client().Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	var who struct {
		ClientID string `json:"client_id"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&who)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, who.ClientID)
	// Output:
	// 200 Bearer 3599
	// 200 demo
}
