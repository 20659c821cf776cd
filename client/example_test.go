package client_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/eeo-gateway/eeo-gateway/client"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"golang.org/x/oauth2"
)

// An oauth2.TokenSource for account "demo": code built on x/oauth2 calls
// EEO with it unchanged.
func ExampleClient_TokenSource() {
	g, err := startGateway()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer g.Close()
	conn, err := g.Dial() // your gRPC connection to the gateway
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()

	c := client.New(conn)
	ts := c.TokenSource("demo")
	tok, err := ts.Token()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("token type:", tok.Type())
	fmt.Println("token fingerprint has 16 hex digits:", len(client.Fingerprint(tok)) == 16)
	again, _ := ts.Token()
	fmt.Println("reused until near expiry:", again.AccessToken == tok.AccessToken)

	// x/oauth2's client: every request carries the token.
	eeoHTTP := oauth2.NewClient(context.Background(), ts)
	resp, err := eeoHTTP.Get(g.SandboxURL + "/v1/whoami")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println("EEO says:", resp.Status)
	// Output:
	// token type: Bearer
	// token fingerprint has 16 hex digits: true
	// reused until near expiry: true
	// EEO says: 200 OK
}

// An http.RoundTripper for requests to EEO: when EEO rejects the token
// (here: it revokes every token), the transport reports it to the gateway,
// takes a new one and retries once.
func ExampleClient_Transport() {
	g, err := startGateway()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer g.Close()
	c, conn, err := g.Client() // client.New over a gRPC connection to the gateway
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()

	eeoHTTP := &http.Client{Transport: c.Transport("demo", nil)}
	before, _ := c.TokenSource("demo").Token()

	g.Sandbox.RevokeAll() // EEO revokes the token the gateway has cached
	resp, err := eeoHTTP.Get(g.SandboxURL + "/v1/whoami")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	after, _ := c.TokenSource("demo").Token()
	fmt.Println("EEO says:", resp.Status)
	fmt.Println("new token:", client.Fingerprint(after) != client.Fingerprint(before))
	// Output:
	// EEO says: 200 OK
	// new token: true
}

// Upload a CSV from an io.Reader and wait for EEO's verdict.
func ExampleClient_Upload() {
	g, err := startGateway()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer g.Close()
	c, conn, err := g.Client() // client.New over a gRPC connection to the gateway
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	csv := "participant_id,first_name,last_name,email\n" +
		"P1,Ada,Lovelace,ada@example.com\n" +
		"P2,Alan,Turing,alan@example.com\n"
	imp, err := c.Upload(ctx, &eeov1.ImportMetadata{
		Account:    "demo",
		ImportType: "participants",
		FileName:   "people.csv",
	}, strings.NewReader(csv))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("request id set:", imp.GetRequestId() != "")
	fmt.Println("bytes:", imp.GetSizeBytes())
	done, err := c.WaitImport(ctx, "demo", imp.GetImportId())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(done.GetState(), "rows accepted:", done.GetAcceptedRowCount())
	// Output:
	// request id set: true
	// bytes: 106
	// IMPORT_STATE_COMPLETED rows accepted: 2
}

// Create a report, wait for it, and download it verifying its SHA-256.
func ExampleClient_Download() {
	g, err := startGateway()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer g.Close()
	c, conn, err := g.Client() // client.New over a gRPC connection to the gateway
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	files := eeov1.NewImportReportServiceClient(conn)
	created, err := files.CreateReport(ctx, &eeov1.CreateReportRequest{
		Account: "demo", ReportType: "participants", Parameters: map[string]string{"rows": "3"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	rep, err := c.WaitReport(ctx, "demo", created.GetReport().GetReportId())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rep.GetState())

	var buf bytes.Buffer
	got, err := c.Download(ctx, "demo", rep.GetReportId(), &buf)
	if err != nil {
		fmt.Println(err) // a *client.ChecksumError (DATA_LOSS) if the bytes were damaged
		return
	}
	fmt.Println(got.ContentType)
	fmt.Println("lines:", strings.Count(buf.String(), "\n"))
	fmt.Println("checksum matches the report's:", got.SHA256 == rep.GetSha256())
	// Output:
	// REPORT_STATE_SUCCEEDED
	// text/csv
	// lines: 4
	// checksum matches the report's: true
}
