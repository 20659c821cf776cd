package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/eeo"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/faultproxy"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"github.com/eeo-gateway/eeo-gateway/sandbox"
	"github.com/eeo-gateway/eeo-gateway/server"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
)

// The fault matrix's timings. The caller's deadline is either shorter than
// every limit of the gateway (the latency row: the caller gives up first) or
// longer (every other row: the gateway answers first, with its own status).
// The gateway's limits are the same in every row, and long enough that a
// loaded machine does not turn a warm-up or a recovery into a timeout: a
// cell's recovery runs under the limits its fault ran under. (The blackhole
// row once had shorter ones, 300-500 ms, to end its cells sooner; on a
// machine with a load average of 25 on 2 cores a REST upload after the
// fault was cleared then went 400 ms without moving a byte, and the cell
// failed with EEO_TIMEOUT and no import.) The blackhole row waits for these
// limits, so its caller is more patient still.
const (
	fmShortDeadline     = 200 * time.Millisecond // the caller's deadline in the latency row
	fmLatency           = 600 * time.Millisecond // the proxy's delay there: beyond the deadline
	fmPatientDeadline   = 3 * time.Second        // the caller's deadline in every other row but blackhole
	fmBlackholeDeadline = 10 * time.Second       // the caller's deadline in the blackhole row
	fmFetchTimeout      = time.Second            // auth.Options.FetchTimeout
	fmStreamIdle        = time.Second            // eeo.Options.StreamIdleTimeout (uploads)
	fmOpTimeout         = 2 * time.Second        // eeo.Options.OperationTimeout (GETs)
	fmBackoffInitial    = 100 * time.Millisecond // auth.Options.BackoffInitial (±50% jitter)
	fmRetryAfter        = time.Second            // the 503 row's Retry-After
	// fmRecoveryWait bounds how long a cell polls, once its fault is
	// cleared, for a fetch or an upload the fault broke off to end.
	fmRecoveryWait = 5 * time.Second
	// fmCut is where a reset or truncation cuts a token or CreateImport
	// response: past the status line and the 100 Continue, inside the
	// final answer, so EEO has done the work when the answer is lost.
	fmCut = 200
	// fmDownloadCut cuts a report download inside its content: GetReport's
	// answer (under 1 KiB) passes, the content (fmReportRows rows, about
	// 190 KB) breaks off.
	fmDownloadCut = 32 << 10
	fmReportRows  = "3000"
)

// fmOp is an operation of the matrix.
type fmOp string

const (
	opGetTokenGRPC       fmOp = "GetToken_gRPC"
	opGetTokenREST       fmOp = "GetToken_REST"
	opCreateImportGRPC   fmOp = "CreateImport_gRPC"
	opCreateImportREST   fmOp = "CreateImport_REST"
	opDownloadReportGRPC fmOp = "DownloadReport_gRPC"
	opDownloadReportREST fmOp = "DownloadReport_REST"
)

var fmOps = []fmOp{opGetTokenGRPC, opGetTokenREST, opCreateImportGRPC, opCreateImportREST, opDownloadReportGRPC, opDownloadReportREST}

func (o fmOp) rest() bool     { return strings.HasSuffix(string(o), "_REST") }
func (o fmOp) token() bool    { return strings.HasPrefix(string(o), "GetToken") }
func (o fmOp) create() bool   { return strings.HasPrefix(string(o), "CreateImport") }
func (o fmOp) download() bool { return strings.HasPrefix(string(o), "DownloadReport") }

// fmOutcome is what one cell's faulted call must end with, as the README's
// error table documents it.
type fmOutcome struct {
	ok     bool       // the call succeeds (the fault is invisible, or a retry absorbed it)
	code   codes.Code // gRPC code
	reason string     // ErrorInfo reason; see fmDeadline for the one exception
	http   int        // REST status
	// shortBody: REST download answered 200, then the body breaks off
	// before Content-Length (README: "over REST such a failure aborts the
	// connection").
	shortBody bool
	// retryAfter, if set, is the least RetryInfo delay (gRPC) or
	// Retry-After (REST) the error must carry.
	retryAfter time.Duration
	// created is how many imports EEO holds once a faulted CreateImport
	// returned: 1 where EEO finished the request and only its answer was
	// lost (then the retry with the same request_id must return that
	// import, not make a second).
	created int64
	// pauses is how many retry pauses the EEO client took during a faulted
	// DownloadReport (RetryPolicy: GETs are retried, up to 3 attempts).
	pauses int
}

func fmOK() fmOutcome { return fmOutcome{ok: true, code: codes.OK, http: http.StatusOK} }

func fmErr(code codes.Code, reason string, httpStatus int) fmOutcome {
	return fmOutcome{code: code, reason: reason, http: httpStatus}
}

// fmDeadline is the README's "Caller's deadline passed while waiting":
// DEADLINE_EXCEEDED / 504, reason DEADLINE_EXCEEDED. gRPC sends the server
// the caller's remaining time, so the caller's own deadline normally fires
// first and ends the call with a bare DEADLINE_EXCEEDED (over REST, in the
// facade's client) before the gateway's status arrives. The reason is
// therefore checked only when an ErrorInfo arrived.
func fmDeadline() fmOutcome {
	return fmOutcome{code: codes.DeadlineExceeded, reason: server.ReasonDeadlineExceeded, http: http.StatusGatewayTimeout}
}

