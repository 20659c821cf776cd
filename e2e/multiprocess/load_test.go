package multiprocess_test

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
)

// participantsFile returns a valid participants import of at least size
// bytes; tag goes into every row, so files with different tags differ.
func participantsFile(size int, tag string) []byte {
	b := []byte("participant_id,first_name,last_name,email\n")
	for i := 1; len(b) < size; i++ {
		b = fmt.Appendf(b, "P%d,First%s,Last,p%s.%s@example.com\n", 1_000_000+i, tag, strconv.Itoa(i), tag)
	}
	return b
}

// tokenStorm sends perReplica concurrent GetToken calls to every replica,
// all released at once, and returns how many failed (and the first error).
func (c *cluster) tokenStorm(ctx context.Context, perReplica int) (failed int64, first error) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	var n atomic.Int64
	var once sync.Once
	for _, g := range c.gateways {
		for range perReplica {
			wg.Go(func() {
				<-start
				if _, err := c.getToken(ctx, g); err != nil {
					n.Add(1)
					once.Do(func() { first = err })
				}
			})
		}
	}
	close(start)
	wg.Wait()
	return n.Load(), first
}

// mixedLoad runs imports and reports on every replica at once: per
// replica, one worker uploading and one creating reports, rounds times
// each. It returns the calls made and the errors met.
func (c *cluster) mixedLoad(ctx context.Context, tag string, rounds int) (calls int64, errs []error) {
	var wg sync.WaitGroup
	var n atomic.Int64
	var mu sync.Mutex
	for _, g := range c.gateways {
		for w := range 2 {
			wg.Go(func() {
				for r := range rounds {
					id := fmt.Sprintf("%s-%d-%d-%d", tag, g.index, w, r)
					var err error
					if w == 0 {
						_, err = g.client.Upload(ctx, &eeov1.ImportMetadata{
							Account: account, ImportType: "participants", FileName: id + ".csv", RequestId: id,
						}, bytes.NewReader(participantsFile(4<<10, id)))
					} else {
						_, err = g.files.CreateReport(ctx, &eeov1.CreateReportRequest{
							Account: account, ReportType: "participants", RequestId: id,
						})
					}
					n.Add(1)
					if err != nil {
						mu.Lock()
						errs = append(errs, fmt.Errorf("gateway-%d %s: %w", g.index, id, err))
						mu.Unlock()
					}
				}
			})
		}
	}
	wg.Wait()
	return n.Load(), errs
}

// noErrors fails the test with the first few errors, if any.
func noErrors(t *testing.T, what string, calls int64, errs []error) {
	t.Helper()
	if len(errs) > 0 {
		t.Errorf("%s: %d of %d calls failed, e.g. %v", what, len(errs), calls, errs[:min(3, len(errs))])
	}
}
