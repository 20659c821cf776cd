package server

import (
	"time"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
)

// SetDrainWait replaces how s waits out Config.DrainDelay, so a test can
// hold a shutdown while it is draining but still listening.
func SetDrainWait(s *Server, wait func(time.Duration)) { s.drainWait = wait }

// WatchImports is the polling loop behind WatchImport (and, for reports,
// WatchReport).
var WatchImports = watch[*eeov1.Import]
