package config_test

import (
	"fmt"
	"io/fs"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/config"
)

func ExampleLoad() {
	// In production: config.Load(path, os.Getenv, os.ReadFile). Here the
	// file and the environment are in memory.
	const file = `
log_format: text
accounts:
  - name: acme
    token_url: https://eeo.example.com/oauth2/token
    base_url: https://eeo.example.com/api
    client_id: acme-client
    client_secret_env: ACME_EEO_SECRET
`
	environ := map[string]string{
		"ACME_EEO_SECRET":                "hunter2",
		"EEO_GATEWAY_TOKEN_IDLE_TIMEOUT": "1800", // seconds; beats the default
	}
	readFile := func(path string) ([]byte, error) {
		if path == "/etc/eeo-gateway.yaml" {
			return []byte(file), nil
		}
		return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
	}
	getenv := func(name string) string { return environ[name] }

	c, err := config.Load("/etc/eeo-gateway.yaml", getenv, readFile)
	if err != nil {
		fmt.Println(err)
		return
	}
	a := c.Accounts[0]
	fmt.Println("listen:", c.GRPCAddr, c.HTTPAddr)
	fmt.Println("log:", c.LogLevel, c.LogFormat)
	fmt.Println("idle timeout:", c.Token.IdleTimeout)
	fmt.Printf("account: %s (%s auth), secret %v\n", a.Name, a.AuthStyle, a.ClientSecret)

	// The same file without the secret in the environment.
	delete(environ, "ACME_EEO_SECRET")
	_, err = config.Load("/etc/eeo-gateway.yaml", getenv, readFile)
	fmt.Println(err)
	// Output:
	// listen: 127.0.0.1:9090 127.0.0.1:8080
	// log: info text
	// idle timeout: 30m0s
	// account: acme (basic auth), secret [REDACTED]
	// accounts[0].client_secret_env: environment variable ACME_EEO_SECRET is unset or empty
}

func ExampleDev() {
	cfg, err := config.Dev(func(string) string { return "" }, config.Account{
		Name:         "demo",
		TokenURL:     "http://127.0.0.1:8099/oauth2/token",
		BaseURL:      "http://127.0.0.1:8099",
		ClientID:     "demo-client",
		ClientSecret: auth.NewSecret("generated"),
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(cfg.GRPCAddr, cfg.HTTPAddr, cfg.LogFormat, cfg.Accounts[0].AuthStyle, cfg.Accounts[0].ClientSecret)
	// Output: 127.0.0.1:9090 127.0.0.1:8080 text basic [REDACTED]
}

func ExampleCheck() {
	// In production: config.Check(path, os.Getenv, os.ReadFile, …).
	const file = `log_format: xml
accounts:
  - name: acme
    token_url: http://eeo.example.com/oauth2/token
    base_url: https://eeo.example.com/api
    client_secret_env: ACME_SECRET
`
	readFile := func(string) ([]byte, error) { return []byte(file), nil }
	r := config.Check("gateway.yaml", func(string) string { return "" }, readFile, config.CheckOptions{})
	for _, p := range r.Problems {
		fmt.Println(p)
	}
	// Output:
	// gateway.yaml:1:1: error: log_format: must be one of json, text; got "xml"
	// gateway.yaml:3:5: error: accounts[0].client_id: required
	// gateway.yaml:4:5: error: accounts[0].token_url: plain http to a host that is not loopback would send the client secret and access tokens unencrypted; use https, or set accounts[0].allow_insecure_upstream: true if something else encrypts the path
	// gateway.yaml:6:5: warning: accounts[0].client_secret_env: environment variable ACME_SECRET is unset or empty
}
