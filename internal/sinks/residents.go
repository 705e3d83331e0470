package sinks

import (
	"errors"
	"io"
	"sync"
)

// Residents is what the sinks of a process that runs them again and again
// (the service) keep from one run to the next, each thing under a key of
// its own: a vcard-dir sink's watch of its folder, which must see the
// changes made between runs. A sink is opened anew for each run; it finds
// here what its run before left. The process closes them as it ends. It
// is safe for concurrent use.
type Residents struct {
	mu   sync.Mutex
	kept map[string]io.Closer
}

// Get returns what is kept under key, kept there by open the first time.
// A key names the destination as well as the sink type that keeps it
// ("vcard-dir /srv/cards"), so that no two sinks share one.
func (r *Residents) Get(key string, open func() (io.Closer, error)) (io.Closer, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.kept[key]; ok {
		return c, nil
	}
	c, err := open()
	if err != nil {
		return nil, err
	}
	if r.kept == nil {
		r.kept = map[string]io.Closer{}
	}
	r.kept[key] = c
	return c, nil
}

// Close closes everything kept, and forgets it.
func (r *Residents) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for _, c := range r.kept {
		errs = append(errs, c.Close())
	}
	r.kept = nil
	return errors.Join(errs...)
}
