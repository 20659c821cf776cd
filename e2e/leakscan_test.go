package e2e_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// TestMain runs the tests, then two whole-run checks: the credential leak
// scan over everything the tests logged and received, and goleak.
func TestMain(m *testing.M) {
	code := m.Run()
	if problems := credentialLeakScan(); len(problems) > 0 {
		fmt.Fprintf(os.Stderr, "credential leak scan FAILED:\n  %s\n", strings.Join(problems, "\n  "))
		code = 1
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goroutine leak check FAILED: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// credentialLeakScan looks for every client secret the tests configured,
// every caller credential they presented (API keys, JWTs) and every token
// any sandbox issued in the shared logs (all components, debug level, audit
// events included), every error message and status the tests received, and
// every REST error body and response header; and for the client secrets and
// caller credentials also in successful REST bodies. It reports where each
// leak was found without repeating the credential.
func credentialLeakScan() []string {
	evidence.mu.Lock()
	defer evidence.mu.Unlock()
	if len(evidence.sandboxes) == 0 {
		return nil // no test built a stack (e.g. -run matched nothing)
	}
	type needle struct{ kind, value string }
	var needles []needle
	for _, c := range evidence.secrets {
		needles = append(needles, needle(c))
	}
	// Caller credentials and client secrets must not appear even in
	// successful REST bodies; issued tokens may (GetToken hands them out).
	callerCredentials := len(needles)
	for _, sb := range evidence.sandboxes {
		for _, tok := range sb.IssuedTokens() {
			needles = append(needles, needle{"access token", tok})
		}
	}
	logs := evidence.logs.String()

	var problems []string
	// Guard against a vacuous pass: the components must have logged into the
	// scanned buffer, at debug level once tokens were issued.
	required := []string{`"component":"sandbox"`, `"component":"server"`}
	if len(needles) > len(evidence.secrets) {
		required = append(required, `"component":"token-cache"`, `"msg":"sandbox: token issued"`)
	}
	// Likewise for the EEO client once any test created imports or reports
	// through the gateway: it logs one debug line per EEO request.
	for _, sb := range evidence.sandboxes {
		if st := sb.Stats(); st.ImportsCreated+st.ReportsCreated > 0 {
			required = append(required, `"component":"eeo"`, `"msg":"eeo request"`)
			break
		}
	}
	// And for the access Guard once a stack ran one: audit events must be
	// in the scanned logs.
	if evidence.guarded {
		required = append(required, `"component":"audit"`, `"msg":"audit"`)
	}
	for _, r := range required {
		if !strings.Contains(logs, r) {
			problems = append(problems, "no "+r+" in the logs: the loggers are not wired to the scan")
		}
	}
	for i, n := range needles {
		redact := func(s string) string { return strings.ReplaceAll(s, n.value, "<LEAKED "+n.kind+">") }
		for line := range strings.Lines(logs) {
			if strings.Contains(line, n.value) {
				problems = append(problems, fmt.Sprintf("%s #%d in logs: %s", n.kind, i, strings.TrimSpace(redact(line))))
			}
		}
		for _, s := range evidence.seen {
			if strings.Contains(s, n.value) {
				problems = append(problems, fmt.Sprintf("%s #%d in a received response: %s", n.kind, i, redact(s)))
			}
		}
		if i < callerCredentials {
			for _, s := range evidence.bodies {
				if strings.Contains(s, n.value) {
					problems = append(problems, fmt.Sprintf("%s #%d in a successful REST body: %s", n.kind, i, redact(s)))
				}
			}
		}
	}
	return problems
}