func (o fmOutcome) withCreated(n int64) fmOutcome       { o.created = n; return o }
func (o fmOutcome) withPauses(n int) fmOutcome          { o.pauses = n; return o }
func (o fmOutcome) withRetry(d time.Duration) fmOutcome { o.retryAfter = d; return o }
func (o fmOutcome) withShortBody() fmOutcome            { o.shortBody = true; return o }

// describe renders the outcome for the matrix table: the gRPC code and
// reason, or for REST the HTTP status and reason, with the notes that
// matter (RetryInfo, retries taken, an import EEO made).
func (o fmOutcome) describe(rest bool) string {
	var s string
	switch {
	case o.shortBody:
		s = "200, body cut short"
	case o.ok:
		s = "OK"
	case rest:
		s = strconv.Itoa(o.http) + " " + o.reason
	default:
		s = o.code.String() + " " + o.reason
	}
	var notes []string
	if o.retryAfter > 0 {
		notes = append(notes, "retry≥"+o.retryAfter.String())
	}
	if o.pauses > 0 {
		notes = append(notes, strconv.Itoa(o.pauses+1)+" attempts")
	}
	if o.created > 0 && !o.ok {
		notes = append(notes, "EEO has the import; same request_id returns it")
	}
	if len(notes) > 0 {
		s += " [" + strings.Join(notes, ", ") + "]"
	}
	return s
}

// fmTokenCache says which cells start with a token cached.
type fmTokenCache int

const (
	// cachedForAPI: the import and report cells start with a token
	// cached (the fault then hits their EEO calls), the GetToken cells
	// without one (the fault then hits the token request).
	cachedForAPI fmTokenCache = iota
	// cachedAll: every cell starts with a token cached.
	cachedAll
	// cachedNone: no cell has a token cached when the fault starts.
	cachedNone
)

// fmFault is a row of the matrix.
type fmFault struct {
	name string
	// inject starts the fault; the cell's stack is warm by then (token as
	// tokens says, report SUCCEEDED).
	inject func(s *stack, op fmOp)
	// clear ends it.
	clear func(t *testing.T, s *stack)
	// deadline is the caller's deadline for the faulted call.
	deadline time.Duration
	tokens   fmTokenCache
	// transient faults are cleared at the EEO client's first retry pause:
	// a single failure that a retry of an idempotent call absorbs.
	transient bool
	// tune adjusts the stack for the row.
	tune func(*stackOptions)
	// want is the documented outcome of the faulted call, per operation.
	want map[fmOp]fmOutcome
}

func proxyFault(f faultproxy.Fault, cfg func(op fmOp) faultproxy.FaultConfig) func(*stack, fmOp) {
	return func(s *stack, op fmOp) {
		var c faultproxy.FaultConfig
		if cfg != nil {
			c = cfg(op)
		}
		s.proxy.Set(f, c)
		s.cutConnections()
	}
}

func clearProxy(_ *testing.T, s *stack) {
	s.proxy.Set(faultproxy.Pass, faultproxy.FaultConfig{})
	s.cutConnections()
}

func sandboxFault(f sandbox.Fault) func(*stack, fmOp) {
	return func(s *stack, _ fmOp) { s.sb.SetFaults(sandbox.Faults{Token: f, API: f}) }
}

func clearSandbox(_ *testing.T, s *stack) { s.sb.SetFaults(sandbox.Faults{}) }

// cutAt is where reset and truncate cut the response of op.
func cutAt(op fmOp) int {
	if op.download() {
		return fmDownloadCut
	}
	return fmCut
}

