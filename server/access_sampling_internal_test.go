package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/callnote"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// samplingLog is an access log with sampling s writing JSON at INFO into
// out. Tests hand write the call's start time: the second a line counts
// in is its call's start, so they set the clock without sleeping.
func samplingLog(s AccessLogSampling) (accessLog, *testkit.SyncBuffer) {
	out := &testkit.SyncBuffer{}
	return newAccessLog(slog.New(slog.NewJSONHandler(out, nil)), s), out
}

// t0 is a whole second.
var t0 = time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)

// logCall logs a GetToken by caller ("" for none) that ended with code
// and started at start.
func logCall(a accessLog, caller string, code codes.Code, start time.Time) {
	ctx, note := callnote.With(context.Background())
	note.SetCaller(caller)
	var err error
	if code != codes.OK {
		err = status.Error(code, "failed")
	}
	a.write(ctx, "/eeo.v1.TokenService/GetToken", "unary", false, note, err, start)
}

// logLines are the lines written so far, decoded.
func logLines(t *testing.T, out *testkit.SyncBuffer) []map[string]any {
	t.Helper()
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	return lines
}

// suppressedOf is a line's suppressed count, 0 when it has none.
func suppressedOf(t *testing.T, line map[string]any) int {
	t.Helper()
	switch v := line["suppressed"].(type) {
	case nil:
		return 0
	case float64:
		if v < 1 {
			t.Errorf("suppressed %v on %v: a line without dropped ones before it must not have the field", v, line)
		}
		return int(v)
	}
	t.Fatalf("suppressed is %T on %v", line["suppressed"], line)
	return 0
}

// calls is how many calls lines account for: themselves (finished calls)
// and the ones they say were dropped.
func calls(t *testing.T, lines []map[string]any) int {
	n := 0
	for _, l := range lines {
		if l["msg"] == accessLogMessage {
			n++
		}
		n += suppressedOf(t, l)
	}
	return n
}

// The first Initial lines of a second are written, then one in
// Thereafter, each of those saying how many were dropped before it; the
// next second starts over, its first line carrying what the last second
// dropped after its last written line. Nothing is lost.
func TestAccessSamplingFirstThenOneInM(t *testing.T) {
	a, out := samplingLog(AccessLogSampling{Initial: 3, Thereafter: 4})
	for i := range 20 {
		logCall(a, "apikey:ops", codes.OK, t0.Add(time.Duration(i)*time.Millisecond))
	}
	lines := logLines(t, out)
	// Lines 1, 2, 3, then 7, 11, 15, 19; the 20th is dropped.
	var got []int
	for _, l := range lines {
		got = append(got, suppressedOf(t, l))
	}
	if want := []int{0, 0, 0, 3, 3, 3, 3}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("suppressed counts of the written lines %v, want %v", got, want)
	}
	for _, l := range lines {
		if l["caller"] != "apikey:ops" || l["grpc.code"] != "OK" || l["grpc.method"] != "GetToken" || l["msg"] != accessLogMessage {
			t.Errorf("written line %v lacks its kind's fields", l)
		}
	}

	// The next second: three written again, the first reporting the one
	// dropped at the end of the last second.
	for i := range 3 {
		logCall(a, "apikey:ops", codes.OK, t0.Add(time.Second+time.Duration(i)*time.Millisecond))
	}
	lines = logLines(t, out)
	if len(lines) != 10 {
		t.Fatalf("%d lines after 3 calls in a new second, want 10", len(lines))
	}
	if n := suppressedOf(t, lines[7]); n != 1 {
		t.Errorf("the new second's first line says %d suppressed, want 1 (the previous second's 20th call)", n)
	}
	if n := calls(t, lines); n != 23 {
		t.Errorf("lines account for %d calls, want 23", n)
	}
}

// Kinds are counted apart: another caller, another code (at INFO) and
// calls without a caller each get their own first lines.
func TestAccessSamplingKindsAreSeparate(t *testing.T) {
	a, out := samplingLog(AccessLogSampling{Initial: 2, Thereafter: 1000})
	for _, k := range []struct {
		caller string
		code   codes.Code
	}{{"apikey:a", codes.OK}, {"apikey:b", codes.OK}, {"apikey:a", codes.NotFound}, {"", codes.Unauthenticated}} {
		for range 5 {
			logCall(a, k.caller, k.code, t0)
		}
	}
	lines := logLines(t, out)
	seen := map[string]int{}
	for _, l := range lines {
		seen[fmt.Sprintf("%v/%v", l["caller"], l["grpc.code"])]++
	}
	want := map[string]int{"apikey:a/OK": 2, "apikey:b/OK": 2, "apikey:a/NotFound": 2, "<nil>/Unauthenticated": 2}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("written lines per caller/code %v, want %v", seen, want)
	}
}

// Lines at WARN and above (denials, rate limits, server errors) are
// written, every one, and take no place among the counted kinds.
func TestAccessSamplingNeverDropsWarningsOrErrors(t *testing.T) {
	a, out := samplingLog(AccessLogSampling{Initial: 1, Thereafter: 1000})
	for _, code := range []codes.Code{codes.PermissionDenied, codes.ResourceExhausted, codes.Internal, codes.Unavailable} {
		for range 50 {
			logCall(a, "apikey:ops", code, t0)
		}
	}
	lines := logLines(t, out)
	if len(lines) != 200 {
		t.Fatalf("%d lines for 200 failed calls at WARN/ERROR, want 200", len(lines))
	}
	for _, l := range lines {
		if _, has := l["suppressed"]; has || l["caller"] != "apikey:ops" || l["level"] == "INFO" {
			t.Fatalf("line %v: want a WARN/ERROR line naming its caller, without suppressed", l)
		}
	}
	if n := a.kinds.size.Load(); n != 0 {
		t.Errorf("%d kinds counted after WARN/ERROR lines only, want 0", n)
	}
}

