package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"

	"github.com/coreos/go-systemd/v22/journal"
)

// logger builds the logger the flags ask for, writing to stderr. When
// stderr is systemd's journal stream, lines carry no time of their own
// (journald stamps them) and start with their syslog priority, so that
// `journalctl -p warning` finds the warnings.
func (c *common) logger(stderr io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, usageError{err: fmt.Errorf("--log-level: %q is not one of debug, info, warn, error", c.logLevel)}
	}
	var format func(io.Writer, *slog.HandlerOptions) slog.Handler
	switch strings.ToLower(c.logFormat) {
	case "text":
		format = func(w io.Writer, o *slog.HandlerOptions) slog.Handler { return slog.NewTextHandler(w, o) }
	case "json":
		format = func(w io.Writer, o *slog.HandlerOptions) slog.Handler { return slog.NewJSONHandler(w, o) }
	default:
		return nil, usageError{err: fmt.Errorf("--log-format: %q is not text or json", c.logFormat)}
	}
	opts := &slog.HandlerOptions{Level: level}
	if onJournal, _ := journal.StderrIsJournalStream(); onJournal && stderr == os.Stderr {
		return slog.New(newJournalHandler(stderr, opts, format)), nil
	}
	return slog.New(format(stderr, opts)), nil
}

// journalHandler formats records with an inner handler, minus the time,
// and writes each as one line behind its "<N>" priority prefix.
type journalHandler struct {
	inner slog.Handler // writes into buf
	out   io.Writer
	mu    *sync.Mutex
	buf   *bytes.Buffer
}

func newJournalHandler(out io.Writer, opts *slog.HandlerOptions, format func(io.Writer, *slog.HandlerOptions) slog.Handler) *journalHandler {
	o := *opts
	o.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	buf := new(bytes.Buffer)
	return &journalHandler{inner: format(buf, &o), out: out, mu: new(sync.Mutex), buf: buf}
}

func (h *journalHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *journalHandler) Handle(ctx context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.buf.Reset()
	h.buf.WriteString(priority(r.Level))
	if err := h.inner.Handle(ctx, r); err != nil {
		return err
	}
	_, err := h.out.Write(h.buf.Bytes())
	return err
}

func (h *journalHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &journalHandler{inner: h.inner.WithAttrs(attrs), out: h.out, mu: h.mu, buf: h.buf}
}

func (h *journalHandler) WithGroup(name string) slog.Handler {
	return &journalHandler{inner: h.inner.WithGroup(name), out: h.out, mu: h.mu, buf: h.buf}
}

// priority is the sd-daemon(3) prefix for a level.
func priority(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "<3>"
	case l >= slog.LevelWarn:
		return "<4>"
	case l >= slog.LevelInfo:
		return "<6>"
	}
	return "<7>"
}