// faultMatrix is the expected table: fault × operation → documented outcome
// (README, "Errors"). Every cell also checks no panic, no leaked goroutine,
// recovery once the fault is cleared, and, for CreateImport, that EEO never
// holds more imports than the calls that succeeded.
var faultMatrix = []fmFault{
	{
		name:     "latency_beyond_deadline",
		inject:   proxyFault(faultproxy.Latency, func(fmOp) faultproxy.FaultConfig { return faultproxy.FaultConfig{Delay: fmLatency} }),
		clear:    clearProxy,
		deadline: fmShortDeadline,
		want: map[fmOp]fmOutcome{
			opGetTokenGRPC:       fmDeadline(),
			opGetTokenREST:       fmDeadline(),
			opCreateImportGRPC:   fmDeadline(),
			opCreateImportREST:   fmDeadline(),
			opDownloadReportGRPC: fmDeadline(),
			opDownloadReportREST: fmDeadline(),
		},
	},
	{
		name:   "connection_refused",
		inject: func(s *stack, _ fmOp) { s.proxy.Down(); s.cutConnections() },
		clear: func(t *testing.T, s *stack) {
			if err := s.proxy.Up(); err != nil {
				t.Fatalf("proxy Up: %v", err)
			}
		},
		deadline: fmPatientDeadline,
		want: map[fmOp]fmOutcome{
			opGetTokenGRPC:       fmErr(codes.Unavailable, server.ReasonEEOUnavailable, 503).withRetry(time.Second),
			opGetTokenREST:       fmErr(codes.Unavailable, server.ReasonEEOUnavailable, 503).withRetry(time.Second),
			opCreateImportGRPC:   fmErr(codes.Unavailable, server.ReasonEEOUnavailable, 503).withRetry(time.Second),
			opCreateImportREST:   fmErr(codes.Unavailable, server.ReasonEEOUnavailable, 503).withRetry(time.Second),
			opDownloadReportGRPC: fmErr(codes.Unavailable, server.ReasonEEOUnavailable, 503).withRetry(time.Second).withPauses(2),
			opDownloadReportREST: fmErr(codes.Unavailable, server.ReasonEEOUnavailable, 503).withRetry(time.Second).withPauses(2),
		},
	},
	{
		name:     "reset_mid_response",
		inject:   proxyFault(faultproxy.ResetMidResponse, func(op fmOp) faultproxy.FaultConfig { return faultproxy.FaultConfig{ResetAfter: cutAt(op)} }),
		clear:    clearProxy,
		deadline: fmPatientDeadline,
		want: map[fmOp]fmOutcome{
			opGetTokenGRPC:       fmErr(codes.Unavailable, server.ReasonEEOUnavailable, 503).withRetry(time.Second),
			opGetTokenREST:       fmErr(codes.Unavailable, server.ReasonEEOUnavailable, 503).withRetry(time.Second),
			opCreateImportGRPC:   fmErr(codes.Unavailable, server.ReasonEEOUnavailable, 503).withRetry(time.Second).withCreated(1),
			opCreateImportREST:   fmErr(codes.Unavailable, server.ReasonEEOUnavailable, 503).withRetry(time.Second).withCreated(1),
			opDownloadReportGRPC: fmErr(codes.Unavailable, server.ReasonEEOUnavailable, 503).withRetry(time.Second),
			// The gateway holds a report's last chunk until the report is
			// checked, and this one (fmReportRows) fits in one chunk: cut
			// off, no byte of it went out, so REST still answers with a
			// status. A body cut short after bytes went out is
			// server.TestDownloadBrokenMidStream's.
			opDownloadReportREST: fmErr(codes.Unavailable, server.ReasonEEOUnavailable, 503).withRetry(time.Second),
		},
	},
	{
		name:     "truncated_body",
		inject:   proxyFault(faultproxy.TruncateResponse, func(op fmOp) faultproxy.FaultConfig { return faultproxy.FaultConfig{TruncateAfter: cutAt(op)} }),
		clear:    clearProxy,
		deadline: fmPatientDeadline,
		want: map[fmOp]fmOutcome{
			opGetTokenGRPC:       fmErr(codes.Unavailable, server.ReasonEEOUnavailable, 503).withRetry(time.Second),
			opGetTokenREST:       fmErr(codes.Unavailable, server.ReasonEEOUnavailable, 503).withRetry(time.Second),
			opCreateImportGRPC:   fmErr(codes.Unavailable, server.ReasonEEOUnavailable, 503).withRetry(time.Second).withCreated(1),
			opCreateImportREST:   fmErr(codes.Unavailable, server.ReasonEEOUnavailable, 503).withRetry(time.Second).withCreated(1),
			opDownloadReportGRPC: fmErr(codes.Unavailable, server.ReasonEEOUnavailable, 503).withRetry(time.Second),
			// The gateway holds a report's last chunk until the report is
			// checked, and this one (fmReportRows) fits in one chunk: cut
			// off, no byte of it went out, so REST still answers with a
			// status. A body cut short after bytes went out is
			// server.TestDownloadBrokenMidStream's.
			opDownloadReportREST: fmErr(codes.Unavailable, server.ReasonEEOUnavailable, 503).withRetry(time.Second),
		},
	},
	{
		name:     "malformed_json",
		inject:   sandboxFault(sandbox.Fault{Malformed: true}),
		clear:    clearSandbox,
		deadline: fmPatientDeadline,
		want: map[fmOp]fmOutcome{
			opGetTokenGRPC:       fmErr(codes.Unavailable, server.ReasonEEOMalformedResponse, 503).withRetry(time.Second),
			opGetTokenREST:       fmErr(codes.Unavailable, server.ReasonEEOMalformedResponse, 503).withRetry(time.Second),
			opCreateImportGRPC:   fmErr(codes.Unavailable, server.ReasonEEOMalformedResponse, 503).withRetry(time.Second),
			opCreateImportREST:   fmErr(codes.Unavailable, server.ReasonEEOMalformedResponse, 503).withRetry(time.Second),
			opDownloadReportGRPC: fmErr(codes.Unavailable, server.ReasonEEOMalformedResponse, 503).withRetry(time.Second),
			opDownloadReportREST: fmErr(codes.Unavailable, server.ReasonEEOMalformedResponse, 503).withRetry(time.Second),
		},
	},
	{
		name:     "http_500",
		inject:   sandboxFault(sandbox.Fault{Status: http.StatusInternalServerError}),
		clear:    clearSandbox,
		deadline: fmPatientDeadline,
		want: map[fmOp]fmOutcome{
			opGetTokenGRPC:       fmErr(codes.Unavailable, server.ReasonEEOUnavailable, 503).withRetry(time.Second),
			opGetTokenREST:       fmErr(codes.Unavailable, server.ReasonEEOUnavailable, 503).withRetry(time.Second),
			opCreateImportGRPC:   fmErr(codes.Unavailable, server.ReasonEEOUnavailable, 503).withRetry(time.Second),
			opCreateImportREST:   fmErr(codes.Unavailable, server.ReasonEEOUnavailable, 503).withRetry(time.Second),
			opDownloadReportGRPC: fmErr(codes.Unavailable, server.ReasonEEOUnavailable, 503).withRetry(time.Second).withPauses(2),
			opDownloadReportREST: fmErr(codes.Unavailable, server.ReasonEEOUnavailable, 503).withRetry(time.Second).withPauses(2),
		},
	},
	{
		// A single 503: the token request and the upload are not retried
		// (the cache backs off; an upload's body is spent), so their callers
		// see it with EEO's Retry-After; DownloadReport's GET is retried
		// after the Retry-After and succeeds.
		name:      "http_503_retry_after",
		inject:    sandboxFault(sandbox.Fault{Status: http.StatusServiceUnavailable, RetryAfter: fmRetryAfter}),
		clear:     clearSandbox,
		deadline:  fmPatientDeadline,
		transient: true,
		// The retry is taken only if the Retry-After fits in the operation
		// timeout.
		tune: func(o *stackOptions) { o.EEO.OperationTimeout = 3 * fmRetryAfter },
		want: map[fmOp]fmOutcome{
			opGetTokenGRPC:       fmErr(codes.Unavailable, server.ReasonEEOUnavailable, 503).withRetry(fmRetryAfter),
			opGetTokenREST:       fmErr(codes.Unavailable, server.ReasonEEOUnavailable, 503).withRetry(fmRetryAfter),
			opCreateImportGRPC:   fmErr(codes.Unavailable, server.ReasonEEOUnavailable, 503).withRetry(fmRetryAfter),
			opCreateImportREST:   fmErr(codes.Unavailable, server.ReasonEEOUnavailable, 503).withRetry(fmRetryAfter),
			opDownloadReportGRPC: fmOK().withPauses(1),
			opDownloadReportREST: fmOK().withPauses(1),
		},
	},
	{
		name:     "http_429",
		inject:   sandboxFault(sandbox.Fault{Status: http.StatusTooManyRequests}),
		clear:    clearSandbox,
		deadline: fmPatientDeadline,
		want: map[fmOp]fmOutcome{
			opGetTokenGRPC:       fmErr(codes.ResourceExhausted, server.ReasonEEORateLimited, 429).withRetry(time.Second),
			opGetTokenREST:       fmErr(codes.ResourceExhausted, server.ReasonEEORateLimited, 429).withRetry(time.Second),
			opCreateImportGRPC:   fmErr(codes.ResourceExhausted, server.ReasonEEORateLimited, 429).withRetry(time.Second),
			opCreateImportREST:   fmErr(codes.ResourceExhausted, server.ReasonEEORateLimited, 429).withRetry(time.Second),
			opDownloadReportGRPC: fmErr(codes.ResourceExhausted, server.ReasonEEORateLimited, 429).withRetry(time.Second).withPauses(2),
			opDownloadReportREST: fmErr(codes.ResourceExhausted, server.ReasonEEORateLimited, 429).withRetry(time.Second).withPauses(2),
		},
	},
	{
		// The caller's deadline is well beyond the gateway's own limits
		// (fetch timeout, stream idle timeout, operation timeout), so the
		// gateway answers first: EEO timed out.
		name:     "blackhole",
		inject:   proxyFault(faultproxy.Blackhole, nil),
		clear:    clearProxy,
		deadline: fmBlackholeDeadline,
		want: map[fmOp]fmOutcome{
			opGetTokenGRPC:       fmErr(codes.Unavailable, server.ReasonEEOTimeout, 503).withRetry(time.Second),
			opGetTokenREST:       fmErr(codes.Unavailable, server.ReasonEEOTimeout, 503).withRetry(time.Second),
			opCreateImportGRPC:   fmErr(codes.Unavailable, server.ReasonEEOTimeout, 503).withRetry(time.Second),
			opCreateImportREST:   fmErr(codes.Unavailable, server.ReasonEEOTimeout, 503).withRetry(time.Second),
			opDownloadReportGRPC: fmErr(codes.Unavailable, server.ReasonEEOTimeout, 503).withRetry(time.Second),
			opDownloadReportREST: fmErr(codes.Unavailable, server.ReasonEEOTimeout, 503).withRetry(time.Second),
		},
	},
	{
		name: "token_down_token_cached",
		inject: func(s *stack, _ fmOp) {
			s.sb.SetFaults(sandbox.Faults{Token: sandbox.Fault{Status: http.StatusServiceUnavailable}})
		},
		clear:    clearSandbox,
		deadline: fmPatientDeadline,
		tokens:   cachedAll,
		want: map[fmOp]fmOutcome{
			opGetTokenGRPC:       fmOK(),
			opGetTokenREST:       fmOK(),
			opCreateImportGRPC:   fmOK().withCreated(1),
			opCreateImportREST:   fmOK().withCreated(1),
			opDownloadReportGRPC: fmOK(),
			opDownloadReportREST: fmOK(),
		},
	},
	{
		name: "token_down_no_token",
		inject: func(s *stack, _ fmOp) {
			s.sb.SetFaults(sandbox.Faults{Token: sandbox.Fault{Status: http.StatusServiceUnavailable}})
		},
		clear:    clearSandbox,
		deadline: fmPatientDeadline,
		tokens:   cachedNone,
		want: map[fmOp]fmOutcome{
			opGetTokenGRPC:       fmErr(codes.Unavailable, server.ReasonEEOUnavailable, 503).withRetry(time.Second),
			opGetTokenREST:       fmErr(codes.Unavailable, server.ReasonEEOUnavailable, 503).withRetry(time.Second),
			opCreateImportGRPC:   fmErr(codes.Unavailable, server.ReasonEEOUnavailable, 503).withRetry(time.Second),
			opCreateImportREST:   fmErr(codes.Unavailable, server.ReasonEEOUnavailable, 503).withRetry(time.Second),
			opDownloadReportGRPC: fmErr(codes.Unavailable, server.ReasonEEOUnavailable, 503).withRetry(time.Second),
			opDownloadReportREST: fmErr(codes.Unavailable, server.ReasonEEOUnavailable, 503).withRetry(time.Second),
		},
	},
}

