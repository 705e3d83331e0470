package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFIFOInPlaceOfTheCSVFile: a named pipe where contacts.csv belongs, put
// there by whoever else can write to the folder, once blocked `sync` for
// good, deaf to SIGTERM. Now it ends the run at once, exit 1, naming the
// file; the other sink still gets every contact.
func TestFIFOInPlaceOfTheCSVFile(t *testing.T) {
	w := newWorkspace(t, 3)
	fifo := w.path("contacts.csv")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	r := runWithin(t, w, 20*time.Second, "sync")
	if r.code != 1 || !strings.Contains(r.stderr, fifo+" is a named pipe (FIFO), not a regular file") || !strings.Contains(r.stderr, "move it away") {
		t.Fatalf("exit %d, stderr:\n%s\nwant exit 1 and an error naming %s", r.code, r.stderr, fifo)
	}
	if cards, _ := os.ReadDir(w.path("vcards")); len(cards) != 3 {
		t.Errorf("%d cards, want 3", len(cards))
	}
	if info, err := os.Lstat(fifo); err != nil || info.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the pipe was changed: %v", err)
	}
}

// runWithin runs connect-sync like w.run, but sends it SIGTERM if it has
// not ended within d, and kills it and fails the test if it has not ended
// 5 s after that.
func runWithin(t *testing.T, w *workspace, d time.Duration, args ...string) result {
	t.Helper()
	args = append(args[:1:1], append([]string{"--config", w.config}, args[1:]...)...)
	cmd := exec.Command(binary, args...)
	cmd.Dir = w.dir
	cmd.Env = append(os.Environ(), "TEST_API_KEY="+testKey)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(d):
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err = <-done:
			t.Errorf("%v did not end within %v; it did on SIGTERM", args, d)
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Fatalf("%v did not end within %v, nor on SIGTERM\nstderr:\n%s", args, d, stderr.String())
		}
	}
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return r
}
