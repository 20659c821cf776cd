package logging_test

import (
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/logging"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
)

// newBuffered is a JSON logger at info writing through a Buffer, flushed
// at warnings, as the service builds it.
func newBuffered(out *testkit.SyncBuffer, size int) (*slog.Logger, *logging.Buffer) {
	buf := logging.NewBuffer(out, size, time.Second)
	return slog.New(logging.FlushingAt(logging.NewHandler(buf, logging.FormatJSON, slog.LevelInfo), slog.LevelWarn, buf.Flush)), buf
}

func lines(out *testkit.SyncBuffer) int { return strings.Count(out.String(), "\n") }

// Info lines wait for the flush interval; what a crash can lose is that
// interval's lines and no more.
func TestBufferFlushesEveryInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out testkit.SyncBuffer
		log, buf := newBuffered(&out, 0)
		defer buf.Close()
		log.Info("one")
		log.Info("two")
		if n := lines(&out); n != 0 {
			t.Fatalf("%d lines written at once, want them buffered", n)
		}
		time.Sleep(time.Second + time.Millisecond)
		synctest.Wait()
		if n := lines(&out); n != 2 {
			t.Fatalf("%d lines written after the flush interval, want 2", n)
		}
	})
}

// A warning or an error is written before the call that logs it returns,
// with every line before it, in order.
func TestBufferFlushesAtWarnings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out testkit.SyncBuffer
		log, buf := newBuffered(&out, 0)
		defer buf.Close()
		log.Info("before")
		log.With("component", "audit").Warn("denied")
		if got := out.String(); !strings.Contains(got, `"msg":"before"`) || !strings.HasSuffix(got, "\"msg\":\"denied\",\"component\":\"audit\"}\n") {
			t.Fatalf("after a warning the output is %q, want both lines, in order", got)
		}
	})
}

// A full buffer is written out whole lines at a time.
func TestBufferFlushesWhenFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out testkit.SyncBuffer
		log, buf := newBuffered(&out, 1024)
		defer buf.Close()
		for range 20 {
			log.Info("line", "pad", strings.Repeat("x", 100))
		}
		got := out.String()
		if n := lines(&out); n == 0 || n == 20 {
			t.Fatalf("%d of 20 ~150-byte lines written through a 1 KiB buffer, want the full buffers' worth", n)
		}
		if !strings.HasSuffix(got, "\n") {
			t.Errorf("a flush split a line: output ends %q", got[max(0, len(got)-20):])
		}
	})
}

// Close writes everything out; a line logged after it is written at once.
func TestBufferCloseFlushes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out testkit.SyncBuffer
		log, buf := newBuffered(&out, 0)
		log.Info("stopped")
		if err := buf.Close(); err != nil {
			t.Fatal(err)
		}
		if n := lines(&out); n != 1 {
			t.Fatalf("%d lines after Close, want 1", n)
		}
		log.Info("late")
		if n := lines(&out); n != 2 {
			t.Fatalf("%d lines after a line logged past Close, want 2", n)
		}
	})
}
