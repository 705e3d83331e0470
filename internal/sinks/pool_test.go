package sinks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
)

func TestPoolReturnsOneErrorPerUnitInOrder(t *testing.T) {
	errOdd := errors.New("odd")
	errs := Pool{Workers: 3}.Run(t.Context(), 10, nil, func(_ context.Context, i int) error {
		if i%2 == 1 {
			return fmt.Errorf("unit %d: %w", i, errOdd)
		}
		return nil
	})
	if len(errs) != 10 {
		t.Fatalf("%d errors for 10 units", len(errs))
	}
	for i, err := range errs {
		if want := i%2 == 1; errors.Is(err, errOdd) != want || (err != nil && !strings.Contains(err.Error(), fmt.Sprintf("unit %d:", i))) {
			t.Errorf("unit %d: %v", i, err)
		}
	}
}

func TestPoolKeepsWorkersBusyUpToItsBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var now, most atomic.Int64
		Pool{Workers: 4}.Run(t.Context(), 20, nil, func(context.Context, int) error {
			n := now.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(time.Second)
			now.Add(-1)
			return nil
		})
		if most.Load() != 4 {
			t.Errorf("%d units at once, want 4", most.Load())
		}
	})
}

func TestPoolDoesALaneInOrderAndLanesAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			mu    sync.Mutex
			order = map[string][]int{}
		)
		lanes := []string{"a", "b", "a", "c", "b", "a"}
		start := time.Now()
		Pool{Workers: 8}.Run(t.Context(), len(lanes), func(i int) string { return lanes[i] }, func(_ context.Context, i int) error {
			time.Sleep(time.Second)
			mu.Lock()
			order[lanes[i]] = append(order[lanes[i]], i)
			mu.Unlock()
			return nil
		})
		want := map[string][]int{"a": {0, 2, 5}, "b": {1, 4}, "c": {3}}
		if fmt.Sprint(order) != fmt.Sprint(want) {
			t.Errorf("units done %v, want %v", order, want)
		}
		// Lane a's three units one after another, the others beside them.
		if took := time.Since(start); took != 3*time.Second {
			t.Errorf("took %v, want 3s", took)
		}
	})
}

func TestPoolStopsOnAFailedDestination(t *testing.T) {
	for _, sentinel := range []error{ErrUnavailable, ErrGone} {
		t.Run(sentinel.Error(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var started atomic.Int64
				var inFlight error
				errs := Pool{Workers: 2}.Run(t.Context(), 10, nil, func(ctx context.Context, i int) error {
					started.Add(1)
					switch i {
					case 0:
						time.Sleep(time.Second)
						return fmt.Errorf("down: %w", sentinel)
					case 1: // under way when unit 0 fails: it waits on ctx
						<-ctx.Done()
						inFlight = context.Cause(ctx)
						return nil
					}
					return nil
				})
				if started.Load() != 2 {
					t.Errorf("%d units started, want 2", started.Load())
				}
				if !errors.Is(inFlight, sentinel) {
					t.Errorf("the unit under way saw %v, want the failure as ctx's cause", inFlight)
				}
				if errs[1] != nil {
					t.Errorf("the unit under way got %v, want its own result", errs[1])
				}
				for i := 2; i < 10; i++ {
					if !errors.Is(errs[i], sentinel) || !strings.Contains(errs[i].Error(), "not sent: down") {
						t.Errorf("unit %d: %v, want not sent, wrapping %v", i, errs[i], sentinel)
					}
				}
			})
		})
	}
}

func TestPoolSendsNothingOnceCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var started atomic.Int64
	errs := Pool{Workers: 2}.Run(ctx, 5, nil, func(context.Context, int) error {
		started.Add(1)
		return nil
	})
	if started.Load() != 0 {
		t.Errorf("%d units started after cancellation", started.Load())
	}
	for i, err := range errs {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("unit %d: %v", i, err)
		}
	}
}

func TestPoolContainsAPanic(t *testing.T) {
	var log bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&log, nil))
	batch := make([]contact.Change, 4)
	for i := range batch {
		batch[i].Contact.ID = fmt.Sprint(i)
	}
	errs := Pool{Workers: 2, Logger: logger}.Deliver(t.Context(), batch, func(_ context.Context, ch contact.Change) error {
		if ch.Contact.ID == "2" {
			panic("boom")
		}
		return nil
	})
	for i, err := range errs {
		if want := i == 2; (err != nil) != want {
			t.Errorf("change %d: %v", i, err)
		}
	}
	if !strings.Contains(errs[2].Error(), "panic: boom") {
		t.Errorf("error %q does not say the delivery panicked", errs[2])
	}
	if !strings.Contains(log.String(), "pool_test.go") {
		t.Errorf("the log has no stack: %s", log.String())
	}
}

func TestTurnsOrderOneStepOfEachUnit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 6
		var (
			mu    sync.Mutex
			steps []int
		)
		turns := NewTurns(n)
		errs := Pool{Workers: n}.Run(t.Context(), n, nil, func(ctx context.Context, i int) error {
			time.Sleep(time.Duration(n-i) * time.Second) // the last unit ready first
			return turns.Take(ctx, i, func() error {
				mu.Lock()
				defer mu.Unlock()
				steps = append(steps, i)
				if i == 2 {
					panic("a step that panics still ends its turn")
				}
				return nil
			})
		})
		if fmt.Sprint(steps) != "[0 1 2 3 4 5]" {
			t.Errorf("steps in the order %v", steps)
		}
		if errs[2] == nil || errs[3] != nil {
			t.Errorf("errors %v", errs)
		}
	})
}

func TestTurnsDoNotWaitForUnitsNeverStarted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		turns := NewTurns(3)
		errs := Pool{Workers: 2}.Run(t.Context(), 3, nil, func(ctx context.Context, i int) error {
			switch i {
			case 0:
				return turns.Take(ctx, i, func() error { return ErrUnavailable })
			case 1: // waits for its turn until unit 0 halts the batch
				time.Sleep(time.Second)
			}
			return turns.Take(ctx, i, func() error { return nil })
		})
		for i, err := range errs {
			if !errors.Is(err, ErrUnavailable) {
				t.Errorf("unit %d: %v", i, err)
			}
		}
	})
}

func TestPoolStopsALaneAtItsFirstFailure(t *testing.T) {
	lanes := []string{"a", "a", "b", "a"}
	var ran []int
	var mu sync.Mutex
	errs := Pool{Workers: 1}.Run(t.Context(), len(lanes), func(i int) string { return lanes[i] }, func(_ context.Context, i int) error {
		mu.Lock()
		ran = append(ran, i)
		mu.Unlock()
		if i == 0 {
			return fmt.Errorf("refused: %w", ErrPermanent)
		}
		return nil
	})
	if fmt.Sprint(ran) != "[0 2]" {
		t.Errorf("units done %v, want [0 2]: lane a stops at its failure", ran)
	}
	for _, i := range []int{1, 3} {
		if errs[i] == nil || errors.Is(errs[i], ErrPermanent) {
			t.Errorf("unit %d: %v, want an error of its own, not the failure's sentinel", i, errs[i])
		}
	}
	if errs[2] != nil {
		t.Errorf("unit 2 of another lane: %v", errs[2])
	}
}
