// Package redistest starts a real redis-server for tests of the Redis
// backend (issue 14: replicas sharing tokens and idempotency records).
//
// The server is Debian's redis-server package: `make test` and `.ci/run`
// install it when it is missing. Without it a test fails when CI or
// EEO_REDIS_REQUIRED is set (make test sets the latter), and is skipped
// otherwise, so `go test ./...` still works on a machine without it.
//
// Each Start runs its own server on a free loopback port with a temporary
// directory and no persistence (--save "" --appendonly no), so tests share
// nothing and leave nothing behind.
package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
)

const (
	// startTimeout bounds how long Start waits for the server to answer
	// PING; generous, for a loaded CI machine.
	startTimeout = 15 * time.Second
	// stopTimeout is how long Stop waits after SIGTERM before SIGKILL.
	stopTimeout = 5 * time.Second
	// startAttempts is how often Start tries another free port when the
	// server cannot bind the one it was given (another process took it
	// between the probe and the server's bind).
	startAttempts = 3
)

// Find returns the redis-server binary's path, or "" if there is none.
// EEO_REDIS_SERVER, if set, names the binary instead (valkey-server works
// too).
func Find() string {
	return testkit.FindTool("EEO_REDIS_SERVER", "redis-server")
}

// requiredEnv, set by make test, makes a missing redis-server a failure.
const requiredEnv = "EEO_REDIS_REQUIRED"

// Required reports whether a missing redis-server fails the test instead
// of skipping it.
func Required() bool {
	return testkit.ToolRequired(requiredEnv)
}

// Options tune Start. The zero value is a plain server without a password.
type Options struct {
	// Password, if set, is required of clients (--requirepass).
	Password string
	// Args are further redis-server arguments, e.g. "--maxmemory", "10mb".
	Args []string
}

// Server is a running redis-server. Its methods must be called from the
// test goroutine.
type Server struct {
	// Addr is the server's host:port on loopback; it stays the same
	// across Stop and Restart.
	Addr string
	// Dir is the server's working directory (and its log, redis.log).
	Dir string

	bin  string
	opts Options
	proc *process // nil while stopped
}

// process is one run of redis-server.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd.Wait returns
}

// Start runs a fresh redis-server for the test and stops it when the test
// ends. It fails the test if the server does not answer PING in time, and
// skips or fails (see Required) if redis-server is not installed.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	bin := Find()
	if bin == "" {
		const msg = "no redis-server on PATH: `make redis` (or apt-get install -y redis-server) installs it"
		testkit.MissingTool(t, requiredEnv, msg)
	}
	s := &Server{Dir: t.TempDir(), bin: bin, opts: opts}
	t.Cleanup(func() { s.Stop(t) })
	var err error
	for range startAttempts {
		var port int
		if port, err = freePort(); err != nil {
			break
		}
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if err = s.start(); err == nil {
			return s
		}
	}
	t.Fatalf("starting %s: %v", bin, err)
	return nil
}

// Stop shuts the server down (SIGTERM, then SIGKILL after a few seconds)
// and waits for it to exit; the data it held is gone. Stopping a stopped
// server does nothing. Tests use it to take Redis away mid-run.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	p := s.proc
	if p == nil {
		return
	}
	s.proc = nil
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	// A paused server acts on the SIGTERM only once continued.
	_ = p.cmd.Process.Signal(syscall.SIGCONT)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// Pause freezes the server (SIGSTOP) without closing anything: clients
// still connect, and their commands are queued unanswered until Resume,
// as with a hung or overloaded Redis. Tests use it to make Redis slow
// rather than gone, which only timeouts can detect.
func (s *Server) Pause(t testing.TB) {
	t.Helper()
	s.signal(t, syscall.SIGSTOP)
}

// Resume continues a paused server; the commands it queued are answered.
func (s *Server) Resume(t testing.TB) {
	t.Helper()
	s.signal(t, syscall.SIGCONT)
}

func (s *Server) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if s.proc == nil {
		t.Fatalf("redistest: %v to a stopped server", sig)
	}
	if err := s.proc.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("redistest: %v: %v", sig, err)
	}
}

// Restart starts a stopped server again on the same address, empty. It
// fails the test if the address has been taken in the meantime or the
// server does not come up.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if s.proc != nil {
		t.Fatal("redistest: Restart of a running server")
	}
	if err := s.start(); err != nil {
		t.Fatalf("restarting redis-server on %s: %v", s.Addr, err)
	}
}

// start runs the server on s.Addr and waits until it answers PING.
func (s *Server) start() error {
	host, port, _ := net.SplitHostPort(s.Addr)
	logFile := filepath.Join(s.Dir, "redis.log")
	args := []string{
		"--bind", host, "--port", port,
		"--dir", s.Dir, "--logfile", logFile,
		"--save", "", "--appendonly", "no",
		"--daemonize", "no", "--protected-mode", "yes",
	}
	if s.opts.Password != "" {
		args = append(args, "--requirepass", s.opts.Password)
	}
	args = append(args, s.opts.Args...)
	cmd := exec.Command(s.bin, args...)
	// Its own process group, so a Ctrl-C of the test run reaches the test
	// binary, whose cleanup stops the server in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// And gone with the test binary if that dies without cleaning up (go
	// test's -timeout panic), instead of listening on forever.
	setParentDeathSignal(cmd.SysProcAttr)
	if err := cmd.Start(); err != nil {
		return err
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	s.proc = p

	deadline := time.Now().Add(startTimeout)
	for {
		err := s.ping()
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			s.proc = nil
			return fmt.Errorf("redis-server exited: %s", tail(logFile))
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-p.done
			s.proc = nil
			return fmt.Errorf("no PONG within %v: %w; log: %s", startTimeout, err, tail(logFile))
		}
		// Polling a process we started for readiness; no clock-dependent
		// logic rides on this pause.
		time.Sleep(10 * time.Millisecond)
	}
}

// ping sends PING (authenticating first if the server has a password) and
// expects PONG, speaking RESP by hand so this package needs no client.
func (s *Server) ping() error {
	conn, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	r := bufio.NewReader(conn)
	if s.opts.Password != "" {
		if _, err := fmt.Fprintf(conn, "*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n", len(s.opts.Password), s.opts.Password); err != nil {
			return err
		}
		if line, err := r.ReadString('\n'); err != nil || line != "+OK\r\n" {
			return fmt.Errorf("AUTH answered %q: %v", strings.TrimSpace(line), err)
		}
	}
	if _, err := conn.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return err
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		// -LOADING and the like: not ready yet.
		return errors.New("PING answered " + strings.TrimSpace(line))
	}
	return nil
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer lis.Close()
	return lis.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the end of the server's log, for error messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	const max = 2000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return strings.TrimSpace(string(b))
}
