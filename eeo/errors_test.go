package eeo_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/auth/authtest"
	"github.com/eeo-gateway/eeo-gateway/eeo"
)

func TestErrorMapping(t *testing.T) {
	inThirty := time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		status     int
		code       string
		field      string
		retryAfter [2]time.Duration // range, inclusive
		hasErr     bool             // a cause is set
	}{{
		name:    "404 not_found with field",
		handler: func(w http.ResponseWriter, r *http.Request) { replyError(w, 404, "not_found", "id") },
		status:  404, code: "not_found", field: "id",
	}, {
		name:    "409 idempotency_key_reused",
		handler: func(w http.ResponseWriter, r *http.Request) { replyError(w, 409, "idempotency_key_reused", "") },
		status:  409, code: "idempotency_key_reused",
	}, {
		name:    "409 not_cancellable",
		handler: func(w http.ResponseWriter, r *http.Request) { replyError(w, 409, "not_cancellable", "") },
		status:  409, code: "not_cancellable",
	}, {
		name:    "413 file_too_large",
		handler: func(w http.ResponseWriter, r *http.Request) { replyError(w, 413, "file_too_large", "") },
		status:  413, code: "file_too_large",
	}, {
		name:    "422 checksum_mismatch",
		handler: func(w http.ResponseWriter, r *http.Request) { replyError(w, 422, "checksum_mismatch", "sha256") },
		status:  422, code: "checksum_mismatch", field: "sha256",
	}, {
		name: "429 with Retry-After seconds",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "7")
			replyError(w, 429, "rate_limited", "")
		},
		status: 429, code: "rate_limited", retryAfter: [2]time.Duration{7 * time.Second, 7 * time.Second},
	}, {
		name: "429 with Retry-After date",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", inThirty)
			replyError(w, 429, "rate_limited", "")
		},
		status: 429, code: "rate_limited", retryAfter: [2]time.Duration{25 * time.Second, 30 * time.Second},
	}, {
		name: "503 with garbage Retry-After",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "soon")
			replyError(w, 503, "unavailable", "")
		},
		status: 503, code: "unavailable",
	}, {
		name: "500 with a non-JSON body",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(500)
			io.WriteString(w, "<html>"+secretText+"</html>")
		},
		status: 500,
	}, {
		name: "400 with an ill-formed code and field",
		handler: func(w http.ResponseWriter, r *http.Request) {
			reply(w, 400, `{"error":"Bad Code `+secretText+`","field":"a b `+secretText+`"}`)
		},
		status: 400,
	}, {
		name:    "400 with members of the wrong type",
		handler: func(w http.ResponseWriter, r *http.Request) { reply(w, 400, `{"error":"invalid_request","field":7}`) },
		status:  400, code: "invalid_request",
	}, {
		name: "400 with a huge body",
		handler: func(w http.ResponseWriter, r *http.Request) {
			reply(w, 400, `{"error":"invalid_request","error_description":"`+strings.Repeat(secretText, 10000)+`"}`)
		},
		status: 400, // cut at 64 KiB, the body is not JSON
	}, {
		name:    "200 with malformed JSON",
		handler: func(w http.ResponseWriter, r *http.Request) { reply(w, 200, `{"id":"imp_1", `+secretText) },
		status:  200, code: "malformed_response", hasErr: true,
	}, {
		name:    "200 with trailing garbage",
		handler: func(w http.ResponseWriter, r *http.Request) { reply(w, 200, importJSON+secretText) },
		status:  200, code: "malformed_response", hasErr: true,
	}, {
		name: "200 with a bad timestamp",
		handler: func(w http.ResponseWriter, r *http.Request) {
			reply(w, 200, `{"id":"imp_1","create_time":"`+secretText+`"}`)
		},
		status: 200, code: "malformed_response", hasErr: true,
	}, {
		name: "200 with a field of the wrong type",
		handler: func(w http.ResponseWriter, r *http.Request) {
			reply(w, 200, `{"id":"imp_1","rows_total":"`+secretText+`"}`)
		},
		status: 200, code: "malformed_response", hasErr: true,
	}, {
		name:    "200 without an id",
		handler: func(w http.ResponseWriter, r *http.Request) { reply(w, 200, `{"state":"QUEUED"}`) },
		status:  200, code: "malformed_response", hasErr: true,
	}, {
		name: "200 over the JSON cap",
		handler: func(w http.ResponseWriter, r *http.Request) {
			reply(w, 200, `{"id":"imp_1","file_name":"`+strings.Repeat("x", 2000)+`"}`)
		},
		status: 200, code: "malformed_response", hasErr: true,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.handler, func(o *eeo.Options) { o.MaxJSONBytes = 1024 })
			_, err := h.client.GetImport(testContext(t), "imp_1")
			var ee *eeo.Error
			if !errors.As(err, &ee) {
				t.Fatalf("error %v, want *eeo.Error", err)
			}
			if ee.Op != "get import" || ee.StatusCode != tt.status || ee.Code != tt.code || ee.Field != tt.field {
				t.Errorf("got op %q status %d code %q field %q; want %d %q %q", ee.Op, ee.StatusCode, ee.Code, ee.Field, tt.status, tt.code, tt.field)
			}
			if ee.RetryAfter < tt.retryAfter[0] || ee.RetryAfter > tt.retryAfter[1] {
				t.Errorf("RetryAfter %v, want in %v", ee.RetryAfter, tt.retryAfter)
			}
			if (ee.Err != nil) != tt.hasErr || ee.Timeout() {
				t.Errorf("Err %v, Timeout %v", ee.Err, ee.Timeout())
			}
			msg := err.Error()
			if !strings.Contains(msg, "get import") || !strings.Contains(msg, tt.code) {
				t.Errorf("message %q does not name the operation and code", msg)
			}
			checkClean(t, err)
		})
	}
}

