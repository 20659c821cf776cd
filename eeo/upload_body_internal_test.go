package eeo

import (
	"io"
	"testing"
	"testing/synctest"
)

// zeros is an endless source that never blocks.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// BenchmarkUploadBodyRead is one Read of an upload body as the transport
// makes it, 32 KiB at a time: directly (no context to race) and as an
// attempt does it, racing the source against the attempt's context. Its
// allocs/op are what every transport buffer of an upload costs.
func BenchmarkUploadBodyRead(b *testing.B) {
	for _, c := range []struct {
		name string
		done <-chan struct{}
	}{
		{"direct", nil},
		{"cancellable", make(chan struct{})},
	} {
		b.Run(c.name, func(b *testing.B) {
			body := &uploadBody{src: zeros{}, done: c.done}
			p := make([]byte, 32<<10)
			b.SetBytes(int64(len(p)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := body.Read(p); err != nil {
					b.Fatal(err)
				}
			}
			if untouched, err := body.end(); untouched || err != nil {
				b.Fatal(untouched, err)
			}
		})
	}
}

// end waits for a Read of the source in progress, and a Read after end
// fails without touching the source.
func TestUploadBodyEndWaitsForTheReadInProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &blockingSource{release: make(chan struct{})}
		body := &uploadBody{src: src}
		readDone := make(chan error, 1)
		go func() {
			_, err := body.Read(make([]byte, 8))
			readDone <- err
		}()
		synctest.Wait() // the source's Read is blocked
		ended := make(chan bool, 1)
		go func() {
			untouched, _ := body.end()
			ended <- untouched
		}()
		synctest.Wait() // end is blocked too, or returned
		select {
		case <-ended:
			t.Fatal("end returned while the source was being read")
		default:
		}
		close(src.release)
		if err := <-readDone; err != nil {
			t.Fatal(err)
		}
		if untouched := <-ended; untouched {
			t.Error("end reported the stream untouched after a read")
		}
		if _, err := body.Read(make([]byte, 8)); err == nil || err == io.EOF {
			t.Errorf("Read after end: %v, want a failure", err)
		}
		if src.reads != 1 {
			t.Errorf("source read %d times, want 1", src.reads)
		}
	})
}

// blockingSource's Read blocks until release is closed.
type blockingSource struct {
	release chan struct{}
	reads   int
}

func (s *blockingSource) Read(p []byte) (int, error) {
	s.reads++
	<-s.release
	return len(p), nil
}
