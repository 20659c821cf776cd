package tlsfiles_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"github.com/eeo-gateway/eeo-gateway/tlsfiles"
)

// The REST facade serves HTTPS from files that are reloaded when rotated.
// For the gRPC listener, call ServerConfig again, set NextProtos to
// []string{"h2"} and pass it to credentials.NewTLS.
func Example() {
	// Stand-ins for files that cert-manager or an ACME client would write.
	dir, err := os.MkdirTemp("", "tlsfiles-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	ca := testkit.NewCA("Example CA")
	p := ca.Server("gateway.example", testkit.Serial(1))
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	writeAtomic(certFile, p.CertPEM)
	writeAtomic(keyFile, p.KeyPEM)

	r, err := tlsfiles.New(tlsfiles.Options{
		CertFile:   certFile,
		KeyFile:    keyFile,
		CheckEvery: 30 * time.Second,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg := r.ServerConfig()
	cfg.NextProtos = []string{"h2", "http/1.1"} // what this listener speaks

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }),
		TLSConfig:         cfg,
		ReadHeaderTimeout: 10 * time.Second,
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.ServeTLS(ln, "", "") }()
	defer func() { srv.Close(); <-done }()

	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: testkit.Pool(ca)}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("https://" + ln.Addr().String() + "/")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.Proto, resp.TLS.PeerCertificates[0].Subject.CommonName)
	fmt.Println("serving:", r.Current().Subject.CommonName)
	// Output:
	// HTTP/2.0 gateway.example
	// serving: gateway.example
}
