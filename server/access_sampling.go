package server

import (
	"context"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
)

// AccessLogSampling thins out the access log's repeated lines, as zap's
// production sampler does: of the lines of one kind — one method, one
// gRPC code, one caller — the first Initial of each second are written in
// full, then one in every Thereafter. A written line that follows dropped
// ones says how many with "suppressed", so a reader still counts every
// call. Lines at WARN and above (server errors, denials, rate limits, …)
// are never sampled.
//
// The zero value writes every line.
type AccessLogSampling struct {
	// Initial is how many lines of a kind are written in full each
	// second; 0 turns sampling off.
	Initial int
	// Thereafter: past Initial in a second, one line in Thereafter is
	// written. 0 or 1 writes every line.
	Thereafter int
}

// maxLineKinds bounds the kinds of line the access log counts (and keeps
// a prepared logger for): methods × codes × callers. Callers are the ones
// the access guard authenticated, and a kind that goes a second without a
// line is forgotten, so a live gateway has a few dozen; past the bound,
// new kinds are written in full, never dropped.
const maxLineKinds = 4096

// lineKey is a kind of access-log line: what is the same on all its lines.
type lineKey struct {
	method string // full method name
	caller string // the authenticated caller's name; "" for none
	code   codes.Code
}

// lineKind is a kind's prepared logger (its method's fields, caller and
// code already encoded) and its count.
type lineKind struct {
	log   *slog.Logger
	level slog.Level
	// state is the second (Unix time, low 32 bits) of the kind's last line
	// in its upper half and how many lines of that second were counted in
	// its lower half, in one word so that a line counts and a new second
	// starts, taking what the last one left unreported, atomically.
	// kindForgotten once the kind was forgotten: look it up again.
	state atomic.Uint64
}

const (
	kindForgotten = math.MaxUint64
	countMask     = 1<<32 - 1
)

// lineKinds is the access log's count of lines per kind and second.
type lineKinds struct {
	initial, thereafter uint64 // initial 0: sampling off
	max                 int64
	kinds               sync.Map // lineKey → *lineKind
	size                atomic.Int64
	swept               atomic.Int64 // the second of the last sweep
}

func newLineKinds(s AccessLogSampling) *lineKinds {
	k := &lineKinds{max: maxLineKinds}
	if s.Initial > 0 {
		k.initial = uint64(s.Initial)
		k.thereafter = uint64(max(1, s.Thereafter))
	}
	return k
}

// kind returns k's kind, made with mk if it is new; nil when there are
// already as many kinds as the bound allows.
func (ks *lineKinds) kind(k lineKey, mk func() *lineKind) *lineKind {
	if v, ok := ks.kinds.Load(k); ok {
		return v.(*lineKind)
	}
	if ks.size.Load() >= ks.max {
		return nil
	}
	v, loaded := ks.kinds.LoadOrStore(k, mk())
	if !loaded {
		ks.size.Add(1)
	}
	return v.(*lineKind)
}

// forget removes k's kind lk, which the caller marked forgotten.
func (ks *lineKinds) forget(k lineKey, lk *lineKind) {
	if ks.kinds.CompareAndDelete(k, lk) {
		ks.size.Add(-1)
	}
}

// count counts a line of lk in second sec (the call's start): whether to
// write it, and how many lines of lk were dropped since the last written
// one that it is the first to follow. ok is false if lk was forgotten
// meanwhile: the caller looks the kind up again.
//
// Within a second the n-th line is written if n ≤ initial or n − initial
// is a multiple of thereafter, so a written line past initial follows
// exactly thereafter − 1 dropped ones, and the lines dropped after the
// last written one of a second, (n − initial) mod thereafter, are
// reported by the kind's first line of its next second. Calls finish out
// of order, so a line may follow its dropped ones only approximately in
// time; the counts add up exactly.
func (ks *lineKinds) count(lk *lineKind, sec int64) (write bool, suppressed uint64, ok bool) {
	now := uint64(uint32(sec))
	for {
		old := lk.state.Load()
		if old == kindForgotten {
			return false, 0, false
		}
		next, carried := old+1, uint64(0)
		if now > old>>32 {
			// The kind's first line of this second; a call that started
			// in an earlier second but ended late counts in the current
			// one instead, rather than turning the count back.
			next, carried = now<<32|1, ks.unreported(old&countMask)
		}
		if !lk.state.CompareAndSwap(old, next) {
			continue
		}
		switch n := next & countMask; {
		case ks.initial == 0:
			return true, 0, true
		case n == 1:
			return true, carried, true
		case n <= ks.initial:
			return true, 0, true
		case (n-ks.initial)%ks.thereafter == 0:
			return true, ks.thereafter - 1, true
		}
		return false, 0, true
	}
}

// unreported is how many of a second's n lines were dropped after its
// last written one.
func (ks *lineKinds) unreported(n uint64) uint64 {
	if ks.initial == 0 || n <= ks.initial {
		return 0
	}
	return (n - ks.initial) % ks.thereafter
}

// sweepDue reports whether this call, in second sec, is the one to sweep:
// the first to see a new second.
func (ks *lineKinds) sweepDue(sec int64) bool {
	last := ks.swept.Load()
	return sec > last && ks.swept.CompareAndSwap(last, sec)
}

// sweep forgets the kinds without a line this second or the last (all of
// them with before = math.MaxInt64), so that the map holds only the kinds
// in use, and hands each one's unreported count, if any, to report.
func (ks *lineKinds) sweep(sec int64, report func(lk *lineKind, suppressed uint64)) {
	ks.kinds.Range(func(k, v any) bool {
		lk := v.(*lineKind)
		for {
			old := lk.state.Load()
			if old == kindForgotten {
				break
			}
			if sec != math.MaxInt64 && int64(old>>32) >= sec-1 {
				break
			}
			if lk.state.CompareAndSwap(old, kindForgotten) {
				ks.forget(k.(lineKey), lk)
				if n := ks.unreported(old & countMask); n > 0 {
					report(lk, n)
				}
				break
			}
		}
		return true
	})
}

// suppressedMessage is the message of the line that reports dropped lines
// of a kind that had no line since to carry the count.
const suppressedMessage = "suppressed calls"

// reportSuppressed writes lk's unreported count as a line of its own.
func reportSuppressed(lk *lineKind, n uint64) {
	r := slog.NewRecord(time.Now(), lk.level, suppressedMessage, 0)
	r.AddAttrs(slog.Uint64("suppressed", n))
	_ = lk.log.Handler().Handle(context.Background(), r)
}
