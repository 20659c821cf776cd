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

Try (grpcurl: run 'make tools', then use .bin/grpcurl):
  grpcurl -plaintext {{.GRPC}} list
  grpcurl -plaintext -d '{"account":"demo"}' {{.GRPC}} eeo.v1.TokenService/GetToken
  grpcurl -plaintext {{.GRPC}} eeo.v1.TokenService/ListAccounts
  grpcurl -plaintext {{.GRPC}} grpc.health.v1.Health/Check
  curl -s http://{{.HTTP}}/v1/accounts/demo/token
  curl -s -X POST http://{{.HTTP}}/v1/accounts/demo/token:refresh
  curl -s -X DELETE http://{{.HTTP}}/v1/accounts/demo/token
  curl -s http://{{.HTTP}}/v1/accounts
  printf 'participant_id,first_name,last_name,email\n1,Ada,Lovelace,ada@example.com\n' |
    curl -s --data-binary @- -H 'Content-Type: text/csv' 'http://{{.HTTP}}/v1/accounts/demo/imports?importType=participants&fileName=people.csv'
  curl -s http://{{.HTTP}}/v1/accounts/demo/imports
  curl -s -d '{"reportType":"grants","parameters":{"as_of":"2026-01-31","rows":"5"}}' http://{{.HTTP}}/v1/accounts/demo/reports
  curl -s http://{{.HTTP}}/v1/accounts/demo/reports/REPORT_ID:download

Press Ctrl-C to stop.
`))

// printDevBanner prints copy-paste commands with the addresses actually bound.
func printDevBanner(w io.Writer, sandbox, grpc, http net.Addr) {
	bannerTemplate.Execute(w, map[string]string{
		"Sandbox": "http://" + sandbox.String(),
		"GRPC":    grpc.String(),
		"HTTP":    http.String(),
	})
}

// bannerEnd is the banner's last line; tests read up to it.
const bannerEnd = "Press Ctrl-C to stop."
