package service

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// HTTPSettings are how the listener treats its clients. They apply from
// the start: a reload does not change them.
type HTTPSettings struct {
	// AllowedHosts are names accepted in the Host header besides those
	// always accepted (hostRules); the config's http.allowed_hosts.
	AllowedHosts []string
	// IdleTimeout is how long a keep-alive connection may wait for its
	// next request; zero means defaultIdleTimeout.
	IdleTimeout time.Duration
}

// The listener's limits, which bound what a client can hold: its requests
// have no body and its answers are small.
const (
	// maxConnections is how many connections the listener serves at
	// once; the next wait in the kernel's backlog until one closes.
	// Prometheus, probes and the CLI need a handful.
	maxConnections    = 64
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	// writeTimeout runs from the end of a request's header to the end of
	// its answer. No endpoint waits for a run: POST /sync answers once the
	// runs have started, and `status` and `redeliver` give up on an
	// answer after 10 s themselves.
	writeTimeout       = time.Minute
	maxHeaderBytes     = 64 << 10
	defaultIdleTimeout = time.Minute
)

// serveHTTP serves the endpoints on ln until the function it returns is
// called, which waits a while for the requests in progress unless the
// service exits at once.
func (s *Service) serveHTTP(ln net.Listener) (stop func(atOnce bool)) {
	idle := s.HTTP.IdleTimeout
	if idle == 0 {
		idle = defaultIdleTimeout
	}
	srv := &http.Server{
		Handler:           s.handler(ln.Addr()),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idle,
		MaxHeaderBytes:    maxHeaderBytes,
	}
	go func() {
		if err := srv.Serve(newLimitListener(ln, maxConnections)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Logger.Error("HTTP listener failed", "error", err)
		}
	}()
	if !isLoopback(ln.Addr()) {
		s.Logger.Warn("the listener is reachable from other machines, and has neither authentication nor TLS: "+
			"put a reverse proxy with TLS and authentication in front of it, or set http.listen to a loopback address",
			"address", ln.Addr().String())
	}
	s.Logger.Info("serving metrics, status and health", "address", ln.Addr().String())
	return func(atOnce bool) {
		if atOnce { // no wait for open connections
			srv.Close()
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			// A client still holds a connection that never became idle
			// (one that has sent no request yet, say).
			srv.Close()
		}
	}
}

func isLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// limitListener accepts at most cap(slots) connections at once: the next
// one waits in the kernel's backlog, holding none of the process's file
// descriptors or memory, until a connection closes. It is what
// golang.org/x/net/netutil.LimitListener does, kept here rather than
// bring in that module, with its advisories, for these lines.
type limitListener struct {
	net.Listener
	slots     chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
}

func newLimitListener(ln net.Listener, n int) *limitListener {
	return &limitListener{Listener: ln, slots: make(chan struct{}, n), closed: make(chan struct{})}
}

// Accept waits for a free slot, then for a connection.
func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.closed:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitedConn{Conn: c, release: func() { <-l.slots }}, nil
}

// Close closes the listener, and ends an Accept waiting for a slot.
func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// limitedConn gives its slot back when closed, once however often it is.
type limitedConn struct {
	net.Conn
	releaseOnce sync.Once
	release     func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.releaseOnce.Do(c.release)
	return err
}
