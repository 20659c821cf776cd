package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/eeo-gateway/eeo-gateway/server"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2cClient speaks only HTTP/2 with prior knowledge, as a sidecar does;
// dial, if set, replaces the TCP dialer.
func h2cClient(dial func(context.Context, string, string) (net.Conn, error)) *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: &p, DialContext: dial}}
}

func TestRESTOverH2C(t *testing.T) {
	g := startGateway(t, func(c *server.Config) { c.RESTUnencryptedHTTP2 = true })
	client := h2cClient(nil)
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, g.baseURL+"/v1/accounts/demo/token", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Token struct{ AccessToken string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusOK || body.Token.AccessToken == "" {
		t.Errorf("GetToken over h2c: %s %d, token %q; want HTTP/2 200 with a token", resp.Proto, resp.StatusCode, body.Token.AccessToken)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q; want no-store, as over HTTP/1.1", got)
	}
	// HTTP/1.1 clients are served as before on the same listener.
	if resp, _ := g.restCall(t, http.MethodGet, "/v1/accounts/demo/token"); resp.ProtoMajor != 1 || resp.StatusCode != http.StatusOK {
		t.Errorf("GetToken over HTTP/1.1 next to h2c: %s %d", resp.Proto, resp.StatusCode)
	}
}

func TestH2CIsOffByDefault(t *testing.T) {
	g := startGateway(t, nil)
	client := h2cClient(nil)
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, g.baseURL+"/v1/accounts/demo/token", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("h2c request served (%s %d) without RESTUnencryptedHTTP2", resp.Proto, resp.StatusCode)
	}
}

// TestH2CBodyCapHolds: a JSON body over the 1 MiB cap is refused over h2c
// as over HTTP/1.1.
func TestH2CBodyCapHolds(t *testing.T) {
	g := startGateway(t, func(c *server.Config) { c.RESTUnencryptedHTTP2 = true })
	h2c := h2cClient(nil)
	defer h2c.CloseIdleConnections()
	huge := `{"reportType":"` + strings.Repeat("a", 2<<20) + `"}`
	for _, c := range []struct {
		name   string
		client *http.Client
		major  int
	}{{"HTTP/1.1", http.DefaultClient, 1}, {"h2c", h2c, 2}} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, g.baseURL+"/v1/accounts/demo/reports", strings.NewReader(huge))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		resp.Body.Close()
		if resp.ProtoMajor != c.major || resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: 2 MiB JSON body: %s %d; want 400", c.name, resp.Proto, resp.StatusCode)
		}
	}
}

// TestH2CBodyHasTotalReadDeadline is TestRESTBodyHasTotalReadDeadline over
// h2c: a stalled JSON body is cut off at the body read timeout.
func TestH2CBodyHasTotalReadDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rest, _, stop := bubbleGateway(t, func(c *server.Config) {
			c.RESTUnencryptedHTTP2 = true
			c.Limits.BodyReadTimeout = 5 * time.Second
		})
		defer stop()
		client := h2cClient(func(context.Context, string, string) (net.Conn, error) { return rest.dial(), nil })
		defer client.CloseIdleConnections()
		body, stall := io.Pipe()
		defer stall.Close()
		go io.WriteString(stall, `{"reportTy`)
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://gateway/v1/accounts/demo/reports", body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		start := time.Now()
		resp, err := client.Do(req)
		if elapsed := time.Since(start); elapsed < 5*time.Second || elapsed > 6*time.Second {
			t.Errorf("stalled h2c body cut off after %v; want the 5s body read timeout", elapsed)
		}
		if err == nil {
			resp.Body.Close()
			if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%s %d; want HTTP/2 400 or a reset stream", resp.Proto, resp.StatusCode)
			}
		}
	})
}

// TestH2CBoundsConcurrentStreams: one connection holds at most 100
// requests in flight; the 101st stream is refused, the first 100 are not.
func TestH2CBoundsConcurrentStreams(t *testing.T) {
	g := startGateway(t, func(c *server.Config) { c.RESTUnencryptedHTTP2 = true })
	conn, err := net.Dial("tcp", strings.TrimPrefix(g.baseURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A guard against a hang, not a timing assertion.
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(conn, conn)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	var hdr bytes.Buffer
	enc := hpack.NewEncoder(&hdr)
	const streams = 101
	for i := range streams {
		hdr.Reset()
		for _, f := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":authority", "gateway"},
			{":path", "/v1/accounts/demo/reports"}, {"content-type", "application/json"}, {"content-length", strconv.Itoa(100)}} {
			enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		// Headers but no body yet: every handler waits for its body.
		if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: uint32(2*i + 1), BlockFragment: hdr.Bytes(), EndHeaders: true}); err != nil {
			t.Fatal(err)
		}
	}
	const last = 2*(streams-1) + 1
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("no stream refused among %d: %v", streams, err)
		}
		switch f := f.(type) {
		case *http2.RSTStreamFrame:
			if f.StreamID != last {
				t.Fatalf("stream %d reset (%v); want only stream %d, the 101st, refused", f.StreamID, f.ErrCode, last)
			}
			return
		case *http2.GoAwayFrame:
			t.Fatalf("connection closed (%v) instead of refusing stream %d", f.ErrCode, last)
		case *http2.SettingsFrame:
			if !f.IsAck() {
				if err := fr.WriteSettingsAck(); err != nil && !errors.Is(err, net.ErrClosed) {
					t.Fatal(err)
				}
			}
		}
	}
}
