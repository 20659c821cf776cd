package config

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Severity says whether a Problem stops the gateway from starting.
type Severity int

const (
	// SeverityError is a problem `serve` would refuse to start with.
	SeverityError Severity = iota
	// SeverityWarning is valid but probably wrong, or cannot be checked
	// on this machine.
	SeverityWarning
)

// String is "error" or "warning".
func (s Severity) String() string {
	if s == SeverityWarning {
		return "warning"
	}
	return "error"
}

// Problem is one finding of Check.
type Problem struct {
	Severity Severity
	// File is the configuration file's path.
	File string
	// Position is where in File; zero for a problem that is not in the
	// file (an environment variable), Column zero when only the line is
	// known.
	Position
	// Path is the field as the file spells it ("access.jwt.jwks_url");
	// empty for the document as a whole or the environment.
	Path string
	// Message says what is wrong. It never contains a secret.
	Message string
}

// String formats the problem the way compilers do, so editors can jump to
// it: "gateway.yaml:12:5: error: accounts[0].token_url: must be …".
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
		if p.Column > 0 {
			fmt.Fprintf(&b, ":%d", p.Column)
		}
	}
	fmt.Fprintf(&b, ": %s: ", p.Severity)
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// CheckOptions tunes Check.
type CheckOptions struct {
	// RequireSecrets makes a client secret that cannot be read here an
	// error. Without it such a secret is a warning: a config is often
	// checked on a machine (a laptop, CI) that does not hold the secrets
	// of the deployment it is for.
	RequireSecrets bool
}

// Report is what Check found.
type Report struct {
	// File is the configuration file's path.
	File string
	// Problems are in file order (Sort), then whatever the caller added.
	Problems []Problem
	// Config is the configuration as far as it could be built. Use it only
	// if HasErrors is false; without RequireSecrets its client secrets may
	// be empty.
	Config Config

	positions positions
}

// Check builds the configuration from the file at path as Load does,
// without touching the network, and reports every problem at once, each
// with the line and column where the file writes the field, plus warnings
// for what is valid but probably wrong (see Config.Warnings).
func Check(path string, getenv func(string) string, readFile func(string) ([]byte, error), opts CheckOptions) *Report {
	r := &Report{File: path, positions: positions{}}
	data, err := readFile(path)
	if err != nil {
		r.Add(SeverityError, "", err)
		return r
	}
	if r.positions, err = indexPositions(data); err != nil {
		r.Add(SeverityError, "", err)
		return r
	}
	c, errs := build(data, getenv, readFile)
	r.Config = c
	secretSeverity := SeverityWarning
	if opts.RequireSecrets {
		secretSeverity = SeverityError
	}
	for _, err := range errs.decode {
		// A problem with the document as a whole (a list where the
		// mapping of fields belongs) is at its start.
		if _, ok := errors.AsType[*FieldError](err); !ok && !lineInMessage.MatchString(err.Error()) {
			r.Problems = append(r.Problems, Problem{Severity: SeverityError, File: r.File, Position: r.positions.lookup(""), Message: err.Error()})
			continue
		}
		r.Add(SeverityError, "", err)
	}
	for _, err := range errs.env {
		r.Add(SeverityError, "", err)
	}
	for _, err := range errs.secrets {
		r.Add(secretSeverity, "", err)
	}
	for _, err := range errs.validation {
		r.Add(SeverityError, "", err)
	}
	if len(errs.decode) == 0 {
		for _, err := range c.Warnings() {
			r.Add(SeverityWarning, "", err)
		}
	}
	r.Sort()
	return r
}

// Sort orders the problems by position in the file, the ones not in the
// file (the environment) first, keeping the order found among equals.
func (r *Report) Sort() {
	slices.SortStableFunc(r.Problems, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
}

// lineInMessage finds the "line N: …" parts of a YAML parser's error.
var lineInMessage = regexp.MustCompile(`line (\d+): ([^\n]*)`)

// Add records err at path (or, if err is or wraps a *FieldError, at its
// path), positioned where the file writes that path. A parser error with
// no path is split into one problem per line it names.
func (r *Report) Add(sev Severity, path string, err error) {
	msg := err.Error()
	if fe, ok := errors.AsType[*FieldError](err); ok {
		path, msg = fe.Path, fe.Err.Error()
	}
	if path != "" {
		r.Problems = append(r.Problems, Problem{Severity: sev, File: r.File, Position: r.positions.lookup(path), Path: path, Message: msg})
		return
	}
	if ms := lineInMessage.FindAllStringSubmatch(msg, -1); ms != nil {
		for _, m := range ms {
			line, _ := strconv.Atoi(m[1])
			r.Problems = append(r.Problems, Problem{Severity: sev, File: r.File, Position: Position{Line: line}, Message: m[2]})
		}
		return
	}
	r.Problems = append(r.Problems, Problem{Severity: sev, File: r.File, Message: msg})
}

// Count returns how many problems have severity sev.
func (r *Report) Count(sev Severity) int {
	n := 0
	for _, p := range r.Problems {
		if p.Severity == sev {
			n++
		}
	}
	return n
}

// HasErrorsAt reports whether any error concerns the field at path or a
// field inside it ("tls" covers "tls.cert_file").
func (r *Report) HasErrorsAt(path string) bool {
	for _, p := range r.Problems {
		if p.Severity == SeverityError && (p.Path == path || strings.HasPrefix(p.Path, path+".") || strings.HasPrefix(p.Path, path+"[")) {
			return true
		}
	}
	return false
}

// HasErrors reports whether any problem is an error.
func (r *Report) HasErrors() bool { return r.Count(SeverityError) > 0 }
