package server

import "time"

// SetDrainWait replaces how s waits out Config.DrainDelay, so a test can
// hold a shutdown while it is draining but still listening.
func SetDrainWait(s *Server, wait func(time.Duration)) { s.drainWait = wait }
