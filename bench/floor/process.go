package floor

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/benchstack"
)

// childEnv marks a process started by Start: ServeIfChild serves in it.
const childEnv = "EEO_BENCH_FLOOR_CHILD"

// Server is a floor server running in a process of its own, so that its
// CPU time is measured apart from the load generator's, as the gateway's is.
type Server struct {
	// Addr is where it listens (127.0.0.1:port).
	Addr string

	cmd    *exec.Cmd
	stdin  *os.File // closing it stops the server
	stderr bytes.Buffer
	exited chan struct{}
	err    error // cmd.Wait's, set before exited is closed
}

// Start starts a floor server for spec: this program again (os.Executable),
// which must call ServeIfChild first thing in main (or TestMain). It returns
// once the server listens. Close stops it; so does ctx ending, or this
// process dying (the child stops when its stdin closes).
func Start(ctx context.Context, spec Spec) (*Server, error) {
	switch spec.Kind {
	case HTTP, GRPC:
	default:
		return nil, fmt.Errorf("floor: no server kind %q", spec.Kind)
	}
	line, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	defer outR.Close()
	s := &Server{stdin: inW, exited: make(chan struct{})}
	s.cmd = exec.CommandContext(ctx, exe)
	s.cmd.Env = append(os.Environ(), childEnv+"=1")
	s.cmd.Stdin, s.cmd.Stdout, s.cmd.Stderr = inR, outW, &s.stderr
	s.cmd.Cancel = inW.Close
	s.cmd.WaitDelay = 10 * time.Second
	err = s.cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		return nil, fmt.Errorf("floor: starting %s: %w", exe, err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.exited)
	}()
	if _, err := inW.Write(append(line, '\n')); err != nil {
		s.Close()
		return nil, fmt.Errorf("floor: sending the spec: %w", err)
	}
	// The child's first and only line on stdout is its address.
	addr := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(outR).ReadString('\n')
		addr <- strings.TrimSpace(l)
	}()
	select {
	case a := <-addr:
		if _, _, err := net.SplitHostPort(a); err != nil {
			s.Close()
			return nil, fmt.Errorf("floor: %s server gave no address: %w", spec.Kind, errors.Join(err, s.exitErr()))
		}
		s.Addr = a
		return s, nil
	case <-time.After(30 * time.Second):
		s.Close()
		return nil, fmt.Errorf("floor: %s server gave no address in 30s", spec.Kind)
	}
}

// PID is the server process's id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// CPUTime is the CPU time the server process has used so far; it is a
// loadgen.CPUClock.
func (s *Server) CPUTime() (time.Duration, error) { return benchstack.ProcessCPUTime(s.PID()) }

// Close stops the server and waits for it to exit (killing it after 10s),
// and reports an exit other than the clean one.
func (s *Server) Close() error {
	s.stdin.Close()
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
	return s.exitErr()
}

// exitErr is the process's failure and its stderr, once it has exited.
func (s *Server) exitErr() error {
	select {
	case <-s.exited:
	default:
		return nil
	}
	if s.err == nil {
		return nil
	}
	return fmt.Errorf("floor server: %w: %s", s.err, bytes.TrimSpace(s.stderr.Bytes()))
}

// ServeIfChild returns at once in a process Start did not start. In one
// it did, it serves the Spec read from stdin, writes the address to
// stdout, and exits once stdin closes: status 0 after a clean stop, 1 if
// serving failed.
func ServeIfChild() {
	if os.Getenv(childEnv) == "" {
		return
	}
	if err := serveChild(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

func serveChild(stdin io.Reader, stdout io.Writer) error {
	in := bufio.NewReader(stdin)
	line, err := in.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("floor: reading the spec: %w", err)
	}
	var spec Spec
	if err := json.Unmarshal(line, &spec); err != nil {
		return fmt.Errorf("floor: spec: %w", err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		io.Copy(io.Discard, in) // until the parent closes stdin or dies
		cancel()
	}()
	if _, err := fmt.Fprintln(stdout, lis.Addr()); err != nil {
		lis.Close()
		return err
	}
	switch spec.Kind {
	case HTTP:
		return ServeHTTP(ctx, lis, spec.HTTP)
	case GRPC:
		return ServeGRPC(ctx, lis, spec.GRPC)
	}
	lis.Close()
	return fmt.Errorf("floor: no server kind %q", spec.Kind)
}
