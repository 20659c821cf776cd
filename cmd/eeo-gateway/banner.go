package main

import (
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"text/template"
)

var bannerTemplate = template.Must(template.New("banner").Parse(`
eeo-gateway is serving in dev mode on an embedded EEO sandbox ({{.Sandbox}}).
  gRPC     {{.GRPC}}
  REST     http://{{.HTTP}}
  Docs     http://{{.HTTP}}/docs/  (Authorize with the key below, then "Try it out")
  OpenAPI  http://{{.HTTP}}/openapi.json
{{- if .Admin}}
  Admin    http://{{.Admin}}/metrics  (also /livez, /readyz)
{{- end}}

Callers authenticate with an API key; this run's (set {{.KeyEnv}} to fix it):
  export EEO_KEY={{.Key}}

{{if .GRPCurlFound}}Try:{{else}}Try (no grpcurl on PATH or in .bin: 'make tools' in the repository builds .bin/grpcurl):{{end}}
  {{.GRPCurl}} -plaintext {{.GRPC}} list
  {{.GRPCurl}} -plaintext -H "authorization: Bearer $EEO_KEY" -d '{"account":"demo"}' {{.GRPC}} eeo.v1.TokenService/GetToken
  {{.GRPCurl}} -plaintext -H "authorization: Bearer $EEO_KEY" {{.GRPC}} eeo.v1.TokenService/ListAccounts
  {{.GRPCurl}} -plaintext {{.GRPC}} grpc.health.v1.Health/Check
  curl -s -H "Authorization: Bearer $EEO_KEY" http://{{.HTTP}}/v1/accounts/demo/token
  curl -s -H "Authorization: Bearer $EEO_KEY" -X POST http://{{.HTTP}}/v1/accounts/demo/token:refresh
  curl -s -H "Authorization: Bearer $EEO_KEY" -X DELETE http://{{.HTTP}}/v1/accounts/demo/token
  curl -s -H "Authorization: Bearer $EEO_KEY" http://{{.HTTP}}/v1/accounts
  printf 'participant_id,first_name,last_name,email\n1,Ada,Lovelace,ada@example.com\n' |
    curl -s -H "Authorization: Bearer $EEO_KEY" -H 'Content-Type: text/csv' --data-binary @- 'http://{{.HTTP}}/v1/accounts/demo/imports?importType=participants&fileName=people.csv'
  curl -s -H "Authorization: Bearer $EEO_KEY" http://{{.HTTP}}/v1/accounts/demo/imports
  curl -s -H "Authorization: Bearer $EEO_KEY" -d '{"reportType":"grants","parameters":{"as_of":"2026-01-31","rows":"5"}}' http://{{.HTTP}}/v1/accounts/demo/reports
{{- if .ReportID}}
  # {{.ReportID}} was created at start-up (ready a few seconds later); its file:
  curl -s -H "Authorization: Bearer $EEO_KEY" http://{{.HTTP}}/v1/accounts/demo/reports/{{.ReportID}}:download
{{- else}}
  # with the reportId the previous command printed:
  curl -s -H "Authorization: Bearer $EEO_KEY" http://{{.HTTP}}/v1/accounts/demo/reports/REPORT_ID:download
{{- end}}

Press Ctrl-C to stop.
`))

// banner is what the dev banner shows.
type banner struct {
	Key, KeyEnv         string
	Sandbox, GRPC, HTTP string
	Admin               string // "" when the admin listener is off
	GRPCurl             string
	GRPCurlFound        bool
	ReportID            string // the sample report made at start-up; "" if that failed
}

// printDevBanner prints copy-paste commands with the addresses actually
// bound and the id of a report that exists.
func printDevBanner(w io.Writer, b banner) {
	bannerTemplate.Execute(w, b)
}

// newBanner fills in the addresses and how to call grpcurl here. admin is
// nil when the admin listener is off.
func newBanner(key string, sandbox, grpc, http, admin net.Addr, reportID string) banner {
	cmd, found := grpcurlCommand(exec.LookPath, fileExists)
	adminAddr := ""
	if admin != nil {
		adminAddr = admin.String()
	}
	return banner{
		Admin: adminAddr,
		Key:   key, KeyEnv: devAPIKeyEnv,
		Sandbox: "http://" + sandbox.String(), GRPC: grpc.String(), HTTP: http.String(),
		GRPCurl: cmd, GRPCurlFound: found, ReportID: reportID,
	}
}

// localGRPCurl is where `make tools` puts grpcurl, relative to the
// repository, which is the working directory of `make run`.
const localGRPCurl = ".bin/grpcurl"

// grpcurlCommand is how the banner's commands call grpcurl: from PATH if it
// is there, else the absolute path of the one `make tools` built (so the
// commands work from any directory), else .bin/grpcurl, which works from
// the repository once `make tools` has run.
func grpcurlCommand(lookPath func(string) (string, error), exists func(string) bool) (cmd string, found bool) {
	if _, err := lookPath("grpcurl"); err == nil {
		return "grpcurl", true
	}
	if abs, err := filepath.Abs(localGRPCurl); err == nil && exists(abs) {
		return abs, true
	}
	return localGRPCurl, false
}

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir()
}

// bannerEnd is the banner's last line; tests read up to it.
const bannerEnd = "Press Ctrl-C to stop."
