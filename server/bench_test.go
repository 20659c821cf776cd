package server_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkGetTokenGRPC measures a cache-hit GetToken over a real loopback
// gRPC connection: the cost a caller pays per token.
func BenchmarkGetTokenGRPC(b *testing.B) {
	g := startGateway(b, nil)
	client := eeov1.NewTokenServiceClient(g.conn)
	req := &eeov1.GetTokenRequest{Account: "demo"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := client.GetToken(b.Context(), req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkGetTokenREST is the same through the REST facade.
func BenchmarkGetTokenREST(b *testing.B) {
	g := startGateway(b, nil)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	url := g.baseURL + "/v1/accounts/demo/token"
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}

// BenchmarkGetTokenRESTServer is BenchmarkGetTokenREST with a client that
// allocates nothing — pre-rendered request bytes on a keep-alive
// connection per goroutine, the response framed by its Content-Length — so
// allocs/op and B/op are the gateway's own per REST call. Metrics are on,
// as in production.
func BenchmarkGetTokenRESTServer(b *testing.B) {
	g := startGateway(b, withMetrics(prometheus.NewRegistry()))
	addr := strings.TrimPrefix(g.baseURL, "http://")
	req := []byte("GET /v1/accounts/demo/token HTTP/1.1\r\nHost: " + addr + "\r\nUser-Agent: bench\r\n\r\n")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			b.Error(err)
			return
		}
		defer conn.Close()
		r := bufio.NewReader(conn)
		for pb.Next() {
			if err := rawGet(conn, r, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// rawGet writes req and reads a 200 response with a Content-Length body.
func rawGet(conn net.Conn, r *bufio.Reader, req []byte) error {
	if _, err := conn.Write(req); err != nil {
		return err
	}
	status, err := r.ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(status, []byte("HTTP/1.1 200 ")) {
		return fmt.Errorf("status line %q", status)
	}
	length := -1
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
			length = 0
			for _, d := range v {
				length = length*10 + int(d-'0')
			}
		}
	}
	if length < 0 {
		return errors.New("no Content-Length")
	}
	_, err = r.Discard(length)
	return err
}
