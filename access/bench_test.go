package access_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/access"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// Identities as the benchmarked policies name them.
const (
	benchKeyCaller = "apikey:bench"
	benchJWTCaller = "jwt:https://idp.example.org#bench"
)

type benchTokens struct {
	eeov1.UnimplementedTokenServiceServer
}

func (benchTokens) GetToken(_ context.Context, req *eeov1.GetTokenRequest) (*eeov1.GetTokenResponse, error) {
	return &eeov1.GetTokenResponse{Token: &eeov1.Token{Account: req.GetAccount(), AccessToken: "t"}}, nil
}

// benchGuarded serves a trivial TokenService behind a Guard accepting an
// API key and JWTs, and returns a client and the two bearer values.
func benchGuarded(b *testing.B, tap bool) (eeov1.TokenServiceClient, string, string) {
	b.Helper()
	key := "bench-key"
	sum := sha256.Sum256([]byte(key))
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	raw, _ := priv.PublicKey.Bytes()
	b64 := base64.RawURLEncoding.EncodeToString
	set, _ := json.Marshal(map[string]any{"keys": []map[string]any{{"kty": "EC", "crv": "P-256", "kid": "k1", "use": "sig", "alg": "ES256", "x": b64(raw[1:33]), "y": b64(raw[33:])}}})
	path := filepath.Join(b.TempDir(), "jwks.json")
	if err := os.WriteFile(path, set, 0o600); err != nil {
		b.Fatal(err)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"iss": "https://idp.example.org", "aud": "gw", "sub": "bench",
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()})
	tok.Header["kid"] = "k1"
	signed, err := tok.SignedString(priv)
	if err != nil {
		b.Fatal(err)
	}
	perms := []access.Permission{access.PermTokenGet}
	g, err := access.New(access.Config{
		APIKeys: []access.APIKey{{Caller: "bench", SHA256: hex.EncodeToString(sum[:])}},
		JWT:     &access.JWTConfig{Issuer: "https://idp.example.org", Audience: "gw", Algorithms: []string{"ES256"}, JWKSFile: path},
		Policies: []access.Policy{
			{Caller: benchKeyCaller, Accounts: []string{"demo"}, Permissions: perms},
			{Caller: benchJWTCaller, Accounts: []string{"demo"}, Permissions: perms},
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(g.Close)
	opts := []grpc.ServerOption{grpc.ChainUnaryInterceptor(g.UnaryInterceptor())}
	if tap {
		opts = append(opts, grpc.InTapHandle(g.TapHandle()))
	}
	srv := grpc.NewServer(opts...)
	eeov1.RegisterTokenServiceServer(srv, benchTokens{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(lis)
	b.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///"+lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	return eeov1.NewTokenServiceClient(conn), "Bearer " + key, "Bearer " + signed
}

func benchGetToken(b *testing.B, c eeov1.TokenServiceClient, authz string) {
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", authz)
	req := &eeov1.GetTokenRequest{Account: "demo"}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.GetToken(ctx, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkGuardGetTokenAPIKey is a guarded GetToken over loopback gRPC
// with an API key: what authentication and authorization cost per call.
func BenchmarkGuardGetTokenAPIKey(b *testing.B) {
	c, key, _ := benchGuarded(b, false)
	benchGetToken(b, c, key)
}

// BenchmarkGuardGetTokenJWT is the same with a JWT (ES256) verified on
// every call.
func BenchmarkGuardGetTokenJWT(b *testing.B) {
	c, _, tok := benchGuarded(b, false)
	benchGetToken(b, c, tok)
}

// BenchmarkGuardGetTokenAPIKeyTapped is BenchmarkGuardGetTokenAPIKey with
// the Guard's tap in front, as production wires it: the key is matched at
// the headers and the interceptor reuses the result.
func BenchmarkGuardGetTokenAPIKeyTapped(b *testing.B) {
	c, key, _ := benchGuarded(b, true)
	benchGetToken(b, c, key)
}

// BenchmarkGuardGetTokenJWTTapped is BenchmarkGuardGetTokenJWT with the
// tap: a shape check at the headers, then the same verification.
func BenchmarkGuardGetTokenJWTTapped(b *testing.B) {
	c, _, tok := benchGuarded(b, true)
	benchGetToken(b, c, tok)
}
