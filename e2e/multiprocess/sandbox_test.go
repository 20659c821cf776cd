package multiprocess_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/sandbox"
)

// sandboxProc is `eeo-gateway sandbox`: EEO for the replicas, in a process
// of its own so that it outlives them all.
type sandboxProc struct {
	*proc
	url  string // http://127.0.0.1:port
	http *http.Client
}

var sandboxListening = regexp.MustCompile(`EEO sandbox listening on (http://\S+)`)

// startSandbox runs the sandbox for clientID/secret on a free loopback port.
// extraArgs are further sandbox flags.
func startSandbox(t *testing.T, bin, clientID, secret string, oneActiveToken bool, extraArgs []string, httpc *http.Client) *sandboxProc {
	t.Helper()
	const secretEnv = "EEO_MP_SANDBOX_SECRET"
	args := []string{"sandbox", "--listen", "127.0.0.1:0", "--client-id", clientID,
		"--client-secret-env", secretEnv, "--step", "10ms", "--log-level", "warn"}
	if oneActiveToken {
		args = append(args, "--one-active-token")
	}
	args = append(args, extraArgs...)
	p := startProc(t, "sandbox", bin, []string{secretEnv + "=" + secret}, args...)
	m := p.waitOutput(t, p.stdout, sandboxListening)
	return &sandboxProc{proc: p, url: m[1], http: httpc}
}

// stats returns the sandbox's counters (GET /sandbox/stats).
func (s *sandboxProc) stats(t *testing.T) sandbox.Stats {
	t.Helper()
	resp, err := s.http.Get(s.url + "/sandbox/stats")
	if err != nil {
		t.Fatalf("sandbox stats: %v", err)
	}
	defer resp.Body.Close()
	var st sandbox.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("sandbox stats: %s, %v", resp.Status, err)
	}
	return st
}

// faults is the wire form of PUT /sandbox/faults (durations as Go
// duration strings).
type faults struct {
	Token fault `json:"token"`
	API   fault `json:"api"`
}

type fault struct {
	Latency string `json:"latency,omitempty"`
	Status  int    `json:"status,omitempty"`
}

// setFaults replaces the sandbox's injected faults.
func (s *sandboxProc) setFaults(t *testing.T, f faults) {
	t.Helper()
	body, _ := json.Marshal(f)
	req, _ := http.NewRequest(http.MethodPut, s.url+"/sandbox/faults", bytes.NewReader(body))
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatalf("sandbox faults: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("sandbox faults %s: %s %s", body, resp.Status, b)
	}
}

// countRequests counts the requests the sandbox has seen (of the last 256)
// with this method and path.
func countRequests(st sandbox.Stats, method, path string) int {
	n := 0
	for _, r := range st.Recent {
		if r.Method == method && r.Path == path {
			n++
		}
	}
	return n
}

// statsLine makes a failed assertion on sandbox stats readable.
func statsLine(st sandbox.Stats) string {
	return fmt.Sprintf("token requests %d, issued %d, revoked %d, API requests %d, 401s %d, imports %d, reports %d",
		st.TokenRequests, st.TokensIssued, st.TokensRevoked, st.APIRequests, st.RejectedTokens, st.ImportsCreated, st.ReportsCreated)
}
