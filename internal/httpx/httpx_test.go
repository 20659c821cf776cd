package httpx_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/httpx"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2031, time.March, 4, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"7", 7 * time.Second},
		{"86400", httpx.MaxRetryAfter},
		{"86401", httpx.MaxRetryAfter},
		{"9223372036854775807", httpx.MaxRetryAfter},
		{"99999999999999999999999999", httpx.MaxRetryAfter}, // overflows int64: a long wait, capped
		{"-5", 0},
		{"+5", 0}, // delay-seconds has no sign
		{" 5", 0},
		{"5.5", 0},
		{"soon", 0},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second},
		{now.Add(-30 * time.Second).Format(http.TimeFormat), 0},
		{now.Add(1000 * time.Hour).Format(http.TimeFormat), httpx.MaxRetryAfter},
		{"Fri, 31 Dec 9999 23:59:59 GMT", httpx.MaxRetryAfter},
	} {
		if got := httpx.ParseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestFormatRetryAfterRoundsUp(t *testing.T) {
	for d, want := range map[time.Duration]string{time.Second: "1", 1001 * time.Millisecond: "2", 30 * time.Second: "30"} {
		if got := httpx.FormatRetryAfter(d); got != want {
			t.Errorf("FormatRetryAfter(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestAlphabets(t *testing.T) {
	for s, want := range map[string]bool{
		"invalid_client": true, "a": true, strings.Repeat("a", 64): true,
		"": false, strings.Repeat("a", 65): false, "Invalid": false, "bad code": false, "x1": false,
	} {
		if got := httpx.IsErrorCode(s); got != want {
			t.Errorf("IsErrorCode(%q) = %v, want %v", s, got, want)
		}
	}
	for s, want := range map[string]bool{
		"id": true, "parameters.Start_1": true, strings.Repeat("F", 64): true,
		"": false, strings.Repeat("F", 65): false, "a b": false, "a-b": false, "a[0]": false,
	} {
		if got := httpx.IsFieldName(s); got != want {
			t.Errorf("IsFieldName(%q) = %v, want %v", s, got, want)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "7", "-1", "99999999999999999999", "Wed, 21 Oct 2015 07:28:00 GMT"} {
		f.Add(s)
	}
	now := time.Date(2031, time.March, 4, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		if d := httpx.ParseRetryAfter(v, now); d < 0 || d > httpx.MaxRetryAfter {
			t.Fatalf("ParseRetryAfter(%q) = %v, outside [0, %v]", v, d, httpx.MaxRetryAfter)
		}
	})
}

func ExampleParseRetryAfter() {
	now := time.Date(2031, time.March, 4, 9, 0, 0, 0, time.UTC)
	fmt.Println(httpx.ParseRetryAfter("120", now))
	fmt.Println(httpx.ParseRetryAfter("Tue, 04 Mar 2031 09:00:30 GMT", now))
	fmt.Println(httpx.ParseRetryAfter("soon", now))
	// Output:
	// 2m0s
	// 30s
	// 0s
}