// TestFaultMatrix crosses network and upstream faults with the gateway's
// operations, each cell on a stack of its own whose gateway reaches the
// sandbox through a fault proxy. Each cell checks (a) the documented status,
// (b) no panic in the cell's logs, (c) no goroutine left behind once the
// cell's stack is down (the package's goleak check covers the whole run),
// (d) that the same call succeeds once the fault is cleared, within one
// backoff period of the fake clock, and for CreateImport that EEO holds no
// more imports than the calls that succeeded (no duplicate, no partial one).
func TestFaultMatrix(t *testing.T) {
	if len(faultMatrix) < 11 {
		t.Fatalf("the matrix has %d faults, want at least 11", len(faultMatrix))
	}
	var table strings.Builder
	fmt.Fprintf(&table, "%-26s", "fault \\ operation")
	for _, op := range fmOps {
		fmt.Fprintf(&table, " | %-24s", op)
	}
	table.WriteString("\n")
	for _, f := range faultMatrix {
		fmt.Fprintf(&table, "%-26s", f.name)
		for _, op := range fmOps {
			fmt.Fprintf(&table, " | %-24s", f.want[op].describe(op.rest()))
		}
		table.WriteString("\n")
		t.Run(f.name, func(t *testing.T) {
			for _, op := range fmOps {
				want, ok := f.want[op]
				if !ok {
					t.Fatalf("no expected outcome for %s", op)
				}
				before := runtime.NumGoroutine()
				var stackID int64
				t.Run(string(op), func(t *testing.T) { runFaultCell(t, f, op, want, &stackID) })
				// (b) no panic anywhere in the cell's logs, its shutdown included.
				for _, line := range stackLogLines(stackID) {
					if strings.Contains(strings.ToLower(line), "panic") {
						t.Errorf("%s/%s: a log line mentions a panic: %s", f.name, op, strings.TrimSpace(line))
					}
				}
				// (c) the cell's stack is down: every goroutine it started
				// must be gone.
				settleGoroutines(t, f.name+"/"+string(op), before)
			}
		})
	}
	t.Logf("fault matrix (expected outcomes):\n%s", table.String())
}

