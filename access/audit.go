package access

import (
	"context"

	"github.com/eeo-gateway/eeo-gateway/internal/callnote"
	"github.com/eeo-gateway/eeo-gateway/internal/requestid"
	"log/slog"
	"net"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// AuditMessage is the slog message of every audit event, so audit events
// can be told from other log lines by message alone.
const AuditMessage = "audit"

// maxAuditValue bounds client-supplied strings (account, request id) in an
// audit event, so a caller cannot bloat the audit log with one request.
const maxAuditValue = 256

// auditor writes audit events: who did what to which account, and how it
// ended. It never sees a credential: requests are read for their account
// and request id only, and responses not at all — GetToken's holds a live
// EEO token.
type auditor struct {
	log *slog.Logger
	now func() time.Time
	// wallClock: now is time.Now, so a start an interceptor around the
	// Guard already read (callnote.Note.Start) is as good as reading it
	// again. Not so with an injected clock.
	wallClock bool
}

// auditRecord is what is known of a call when its event is written.
type auditRecord struct {
	method    string
	caller    Caller // zero when authentication failed
	account   string
	requestID string // the call's id, as in the access log
	// idempotencyKey is the request's own request_id field (imports,
	// reports), which callers reuse on retries: a different thing from the
	// call's request id, which every retry gets anew.
	idempotencyKey string
	// clientAddr is rendered only when an event is written: most
	// records (routine cache hits, reads) never are.
	clientAddr net.Addr
	start      time.Time
}

// startRecord begins the record of a call: its request id (settled by the
// server before the Guard runs; the raw x-request-id metadata when the
// Guard runs without it) and the client's address (for REST calls, the
// REST client's, which the server puts in place of the in-process peer).
//
// note is the access log's note, if any: its start, when it has one, saves
// reading the clock on every call, most of which (routine cache hits) are
// never audited.
func (a *auditor) startRecord(ctx context.Context, method string, note *callnote.Note) auditRecord {
	rec := auditRecord{method: method, requestID: requestid.From(ctx)}
	if note != nil && a.wallClock {
		rec.start = note.Start()
	}
	if rec.start.IsZero() {
		rec.start = a.now()
	}
	if rec.requestID == "" {
		// Not through the server's call context: the raw metadata. Only
		// then, since reading it copies the call's metadata.
		if ids := metadata.ValueFromIncomingContext(ctx, requestid.MetadataKey); len(ids) > 0 {
			rec.requestID = ids[0]
		}
	}
	if p, ok := peer.FromContext(ctx); ok {
		rec.clientAddr = p.Addr
	}
	return rec
}

// setRequest records the account and, if it has one, the idempotency key
// of the request.
func (rec *auditRecord) setRequest(rule methodRule, req any) {
	rec.account = rule.accountOf(req)
	rec.idempotencyKey = requestIDOf(req)
}

// write emits the event for a call that ended with err. Refusals by the
// Guard are warnings, so they stand out; everything else is info.
func (a *auditor) write(ctx context.Context, rec auditRecord, err error) {
	st := status.Convert(err)
	level := slog.LevelInfo
	if st.Code() == codes.Unauthenticated || st.Code() == codes.PermissionDenied {
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{
		slog.String("caller", clip(rec.caller.Name)),
		slog.String("via", rec.caller.Via),
		slog.String("account", clip(rec.account)),
		slog.String("method", rec.method),
		slog.String("outcome", st.Code().String()),
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			attrs = append(attrs, slog.String("reason", info.GetReason()))
			break
		}
	}
	attrs = append(attrs, slog.String("request_id", clip(rec.requestID)))
	if rec.idempotencyKey != "" {
		attrs = append(attrs, slog.String("idempotency_key", clip(rec.idempotencyKey)))
	}
	var clientAddr string
	if rec.clientAddr != nil {
		clientAddr = rec.clientAddr.String()
	}
	attrs = append(attrs,
		slog.String("client_addr", clientAddr),
		slog.Duration("duration", a.now().Sub(rec.start)),
	)
	a.log.LogAttrs(ctx, level, AuditMessage, attrs...)
}

// clip bounds a client-supplied string for the audit log.
func clip(s string) string {
	if len(s) <= maxAuditValue {
		return s
	}
	// Cut on a rune boundary so the log line stays valid UTF-8.
	return strings.ToValidUTF8(s[:maxAuditValue], "") + "…"
}
