package server

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/eeo-gateway/eeo-gateway/eeo"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/rpcerr"
)

func (s *importReportService) CreateReport(ctx context.Context, req *eeov1.CreateReportRequest) (*eeov1.CreateReportResponse, error) {
	up, err := s.upstream(req.GetAccount())
	if err != nil {
		return nil, err
	}
	if err := checkName("report_type", req.GetReportType()); err != nil {
		return nil, err
	}
	if err := checkParameters(req.GetParameters()); err != nil {
		return nil, err
	}
	if err := checkRequestID(req.GetRequestId()); err != nil {
		return nil, err
	}
	format := reportFormatName(req.GetFormat())
	if format == "" {
		return nil, rpcerr.InvalidField("format", "unknown format")
	}
	call := eeo.ReportRequest{ReportType: req.GetReportType(), Parameters: req.GetParameters(), Format: format, RequestID: req.GetRequestId()}

	if req.GetRequestId() == "" {
		rep, err := up.CreateReport(ctx, call)
		if err != nil {
			return nil, s.upstreamStatus(ctx, err, "")
		}
		s.owners.record(kindReport, rep.ID, req.GetAccount())
		return &eeov1.CreateReportResponse{Report: reportProto(req.GetAccount(), rep)}, nil
	}

	key := requestKey{account: req.GetAccount(), kind: "report", id: req.GetRequestId()}
	fingerprint := reportFingerprint(call)
	claim, prior, err := s.requests.begin(ctx, key)
	if err != nil {
		return nil, err
	}
	if claim == nil {
		if prior.fingerprint != fingerprint {
			return nil, requestIDReused()
		}
		rep, err := up.GetReport(ctx, prior.resultID)
		if err != nil {
			return nil, s.upstreamStatus(ctx, err, ReasonReportNotFound)
		}
		return &eeov1.CreateReportResponse{Report: reportProto(req.GetAccount(), rep)}, nil
	}
	defer s.requests.release(ctx, claim) // a failure or a panic forgets the id
	rep, err := up.CreateReport(ctx, call)
	if err != nil {
		return nil, s.upstreamStatus(ctx, err, "")
	}
	s.requests.finish(ctx, claim, fingerprint, rep.ID)
	s.owners.record(kindReport, rep.ID, req.GetAccount())
	return &eeov1.CreateReportResponse{Report: reportProto(req.GetAccount(), rep)}, nil
}

// reportFingerprint identifies what a CreateReport asks for, independent of
// map order.
func reportFingerprint(r eeo.ReportRequest) string {
	var b strings.Builder
	b.WriteString(r.ReportType + "\x00" + r.Format)
	for _, k := range slices.Sorted(maps.Keys(r.Parameters)) {
		b.WriteString("\x00" + k + "=" + r.Parameters[k])
	}
	return b.String()
}
