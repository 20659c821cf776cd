package testkit_test

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/rpcerr"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/codes"
)

func TestPKIHandshakeBothWays(t *testing.T) {
	serverCA, clientCA := testkit.NewCA("server CA"), testkit.NewCA("client CA")
	srvCert := serverCA.Server("gw", testkit.Serial(7))
	if srvCert.Cert.SerialNumber.Int64() != 7 {
		t.Fatalf("serial %v, want 7", srvCert.Cert.SerialNumber)
	}
	client := clientCA.Client("svc", testkit.URI("spiffe://example.org/svc"), testkit.DNS("svc.internal"), testkit.DNS(""))
	if len(client.Cert.URIs) != 1 || len(client.Cert.DNSNames) != 1 {
		t.Fatalf("SANs %v %v, want one URI and one DNS name", client.Cert.URIs, client.Cert.DNSNames)
	}
	lis := testkit.Listen(t)
	done := make(chan error, 1)
	go func() {
		c, err := lis.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{srvCert.TLS()}, ClientCAs: testkit.Pool(clientCA), ClientAuth: tls.RequireAndVerifyClientCert})
		if err := tc.Handshake(); err != nil {
			done <- err
			return
		}
		_, err = tc.Write([]byte("k"))
		done <- err
	}()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", lis.Addr().String(),
		&tls.Config{RootCAs: testkit.Pool(serverCA), Certificates: []tls.Certificate{client.TLS()}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.ReadFull(conn, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(testkit.PEMBundle(serverCA, clientCA)) {
		t.Fatal("PEMBundle is not PEM")
	}
}

func TestSignerTokensVerifyWithTheirJWK(t *testing.T) {
	for _, s := range []testkit.Signer{
		testkit.ES256Signer(t, "a"), testkit.ES384Signer(t, "b"), testkit.EdDSASigner(t, "c"),
	} {
		now := time.Now()
		raw := s.Sign(t, testkit.Claims("https://idp", "aud", "bob", now, time.Minute))
		tok, err := jwt.Parse(raw, func(tok *jwt.Token) (any, error) {
			if tok.Header["kid"] != s.KID {
				return nil, errors.New("wrong kid")
			}
			return s.Key.(crypto.Signer).Public(), nil
		})
		if err != nil || !tok.Valid {
			t.Fatalf("%s: %v", s.Method.Alg(), err)
		}
		if jwk := s.JWK(); jwk["kid"] != s.KID || jwk["alg"] != s.Method.Alg() {
			t.Fatalf("JWK %v", jwk)
		}
	}
}

func TestStatusHelpers(t *testing.T) {
	err := rpcerr.New(codes.Unavailable, "EEO_UNAVAILABLE", "down", nil, rpcerr.RetryInfo(2*time.Second), rpcerr.BadRequest("f", "bad"))
	st := testkit.WantStatus(t, err, codes.Unavailable, "EEO_UNAVAILABLE")
	if st.Message() != "down" || testkit.ErrorInfo(t, err).GetReason() != "EEO_UNAVAILABLE" {
		t.Fatalf("status %v", st)
	}
	if testkit.RetryDelay(err) != 2*time.Second || testkit.RetryInfo(errors.New("plain")) != nil {
		t.Fatal("RetryDelay/RetryInfo")
	}
	if f := testkit.FieldViolations(err); len(f) != 1 || f[0] != "f" {
		t.Fatalf("FieldViolations %v", f)
	}
}
