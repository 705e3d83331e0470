package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// benchCardDAV measures goal 5: uploading cards to Radicale and a run with
// nothing to send, against vdirsyncer syncing the same cards to the same
// server in the same run.
func benchCardDAV(ctx context.Context, opts options, dir string, t *table) error {
	dir = filepath.Join(dir, "carddav")
	stop, addr, err := startRadicale(ctx, dir)
	if err != nil {
		return err
	}
	defer stop()
	// Both clients go through this proxy, which counts their writes.
	var puts atomic.Int64
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: addr})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			puts.Add(1)
		}
		proxy.ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	defer srv.Close()
	root := "http://" + ln.Addr().String() + "/bench/"
	for _, book := range []string{"vdirsyncer", "ours-4", "ours-1"} {
		if err := makeAddressBook(ctx, root+book+"/"); err != nil {
			return err
		}
	}

	// vdirsyncer uploads the folder of cards that vcard-dir writes, the
	// same cards the carddav sink uploads.
	folder, err := newWorkspace(opts, filepath.Join(dir, "folder"), opts.cards, "  - name: cards\n    type: vcard-dir\n    path: {dir}/vcards\n")
	if err != nil {
		return err
	}
	defer folder.close()
	if _, err := folder.sync(ctx); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "uploading %d cards to Radicale with vdirsyncer\n", opts.cards)
	vd, err := newVdirsyncer(dir, folder.path("vcards"), root+"vdirsyncer/")
	if err != nil {
		return err
	}
	vdFirst, err := vd.sync(ctx)
	if err != nil {
		return err
	}
	vdAgain, err := vd.sync(ctx)
	if err != nil {
		return err
	}

	rate := func(d time.Duration) float64 { return float64(opts.cards) / d.Seconds() }
	for _, concurrency := range []int{4, 1} {
		book := fmt.Sprintf("ours-%d", concurrency)
		ws, err := newWorkspace(opts, filepath.Join(dir, book), opts.cards, fmt.Sprintf(`  - name: phone
    type: carddav
    url: %s%s/
    username: bench
    password: bench
    concurrency: %d
`, root, book, concurrency))
		if err != nil {
			return err
		}
		defer ws.close()
		fmt.Fprintf(os.Stderr, "uploading %d cards to Radicale, concurrency %d\n", opts.cards, concurrency)
		first, err := ws.sync(ctx)
		if err != nil {
			return err
		}
		puts.Store(0)
		again, err := ws.sync(ctx)
		if err != nil {
			return err
		}
		idlePuts := puts.Load()
		if concurrency != 4 {
			// Only for the choice of the default: is it as fast here?
			t.info(fmt.Sprintf("CardDAV first upload, concurrency %d (vs vdirsyncer)", concurrency), rate(first.wall), rate(vdFirst), "cards/s")
			continue
		}
		t.atLeast(fmt.Sprintf("CardDAV first upload, %d cards to Radicale, concurrency 4, the default (vs vdirsyncer)", opts.cards), rate(first.wall), rate(vdFirst), "cards/s", 0.95)
		t.atMost("CardDAV run with nothing to send (vs vdirsyncer's)", again.wall, vdAgain, 0.1)
		t.check("PUTs in that run", fmt.Sprint(idlePuts), "0", idlePuts == 0)
	}
	return nil
}

// startRadicale runs Radicale on a free loopback port, storing in dir. It
// accepts any user name and password, and each user owns their own books.
func startRadicale(ctx context.Context, dir string) (stop func(), addr string, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	addr = l.Addr().String()
	l.Close()
	config := filepath.Join(dir, "radicale.conf")
	err = os.WriteFile(config, fmt.Appendf(nil, `[server]
hosts = %s
[auth]
type = none
[rights]
type = owner_only
[storage]
filesystem_folder = %s
[web]
type = none
[logging]
level = warning
`, addr, filepath.Join(dir, "collections")), 0o600)
	if err != nil {
		return nil, "", err
	}
	cmd := exec.CommandContext(ctx, "radicale", "--config", config)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("radicale (scripts/bench.sh installs it): %w", err)
	}
	stop = func() { cmd.Process.Kill(); cmd.Wait() }
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if conn, err := net.Dial("tcp", addr); err == nil {
			conn.Close()
			return stop, addr, nil
		}
		if time.Now().After(deadline) {
			stop()
			return nil, "", fmt.Errorf("radicale does not listen on %s", addr)
		}
	}
}

// makeAddressBook creates an address book with an extended MKCOL.
func makeAddressBook(ctx context.Context, url string) error {
	body := `<?xml version="1.0" encoding="utf-8"?>
<mkcol xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><set><prop>
<resourcetype><collection/><C:addressbook/></resourcetype></prop></set></mkcol>`
	req, err := http.NewRequestWithContext(ctx, "MKCOL", url, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.SetBasicAuth("bench", "bench")
	req.Header.Set("Content-Type", "application/xml")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("MKCOL %s: %s", url, resp.Status)
	}
	return nil
}

// vdirsyncer is a vdirsyncer pair from a vCard folder to an address book.
type vdirsyncer struct {
	config string
}

func newVdirsyncer(dir, folder, book string) (*vdirsyncer, error) {
	v := &vdirsyncer{config: filepath.Join(dir, "vdirsyncer.conf")}
	config := fmt.Sprintf(`[general]
status_path = "%s"

[pair bench]
a = "cards"
b = "book"
collections = null
conflict_resolution = "a wins"

[storage cards]
type = "filesystem"
path = "%s"
fileext = ".vcf"

[storage book]
type = "carddav"
url = "%s"
username = "bench"
password = "bench"
`, filepath.Join(dir, "vdirsyncer-status"), folder, book)
	if err := os.WriteFile(v.config, []byte(config), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command("vdirsyncer", "-c", v.config, "discover", "bench")
	cmd.Stdin = strings.NewReader("y\ny\n") // in case it asks to create a storage
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("vdirsyncer discover (scripts/bench.sh installs it): %w\n%s", err, out)
	}
	return v, nil
}

// sync runs `vdirsyncer sync` and returns how long it took.
func (v *vdirsyncer) sync(ctx context.Context) (time.Duration, error) {
	cmd := exec.CommandContext(ctx, "vdirsyncer", "-c", v.config, "sync")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("vdirsyncer sync (scripts/bench.sh installs it): %w\n%s", err, out)
	}
	return time.Since(start), nil
}
