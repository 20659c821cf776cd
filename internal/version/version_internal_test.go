package version

import (
	"runtime/debug"
	"testing"
)

func TestStampedValuesWinOverBuildInfo(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "true"},
	}}
	got := resolve("v1.2.3", "def456", "2026-11-30T00:00:00Z", bi)
	want := Info{Version: "v1.2.3", Commit: "def456", BuildDate: "2026-11-30T00:00:00Z", GoVersion: "go1.26.0", Modified: true}
	if got != want {
		t.Fatalf("resolve = %+v, want %+v", got, want)
	}
}

func TestFallsBackToBuildInfo(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.9.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"},
	}}
	got := resolve("", "", "", bi)
	want := Info{Version: "v0.9.0", Commit: "abc123", BuildDate: "2026-01-02T03:04:05Z", GoVersion: "go1.26.0"}
	if got != want {
		t.Fatalf("resolve = %+v, want %+v", got, want)
	}
}

func TestNothingKnownSaysUnknown(t *testing.T) {
	got := resolve("", "", "", nil)
	if got.Version != Unknown || got.Commit != Unknown || got.BuildDate != Unknown || got.GoVersion == "" {
		t.Fatalf("resolve with nothing = %+v", got)
	}
	if s := got.String(); s != "eeo-gateway unknown (commit unknown, built unknown, "+got.GoVersion+")" {
		t.Fatalf("String = %q", s)
	}
}
