package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/connect-sync/connect-sync/internal/fakeconnect"
)

// workspace is a generated Connect workspace served on loopback, with a
// connect-sync config and state file of its own.
type workspace struct {
	api    *fakeconnect.Server
	url    string
	dir    string
	bin    string
	config string
	srv    *http.Server
}

// newWorkspace serves n generated contacts and writes a config whose sinks
// section is sinks (YAML, indented as a list under "sinks:"), with {dir}
// standing for the workspace's folder.
func newWorkspace(opts options, dir string, n int, sinks string) (*workspace, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	w := &workspace{
		api: fakeconnect.New(fakeconnect.Options{Contacts: n, Seed: 1}),
		url: "http://" + ln.Addr().String(),
		dir: dir,
		bin: opts.bin,
	}
	w.srv = &http.Server{Handler: w.api}
	go w.srv.Serve(ln)
	w.config = filepath.Join(dir, "config.yaml")
	config := fmt.Sprintf("connect:\n  base_url: %s\n  api_key: %s\nstate:\n  path: %s\nsinks:\n%s",
		w.url, fakeconnect.DefaultAPIKey, filepath.Join(dir, "state.db"), strings.ReplaceAll(sinks, "{dir}", dir))
	if err := os.WriteFile(w.config, []byte(config), 0o600); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

func (w *workspace) close() { w.srv.Close() }

// path returns a file of the workspace's folder.
func (w *workspace) path(name string) string { return filepath.Join(w.dir, name) }

// measurement is one process's cost.
type measurement struct {
	wall time.Duration
	rss  float64 // peak resident set, MB
}

// sync runs `connect-sync sync` once and measures it.
func (w *workspace) sync(ctx context.Context) (measurement, error) {
	return measure(ctx, w.bin, "sync", "--config", w.config)
}

// measure runs a command and measures its wall time and peak RSS. The RSS
// comes from GNU time, which runs the command from a small process of its
// own: a child forked from this big one would report this one's RSS as
// its own peak, since Linux keeps the peak across exec.
func measure(ctx context.Context, name string, args ...string) (measurement, error) {
	report, err := os.CreateTemp("", "connect-sync-bench-rss-")
	if err != nil {
		return measurement{}, err
	}
	report.Close()
	defer os.Remove(report.Name())
	cmd := exec.CommandContext(ctx, "/usr/bin/time", append([]string{"-f", "%M", "-o", report.Name(), name}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return measurement{}, fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out.Bytes())
	}
	kb, err := os.ReadFile(report.Name())
	if err != nil {
		return measurement{}, err
	}
	rss, err := strconv.ParseFloat(strings.TrimSpace(string(kb)), 64)
	if err != nil {
		return measurement{}, fmt.Errorf("GNU time (scripts/bench.sh installs it) reported %q: %w", kb, err)
	}
	return measurement{wall: wall, rss: rss / 1024}, nil
}

// best runs f k times and keeps the fastest, the figure least disturbed by
// whatever else the machine did meanwhile.
func best(k int, f func() (measurement, error)) (measurement, error) {
	var m measurement
	for i := range k {
		got, err := f()
		if err != nil {
			return m, err
		}
		if i == 0 || got.wall < m.wall {
			m.wall = got.wall
		}
		m.rss = max(m.rss, got.rss)
	}
	return m, nil
}
