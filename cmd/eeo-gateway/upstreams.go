package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/config"
	"github.com/eeo-gateway/eeo-gateway/eeo"
	"github.com/eeo-gateway/eeo-gateway/server"
)

// secretCheckInterval is how often client secret files are checked for
// rotation.
const secretCheckInterval = 10 * time.Second

// newTokenCache builds one client-credentials fetcher per account. The HTTP
// client's own timeouts bound connection set-up; the cache's fetch timeout
// bounds the whole exchange.
// With shared set (Redis), replicas share one token per account through it.
func newTokenCache(cfg config.Config, logger *slog.Logger, obs *observability, shared auth.SharedStore) (*auth.Cache, map[string]*auth.FileSecret, error) {
	base := newTokenHTTPClient(cfg).Transport
	accounts := make([]auth.Account, 0, len(cfg.Accounts))
	files := map[string]*auth.FileSecret{}
	for _, a := range cfg.Accounts {
		fetcher, fs, err := newFetcher(a, &http.Client{Transport: obs.tokenTransport(base, a.Name)})
		if err != nil {
			return nil, nil, err
		}
		if fs != nil {
			files[a.Name] = fs
		}
		accounts = append(accounts, auth.Account{Name: a.Name, Fetcher: fetcher})
	}
	t := cfg.Token
	cache, err := auth.NewCache(accounts, auth.Options{
		IdleTimeout:    t.IdleTimeout.Std(),
		IdleMargin:     t.IdleMargin.Std(),
		ExpiryMargin:   t.ExpiryMargin.Std(),
		MaxLifetime:    t.MaxLifetime.Std(),
		FetchTimeout:   t.FetchTimeout.Std(),
		BackoffInitial: t.BackoffInitial.Std(),
		BackoffMax:     t.BackoffMax.Std(),
		Logger:         logger.With("component", "token-cache"),
		Shared:         shared,
	})
	return cache, files, err
}

// newFetcher builds account a's client-credentials token fetcher. A secret
// in a file is returned too, to be watched: it can be rotated without a
// restart.
func newFetcher(a config.Account, httpClient *http.Client) (*auth.ClientCredentials, *auth.FileSecret, error) {
	style := auth.AuthStyleBasic
	if a.AuthStyle == config.AuthStyleForm {
		style = auth.AuthStyleForm
	}
	fetcher := &auth.ClientCredentials{
		TokenURL:     a.TokenURL,
		ClientID:     a.ClientID,
		ClientSecret: a.ClientSecret,
		Scopes:       a.Scopes,
		AuthStyle:    style,
		HTTPClient:   httpClient,
	}
	if a.ClientSecretFile == "" {
		return fetcher, nil, nil
	}
	fs, err := auth.NewFileSecret(a.ClientSecretFile)
	if err != nil {
		return nil, nil, err
	}
	fetcher.SecretSource = fs
	return fetcher, fs, nil
}

// newTokenHTTPClient is the HTTP client for token requests.
func newTokenHTTPClient(cfg config.Config) *http.Client {
	transport := upstreamTransport(cfg.Upstream.DialTimeout.Std())
	transport.ResponseHeaderTimeout = cfg.Token.FetchTimeout.Std()
	return &http.Client{Transport: transport}
}

// newUpstreams builds each account's EEO import/report client, tuned by
// the upstream section of the configuration. The transport waits for 100 Continue before sending an upload's body, so EEO
// can refuse a stale token before the body is consumed; no overall client
// timeout, since uploads and downloads may take many minutes.
func newUpstreams(cfg config.Config, tokens eeo.TokenSource, logger *slog.Logger, obs *observability) (map[string]server.Upstream, error) {
	transport := upstreamTransport(cfg.Upstream.DialTimeout.Std())
	transport.ExpectContinueTimeout = time.Second
	transport.ResponseHeaderTimeout = time.Minute
	httpClient := &http.Client{Transport: obs.upstreamTransport(transport, "api")}

	upstreams := make(map[string]server.Upstream, len(cfg.Accounts))
	for _, a := range cfg.Accounts {
		opts := cfg.Upstream.ClientOptions()
		opts.HTTPClient = httpClient
		opts.Logger = logger.With("component", "eeo", "account", a.Name)
		opts.Observer = obs.upstreamObserver(a.Name)
		c, err := eeo.New(a.Name, a.BaseURL, tokens, opts)
		if err != nil {
			return nil, fmt.Errorf("account %q: %w", a.Name, err)
		}
		upstreams[a.Name] = c
	}
	return upstreams, nil
}

// upstreamTransport bounds connection set-up to EEO: dial and TLS handshake
// each fail within dial (upstream.dial_timeout) instead of the OS's minutes,
// so a blackholed EEO shows up as UNAVAILABLE while callers still wait.
func upstreamTransport(dial time.Duration) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: dial, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = dial
	return t
}
