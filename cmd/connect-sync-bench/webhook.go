package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
)

// benchWebhook measures goal 4: the first sync of a workspace to a webhook
// on loopback, against a plain client posting the same bodies.
func benchWebhook(ctx context.Context, opts options, dir string, t *table) error {
	rec := &receiver{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: rec}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/hook"

	ws, err := newWorkspace(opts, filepath.Join(dir, "webhook"), opts.events, `  - name: hook
    type: webhook
    url: `+url+`
    secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
    concurrency: 4
`)
	if err != nil {
		return err
	}
	defer ws.close()
	fmt.Fprintf(os.Stderr, "delivering %d webhook events\n", opts.events)
	m, err := ws.sync(ctx)
	if err != nil {
		return err
	}
	bodies := rec.take()
	if len(bodies) != opts.events {
		return fmt.Errorf("the receiver got %d events, not %d", len(bodies), opts.events)
	}
	floor, err := postFloor(ctx, url, bodies, 4)
	if err != nil {
		return err
	}
	ours := float64(len(bodies)) / m.wall.Seconds()
	t.atLeast(fmt.Sprintf("webhook, %d events (whole run), concurrency 4", len(bodies)), ours, floor, "events/s", 0.2)
	return nil
}

// receiver answers 204 to every request and keeps the bodies.
type receiver struct {
	mu     sync.Mutex
	bodies [][]byte
	off    bool
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	if !r.off {
		r.bodies = append(r.bodies, body)
	}
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// take returns the bodies received so far and stops keeping new ones.
func (r *receiver) take() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.off = true
	return r.bodies
}
