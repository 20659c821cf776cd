package access_test

import (
	"context"
	"strings"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/access"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/protobuf/types/known/emptypb"
)

// listServices asks server reflection (v1) for the service list.
func listServices(ctx context.Context, conn *grpc.ClientConn) ([]string, error) {
	stream, err := reflectionv1.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		return nil, err
	}
	defer stream.CloseSend()
	// A Send error (io.EOF once the server has answered) is not the
	// outcome; Recv returns the call's status.
	_ = stream.Send(&reflectionv1.ServerReflectionRequest{MessageRequest: &reflectionv1.ServerReflectionRequest_ListServices{}})
	resp, err := stream.Recv()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	return names, nil
}

// v1alpha calls the older reflection service and returns its error.
func v1alpha(ctx context.Context, conn *grpc.ClientConn) error {
	cs, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true, ClientStreams: true},
		reflectionv1alpha.ServerReflection_ServerReflectionInfo_FullMethodName)
	if err != nil {
		return err
	}
	_ = cs.SendMsg(&emptypb.Empty{})
	_ = cs.CloseSend()
	return cs.RecvMsg(&emptypb.Empty{})
}

func TestReflectionModes(t *testing.T) {
	key, k := apiKey(t, "operator") // no policy: reflection needs none
	for _, tc := range []struct {
		mode                  access.Reflection
		anonymous, withKey    codes.Code
		anonReason, keyReason string
	}{
		{access.ReflectionAuthenticated, codes.Unauthenticated, codes.OK, access.ReasonUnauthenticated, ""},
		{access.ReflectionPublic, codes.OK, codes.OK, "", ""},
		{access.ReflectionOff, codes.Unimplemented, codes.Unimplemented, access.ReasonReflectionDisabled, access.ReasonReflectionDisabled},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			e := newEnv(t, access.Config{APIKeys: []access.APIKey{k}, Reflection: tc.mode})
			ctx := testCtx(t)
			check := func(ctx context.Context, want codes.Code, reason string) {
				t.Helper()
				names, err := listServices(ctx, e.conn)
				if want == codes.OK {
					if err != nil || !strings.Contains(strings.Join(names, " "), "eeo.v1.TokenService") {
						t.Fatalf("reflection: %v %v", names, err)
					}
				} else {
					testkit.WantStatus(t, err, want, reason)
				}
				if want != codes.OK {
					testkit.WantStatus(t, v1alpha(ctx, e.conn), want, reason)
				}
			}
			check(ctx, tc.anonymous, tc.anonReason)
			check(bearer(ctx, key), tc.withKey, tc.keyReason)
			// A bad credential is refused unless reflection is public or off.
			if tc.mode == access.ReflectionAuthenticated {
				_, err := listServices(bearer(ctx, "wrong"), e.conn)
				testkit.WantStatus(t, err, codes.Unauthenticated, access.ReasonTokenInvalid)
			}
		})
	}
}

func TestAllowUnauthenticated(t *testing.T) {
	log, buf, events := auditLog(t)
	e := newEnv(t, access.Config{AllowUnauthenticated: true, Audit: log, Reflection: access.ReflectionOff})
	ctx := testCtx(t)
	if !strings.Contains(buf.String(), "access control is OFF") {
		t.Fatalf("no warning at New: %s", buf)
	}
	anonymous := access.Caller{Name: access.AnonymousCaller, Via: access.ViaUnauthenticated}

	if _, err := e.tc.GetToken(ctx, &eeov1.GetTokenRequest{Account: "any"}); err != nil {
		t.Fatal(err)
	}
	if got := e.tokens.last(); got != anonymous {
		t.Fatalf("caller %+v", got)
	}
	// Credentials are not looked at, valid or not.
	if _, err := e.tc.ListAccounts(bearer(ctx, "whatever"), &eeov1.ListAccountsRequest{}); err != nil {
		t.Fatal(err)
	}
	if _, err := upload(ctx, e.fc, "any", 3); err != nil {
		t.Fatal(err)
	}
	if e.files.chunks.Load() != 3 || e.files.last() != anonymous {
		t.Fatal("upload did not reach the handler as anonymous")
	}
	// Reflection off stays off; unknown methods stay closed.
	_, err := listServices(ctx, e.conn)
	testkit.WantStatus(t, err, codes.Unimplemented, access.ReasonReflectionDisabled)
	_, err = healthpb.NewHealthClient(e.conn).List(ctx, &healthpb.HealthListRequest{})
	testkit.WantStatus(t, err, codes.PermissionDenied, access.ReasonPermissionDenied)

	got := events() // GetToken, CreateImport, and the refused Health/List
	if len(got) != 3 || got[0]["caller"] != "anonymous" || got[0]["via"] != "unauthenticated" {
		t.Fatalf("audit events %v", got)
	}
}
