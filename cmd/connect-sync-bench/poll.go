package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

// fileSinks is the sinks section of the polling benchmarks: one CSV file
// and a vCard folder.
const fileSinks = `  - name: spreadsheet
    type: csv
    path: {dir}/contacts.csv
  - name: cards
    type: vcard-dir
    path: {dir}/vcards
`

// benchPoll measures goals 1 to 3: the no-change poll of a small and a big
// workspace, 1% changed, and the first sync of the big one.
func benchPoll(ctx context.Context, opts options, dir string, t *table) error {
	small, err := pollFigures(ctx, opts, filepath.Join(dir, "small"), opts.contacts/10, t, false)
	if err != nil {
		return err
	}
	big, err := pollFigures(ctx, opts, filepath.Join(dir, "big"), opts.contacts, t, true)
	if err != nil {
		return err
	}
	growth := big.Seconds() / small.Seconds()
	t.check(fmt.Sprintf("no-change poll, %d vs %d contacts", opts.contacts, opts.contacts/10),
		fmt.Sprintf("%.1f×", growth), "≤ 11× (linear)", growth <= 11)
	return nil
}

// pollFigures syncs a workspace of n contacts to csv and vcard-dir, then
// measures the no-change poll; with full it also reports the first sync
// and a run with 1% of the contacts changed. It returns the poll's time.
func pollFigures(ctx context.Context, opts options, dir string, n int, t *table, full bool) (time.Duration, error) {
	fmt.Fprintf(os.Stderr, "generating %d contacts\n", n)
	ws, err := newWorkspace(opts, dir, n, fileSinks)
	if err != nil {
		return 0, err
	}
	defer ws.close()

	fmt.Fprintf(os.Stderr, "first sync of %d contacts\n", n)
	first, err := ws.sync(ctx)
	if err != nil {
		return 0, err
	}
	poll, err := best(3, func() (measurement, error) { return ws.sync(ctx) })
	if err != nil {
		return 0, err
	}
	var size int64
	floor, err := best(3, func() (m measurement, err error) {
		m, size, err = decodeFloor(ctx, ws.url)
		return m, err
	})
	if err != nil {
		return 0, err
	}
	t.atMost(fmt.Sprintf("no-change poll, %d contacts (%.0f MB)", n, float64(size)/1e6), poll.wall, floor.wall, 1.5)
	t.limit(fmt.Sprintf("no-change poll, %d contacts: peak RSS", n), poll.rss, 100, "MB")
	if !full {
		return poll.wall, nil
	}

	cards, err := readFiles(ws.path("vcards"))
	if err != nil {
		return 0, err
	}
	csvFile, err := os.ReadFile(ws.path("contacts.csv"))
	if err != nil {
		return 0, err
	}
	fmt.Fprintf(os.Stderr, "writing %d files, the floor of the first sync\n", len(cards))
	filesFloor, err := writeFloor(ws.path("floor-all"), cards)
	if err != nil {
		return 0, err
	}
	csvFloor, err := writeFloor(ws.path("floor-csv"), [][]byte{csvFile})
	if err != nil {
		return 0, err
	}
	t.atMost(fmt.Sprintf("first sync, %d contacts to csv + vcard-dir", n), first.wall, floor.wall+filesFloor+csvFloor, 2)
	t.limit(fmt.Sprintf("first sync, %d contacts: peak RSS", n), first.rss, 200, "MB")

	return poll.wall, changedFigures(ctx, ws, n/100, poll.wall, cards[:n/100], csvFloor, t)
}

// changedFigures edits k contacts and measures the run that delivers them
// against the no-change poll plus writing k files and the CSV. Like the
// poll and its floor, each figure is the best of three rounds (k other
// contacts edited in each), so that one slow moment of the machine does
// not decide it.
func changedFigures(ctx context.Context, ws *workspace, k int, poll time.Duration, sample [][]byte, csvFloor time.Duration, t *table) error {
	ids := ws.api.IDs()
	rng := rand.New(rand.NewPCG(1, 2))
	touched, wrong := 0, 0 // in the round that touched the wrong files, if any
	round := 0
	changed, err := best(3, func() (measurement, error) {
		edited := map[string]bool{}
		for len(edited) < k {
			id := ids[rng.IntN(len(ids))]
			if edited[id] {
				continue
			}
			edited[id] = true
			if err := ws.api.Edit(id, func(c map[string]any) { c["jobTitle"] = fmt.Sprintf("Benchmark %d %s", round, id) }); err != nil {
				return measurement{}, err
			}
		}
		before, err := modTimes(ws.path("vcards"))
		if err != nil {
			return measurement{}, err
		}
		run, err := ws.sync(ctx)
		if err != nil {
			return measurement{}, err
		}
		after, err := modTimes(ws.path("vcards"))
		if err != nil {
			return measurement{}, err
		}
		n, bad := 0, 0
		for name, mt := range after {
			if before[name] != mt {
				n++
				if !edited[name[:len(name)-len(".vcf")]] {
					bad++
				}
			}
		}
		if round == 0 || n != k || bad > 0 {
			touched, wrong = n, bad
		}
		round++
		return run, nil
	})
	if err != nil {
		return err
	}
	// Over files of the same names in the floor's folder of n files, as the
	// run replaces cards in a folder that holds every contact's.
	filesFloor, err := best(3, func() (measurement, error) {
		d, err := writeFloor(ws.path("floor-all"), sample)
		return measurement{wall: d}, err
	})
	if err != nil {
		return err
	}
	anchor := time.Duration(1.5*float64(poll)) + filesFloor.wall + csvFloor
	t.atMost(fmt.Sprintf("%d of %d changed (vs 1.5 × poll + writing them)", k, len(ids)), changed.wall, anchor, 1)
	t.check("files touched by each of those runs", fmt.Sprintf("%d (%d not edited)", touched, wrong),
		fmt.Sprintf("= %d, all edited", k), touched == k && wrong == 0)
	return nil
}

func modTimes(dir string) (map[string]time.Time, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	times := make(map[string]time.Time, len(entries))
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			return nil, err
		}
		times[e.Name()] = info.ModTime()
	}
	return times, nil
}
