package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/redishealth"
	"github.com/eeo-gateway/eeo-gateway/internal/redisrequests"
	"github.com/eeo-gateway/eeo-gateway/internal/redistest"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"github.com/eeo-gateway/eeo-gateway/server"
)

// redisReplica is a gateway whose request-id log is in a shared Redis, as
// cmd/eeo-gateway wires it: its own client, store and health tracker.
type redisReplica struct {
	*gateway
	health  *redishealth.Tracker
	metrics *prometheus.Registry
	logs    *testkit.SyncBuffer // the tracker's log
}

// startRedisReplica starts a gateway on up whose request-id log is in the
// Redis at addr.
func startRedisReplica(t *testing.T, addr string, up *fakeUpstream) *redisReplica {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { rdb.Close() })
	store, err := redisrequests.New(redisrequests.Options{Client: rdb})
	if err != nil {
		t.Fatal(err)
	}
	r := &redisReplica{metrics: prometheus.NewRegistry(), logs: &testkit.SyncBuffer{}}
	r.health, err = redishealth.New(redishealth.Options{
		Logger:  slog.New(slog.NewTextHandler(r.logs, nil)),
		Metrics: r.metrics,
		// Short, so the test sees a restarted Redis taken back soon.
		RetryAfter: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	r.gateway = startGateway(t, func(c *server.Config) {
		c.Upstreams["demo"] = up
		c.RequestStore = store
		c.RedisHealth = r.health
	})
	return r
}

func (f *fakeUpstream) reportCount() int { f.mu.Lock(); defer f.mu.Unlock(); return len(f.reports) }

func createReport(ctx context.Context, g *gateway, requestID, asOf string) (*eeov1.CreateReportResponse, error) {
	return eeov1.NewImportReportServiceClient(g.conn).CreateReport(ctx, &eeov1.CreateReportRequest{
		Account: "demo", ReportType: "grants", Parameters: map[string]string{"as_of": asOf}, RequestId: requestID})
}

// The same request_id sent to two replicas sharing Redis at once creates one
// import upstream and both callers get it; a replica started afterwards (a
// restart) answers a retry with it too, and a reuse of the id for another
// file is REQUEST_ID_REUSED on any replica.
func TestRequestIDSharedAcrossReplicas(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	hold, events := make(chan struct{}), make(chan upload, 1)
	up := newFakeUpstream()
	up.hold, up.events = hold, events
	a, b := startRedisReplica(t, srv.Addr, up), startRedisReplica(t, srv.Addr, up)
	md := meta(func(m *eeov1.ImportMetadata) { m.RequestId = "shared-1" })

	results := make(chan *eeov1.CreateImportResponse, 2)
	send := func(g *gateway) {
		resp, err := uploadGRPC(t.Context(), g, md, []byte(csvFile), 10)
		if err != nil {
			t.Error(err)
		}
		results <- resp
	}
	go send(a.gateway)
	<-events // A's upload is at EEO, which has not answered: A holds the id
	go send(b.gateway)
	close(hold)
	first, second := <-results, <-results
	id := first.GetDataImport().GetImportId()
	if id == "" || second.GetDataImport().GetImportId() != id {
		t.Fatalf("the replicas answered %v and %v; want one import for both", first, second)
	}
	if n := up.importCount(); n != 1 {
		t.Fatalf("imports upstream = %d, want 1", n)
	}

	// Every replica restarted: the record is in Redis, not in a process.
	a.stop()
	b.stop()
	c := startRedisReplica(t, srv.Addr, up)
	again, err := uploadGRPC(t.Context(), c.gateway, md, []byte(csvFile), 10)
	if err != nil || again.GetDataImport().GetImportId() != id {
		t.Fatalf("retry after the restart: %v, %v; want import %s", again, err, id)
	}
	_, err = uploadGRPC(t.Context(), c.gateway, md, []byte(csvFile+"3,Grace,Hopper,grace@example.com\n"), 10)
	testkit.WantStatus(t, err, codes.AlreadyExists, server.ReasonRequestIDReused)
	if n := up.importCount(); n != 1 {
		t.Fatalf("imports upstream = %d, want 1", n)
	}
}

// With Redis stopped, CreateReport and CreateImport still work,
// deduplicated by the replica's own log; the gauge reads 0 and one WARN says so, however many
// calls fell back. Redis restarted, the replica takes it back (gauge 1)
// and records go to Redis again.
func TestRedisDownFallsBackToLocalLog(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	up := newFakeUpstream()
	g := startRedisReplica(t, srv.Addr, up)
	raw := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer raw.Close()
	const asOf = "2026-01-31"
	if _, err := createReport(t.Context(), g.gateway, "before", asOf); err != nil {
		t.Fatal(err)
	}
	if n := raw.Exists(t.Context(), "eeo-gateway:{demo}:req:report:before").Val(); n != 1 {
		t.Fatal("the record of a request made with Redis up is not in Redis")
	}

	srv.Stop(t)
	for _, id := range []string{"down-1", "down-2", "down-3"} {
		if _, err := createReport(t.Context(), g.gateway, id, asOf); err != nil {
			t.Fatalf("CreateReport with Redis down: %v", err)
		}
	}
	first, err := createReport(t.Context(), g.gateway, "during", asOf)
	if err != nil {
		t.Fatalf("CreateReport with Redis down: %v", err)
	}
	for i := range 5 {
		again, err := createReport(t.Context(), g.gateway, "during", asOf)
		if err != nil || again.GetReport().GetReportId() != first.GetReport().GetReportId() {
			t.Fatalf("retry %d with Redis down: %v, %v; want report %s", i, again, err, first.GetReport().GetReportId())
		}
	}
	_, err = createReport(t.Context(), g.gateway, "during", "2026-02-28")
	testkit.WantStatus(t, err, codes.AlreadyExists, server.ReasonRequestIDReused)
	// Uploads too: one import for an upload and its retry.
	md := meta(func(m *eeov1.ImportMetadata) { m.RequestId = "upload-during" })
	imp, err := uploadGRPC(t.Context(), g.gateway, md, []byte(csvFile), 10)
	if err != nil {
		t.Fatalf("CreateImport with Redis down: %v", err)
	}
	if again, err := uploadGRPC(t.Context(), g.gateway, md, []byte(csvFile), 10); err != nil || again.GetDataImport().GetImportId() != imp.GetDataImport().GetImportId() {
		t.Fatalf("CreateImport retry with Redis down: %v, %v; want import %s", again, err, imp.GetDataImport().GetImportId())
	}
	if n := up.importCount(); n != 1 {
		t.Fatalf("imports upstream = %d, want 1", n)
	}
	if n := up.reportCount(); n != 5 {
		t.Fatalf("reports upstream = %d, want 5", n)
	}
	if v := gauge(t, g.metrics, "eeo_gateway_redis_up"); v != 0 {
		t.Errorf("eeo_gateway_redis_up = %v with Redis down, want 0", v)
	}
	if w := strings.Count(g.logs.String(), "level=WARN"); w != 1 {
		t.Errorf("%d WARN lines, want 1:\n%s", w, g.logs)
	}

	srv.Restart(t)
	// The first calls after the restart may still find Redis marked down;
	// within a few RetryAfter one is let through and it is taken back.
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ {
		id := fmt.Sprintf("after-%d", i)
		if _, err := createReport(t.Context(), g.gateway, id, asOf); err != nil {
			t.Fatal(err)
		}
		if raw.Exists(t.Context(), "eeo-gateway:{demo}:req:report:"+id).Val() == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no record went to Redis after it came back")
		}
	}
	if v := gauge(t, g.metrics, "eeo_gateway_redis_up"); v != 1 {
		t.Errorf("eeo_gateway_redis_up = %v after Redis came back, want 1", v)
	}
	// The id claimed while Redis was down is still answered from the
	// replica's own log, not run again.
	again, err := createReport(t.Context(), g.gateway, "during", asOf)
	if err != nil || again.GetReport().GetReportId() != first.GetReport().GetReportId() {
		t.Fatalf("retry after Redis came back: %v, %v; want report %s", again, err, first.GetReport().GetReportId())
	}
	if w := strings.Count(g.logs.String(), "level=WARN"); w != 1 {
		t.Errorf("%d WARN lines, want 1:\n%s", w, g.logs)
	}
}

// gauge reads a gauge without labels from reg.
func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no %s", name)
	return 0
}
