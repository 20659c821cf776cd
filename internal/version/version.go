// Package version says which build of eeo-gateway is running: the version,
// commit and build date stamped in by the Makefile with -ldflags, or, for a
// plain `go build`/`go run`, what the Go toolchain recorded in the binary.
//
// The CLI's `version` command, the start-up log line and the metrics'
// build-info gauge all read Get, so they never disagree.
package version

import (
	"runtime"
	"runtime/debug"
)

// Stamped at link time by the Makefile:
//
//	go build -ldflags "-X github.com/eeo-gateway/eeo-gateway/internal/version.version=v1.2.3 ..."
//
// They are variables only because -X can set nothing else; nothing in the
// program writes them.
var (
	version   string
	commit    string
	buildDate string
)

// Unknown is what a field reads when neither -ldflags nor the toolchain's
// build information says anything about it.
const Unknown = "unknown"

// Info describes one build.
type Info struct {
	// Version is the release (a tag such as "v1.2.3"), the module version
	// for `go install …@v1.2.3`, or "(devel)" for a build from a checkout.
	Version string `json:"version"`
	// Commit is the VCS revision the binary was built from.
	Commit string `json:"commit"`
	// BuildDate is when the binary was built (RFC 3339), or, failing that,
	// the time of the commit.
	BuildDate string `json:"build_date"`
	// GoVersion is the toolchain that built the binary.
	GoVersion string `json:"go_version"`
	// Modified is true when the working tree had uncommitted changes.
	Modified bool `json:"modified,omitempty"`
}

// Get returns this binary's build information.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return resolve(version, commit, buildDate, bi)
}

// resolve prefers what -ldflags stamped and falls back to the toolchain's
// build information field by field; it is separate from Get so tests can
// feed it any combination.
func resolve(stampedVersion, stampedCommit, stampedDate string, bi *debug.BuildInfo) Info {
	info := Info{Version: stampedVersion, Commit: stampedCommit, BuildDate: stampedDate, GoVersion: runtime.Version()}
	if bi != nil {
		if bi.GoVersion != "" {
			info.GoVersion = bi.GoVersion
		}
		if info.Version == "" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if info.Commit == "" {
					info.Commit = s.Value
				}
			case "vcs.time":
				if info.BuildDate == "" {
					info.BuildDate = s.Value
				}
			case "vcs.modified":
				info.Modified = s.Value == "true"
			}
		}
	}
	for _, f := range []*string{&info.Version, &info.Commit, &info.BuildDate} {
		if *f == "" {
			*f = Unknown
		}
	}
	return info
}

// String is the one-line form the `version` command prints.
func (i Info) String() string {
	s := "eeo-gateway " + i.Version + " (commit " + i.Commit
	if i.Modified {
		s += ", modified"
	}
	return s + ", built " + i.BuildDate + ", " + i.GoVersion + ")"
}

// LogAttrs returns the fields as alternating keys and values for slog.
func (i Info) LogAttrs() []any {
	return []any{"version", i.Version, "commit", i.Commit, "build_date", i.BuildDate, "go_version", i.GoVersion}
}
