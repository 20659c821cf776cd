package server

import (
	"context"
	"net/http"
	"time"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	eeov1gw "github.com/eeo-gateway/eeo-gateway/gen/gateway/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/gen/openapiv2"
	"github.com/eeo-gateway/eeo-gateway/internal/httpx"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// newRESTHandler returns the REST facade: grpc-gateway routes that call the
// gRPC server through conn, so REST traffic takes the same interceptor chain
// as gRPC traffic; /openapi.json and the docs page on it at /docs/; and
// /healthz backed by gRPC health. Long-lived streams (uploads, downloads,
// watches) go over their own connection, transfers, so however many of them
// are open, unary calls and /healthz still find room on conn.
func newRESTHandler(ctx context.Context, conn grpc.ClientConnInterface, transfers *grpc.ClientConn, cfg Config, metrics *serverMetrics, sinks *downloadSinks) (http.Handler, error) {
	match := incomingHeaders(cfg.AllowedMetadataHeaders)
	opts := []runtime.ServeMuxOption{
		runtime.WithErrorHandler(restErrorHandler),
		runtime.WithRoutingErrorHandler(restRoutingErrorHandler),
		runtime.WithForwardResponseOption(noStore),
		runtime.WithHealthzEndpoint(healthpb.NewHealthClient(conn)),
		runtime.WithIncomingHeaderMatcher(match),
		runtime.WithOutgoingHeaderMatcher(dropAllMetadata),
		runtime.WithOutgoingTrailerMatcher(dropAllMetadata),
		runtime.WithMiddlewares(routeMiddleware),
		runtime.WithMetadata(restMetadata(restClientMetadata(conn), cfg.RESTMetadata)),
		runtime.WithMarshalerOption(runtime.MIMEWildcard, restJSON()),
	}
	if !cfg.Limits.AllowMethodOverride {
		// Both make grpc-gateway parse a form body before routing.
		opts = append(opts, runtime.WithDisableHTTPMethodOverride(), runtime.WithDisablePathLengthFallback())
	}
	gw := runtime.NewServeMux(opts...)
	transferClient := eeov1.NewImportReportServiceClient(transfers)
	if err := registerGeneratedRoutes(ctx, gw, conn, transferClient); err != nil {
		return nil, err
	}
	if inproc, ok := conn.(*inprocConn); ok {
		// The direct routes' declined requests go to the generated routes,
		// on a mux of their own since the direct routes shadow them on gw.
		generated := runtime.NewServeMux(opts...)
		if err := registerGeneratedRoutes(ctx, generated, conn, transferClient); err != nil {
			return nil, err
		}
		if err := registerDirectRoutes(gw, generated, inproc, match, cfg.RESTMetadata); err != nil {
			return nil, err
		}
	}
	// Registered last so they take precedence over generated routes.
	files := &restFiles{mux: gw, client: transferClient, uploadIdle: cfg.Limits.UploadIdleTimeout, sinks: sinks}
	if err := files.register(); err != nil {
		return nil, err
	}
	h := withCORS(cfg.CORSAllowedOrigins, requireUTF8(boundBodies(cfg.Limits.BodyReadTimeout, newRESTMux(gw))))
	if metrics != nil {
		h = metrics.rest.wrap(h)
	}
	return restCallContext(cfg.TrustedProxies, withRESTTracing(cfg, h)), nil
}

// registerGeneratedRoutes puts grpc-gateway's generated routes of both
// services on mux: unary calls over conn, streams over transfers.
func registerGeneratedRoutes(ctx context.Context, mux *runtime.ServeMux, conn grpc.ClientConnInterface, transfers eeov1.ImportReportServiceClient) error {
	// grpc-gateway tries a method's routes newest first, and every route
	// tried before the one that matches costs allocations (its match
	// stacks, an error for errors.As): TokenService, whose GetToken is the
	// hot path, is registered after ImportReportService so it is tried
	// first. No route of one service matches a path of the other, so the
	// order changes nothing else.
	if err := eeov1gw.RegisterImportReportServiceHandlerClient(ctx, mux, splitClient{
		ImportReportServiceClient: eeov1.NewImportReportServiceClient(conn), transfers: transfers,
	}); err != nil {
		return err
	}
	return eeov1gw.RegisterTokenServiceHandlerClient(ctx, mux, eeov1.NewTokenServiceClient(conn))
}

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openapiv2.JSON)
}

// noStore keeps tokens out of HTTP caches and proxies (RFC 6749 §5.1 asks the
// same of token responses).
func noStore(_ context.Context, w http.ResponseWriter, _ proto.Message) error {
	w.Header().Set("Cache-Control", "no-store")
	return nil
}

// restErrorHandler is grpc-gateway's default (google.rpc.Status as JSON with
// the gRPC code's HTTP status) plus Retry-After from any RetryInfo, which
// HTTP clients and proxies understand, and 413 for an oversized upload.
func restErrorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	err = withErrorInfo(err)
	if st, ok := status.FromError(err); ok {
		for _, d := range st.Details() {
			switch d := d.(type) {
			case *errdetails.RetryInfo:
				w.Header().Set("Retry-After", httpx.FormatRetryAfter(max(d.GetRetryDelay().AsDuration(), time.Second)))
			case *errdetails.ErrorInfo:
				// RESOURCE_EXHAUSTED is 429 by default; an oversized
				// upload is a 413, which HTTP clients know not to retry.
				if d.GetReason() == ReasonUploadTooLarge {
					w = statusOverride{ResponseWriter: w, code: http.StatusRequestEntityTooLarge}
				}
			}
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, err)
}

// statusOverride writes code whatever status the wrapped handler chooses.
type statusOverride struct {
	http.ResponseWriter
	code int
}

func (o statusOverride) WriteHeader(int) { o.ResponseWriter.WriteHeader(o.code) }

// splitClient is the generated routes' ImportReportService client: unary
// calls over the facade's unary connection, watches over its transfer
// connection.
type splitClient struct {
	eeov1.ImportReportServiceClient
	transfers eeov1.ImportReportServiceClient
}

func (c splitClient) WatchImport(ctx context.Context, in *eeov1.WatchImportRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[eeov1.WatchImportResponse], error) {
	return c.transfers.WatchImport(ctx, in, opts...)
}

func (c splitClient) WatchReport(ctx context.Context, in *eeov1.WatchReportRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[eeov1.WatchReportResponse], error) {
	return c.transfers.WatchReport(ctx, in, opts...)
}

func (c splitClient) DownloadReport(ctx context.Context, in *eeov1.DownloadReportRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[httpbody.HttpBody], error) {
	return c.transfers.DownloadReport(ctx, in, opts...)
}

func (c splitClient) CreateImport(ctx context.Context, opts ...grpc.CallOption) (grpc.ClientStreamingClient[eeov1.CreateImportRequest, eeov1.CreateImportResponse], error) {
	return c.transfers.CreateImport(ctx, opts...)
}
