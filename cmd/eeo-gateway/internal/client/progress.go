package client

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress follows one transfer.
type progress interface {
	// add records n more bytes moved.
	add(n int64)
	// done ends the report after a complete transfer.
	done()
	// stop ends the report after a failed one.
	stop()
}

// newProgress reports the transfer of total bytes (0 if unknown) on
// stderr: a bar on a terminal, otherwise a plain line every
// --progress-interval and one at the end, which reads well in a CI log.
func (o *options) newProgress(what string, total int64) progress {
	w := o.env.Stderr
	switch {
	case o.quiet:
		return quietProgress{}
	case isTerminal(w):
		return newBar(w, what, total)
	}
	now := o.env.Now()
	return &lineProgress{w: w, what: what, total: total, every: o.progressInterval, now: o.env.Now, start: now, last: now}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// quietProgress reports nothing (--quiet).
type quietProgress struct{}

func (quietProgress) add(int64) {}
func (quietProgress) done()     {}
func (quietProgress) stop()     {}

// barProgress draws a progress bar with bytes, rate and ETA.
type barProgress struct {
	bar *progressbar.ProgressBar
	w   io.Writer
}

func newBar(w io.Writer, what string, total int64) *barProgress {
	if total <= 0 {
		total = -1 // unknown: a spinner with bytes and rate
	}
	return &barProgress{w: w, bar: progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(true),
		progressbar.OptionUseIECUnits(true),
		progressbar.OptionShowCount(),
		progressbar.OptionShowTotalBytes(true),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionSetRenderBlankState(true),
	)}
}

func (b *barProgress) add(n int64) { b.bar.Add64(n) }

func (b *barProgress) done() {
	b.bar.Finish()
	fmt.Fprintln(b.w)
}

func (b *barProgress) stop() {
	b.bar.Exit()
	fmt.Fprintln(b.w)
}

// lineProgress prints "what: 12.0 MiB of 100.0 MiB (12%), 45.1 MiB/s, ETA 2s"
// at most once per interval, checked as bytes arrive so it needs no timer.
type lineProgress struct {
	w           io.Writer
	what        string
	total, n    int64
	every       time.Duration
	now         func() time.Time
	start, last time.Time
}

func (l *lineProgress) add(n int64) {
	l.n += n
	if t := l.now(); t.Sub(l.last) >= l.every {
		l.last = t
		fmt.Fprintln(l.w, l.line(t))
	}
}

func (l *lineProgress) done() {
	elapsed := l.now().Sub(l.start)
	fmt.Fprintf(l.w, "%s: %s done in %s (%s)\n", l.what, humanBytes(l.n), elapsed.Round(time.Millisecond), rate(l.n, elapsed))
}

func (l *lineProgress) stop() {
	fmt.Fprintf(l.w, "%s: stopped after %s\n", l.what, humanBytes(l.n))
}

// line describes the progress at t.
func (l *lineProgress) line(t time.Time) string {
	elapsed := t.Sub(l.start)
	if l.total <= 0 {
		return fmt.Sprintf("%s: %s, %s", l.what, humanBytes(l.n), rate(l.n, elapsed))
	}
	s := fmt.Sprintf("%s: %s of %s (%d%%), %s", l.what, humanBytes(l.n), humanBytes(l.total), l.n*100/l.total, rate(l.n, elapsed))
	if l.n > 0 && elapsed > 0 && l.n < l.total {
		eta := time.Duration(float64(elapsed) * float64(l.total-l.n) / float64(l.n))
		s += ", ETA " + roundETA(eta).String()
	}
	return s
}

// rate is bytes per second over elapsed, "-" before any time has passed.
func rate(n int64, elapsed time.Duration) string {
	if elapsed <= 0 {
		return "- B/s"
	}
	return humanBytes(int64(float64(n)/elapsed.Seconds())) + "/s"
}

// roundETA keeps an estimate to about two significant figures.
func roundETA(d time.Duration) time.Duration {
	if d < 10*time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}
