package client

import (
	"strings"
	"testing"
	"time"
)

// fakeClock advances only when told.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestLineProgressPrintsAtMostOncePerInterval(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var out strings.Builder
	o := &options{env: Env{Stderr: &out, Now: clock.now}, progressInterval: 2 * time.Second}
	p := o.newProgress("uploading f.csv", 100<<20)
	for range 10 { // 10 MiB in 1 s: no line yet
		clock.t = clock.t.Add(100 * time.Millisecond)
		p.add(1 << 20)
	}
	if out.Len() != 0 {
		t.Fatalf("printed before the interval: %q", out.String())
	}
	clock.t = clock.t.Add(time.Second)
	p.add(10 << 20) // 20 MiB after 2 s
	clock.t = clock.t.Add(time.Second)
	p.add(10 << 20) // 30 MiB after 3 s, within the interval: silent
	clock.t = clock.t.Add(2 * time.Second)
	p.add(60 << 20) // 90 MiB after 5 s
	p.done()
	want := []string{
		"uploading f.csv: 20.0 MiB of 100.0 MiB (20%), 10.0 MiB/s, ETA 8s",
		"uploading f.csv: 90.0 MiB of 100.0 MiB (90%), 18.0 MiB/s, ETA 600ms",
		"uploading f.csv: 90.0 MiB done in 5s (18.0 MiB/s)",
	}
	if got := strings.Split(strings.TrimSpace(out.String()), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", out.String(), strings.Join(want, "\n"))
	}
}

func TestQuietPrintsNothing(t *testing.T) {
	var out strings.Builder
	o := &options{env: Env{Stderr: &out, Now: time.Now}, quiet: true}
	p := o.newProgress("x", 10)
	p.add(10)
	p.done()
	if out.Len() != 0 {
		t.Errorf("--quiet printed %q", out.String())
	}
}
