package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/creack/pty"
)

// commandProcess is `eeo-gateway ARGS` as its own process (this test
// binary running main), talking to g.
func commandProcess(g devGateway, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), runMainEnv+"=1", "EEO_ADDR="+g.addr, "EEO_KEY="+g.key)
	return cmd
}

// An operator at a terminal sees a progress bar redrawn in place, with
// bytes, rate and percentage; a CI log gets plain lines instead.
func TestUploadProgressBarOnATerminalPlainLinesWithout(t *testing.T) {
	g := startDevGateway(t)
	path := writeCSV(t, 150_000) // about 5 MiB: several 1 MiB chunks
	args := []string{"client", "import", "upload", "demo", path, "--type", "participants", "--progress-interval", "0"}

	// On a pseudo-terminal.
	cmd := commandProcess(g, args...)
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 160})
	if err != nil {
		t.Fatal(err)
	}
	onTTY, err := io.ReadAll(tty)
	tty.Close()
	// Linux ends a pty's output with EIO once the process has gone.
	if err != nil && !errors.Is(err, syscall.EIO) {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("upload on a terminal: %v\n%s", err, onTTY)
	}
	screen := string(onTTY)
	bar := regexp.MustCompile(`uploading people\.csv\s+100% \|█+\| \([\d.]+/[\d.]+ MiB, [\d.]+ [KMG]?i?B/s\)`)
	if !bar.MatchString(screen) || !regexp.MustCompile(`\r[^\n]`).MatchString(screen) {
		t.Errorf("no progress bar redrawn in place on the terminal:\n%q", screen)
	}
	if strings.Contains(screen, "uploading people.csv: ") {
		t.Errorf("plain progress lines on a terminal:\n%q", screen)
	}
	if !strings.Contains(screen, "state:") {
		t.Errorf("no import shown:\n%q", screen)
	}

	// Without a terminal: one plain line per chunk (interval 0), then a
	// summary.
	var stdout, stderr bytes.Buffer
	cmd = commandProcess(g, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("upload without a terminal: %v\n%s", err, stderr.String())
	}
	lines := regexp.MustCompile(`(?m)^uploading people\.csv: [\d.]+ [KM]iB of [\d.]+ MiB \(\d+%\), [\d.]+ [KMG]?i?B/s`).FindAllString(stderr.String(), -1)
	if len(lines) < 4 || !strings.Contains(stderr.String(), "uploading people.csv: ") || !strings.Contains(stderr.String(), " done in ") {
		t.Errorf("want a progress line per chunk and a summary, got:\n%s", stderr.String())
	}
	if strings.ContainsAny(stderr.String(), "\r█") {
		t.Errorf("terminal control in plain output:\n%q", stderr.String())
	}
	if !strings.Contains(stdout.String(), "state:") || strings.Contains(stdout.String(), "uploading") {
		t.Errorf("stdout should carry the import and nothing else:\n%s", stdout.String())
	}
}
