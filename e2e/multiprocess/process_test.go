package multiprocess_test

import (
	"bytes"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// startTimeout bounds how long a process may take to say it listens;
	// generous, for a race-built binary on a loaded 2-core CI machine.
	startTimeout = 30 * time.Second
	// stopTimeout bounds a graceful stop (SIGTERM) before the test fails.
	stopTimeout = 15 * time.Second
)

// proc is a child process of the test, in a process group of its own. The
// group is killed when the test ends, whatever state the test left it in,
// so no test leaves a process behind; on Linux the kernel also kills it if
// the test binary itself dies (see setParentDeathSignal).
type proc struct {
	name           string
	cmd            *exec.Cmd
	stdout, stderr *outputLog
	done           chan struct{} // closed when cmd.Wait has returned
	waitErr        error         // set before done is closed
}

// startProc runs bin with args and exactly env (nothing of the test's
// environment leaks in, so no EEO_GATEWAY_* override of the developer's
// shell changes a test).
func startProc(t *testing.T, name, bin string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, stdout: newOutputLog(), stderr: newOutputLog(), done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	setParentDeathSignal(p.cmd.SysProcAttr)
	// The output copiers end when the process does; this only bounds Wait
	// should a grandchild keep a pipe open.
	p.cmd.WaitDelay = 5 * time.Second
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("%s stdout:\n%s\n%s stderr (last lines but per-call ones):\n%s", name, tail(p.stdout.String(), 40), name, tail(withoutPerCallLines(p.stderr.String()), 60))
		}
	})
	return p
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill SIGKILLs the process group, as a crash or an OOM kill would end a
// replica, and waits for the process to be reaped.
func (p *proc) kill() {
	if !p.exited() {
		// The group: the process and anything it started.
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	}
	<-p.done
}

// terminate asks the process to shut down (SIGTERM, what an orchestrator
// sends); waitStopped waits for it.
func (p *proc) terminate() { _ = p.cmd.Process.Signal(syscall.SIGTERM) }

// waitStopped waits for a terminated process to exit; it fails the test
// if that takes longer than stopTimeout or the exit is an error.
func (p *proc) waitStopped(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		p.kill()
		t.Fatalf("%s did not stop within %v of SIGTERM", p.name, stopTimeout)
	}
	if p.waitErr != nil {
		t.Fatalf("%s exited with %v after SIGTERM", p.name, p.waitErr)
	}
}

// waitOutput waits until re matches what the process wrote to out and
// returns the submatches. It fails the test if the process exits first or
// nothing matches within startTimeout.
func (p *proc) waitOutput(t *testing.T, out *outputLog, re *regexp.Regexp) []string {
	t.Helper()
	timeout := time.NewTimer(startTimeout)
	defer timeout.Stop()
	for {
		text, changed := out.snapshot()
		if m := re.FindStringSubmatch(text); m != nil {
			return m
		}
		select {
		case <-changed:
		case <-p.done:
			// The last write may have raced with the exit.
			if m := re.FindStringSubmatch(out.String()); m != nil {
				return m
			}
			t.Fatalf("%s exited (%v) before writing %s", p.name, p.waitErr, re)
		case <-timeout.C:
			t.Fatalf("%s wrote no %s within %v", p.name, re, startTimeout)
		}
	}
}

// outputLog keeps everything a process wrote to one of its streams and
// wakes whoever waits for a line.
type outputLog struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed (and replaced) on every write
}

func newOutputLog() *outputLog { return &outputLog{changed: make(chan struct{})} }

func (l *outputLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	close(l.changed)
	l.changed = make(chan struct{})
	return len(p), nil
}

func (l *outputLog) String() string {
	s, _ := l.snapshot()
	return s
}

// snapshot returns the output so far and a channel closed by the next
// write.
func (l *outputLog) snapshot() (string, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String(), l.changed
}

// withoutPerCallLines drops the access log's lines (one audit and one
// "finished call" per RPC) so that a failure shows what else happened.
func withoutPerCallLines(s string) string {
	var b strings.Builder
	for line := range strings.Lines(s) {
		if !strings.Contains(line, `"msg":"audit"`) && !strings.Contains(line, `"msg":"finished call"`) {
			b.WriteString(line)
		}
	}
	return b.String()
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
