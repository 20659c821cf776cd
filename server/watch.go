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
// GetReport and send only what changed. Polling adapts: every
// watchFastInterval while the object is moving (after the first poll and
// after every change), backing off by doubling while it stays the same, up
// to the configured interval (Config.WatchInterval). A watch can only
// report the versions it observed: a state that begins and ends between
// two polls is never sent.

// watchFastInterval is the polling interval right after a change: short,
// so the next step of an object that is moving is seen soon, and long
// enough that a watch costs EEO at most five requests a second.
const watchFastInterval = 200 * time.Millisecond

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
// or ctx ends, polling as the comment at the top describes (every is the
// slowest interval). When the server starts draining it ends the watch
// with UNAVAILABLE, so the caller re-watches on another instance instead
// of holding up shutdown.
func watch[T proto.Message](ctx, draining context.Context, every time.Duration, get func(context.Context) (T, error), terminal func(T) bool, send func(T) error) error {
	fast := min(watchFastInterval, every)
	delay := fast
	// Stopped until the first Reset; since Go 1.23 Reset needs no drain.
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
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
			delay = fast
		} else {
			delay = min(2*delay, every)
		}
		if terminal(cur) {
			return nil
		}
		timer.Reset(delay)
		select {
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		case <-draining.Done():
			return rpcerr.New(codes.Unavailable, ReasonShuttingDown, "the gateway is shutting down; watch again", nil)
		case <-timer.C:
		}
	}
}