// runFaultCell runs one cell and sets *stackID to the id of its stack.
func runFaultCell(t *testing.T, f fmFault, op fmOp, want fmOutcome, stackID *int64) {
	clock := testkit.NewClock()
	var s *stack
	var mu sync.Mutex
	var pauses []time.Duration
	opts := stackOptions{
		Clock: clock,
		Proxy: true,
		Cache: auth.Options{FetchTimeout: fmFetchTimeout, BackoffInitial: fmBackoffInitial, BackoffMax: 2 * time.Second},
		EEO: eeo.Options{
			Retry:             eeo.RetryPolicy{MaxAttempts: 3, InitialBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond},
			Breaker:           eeo.BreakerPolicy{ConsecutiveFailures: 5, OpenFor: 200 * time.Millisecond},
			OperationTimeout:  fmOpTimeout,
			StreamIdleTimeout: fmStreamIdle,
			Now:               clock.Now,
			// A pause between attempts passes on the fake clock, not in
			// real time.
			Sleep: func(ctx context.Context, d time.Duration) error {
				mu.Lock()
				pauses = append(pauses, d)
				mu.Unlock()
				if f.transient {
					s.sb.SetFaults(sandbox.Faults{})
				}
				clock.Advance(d)
				return ctx.Err()
			},
		},
	}
	if f.tune != nil {
		f.tune(&opts)
	}
	// Registered before the stack's, so it runs after it: a failed cell
	// shows its stack's whole log, shutdown included.
	t.Cleanup(func() {
		if t.Failed() && s != nil {
			t.Logf("logs of the cell's stack:\n%s", strings.Join(stackLogLines(s.id), ""))
		}
	})
	s = newStack(t, opts)
	*stackID = s.id

	// Warm up: a token cached as the row says, and for the report cells a
	// SUCCEEDED report to download.
	// The warm-up is not under test: on a loaded machine a call may run
	// into the row's short limits, so it is tried a few times, the fake
	// clock moving past any backoff in between.
	warmUp := func(what string, call func() error) {
		t.Helper()
		var err error
		for range 3 {
			if err = call(); err == nil {
				return
			}
			t.Logf("warm-up %s: %v; trying again", what, err)
			clock.Advance(5 * time.Second)
		}
		t.Fatalf("warm-up %s: %v", what, err)
	}
	var rep *eeov1.Report
	if op.download() {
		var created *eeov1.CreateReportResponse
		warmUp("CreateReport", func() (err error) {
			created, err = s.files.CreateReport(t.Context(), &eeov1.CreateReportRequest{
				Account: account, ReportType: "grants", Parameters: map[string]string{"as_of": "2031-02-28", "rows": fmReportRows},
				RequestId: "fm-report",
			})
			return err
		})
		clock.Advance(2 * time.Second) // QUEUED, RUNNING, SUCCEEDED at the default 1s step
		warmUp("GetReport", func() error {
			resp, err := s.files.GetReport(t.Context(), &eeov1.GetReportRequest{Account: account, ReportId: created.GetReport().GetReportId()})
			rep = resp.GetReport()
			return err
		})
		if rep.GetState() != eeov1.ReportState_REPORT_STATE_SUCCEEDED {
			t.Fatalf("report is %v, want SUCCEEDED", rep.GetState())
		}
	}
	var warm *eeov1.Token
	switch {
	case f.tokens == cachedAll, f.tokens == cachedForAPI && !op.token():
		warmUp("GetToken", func() (err error) {
			warm, err = s.getToken(t.Context())
			return err
		})
	default:
		if _, err := s.tokens.InvalidateToken(t.Context(), &eeov1.InvalidateTokenRequest{Account: account}); err != nil {
			t.Fatalf("InvalidateToken: %v", err)
		}
	}

	file := participantsFile(2<<10, "fm")
	requestID := "fm-" + f.name + "-" + string(op)
	call := func(deadline time.Duration) fmResult {
		ctx, cancel := context.WithTimeout(t.Context(), deadline)
		defer cancel()
		start := time.Now()
		r := fmCall(ctx, t, s, op, deadline, rep.GetReportId(), requestID, file)
		r.elapsed = time.Since(start)
		return r
	}

	tokenRequests := s.tokenRequests()
	f.inject(s, op)
	mu.Lock()
	pauses = nil
	mu.Unlock()
	res := call(f.deadline)
	mu.Lock()
	took := append([]time.Duration(nil), pauses...)
	mu.Unlock()

	// (a) the documented outcome.
	checkFaultOutcome(t, op, want, res)
	successes := map[string]bool{} // import ids CreateImport answered with
	if want.ok && !want.shortBody {
		checkSuccess(t, "faulted call", s, op, res, rep, file, requestID, successes)
	}
	if f.tokens == cachedAll {
		if op.token() && res.token.GetFingerprint() != warm.GetFingerprint() {
			t.Errorf("GetToken while the token endpoint is down returned fingerprint %q, want the cached %q", res.token.GetFingerprint(), warm.GetFingerprint())
		}
		if n := s.tokenRequests(); n != tokenRequests {
			t.Errorf("the sandbox saw %d token requests during the fault, want none: a cached token serves", n-tokenRequests)
		}
	}
	if op.download() {
		if len(took) != want.pauses {
			t.Errorf("the EEO client paused %d times (%v), want %d", len(took), took, want.pauses)
		}
		if f.transient && len(took) > 0 && took[0] < fmRetryAfter {
			t.Errorf("the retry after a 503 with Retry-After %v came after %v", fmRetryAfter, took[0])
		}
	}
	if op.create() {
		// Read once the gateway is done with the call: EEO may still be
		// counting an aborted upload after the caller's deadline.
		awaitFinishedCall(t, s, "CreateImport", 1)
		if n := s.sb.Stats().ImportsCreated; n != want.created {
			t.Errorf("EEO holds %d imports after the faulted CreateImport, want %d", n, want.created)
		}
	}

	// (d) recovery: clear the fault, let whatever the fault left in flight
	// end, move the fake clock past the cache's backoff if it is backing
	// off, and the same call succeeds. The cache reports StateRefreshing
	// until a request's outcome, its backoff included, is recorded and no
	// call can join it any more, so RetryAt read after that is the one to
	// wait out, and the call below sends a request of its own.
	f.clear(t, s)
	waitUntil(t, "the cache's token request to end", fmRecoveryWait, func() bool { return fmAccount(s).State != auth.StateRefreshing })
	if op.token() {
		awaitFinishedCall(t, s, "GetToken", 1)
	}
	if st := fmAccount(s); !st.RetryAt.IsZero() && st.RetryAt.After(clock.Now()) {
		wait := st.RetryAt.Sub(clock.Now())
		// The first backoff step: BackoffInitial ±50%, or EEO's
		// Retry-After when longer.
		if limit := max(fmBackoffInitial*3/2, want.retryAfter); wait > limit {
			t.Errorf("the cache backs off for %v after one failure, want at most %v", wait, limit)
		}
		clock.Advance(wait)
	}
	var again fmResult
	// An upload the fault broke off may still hold its request id at EEO
	// for a moment (README: REQUEST_IN_PROGRESS, "retry it later").
	waitUntil(t, "the request id to be released", fmRecoveryWait, func() bool {
		again = call(fmPatientDeadline)
		return !op.create() || !inProgress(again)
	})
	checkSuccess(t, "after the fault was cleared", s, op, again, rep, file, requestID, successes)

	if op.create() {
		// No duplicate, no partial import: EEO holds exactly the import
		// the successful calls returned.
		if n := s.sb.Stats().ImportsCreated; n != int64(len(successes)) || len(successes) != 1 {
			t.Errorf("EEO created %d imports; the successful CreateImport calls returned %d distinct imports, want 1 and 1", n, len(successes))
		}
	} else if n := s.sb.Stats().ImportsCreated; n != 0 {
		t.Errorf("EEO created %d imports in a %s cell", n, op)
	}
}

