package server_test

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/server"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// scripted is an import whose state changes at given offsets from the
// start of the bubble's clock, and the offsets at which it was polled.
type scripted struct {
	start   time.Time
	changes []time.Duration // when the state moves to states[i+1]
	states  []eeov1.ImportState
	polls   []time.Duration
}

func (s *scripted) get(context.Context) (*eeov1.Import, error) {
	at := time.Since(s.start)
	s.polls = append(s.polls, at)
	i := 0
	for i < len(s.changes) && at >= s.changes[i] {
		i++
	}
	return &eeov1.Import{ImportId: "imp_1", State: s.states[i]}, nil
}

func terminalImport(i *eeov1.Import) bool {
	return i.GetState() == eeov1.ImportState_IMPORT_STATE_COMPLETED
}

func secs(f ...float64) []time.Duration {
	d := make([]time.Duration, len(f))
	for i, v := range f {
		d[i] = time.Duration(v * float64(time.Second))
	}
	return d
}

// TestWatchPollsFastWhileMovingAndBacksOff: 200 ms after the start and
// after every change, doubling while nothing changes, never slower than
// the configured interval; each observed change is sent once.
func TestWatchPollsFastWhileMovingAndBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		obj := &scripted{
			start:   time.Now(),
			changes: secs(0.5, 0.7, 10),
			states: []eeov1.ImportState{
				eeov1.ImportState_IMPORT_STATE_QUEUED, eeov1.ImportState_IMPORT_STATE_VALIDATING,
				eeov1.ImportState_IMPORT_STATE_PROCESSING, eeov1.ImportState_IMPORT_STATE_COMPLETED,
			},
		}
		var sent []eeov1.ImportState
		err := server.WatchImports(t.Context(), context.Background(), 2*time.Second, obj.get, terminalImport,
			func(i *eeov1.Import) error { sent = append(sent, i.GetState()); return nil })
		if err != nil {
			t.Fatal(err)
		}
		// 0 first; .2 same (→ .4); .6 moved (→ .2); .8 moved (→ .2);
		// 1.0 same (→ .4); 1.4 (→ .8); 2.2 (→ 1.6); 3.8 (→ 2, the cap);
		// 5.8; 7.8; 9.8; 11.8 terminal.
		want := secs(0, 0.2, 0.6, 0.8, 1.0, 1.4, 2.2, 3.8, 5.8, 7.8, 9.8, 11.8)
		if !slices.Equal(obj.polls, want) {
			t.Errorf("polled at %v\nwant        %v", obj.polls, want)
		}
		if !slices.Equal(sent, obj.states) {
			t.Errorf("sent %v, want every state: %v", sent, obj.states)
		}
	})
}

// TestWatchMissesOnlyStatesShorterThanItsPolls: the documented limit —
// a state that begins and ends between two polls is not sent — and
// nothing else is lost.
func TestWatchMissesOnlyStatesShorterThanItsPolls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		obj := &scripted{
			start:   time.Now(),
			changes: secs(0.25, 0.3, 0.5),
			states: []eeov1.ImportState{
				eeov1.ImportState_IMPORT_STATE_QUEUED, eeov1.ImportState_IMPORT_STATE_VALIDATING,
				eeov1.ImportState_IMPORT_STATE_PROCESSING, eeov1.ImportState_IMPORT_STATE_COMPLETED,
			},
		}
		var sent []eeov1.ImportState
		if err := server.WatchImports(t.Context(), context.Background(), 2*time.Second, obj.get, terminalImport,
			func(i *eeov1.Import) error { sent = append(sent, i.GetState()); return nil }); err != nil {
			t.Fatal(err)
		}
		// Polls at 0, .2, .6: VALIDATING (.25–.3) and PROCESSING (.3–.5)
		// fell between .2 and .6.
		want := []eeov1.ImportState{eeov1.ImportState_IMPORT_STATE_QUEUED, eeov1.ImportState_IMPORT_STATE_COMPLETED}
		if !slices.Equal(sent, want) {
			t.Errorf("sent %v, want %v", sent, want)
		}
	})
}

// TestWatchNeverPollsSlowerThanConfigured: with an interval under the fast
// one, every poll is at the interval.
func TestWatchNeverPollsSlowerThanConfigured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		obj := &scripted{start: time.Now(), changes: secs(0.35), states: []eeov1.ImportState{
			eeov1.ImportState_IMPORT_STATE_QUEUED, eeov1.ImportState_IMPORT_STATE_COMPLETED,
		}}
		if err := server.WatchImports(t.Context(), context.Background(), 50*time.Millisecond, obj.get, terminalImport,
			func(*eeov1.Import) error { return nil }); err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(obj.polls); i++ {
			if gap := obj.polls[i] - obj.polls[i-1]; gap != 50*time.Millisecond {
				t.Fatalf("polls %v: a gap of %v, want 50ms each", obj.polls, gap)
			}
		}
	})
}

// TestWatchEndsWithTheCallersContext: a cancelled watch ends CANCELLED at
// once, whatever its polling interval.
func TestWatchEndsWithTheCallersContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		obj := &scripted{start: time.Now(), states: []eeov1.ImportState{eeov1.ImportState_IMPORT_STATE_QUEUED}}
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(30*time.Second, cancel)
		err := server.WatchImports(ctx, context.Background(), 2*time.Second, obj.get, terminalImport,
			func(*eeov1.Import) error { return nil })
		if status.Code(err) != codes.Canceled || time.Since(obj.start) != 30*time.Second {
			t.Errorf("err %v after %v, want CANCELLED at 30s", err, time.Since(obj.start))
		}
	})
}
