package natsconn

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	natsclient "github.com/nats-io/nats.go"
)

// Dial connects to o.Servers within o.Timeout and ctx, both for the whole
// connect: the client's own timeout applies to each URL in turn, and its
// Connect takes no context. When ctx ends first the error is ctx's;
// when the timeout passes it wraps context.DeadlineExceeded. The error
// does not name the servers: the caller says what it was connecting to.
func Dial(ctx context.Context, o *Options) (*natsclient.Conn, error) {
	connectCtx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	d := &dialer{ctx: connectCtx}
	d.Timeout = o.Timeout
	nc, err := natsclient.Connect(o.Servers, append(slices.Clip(o.Client), natsclient.SetCustomDialer(d))...)
	d.release()
	// A dial can fail on the deadline a moment before the context's timer
	// marks it done: the deadline, not Err, says whether time ran out.
	deadline, _ := connectCtx.Deadline()
	if connectCtx.Err() != nil || !time.Now().Before(deadline) {
		// Cut short, or done just as the deadline passed: a connection
		// the deadline may have closed is not worth keeping.
		if nc != nil {
			nc.Close()
		}
		err = ctx.Err()
		if err == nil {
			err = fmt.Errorf("no server answered within %v: %w", o.Timeout, context.DeadlineExceeded)
		}
	}
	if err != nil {
		return nil, err
	}
	return nc, nil
}

// dialer is the client's dialer for one connection. Until release, it
// dials within the connect's context and closes what it dialed when that
// context ends, which ends any wait of the client's on it (the server's
// greeting, the TLS handshake, the first PONG). After release, as when
// the client reconnects, it dials like a net.Dialer.
type dialer struct {
	net.Dialer
	mu    sync.Mutex
	ctx   context.Context // the connect in progress; nil once released
	stops []func() bool   // stop closing each connection with ctx
}

// Dial implements natsclient.CustomDialer.
func (d *dialer) Dial(network, address string) (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx == nil {
		return d.Dialer.Dial(network, address)
	}
	conn, err := d.DialContext(d.ctx, network, address)
	if err != nil {
		return nil, err
	}
	d.stops = append(d.stops, context.AfterFunc(d.ctx, func() { conn.Close() }))
	return conn, nil
}

// release ends the binding of the connections to the connect's context.
func (d *dialer) release() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, stop := range d.stops {
		stop()
	}
	d.ctx, d.stops = nil, nil
}

// Interface guards.
var _ natsclient.CustomDialer = (*dialer)(nil)