// fmResult is what one call of the matrix returned.
type fmResult struct {
	err error // gRPC status, or the REST client's transport error
	// REST
	code    int
	header  http.Header
	body    []byte
	readErr error
	elapsed time.Duration
	// decoded successes
	token *eeov1.Token
	imp   *eeov1.Import
	data  []byte
}

// fmCall makes op once, with deadline as the caller's deadline (over REST
// sent as Grpc-Timeout, which the facade honours).
func fmCall(ctx context.Context, t *testing.T, s *stack, op fmOp, deadline time.Duration, reportID, requestID string, file []byte) fmResult {
	t.Helper()
	switch op {
	case opGetTokenGRPC:
		tok, err := s.getToken(ctx)
		return fmResult{err: err, token: tok}
	case opCreateImportGRPC:
		imp, err := s.upload(ctx, &eeov1.ImportMetadata{ImportType: "participants", FileName: "fm.csv", RequestId: requestID}, file, 1<<10)
		return fmResult{err: err, imp: imp}
	case opDownloadReportGRPC:
		data, _, _, err := s.downloadGRPC(ctx, reportID)
		return fmResult{err: err, data: data}
	}

	var method, path string
	var body io.Reader
	switch op {
	case opGetTokenREST:
		method, path = http.MethodGet, "/v1/accounts/"+account+"/token"
	case opCreateImportREST:
		q := url.Values{"importType": {"participants"}, "fileName": {"fm.csv"}, "requestId": {requestID}}
		method, path, body = http.MethodPost, importsPath+"?"+q.Encode(), bytes.NewReader(file)
	case opDownloadReportREST:
		method, path = http.MethodGet, "/v1/accounts/"+account+"/reports/"+reportID+":download"
	default:
		t.Fatalf("unknown operation %s", op)
	}
	// The HTTP client waits a little longer than the Grpc-Timeout, so the
	// facade's answer arrives.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deadline+2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.restURL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Grpc-Timeout", strconv.FormatInt(deadline.Milliseconds(), 10)+"m")
	if body != nil {
		req.Header.Set("Content-Type", "text/csv")
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return fmResult{err: err}
	}
	defer resp.Body.Close()
	data, readErr := io.ReadAll(resp.Body)
	r := fmResult{code: resp.StatusCode, header: resp.Header, body: data, readErr: readErr}
	if resp.StatusCode != http.StatusOK || readErr != nil {
		return r
	}
	switch op {
	case opGetTokenREST:
		var m eeov1.GetTokenResponse
		if err := protojson.Unmarshal(data, &m); err != nil {
			t.Errorf("REST GetToken body is not a GetTokenResponse: %v", err)
		}
		r.token = m.GetToken()
	case opCreateImportREST:
		var m eeov1.CreateImportResponse
		if err := protojson.Unmarshal(data, &m); err != nil {
			t.Errorf("REST CreateImport body is not a CreateImportResponse: %v", err)
		}
		r.imp = m.GetDataImport()
	case opDownloadReportREST:
		r.data = data
	}
	return r
}

