package sinks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/crashpoint"
)

// Pool delivers the units of one Deliver call (changes, or messages that
// carry several) a few at a time, with the rules every sink keeps: a
// contact's changes in order, nothing more sent once the destination has
// failed as a whole, and a panic turned into an error instead of the end
// of the process.
type Pool struct {
	// Workers is how many units are under way at once; less than 1 is 1.
	Workers int
	// Logger gets the stack of a unit whose delivery panicked; nil
	// discards it.
	Logger *slog.Logger
}

// Deliver delivers each change of batch with deliver and returns one error
// per change, in order, as Run does; the changes of one contact form a
// lane.
func (p Pool) Deliver(ctx context.Context, batch []contact.Change, deliver func(ctx context.Context, ch contact.Change) error) []error {
	lane := func(i int) string { return batch[i].Contact.ID }
	return p.Run(ctx, len(batch), lane, func(ctx context.Context, i int) error { return deliver(ctx, batch[i]) })
}

// Run does n units with do, up to Workers at once, and returns one error
// per unit, in order:
//
//   - Units of one lane (lane(i); nil makes every unit a lane of its own)
//     are done one after another, in index order, so that a later change
//     of a contact or a file never overtakes an earlier one; once one
//     fails, the rest of its lane is not sent (an error with no sentinel:
//     they stay queued behind it).
//   - Once a unit fails with an error wrapping ErrUnavailable or ErrGone,
//     no further unit starts: each unit not started gets an error wrapping
//     that failure, and so the same sentinel. Units under way finish with
//     their own result. The ctx do is given is cancelled then, with that
//     failure as its cause, for waits that should give up (a retry's
//     backoff); work in flight that should finish uses Deliver's own
//     context instead.
//   - Once ctx ends, units not started get its error.
//   - A unit whose do panics gets an error saying so, its stack is logged,
//     and the other units go on.
func (p Pool) Run(ctx context.Context, n int, lane func(i int) string, do func(ctx context.Context, i int) error) []error {
	errs := make([]error, n)
	lanes := group(n, lane)
	halted, halt := context.WithCancelCause(ctx)
	defer halt(nil)
	var (
		next atomic.Int64
		wg   sync.WaitGroup
	)
	for range min(max(p.Workers, 1), len(lanes)) {
		wg.Go(func() {
			for l := next.Add(1) - 1; l < int64(len(lanes)); l = next.Add(1) - 1 {
				var failed error
				for _, i := range lanes[l] {
					if failed != nil && halted.Err() == nil { // else unit says why
						errs[i] = fmt.Errorf("not sent: an earlier change of the same contact or file failed (%v)", failed)
						continue
					}
					errs[i] = p.unit(ctx, halted, halt, i, do)
					failed = errs[i]
				}
			}
		})
	}
	wg.Wait()
	return errs
}

// unit does unit i unless the run ended or the batch halted, and halts the
// batch when the destination failed as a whole.
func (p Pool) unit(ctx, halted context.Context, halt context.CancelCauseFunc, i int, do func(context.Context, int) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("not sent: %w", err)
	}
	if halted.Err() != nil {
		return fmt.Errorf("not sent: %w", context.Cause(halted))
	}
	err := p.recovered(halted, i, do)
	crashpoint.Hit("mid-batch") // part of the batch done, none acknowledged
	if errors.Is(err, ErrUnavailable) || errors.Is(err, ErrGone) {
		halt(err)
	}
	return err
}

// recovered calls do, turning a panic into its error: a panic in a
// worker's goroutine would end the process and every other run with it.
func (p Pool) recovered(ctx context.Context, i int, do func(context.Context, int) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if p.Logger != nil {
				p.Logger.Error("a delivery panicked", "panic", r, "stack", string(debug.Stack()))
			}
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return do(ctx, i)
}

// group returns the units of each lane in index order, the lanes in the
// order of their first unit.
func group(n int, lane func(i int) string) [][]int {
	lanes := make([][]int, 0, n)
	if lane == nil {
		for i := range n {
			lanes = append(lanes, []int{i})
		}
		return lanes
	}
	at := make(map[string]int, n)
	for i := range n {
		key := lane(i)
		l, ok := at[key]
		if !ok {
			l = len(lanes)
			at[key] = l
			lanes = append(lanes, nil)
		}
		lanes[l] = append(lanes[l], i)
	}
	return lanes
}

// Fail returns err as the error of every change of batch: for a sink that
// cannot start on the batch at all.
func Fail(batch []contact.Change, err error) []error {
	errs := make([]error, len(batch))
	for i := range errs {
		errs[i] = err
	}
	return errs
}

// Turns puts one step of each unit of a Pool's Run in index order (a
// publish to a stream that should hold the batch in its order), while the
// rest of their work overlaps (waiting for acknowledgements).
type Turns []chan struct{}

// NewTurns returns the turns of n units, unit 0's first.
func NewTurns(n int) Turns {
	t := make(Turns, n+1)
	for i := range t {
		t[i] = make(chan struct{})
	}
	close(t[0])
	return t
}

// Take waits for unit i's turn, which comes once every unit before it
// has taken its own, then does step. It returns step's error, or, when
// ctx has ended, a "not sent" error wrapping its cause: pass the ctx Run
// gives do, which ends when the batch halts, and so when a unit before i
// is never started.
func (t Turns) Take(ctx context.Context, i int, step func() error) error {
	select {
	case <-t[i]:
	case <-ctx.Done():
	}
	defer close(t[i+1])
	if ctx.Err() != nil { // a turn that came as the batch halted included
		return fmt.Errorf("not sent: %w", context.Cause(ctx))
	} // a step that panics still ends its turn
	return step()
}
