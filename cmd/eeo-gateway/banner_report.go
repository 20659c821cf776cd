package main

import (
	"context"
	"fmt"
	"time"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// sampleReportTimeout bounds the start-up call; the banner is printed
// without a report id if it runs out.
const sampleReportTimeout = 10 * time.Second

// sampleReportRequestID makes the start-up report idempotent within a run.
const sampleReportRequestID = "dev-banner-sample"

// createSampleReport creates the report whose download line the dev banner
// prints, through the gateway's own gRPC port with the dev key, as any
// caller would, so the printed line names a report that exists.
func createSampleReport(ctx context.Context, grpcAddr, key string) (string, error) {
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return "", err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, sampleReportTimeout)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
	resp, err := eeov1.NewImportReportServiceClient(conn).CreateReport(ctx, &eeov1.CreateReportRequest{
		Account:    devAccount,
		ReportType: "grants",
		Parameters: map[string]string{"as_of": "2026-01-31", "rows": "5"},
		RequestId:  sampleReportRequestID,
	}, grpc.WaitForReady(true))
	if err != nil {
		return "", fmt.Errorf("creating the banner's sample report: %w", err)
	}
	return resp.GetReport().GetReportId(), nil
}
