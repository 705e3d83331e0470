package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/connect-sync/connect-sync/internal/engine"
)

// progressLine keeps one line on a terminal up to date with how far a run
// got, at most ten times a second.
type progressLine struct {
	out    io.Writer
	mu     sync.Mutex
	counts map[engine.Stage]int
	last   time.Time
}

// newProgress returns a progress line on stderr, or nil when stderr is not
// a terminal: logs stay plain lines there.
func newProgress(stderr io.Writer) *progressLine {
	f, ok := stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return &progressLine{out: f, counts: map[engine.Stage]int{}}
}

// update is an engine.Engine Progress function.
func (p *progressLine) update(stage engine.Stage, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts[stage] = n
	if time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.out, "\r\033[Kfetched %d contacts, delivered %d changes", p.counts[engine.StageFetched], p.counts[engine.StageDelivered])
}

// reporter returns the function to give the engine, nil without a terminal.
func (p *progressLine) reporter() func(engine.Stage, int) {
	if p == nil {
		return nil
	}
	return p.update
}

// clear removes the line, so that the logs after it start clean.
func (p *progressLine) clear() {
	if p != nil {
		fmt.Fprint(p.out, "\r\033[K")
	}
}
