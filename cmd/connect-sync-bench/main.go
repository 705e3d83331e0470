// Command connect-sync-bench measures connect-sync against the floor of
// each job, in one run so that machine noise cancels: the fake Connect API
// serves generated workspaces on loopback, the real connect-sync binary
// syncs them, and plain Go code doing the least that job needs (decode the
// list, write the files, post the bodies) gives the floor. It prints one
// table: figure, ours, floor or anchor, ratio, goal, met.
//
//	go build -o /tmp/connect-sync ./cmd/connect-sync
//	go run ./cmd/connect-sync-bench --bin /tmp/connect-sync
//
// scripts/bench.sh does both, after installing Radicale and vdirsyncer for
// the CardDAV figures.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
)

func main() {
	var opts options
	flag.StringVar(&opts.bin, "bin", "connect-sync", "the connect-sync binary to measure")
	flag.IntVar(&opts.contacts, "contacts", 100_000, "contacts in the big workspace (the small one has a tenth)")
	flag.IntVar(&opts.events, "events", 10_000, "webhook events to deliver")
	flag.IntVar(&opts.cards, "cards", 2_000, "CardDAV cards to upload (0 skips the CardDAV figures)")
	flag.StringVar(&opts.dir, "dir", "", "working folder (default: a new temporary one, removed at the end)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, opts); err != nil {
		fmt.Fprintln(os.Stderr, "connect-sync-bench:", err)
		os.Exit(1)
	}
}

type options struct {
	bin      string
	contacts int
	events   int
	cards    int
	dir      string
}

func run(ctx context.Context, opts options) error {
	dir := opts.dir
	if dir == "" {
		d, err := os.MkdirTemp("", "connect-sync-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	var t table
	benches := []func(context.Context, options, string, *table) error{benchPoll, benchWebhook}
	if opts.cards > 0 {
		benches = append(benches, benchCardDAV)
	}
	for _, b := range benches {
		if err := b(ctx, opts, dir, &t); err != nil {
			t.print(os.Stdout)
			return err
		}
	}
	t.print(os.Stdout)
	return nil
}
