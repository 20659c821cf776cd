package main

import (
	"io"
	"net"
	"text/template"
)

var bannerTemplate = template.Must(template.New("banner").Parse(`
eeo-gateway is serving in dev mode on an embedded EEO sandbox ({{.Sandbox}}).
  gRPC     {{.GRPC}}
  REST     http://{{.HTTP}}
  OpenAPI  http://{{.HTTP}}/openapi.json
{{- if .Admin}}
  Admin    http://{{.Admin}}/metrics  (also /livez, /readyz)
{{- end}}

Callers authenticate with an API key; this run's (set {{.KeyEnv}} to fix it):
  export EEO_KEY={{.Key}}

Try (grpcurl: run 'make tools', then use .bin/grpcurl):
  grpcurl -plaintext {{.GRPC}} list
  grpcurl -plaintext -H "authorization: Bearer $EEO_KEY" -d '{"account":"demo"}' {{.GRPC}} eeo.v1.TokenService/GetToken
  grpcurl -plaintext -H "authorization: Bearer $EEO_KEY" {{.GRPC}} eeo.v1.TokenService/ListAccounts
  grpcurl -plaintext {{.GRPC}} grpc.health.v1.Health/Check
  curl -s -H "Authorization: Bearer $EEO_KEY" http://{{.HTTP}}/v1/accounts/demo/token
  curl -s -H "Authorization: Bearer $EEO_KEY" -X POST http://{{.HTTP}}/v1/accounts/demo/token:refresh
  curl -s -H "Authorization: Bearer $EEO_KEY" -X DELETE http://{{.HTTP}}/v1/accounts/demo/token
  curl -s -H "Authorization: Bearer $EEO_KEY" http://{{.HTTP}}/v1/accounts
  printf 'participant_id,first_name,last_name,email\n1,Ada,Lovelace,ada@example.com\n' |
    curl -s -H "Authorization: Bearer $EEO_KEY" -H 'Content-Type: text/csv' --data-binary @- 'http://{{.HTTP}}/v1/accounts/demo/imports?importType=participants&fileName=people.csv'
  curl -s -H "Authorization: Bearer $EEO_KEY" http://{{.HTTP}}/v1/accounts/demo/imports
  curl -s -H "Authorization: Bearer $EEO_KEY" -d '{"reportType":"grants","parameters":{"as_of":"2026-01-31","rows":"5"}}' http://{{.HTTP}}/v1/accounts/demo/reports
  curl -s -H "Authorization: Bearer $EEO_KEY" http://{{.HTTP}}/v1/accounts/demo/reports/REPORT_ID:download

Press Ctrl-C to stop.
`))

// printDevBanner prints copy-paste commands with the addresses actually bound.
// admin is nil when the admin listener is off.
func printDevBanner(w io.Writer, key string, sandbox, grpc, http, admin net.Addr) {
	adminAddr := ""
	if admin != nil {
		adminAddr = admin.String()
	}
	bannerTemplate.Execute(w, map[string]string{
		"Key":     key,
		"KeyEnv":  devAPIKeyEnv,
		"Sandbox": "http://" + sandbox.String(),
		"GRPC":    grpc.String(),
		"HTTP":    http.String(),
		"Admin":   adminAddr,
	})
}

// bannerEnd is the banner's last line; tests read up to it.
const bannerEnd = "Press Ctrl-C to stop."
