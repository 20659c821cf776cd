package config

import (
	"fmt"

	"github.com/eeo-gateway/eeo-gateway/server"
)

// Defaults of log.access_sampling: zap's production sampler's.
const (
	defaultAccessSamplingInitial    = 100
	defaultAccessSamplingThereafter = 100
	// maxAccessSampling bounds both numbers: far above any useful
	// setting, and within what the access log counts per second.
	maxAccessSampling = 1_000_000
)

// LogConfig tunes what is logged, beyond log_level and log_format.
type LogConfig struct {
	// AccessSampling thins out the access log's repeated lines.
	AccessSampling AccessSamplingConfig `json:"access_sampling"`
}

// AccessSamplingConfig is sampling of the access log ("finished call"
// lines): of the lines of one kind — one method, one gRPC code, one
// authenticated caller — the first Initial each second are written in
// full, then one in every Thereafter, carrying "suppressed": how many
// were dropped before it. Lines at WARN and above (denials, rate limits,
// server errors) are never sampled; audit events are not access-log
// lines and are never sampled either.
type AccessSamplingConfig struct {
	// Initial is how many lines of a kind each second are written in
	// full. Default 100; 0 writes every line (no sampling). A pointer so
	// that 0 can be told from "not set".
	Initial *int `json:"initial"`
	// Thereafter: past Initial in a second, one line in Thereafter is
	// written. Default 100; 1 writes every line.
	Thereafter int `json:"thereafter"`
}

func (s *AccessSamplingConfig) setDefaults() {
	if s.Initial == nil {
		n := defaultAccessSamplingInitial
		s.Initial = &n
	}
	def(&s.Thereafter, defaultAccessSamplingThereafter)
}

func (s AccessSamplingConfig) validate(p *problems) {
	const at = "log.access_sampling."
	if s.Initial == nil {
		p.add(at+"initial", fmt.Errorf("not set: 0 logs every call, %d is the default", defaultAccessSamplingInitial))
	} else if n := *s.Initial; n < 0 || n > maxAccessSampling {
		p.add(at+"initial", fmt.Errorf("must be between 0 (log every call) and %d lines per second, got %d", maxAccessSampling, n))
	}
	if n := s.Thereafter; n < 1 || n > maxAccessSampling {
		p.add(at+"thereafter", fmt.Errorf("must be between 1 (log every call) and %d, got %d", maxAccessSampling, n))
	}
}

// Server is the sampling for server.Config.AccessLogSampling.
func (s AccessSamplingConfig) Server() server.AccessLogSampling {
	if s.Initial == nil {
		return server.AccessLogSampling{}
	}
	return server.AccessLogSampling{Initial: *s.Initial, Thereafter: s.Thereafter}
}
