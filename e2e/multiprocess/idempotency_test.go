package multiprocess_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/client"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
)

// uploadChunk is the chunk size of the test's uploads: the file is several
// chunks, so two uploads can be held after their first.
const uploadChunk = 32 << 10

// The same request_id sent to two replicas at once creates one import at
// EEO (one POST reaches it), and both callers get that import: the one
// that arrived second waits for the first, on whichever replica it runs
// (README, Idempotency). After every replica has been restarted, a retry
// with the same request_id returns the same import without asking EEO
// again. The same holds for CreateReport.
//
// EEO itself (the sandbox) also honours Idempotency-Key, so the number of
// objects it created would be one even without the gateway's records; the
// requests it received show whether the gateway deduplicated.
func TestRequestIDDeduplicatedAcrossReplicasAndRestarts(t *testing.T) {
	t.Parallel()
	c := newCluster(t, clusterOptions{Replicas: 3, Redis: true})
	const importID, reportID = "mp-import-1", "mp-report-1"
	file := participantsFile(8*uploadChunk, "idem")
	md := &eeov1.ImportMetadata{Account: account, ImportType: "participants", FileName: "idem.csv", RequestId: importID}

	// Both uploads send their metadata and first chunk, and only then the
	// rest, so neither can finish before the other has begun.
	imports := make([]*eeov1.Import, 2)
	var started, wg sync.WaitGroup
	started.Add(len(imports))
	release := make(chan struct{})
	for i := range imports {
		wg.Go(func() {
			r := &heldReader{data: file, first: uploadChunk, held: started.Done, release: release}
			imports[i] = c.upload(t, c.gateways[i], md, r)
		})
	}
	started.Wait()
	close(release)
	wg.Wait()

	reports := make([]*eeov1.Report, 2)
	for i := range reports {
		wg.Go(func() { reports[i] = c.createReport(t, c.gateways[i], reportID) })
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	check := func(when string) {
		t.Helper()
		if imports[0].GetImportId() != imports[1].GetImportId() {
			t.Errorf("%s: callers got imports %s and %s; want one", when, imports[0].GetImportId(), imports[1].GetImportId())
		}
		if reports[0].GetReportId() != reports[1].GetReportId() {
			t.Errorf("%s: callers got reports %s and %s; want one", when, reports[0].GetReportId(), reports[1].GetReportId())
		}
		st := c.sandbox.stats(t)
		posts, reportPosts := countRequests(st, http.MethodPost, "/v1/imports"), countRequests(st, http.MethodPost, "/v1/reports")
		if posts != 1 || reportPosts != 1 || st.ImportsCreated != 1 || st.ReportsCreated != 1 {
			t.Errorf("%s: EEO received %d import and %d report creations (%s); want 1 and 1", when, posts, reportPosts, statsLine(st))
		}
	}
	check("concurrent calls on two replicas")

	c.restartAll()
	first, firstReport := imports[0], reports[0]
	imports[0] = c.upload(t, c.gateways[2], md, bytes.NewReader(file))
	reports[0] = c.createReport(t, c.gateways[2], reportID)
	imports[1], reports[1] = first, firstReport
	check("retry after restarting every replica")
}

// upload uploads r as md on g and fails the test on an error.
// It may run on any goroutine.
func (c *cluster) upload(t *testing.T, g *gateway, md *eeov1.ImportMetadata, r io.Reader) *eeov1.Import {
	ctx, cancel := context.WithTimeout(t.Context(), pollTimeout)
	defer cancel()
	imp, err := client.New(g.conn, client.WithChunkSize(uploadChunk)).Upload(ctx, md, r)
	if err != nil {
		t.Errorf("CreateImport on gateway-%d: %v", g.index, err)
	}
	return imp
}

// createReport is upload for CreateReport.
func (c *cluster) createReport(t *testing.T, g *gateway, requestID string) *eeov1.Report {
	ctx, cancel := context.WithTimeout(t.Context(), pollTimeout)
	defer cancel()
	resp, err := g.files.CreateReport(ctx, &eeov1.CreateReportRequest{Account: account, ReportType: "participants", RequestId: requestID})
	if err != nil {
		t.Errorf("CreateReport on gateway-%d: %v", g.index, err)
	}
	return resp.GetReport()
}

// heldReader reads data, but after its first bytes calls held and blocks
// until release is closed.
type heldReader struct {
	data    []byte
	off     int
	first   int
	held    func()
	release <-chan struct{}
	waited  bool
}

func (r *heldReader) Read(p []byte) (int, error) {
	if r.off >= len(r.data) {
		return 0, io.EOF
	}
	if r.off >= r.first && !r.waited {
		r.waited = true
		r.held()
		<-r.release
	}
	end := len(r.data)
	if !r.waited {
		end = r.first
	}
	n := copy(p, r.data[r.off:end])
	r.off += n
	return n, nil
}
