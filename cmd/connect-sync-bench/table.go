package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// table collects the figures, each with what it is measured against.
type table struct {
	rows []row
}

type row struct {
	figure, ours, anchor, ratio, goal string
	met                               bool
}

// atMost adds a figure that meets its goal when ours/anchor ≤ max.
func (t *table) atMost(figure string, ours, anchor time.Duration, max float64) {
	r := ours.Seconds() / anchor.Seconds()
	t.rows = append(t.rows, row{figure, seconds(ours), seconds(anchor), fmt.Sprintf("%.2f", r), fmt.Sprintf("≤ %.2f", max), r <= max})
}

// atLeast adds a rate that meets its goal when ours/anchor ≥ min.
func (t *table) atLeast(figure string, ours, anchor float64, unit string, min float64) {
	r := ours / anchor
	t.rows = append(t.rows, row{figure, fmt.Sprintf("%.0f %s", ours, unit), fmt.Sprintf("%.0f %s", anchor, unit), fmt.Sprintf("%.2f", r), fmt.Sprintf("≥ %.2f", min), r >= min})
}

// limit adds an absolute figure that meets its goal at or below max.
func (t *table) limit(figure string, ours, max float64, unit string) {
	t.rows = append(t.rows, row{figure, fmt.Sprintf("%.0f %s", ours, unit), "", "", fmt.Sprintf("≤ %.0f %s", max, unit), ours <= max})
}

// info adds a rate measured for comparison only, with no goal.
func (t *table) info(figure string, ours, anchor float64, unit string) {
	t.rows = append(t.rows, row{figure, fmt.Sprintf("%.0f %s", ours, unit), fmt.Sprintf("%.0f %s", anchor, unit), fmt.Sprintf("%.2f", ours/anchor), "", true})
}

// check adds a yes/no figure.
func (t *table) check(figure, ours, goal string, met bool) {
	t.rows = append(t.rows, row{figure, ours, "", "", goal, met})
}

// print writes the table as Markdown, ready for docs/performance.md.
func (t *table) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(tw, "| figure\t ours\t floor or anchor\t ratio\t goal\t met |")
	fmt.Fprintln(tw, "|---\t---\t---\t---\t---\t--- |")
	for _, r := range t.rows {
		met := "yes"
		switch {
		case r.goal == "":
			met = ""
		case !r.met:
			met = "**no**"
		}
		fmt.Fprintf(tw, "| %s\t %s\t %s\t %s\t %s\t %s |\n", r.figure, r.ours, r.anchor, r.ratio, r.goal, met)
	}
	tw.Flush()
}

func seconds(d time.Duration) string {
	return fmt.Sprintf("%.3f s", d.Seconds())
}
