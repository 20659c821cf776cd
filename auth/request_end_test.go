package auth_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/auth/authtest"
)

// onMessage is a slog.Handler that calls hook, on the logging goroutine,
// for each record with message msg: a slow log sink, in effect.
type onMessage struct {
	msg  string
	hook func()
}

func (h onMessage) Enabled(context.Context, slog.Level) bool { return true }
func (h onMessage) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h onMessage) WithGroup(string) slog.Handler            { return h }
func (h onMessage) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.hook()
	}
	return nil
}

// An account the snapshot shows with no request in flight has that
// request's outcome recorded, and a call from then on, once any backoff
// has passed, sends a request of its own rather than being handed the
// ended one's answer. Operators (and the fault matrix) wait for
// StateRefreshing to end before they judge what EEO said.
func TestNotRefreshingMeansTheRequestIsOver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &authtest.Fetcher{ExpiresIn: time.Hour}
		f.Fail(errEEODown)
		logged := make(chan struct{})
		// The failed request's log line takes a second to write; EEO is
		// back meanwhile.
		slow := onMessage{msg: "token request failed", hook: func() {
			f.Fail(nil)
			close(logged)
			time.Sleep(time.Second)
		}}
		c := newCache(t, f, auth.Options{BackoffInitial: 10 * time.Millisecond, Logger: slog.New(slow)})
		failed := make(chan error, 1)
		go func() {
			_, err := c.Token(t.Context(), "demo")
			failed <- err
		}()
		<-logged

		for c.Accounts()[0].State == auth.StateRefreshing {
			time.Sleep(time.Millisecond)
		}
		st := c.Accounts()[0]
		if !errors.Is(st.LastError, errEEODown) || st.Fetches != 1 {
			t.Fatalf("no request in flight, yet the snapshot shows %d requests and last error %v; want the failed one", st.Fetches, st.LastError)
		}
		time.Sleep(time.Until(st.RetryAt)) // a no-op once the backoff has passed
		tok, err := c.Token(t.Context(), "demo")
		if err != nil {
			t.Fatalf("a call after the failed request ended and its backoff passed: %v; want a new request's token", err)
		}
		if got := tok.AccessToken.Reveal(); got != "tok-2" || f.Calls() != 2 {
			t.Errorf("got %q after %d requests, want tok-2 from a second request", got, f.Calls())
		}
		if err := <-failed; !errors.Is(err, errEEODown) {
			t.Errorf("the caller of the failed request got %v, want its failure", err)
		}
	})
}