// checkFaultOutcome checks (a): the faulted call's status against the table.
func checkFaultOutcome(t *testing.T, op fmOp, want fmOutcome, res fmResult) {
	t.Helper()
	if want.ok {
		if !op.rest() {
			if res.err != nil {
				t.Errorf("faulted call: got %v, want success", res.err)
			}
			return
		}
		if res.err != nil || res.code != http.StatusOK {
			t.Errorf("faulted call: HTTP %d (%v), want 200 (body %.300s)", res.code, res.err, res.body)
			return
		}
		if want.shortBody {
			cl, _ := strconv.Atoi(res.header.Get("Content-Length"))
			if res.readErr == nil || len(res.body) >= cl {
				t.Errorf("faulted download: read %d of Content-Length %d bytes (%v), want a body cut short with an error", len(res.body), cl, res.readErr)
			}
		} else if res.readErr != nil {
			t.Errorf("faulted call: reading the body: %v", res.readErr)
		}
		return
	}

	if !op.rest() {
		if c := status.Code(res.err); c != want.code {
			t.Errorf("faulted call: got %v (code %v), want %v %s", res.err, c, want.code, want.reason)
			return
		}
		info := fmErrorInfo(res.err)
		switch {
		case info == nil && want.code == codes.DeadlineExceeded:
			// The caller's own deadline ended the call: see fmDeadline.
		case info == nil:
			t.Errorf("faulted call: %v carries no ErrorInfo, want reason %s", res.err, want.reason)
		case info.GetReason() != want.reason || info.GetDomain() != server.ErrorDomain:
			t.Errorf("faulted call: reason %q (domain %q), want %q (%v)", info.GetReason(), info.GetDomain(), want.reason, res.err)
		}
		if want.retryAfter > 0 {
			if ri := testkit.RetryInfo(res.err); ri == nil || ri.GetRetryDelay().AsDuration() < want.retryAfter {
				t.Errorf("faulted call: RetryInfo %v, want a delay of at least %v", ri, want.retryAfter)
			}
		}
		return
	}

	if res.err != nil {
		t.Errorf("faulted REST call: %v, want HTTP %d %s", res.err, want.http, want.reason)
		return
	}
	if res.code != want.http {
		t.Errorf("faulted REST call: HTTP %d, want %d %s (body %.300s)", res.code, want.http, want.reason, res.body)
		return
	}
	reason := restReason(res.body)
	switch {
	case reason == "" && want.code == codes.DeadlineExceeded:
	case reason != want.reason:
		t.Errorf("faulted REST call: reason %q, want %q (body %.300s)", reason, want.reason, res.body)
	}
	if want.retryAfter > 0 {
		secs, err := strconv.Atoi(res.header.Get("Retry-After"))
		if err != nil || time.Duration(secs)*time.Second < want.retryAfter {
			t.Errorf("faulted REST call: Retry-After %q, want at least %v", res.header.Get("Retry-After"), want.retryAfter)
		}
	}
}