// Initial 0 (and the zero AccessLogSampling) writes every line.
func TestAccessSamplingOffWritesEveryLine(t *testing.T) {
	for _, s := range []AccessLogSampling{{}, {Initial: 0, Thereafter: 100}} {
		a, out := samplingLog(s)
		for range 500 {
			logCall(a, "apikey:ops", codes.OK, t0)
		}
		lines := logLines(t, out)
		if len(lines) != 500 {
			t.Errorf("%+v: %d lines for 500 calls, want 500", s, len(lines))
		}
		if n := calls(t, lines); n != 500 {
			t.Errorf("%+v: lines account for %d calls, want 500", s, n)
		}
	}
}

// A kind without a line for a whole second is forgotten, and what it had
// dropped since its last written line is reported on a line of its own
// ("suppressed calls"), so neither memory nor counts depend on a kind
// being called again. Shutdown reports the rest.
func TestAccessSamplingForgetsIdleKindsAndReportsTheirCounts(t *testing.T) {
	a, out := samplingLog(AccessLogSampling{Initial: 1, Thereafter: 10})
	for range 5 {
		logCall(a, "apikey:gone", codes.OK, t0) // 1 written, 4 dropped
	}
	for range 3 {
		logCall(a, "apikey:stays", codes.OK, t0.Add(time.Second)) // 1 written, 2 dropped
	}
	if n := a.kinds.size.Load(); n != 2 {
		t.Fatalf("%d kinds, want 2", n)
	}
	// Two seconds on, apikey:gone has been idle for a whole second.
	logCall(a, "apikey:stays", codes.OK, t0.Add(2*time.Second))
	if n := a.kinds.size.Load(); n != 1 {
		t.Errorf("%d kinds after apikey:gone went quiet, want 1", n)
	}
	lines := logLines(t, out)
	var report map[string]any
	for _, l := range lines {
		if l["msg"] == suppressedMessage {
			report = l
		}
	}
	if report == nil || report["caller"] != "apikey:gone" || suppressedOf(t, report) != 4 || report["grpc.code"] != "OK" {
		t.Fatalf("no report of apikey:gone's 4 dropped lines among %v", lines)
	}
	if n := calls(t, lines); n != 9 {
		t.Errorf("lines account for %d calls, want 9", n)
	}

	for range 5 {
		logCall(a, "apikey:stays", codes.OK, t0.Add(2*time.Second)) // all dropped
	}
	a.flushSuppressed()
	if n := calls(t, logLines(t, out)); n != 14 {
		t.Errorf("after the shutdown flush lines account for %d calls, want 14", n)
	}
	if n := a.kinds.size.Load(); n != 0 {
		t.Errorf("%d kinds after the flush, want 0", n)
	}
}

// The counted kinds are bounded: past the bound a new kind's lines are
// all written (never dropped: the bound costs volume, not records).
func TestAccessSamplingKindsAreBounded(t *testing.T) {
	a, out := samplingLog(AccessLogSampling{Initial: 1, Thereafter: 1000})
	a.kinds.max = 3
	for i := range 6 {
		for range 10 {
			logCall(a, fmt.Sprintf("apikey:c%d", i), codes.OK, t0)
		}
	}
	if n := a.kinds.size.Load(); n != 3 {
		t.Errorf("%d kinds counted, want the bound, 3", n)
	}
	lines := logLines(t, out)
	if len(lines) != 3+3*10 {
		t.Errorf("%d lines, want 1 each for the 3 counted callers and all 10 each for the 3 past the bound", len(lines))
	}
	if n := calls(t, lines); n != 3+3*10 {
		t.Errorf("lines account for %d calls, want %d (the counted callers' drops are not reported yet)", n, 33)
	}
	a.flushSuppressed()
	if n := calls(t, logLines(t, out)); n != 60 {
		t.Errorf("after the flush lines account for %d calls, want 60", n)
	}
}

// Concurrent calls of one kind, across a change of second: every call is
// accounted for exactly.
func TestAccessSamplingConcurrentCountsAddUp(t *testing.T) {
	a, out := samplingLog(AccessLogSampling{Initial: 5, Thereafter: 7})
	const workers, each = 8, 300
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				logCall(a, "apikey:ops", codes.OK, t0.Add(time.Duration(w*each+i)*time.Second/(workers*each/3)))
			}
		})
	}
	wg.Wait()
	a.flushSuppressed()
	if n := calls(t, logLines(t, out)); n != workers*each {
		t.Errorf("lines account for %d calls, want %d", n, workers*each)
	}
}

// A line dropped by sampling costs no allocation.
func TestAccessSamplingDropsWithoutAllocating(t *testing.T) {
	a, _ := samplingLog(AccessLogSampling{Initial: 1, Thereafter: 1 << 30})
	ctx, note := callnote.With(context.Background())
	note.SetCaller("apikey:ops")
	a.write(ctx, "/eeo.v1.TokenService/GetToken", "unary", false, note, nil, t0)
	if n := testing.AllocsPerRun(100, func() {
		a.write(ctx, "/eeo.v1.TokenService/GetToken", "unary", false, note, nil, t0)
	}); n != 0 {
		t.Errorf("a dropped line: %v allocs, want 0", n)
	}
}
