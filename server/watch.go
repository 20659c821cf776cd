package server

import (
	"context"
	"time"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/rpcerr"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// EEO has no push notifications we know of, so watches poll GetImport /
// GetReport every watchInterval and send only what changed.

func (s *importReportService) WatchImport(req *eeov1.WatchImportRequest, stream grpc.ServerStreamingServer[eeov1.WatchImportResponse]) error {
	up, err := s.objectUpstream(req.GetAccount(), kindImport, req.GetImportId())
	if err != nil {
		return err
	}
	return watch(stream.Context(), s.draining, s.watchInterval,
		func(ctx context.Context) (*eeov1.Import, error) {
			imp, err := up.GetImport(ctx, req.GetImportId())
			if err != nil {
				return nil, s.upstreamStatus(ctx, err, ReasonImportNotFound)
			}
			return importProto(req.GetAccount(), imp), nil
		},
		func(i *eeov1.Import) bool { return importTerminal(i.GetState()) },
		func(i *eeov1.Import) error { return stream.Send(&eeov1.WatchImportResponse{DataImport: i}) })
}

func (s *importReportService) WatchReport(req *eeov1.WatchReportRequest, stream grpc.ServerStreamingServer[eeov1.WatchReportResponse]) error {
	up, err := s.objectUpstream(req.GetAccount(), kindReport, req.GetReportId())
	if err != nil {
		return err
	}
	return watch(stream.Context(), s.draining, s.watchInterval,
		func(ctx context.Context) (*eeov1.Report, error) {
			rep, err := up.GetReport(ctx, req.GetReportId())
			if err != nil {
				return nil, s.upstreamStatus(ctx, err, ReasonReportNotFound)
			}
			return reportProto(req.GetAccount(), rep), nil
		},
		func(r *eeov1.Report) bool { return reportTerminal(r.GetState()) },
		func(r *eeov1.Report) error { return stream.Send(&eeov1.WatchReportResponse{Report: r}) })
}

// watch sends the object, then each changed version, until it is terminal
// or ctx ends. When the server starts draining it ends the watch with
// UNAVAILABLE, so the caller re-watches on another instance instead of
// holding up shutdown.
func watch[T proto.Message](ctx, draining context.Context, every time.Duration, get func(context.Context) (T, error), terminal func(T) bool, send func(T) error) error {
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	var last T
	for first := true; ; first = false {
		cur, err := get(ctx)
		if err != nil {
			return err
		}
		if first || !proto.Equal(cur, last) {
			if err := send(cur); err != nil {
				return err
			}
			last = cur
		}
		if terminal(cur) {
			return nil
		}
		select {
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		case <-draining.Done():
			return rpcerr.New(codes.Unavailable, ReasonShuttingDown, "the gateway is shutting down; watch again", nil)
		case <-ticker.C:
		}
	}
}