// checkSuccess checks a call that must have succeeded, and its payload.
// successes collects the import ids CreateImport returned.
func checkSuccess(t *testing.T, what string, s *stack, op fmOp, res fmResult, rep *eeov1.Report, file []byte, requestID string, successes map[string]bool) {
	t.Helper()
	if res.err != nil {
		t.Errorf("%s: %s failed: %v", what, op, res.err)
		return
	}
	if op.rest() && (res.code != http.StatusOK || res.readErr != nil) {
		t.Errorf("%s: %s: HTTP %d (read: %v), body %.300s", what, op, res.code, res.readErr, res.body)
		return
	}
	switch {
	case op.token():
		if res.token.GetAccessToken() == "" {
			t.Errorf("%s: GetToken returned no token", what)
		} else if code := s.whoami(t, res.token.GetAccessToken()); code != http.StatusOK {
			t.Errorf("%s: EEO refuses the token GetToken returned: HTTP %d", what, code)
		}
	case op.create():
		imp := res.imp
		if imp.GetImportId() == "" || imp.GetSha256() != sha256Hex(file) || imp.GetSizeBytes() != int64(len(file)) || imp.GetRequestId() != requestID {
			t.Errorf("%s: CreateImport returned %v; want the whole file (sha256 %s, %d bytes) under request id %s", what, imp, sha256Hex(file), len(file), requestID)
		}
		successes[imp.GetImportId()] = true
	case op.download():
		if int64(len(res.data)) != rep.GetSizeBytes() || sha256Hex(res.data) != rep.GetSha256() {
			t.Errorf("%s: downloaded %d bytes with SHA-256 %s, want %d with %s", what, len(res.data), sha256Hex(res.data), rep.GetSizeBytes(), rep.GetSha256())
		}
	}
}

// inProgress reports whether a CreateImport was refused because its request
// id is still held (REQUEST_IN_PROGRESS, ABORTED / 409).
func inProgress(r fmResult) bool {
	if r.err != nil {
		info := fmErrorInfo(r.err)
		return status.Code(r.err) == codes.Aborted && info != nil && info.GetReason() == server.ReasonRequestInProgress
	}
	return r.code == http.StatusConflict && restReason(r.body) == server.ReasonRequestInProgress
}

// fmErrorInfo returns the ErrorInfo of a gRPC error, or nil.
func fmErrorInfo(err error) *errdetails.ErrorInfo {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	return nil
}

// restReason returns the ErrorInfo reason of a REST error body, "" if it
// has none.
func restReason(body []byte) string {
	var st struct {
		Details []struct {
			Type   string `json:"@type"`
			Reason string `json:"reason"`
		} `json:"details"`
	}
	if json.Unmarshal(body, &st) != nil {
		return ""
	}
	for _, d := range st.Details {
		if d.Type == "type.googleapis.com/google.rpc.ErrorInfo" {
			return d.Reason
		}
	}
	return ""
}

// fmAccount returns the cache's state of the stack's account.
func fmAccount(s *stack) auth.AccountState {
	for _, a := range s.cache.Accounts() {
		if a.Name == account {
			return a
		}
	}
	return auth.AccountState{}
}

// awaitFinishedCall waits (at most a second) until the server has logged n
// finished calls of method (TokenService or ImportReportService).
func awaitFinishedCall(t *testing.T, s *stack, method string, n int) {
	t.Helper()
	waitUntil(t, "the server to finish "+method, 5*time.Second, func() bool {
		return s.countLogs(t, "finished call", map[string]string{"component": "server", "grpc.method": method}) >= n
	})
}

// waitUntil polls cond until it holds, failing the test after limit.
func waitUntil(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// stackLogLines returns the raw log lines of the stack with the given id.
func stackLogLines(id int64) []string {
	tag := `"stack":` + strconv.FormatInt(id, 10)
	var lines []string
	for line := range strings.Lines(allLogs()) {
		if strings.Contains(line, tag+",") || strings.Contains(line, tag+"}") {
			lines = append(lines, line)
		}
	}
	return lines
}

// settleGoroutines waits up to two seconds for the goroutine count to fall
// back to before, and reports the goroutines left over if it does not.
func settleGoroutines(t *testing.T, what string, before int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= before {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Errorf("%s: %d goroutines after the cell, %d before; the extra ones leaked:\n%s", what, n, before, buf)
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}