func TestErrorMessage(t *testing.T) {
	err := &eeo.Error{Op: "create import", StatusCode: 429, Code: "rate_limited", Field: "import_type", RetryAfter: 2 * time.Second}
	want := "eeo: create import failed: HTTP 429 Too Many Requests (rate_limited) field import_type; retry after 2s"
	if err.Error() != want {
		t.Errorf("got  %q\nwant %q", err.Error(), want)
	}
	cause := errors.New("boom")
	err = &eeo.Error{Op: "get report", Err: cause}
	if err.Error() != "eeo: get report failed: boom" || !errors.Is(err, cause) {
		t.Errorf("got %q", err.Error())
	}
}

func TestConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	f := &authtest.Fetcher{}
	cache, err := auth.NewCache([]auth.Account{{Name: testAccount, Fetcher: f}}, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Close()
	c, err := eeo.New(testAccount, "http://"+addr, cache, eeo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListReports(testContext(t), eeo.ListQuery{})
	var ee *eeo.Error
	if !errors.As(err, &ee) || ee.StatusCode != 0 || ee.Err == nil || ee.Timeout() || ee.Op != "list reports" {
		t.Fatalf("error %#v", err)
	}
	var ue *url.Error
	if errors.As(err, &ue) || strings.Contains(err.Error(), "/v1/reports") {
		t.Errorf("error repeats the URL: %v", err)
	}
	checkClean(t, err)
}

func TestDeadlineIsTimeout(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	// Take the token first, outside the short deadline, so the deadline
	// hits the request, not the fetch (which a busy machine could make
	// late); the server never answers, so the deadline always fires.
	if _, err := h.cache.Token(testContext(t), testAccount); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(testContext(t), 100*time.Millisecond)
	defer cancel()
	_, err := h.client.GetImport(ctx, "imp_1")
	var ee *eeo.Error
	if !errors.As(err, &ee) || ee.StatusCode != 0 || !ee.Timeout() || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v", err)
	}
	checkClean(t, err)
}

func TestCancelledIsNotTimeout(t *testing.T) {
	started := make(chan struct{})
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(testContext(t))
	go func() {
		<-started
		cancel()
	}()
	_, err := h.client.GetImport(ctx, "imp_1")
	var ee *eeo.Error
	if !errors.As(err, &ee) || ee.StatusCode != 0 || ee.Timeout() || !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v", err)
	}
}

// An HTTP client timeout is a transport timeout too.
func TestClientTimeoutIsTimeout(t *testing.T) {
	release := make(chan struct{})
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}, func(o *eeo.Options) { o.HTTPClient = &http.Client{Timeout: 50 * time.Millisecond} })
	defer close(release)
	_, err := h.client.GetImport(testContext(t), "imp_1")
	var ee *eeo.Error
	if !errors.As(err, &ee) || ee.StatusCode != 0 || !ee.Timeout() {
		t.Fatalf("error %v", err)
	}
}

func TestErrorTemporary(t *testing.T) {
	for _, tt := range []struct {
		err  *eeo.Error
		want bool
	}{
		{&eeo.Error{Op: "x", StatusCode: 503}, true},
		{&eeo.Error{Op: "x", StatusCode: 429, Code: eeo.CodeRateLimited}, true},
		{&eeo.Error{Op: "x", StatusCode: 500}, true},
		{&eeo.Error{Op: "x", Err: errors.New("connection reset")}, true},
		{&eeo.Error{Op: "x", Err: context.DeadlineExceeded}, true},
		{&eeo.Error{Op: "x", Code: eeo.CodeCircuitOpen, RetryAfter: time.Second}, true},
		{&eeo.Error{Op: "x", Code: eeo.CodeConcurrencyLimited, Err: context.DeadlineExceeded}, true},
		{&eeo.Error{Op: "x", StatusCode: 401, Code: eeo.CodeTokenRejectedMidUpload}, true},
		{&eeo.Error{Op: "x", StatusCode: 409, Code: eeo.CodeIdempotencyKeyInUse}, true},
		{&eeo.Error{Op: "x", Err: context.Canceled}, false},
		{&eeo.Error{Op: "x", StatusCode: 401, Code: eeo.CodeTokenRejected}, false},
		{&eeo.Error{Op: "x", StatusCode: 200, Code: eeo.CodeMalformedResponse}, false},
		{&eeo.Error{Op: "x", StatusCode: 404, Code: eeo.CodeNotFound}, false},
		{&eeo.Error{Op: "x", StatusCode: 409, Code: eeo.CodeNotCancellable}, false},
		{&eeo.Error{Op: "x", StatusCode: 400}, false},
	} {
		if got := tt.err.Temporary(); got != tt.want {
			t.Errorf("%v: Temporary() = %v", tt.err, got)
		}
	}
}
