package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// The banner's report download line names a report that exists: once it is
// ready, the line as printed downloads a file whose SHA-256 the gateway
// vouches for. Its docs line opens the docs page.
func TestDevBannerDownloadLineWorksAsPrinted(t *testing.T) {
	banner, stop := startDev(t)
	defer stop()
	key := regexp.MustCompile(`export EEO_KEY=(\S+)`).FindStringSubmatch(banner)
	grpcAddr := regexp.MustCompile(`grpcurl -plaintext (\S+) list`).FindStringSubmatch(banner)
	line := regexp.MustCompile(`\n  curl -s -H "Authorization: Bearer \$EEO_KEY" (http://\S+/v1/accounts/demo/reports/([^/\s]+):download)\n`).FindStringSubmatch(banner)
	docs := regexp.MustCompile(`Docs +(http://\S+/docs/)`).FindStringSubmatch(banner)
	if key == nil || grpcAddr == nil || line == nil || docs == nil {
		t.Fatalf("banner lacks the key, the gRPC address, the download line or the docs URL:\n%s", banner)
	}
	url, reportID := line[1], line[2]
	if reportID == "REPORT_ID" {
		t.Fatalf("the download line has a placeholder, not a report made at start-up:\n%s", banner)
	}

	// Wait for the report as a user would, then run the line.
	conn, err := grpc.NewClient(grpcAddr[1], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+key[1])
	watch, err := eeov1.NewImportReportServiceClient(conn).WatchReport(ctx, &eeov1.WatchReportRequest{Account: "demo", ReportId: reportID})
	if err != nil {
		t.Fatal(err)
	}
	var state eeov1.ReportState
	for {
		msg, err := watch.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("watching %s: %v", reportID, err)
		}
		state = msg.GetReport().GetState()
	}
	if state != eeov1.ReportState_REPORT_STATE_SUCCEEDED {
		t.Fatalf("the start-up report ended %v", state)
	}

	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+key[1])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	sum := sha256.Sum256(body)
	if resp.StatusCode != http.StatusOK || err != nil || len(body) == 0 || resp.Header.Get("X-Content-SHA256") != hex.EncodeToString(sum[:]) {
		t.Fatalf("download line: HTTP %d, %d bytes, X-Content-SHA256 %q, err %v", resp.StatusCode, len(body), resp.Header.Get("X-Content-SHA256"), err)
	}

	page, err := http.Get(docs[1])
	if err != nil {
		t.Fatal(err)
	}
	page.Body.Close()
	if page.StatusCode != http.StatusOK {
		t.Fatalf("docs line: HTTP %d", page.StatusCode)
	}
	http.DefaultClient.CloseIdleConnections()
}

// The banner calls grpcurl the way the README says to get it: from PATH,
// else the one `make tools` built into .bin, by absolute path so the
// commands work from any directory.
func TestBannerFindsGRPCurl(t *testing.T) {
	onPath := func(string) (string, error) { return "/usr/local/bin/grpcurl", nil }
	notOnPath := func(string) (string, error) { return "", errors.New("not found") }
	abs, _ := filepath.Abs(localGRPCurl)
	for _, c := range []struct {
		name      string
		lookPath  func(string) (string, error)
		exists    func(string) bool
		wantCmd   string
		wantFound bool
	}{
		{"on PATH", onPath, func(string) bool { return true }, "grpcurl", true},
		{"built by make tools", notOnPath, func(p string) bool { return p == abs }, abs, true},
		{"nowhere", notOnPath, func(string) bool { return false }, localGRPCurl, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd, found := grpcurlCommand(c.lookPath, c.exists)
			if cmd != c.wantCmd || found != c.wantFound {
				t.Fatalf("grpcurlCommand = %q, %v; want %q, %v", cmd, found, c.wantCmd, c.wantFound)
			}
		})
	}
	// The Makefile builds grpcurl where the banner looks for it.
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^BIN\s*:=\s*\$\(CURDIR\)/\.bin$`).Match(mk) || !regexp.MustCompile(`cmd/grpcurl`).Match(mk) {
		t.Fatal("the Makefile no longer builds grpcurl into .bin")
	}
}

// Without grpcurl the banner says how to get it, and the commands use the
// path `make tools` builds.
func TestBannerWithoutGRPCurlSaysMakeTools(t *testing.T) {
	var b strings.Builder
	printDevBanner(&b, banner{Key: "k", GRPC: "127.0.0.1:9090", HTTP: "127.0.0.1:8080", GRPCurl: localGRPCurl})
	out := b.String()
	if !regexp.MustCompile(`'make tools' in the repository builds \.bin/grpcurl`).MatchString(out) ||
		!regexp.MustCompile(`\n  \.bin/grpcurl -plaintext 127\.0\.0\.1:9090 list\n`).MatchString(out) ||
		!regexp.MustCompile(`reports/REPORT_ID:download`).MatchString(out) {
		t.Fatalf("banner:\n%s", out)
	}
}
