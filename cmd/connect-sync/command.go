package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// command is one subcommand, defined once: the dispatcher parses its flags
// and runs it, and help, the man page and the completions describe it from
// the same definition and the same flag set.
type command struct {
	name    string
	summary string // one line, lowercase, no period, for the command list
	usage   string // the synopsis: "connect-sync reset [--workspace NAME] --sink NAME"
	doc     string // optional: paragraphs after the summary, separated by blank lines
	// files says the command takes file names, before, between and after
	// its flags.
	files bool
	// words, when set, returns what the command's arguments may be; a
	// command with neither files nor words takes no arguments.
	words func() []string
	// flags defines the command's flags on fs and returns what runs the
	// command with their values, once fs has parsed the command line.
	flags func(fs *flag.FlagSet) action
}

// action runs a command whose flags are parsed; args are its arguments
// besides the flags.
type action func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// flagSet returns the command's flag set, its flags defined, and what
// runs the command.
func (c command) flagSet() (*flag.FlagSet, action) {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	// The flag package prints nothing: a flag error comes back to run with
	// the command's usage line, and -h prints the command's help on stdout.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs, c.flags(fs)
}

// run parses the command's arguments and runs it, or, asked with -h or
// --help, prints its help.
func (c command) run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, act := c.flagSet()
	rest, err := c.parse(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return writeHelp(stdout, c)
	case err != nil:
		return err
	}
	return act(ctx, rest, stdout, stderr)
}

// parse parses args and returns the arguments besides the flags. Errors
// are usage errors, but for flag.ErrHelp.
func (c command) parse(fs *flag.FlagSet, args []string) ([]string, error) {
	if c.files {
		return c.parseFiles(fs, args)
	}
	if err := fs.Parse(args); err != nil {
		return nil, c.usageError(err)
	}
	if fs.NArg() > 0 && c.words == nil {
		return nil, c.usageError(fmt.Errorf("%s: unexpected argument %q", c.name, fs.Arg(0)))
	}
	return fs.Args(), nil
}

// parseFiles parses the flags and returns the files named among them:
// flags may come before, between and after the files.
func (c command) parseFiles(fs *flag.FlagSet, args []string) ([]string, error) {
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, c.usageError(err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			files = append(files, rest...) // after "--" everything is a file
			break
		}
		files, args = append(files, rest[0]), rest[1:]
	}
	if len(files) == 0 {
		return nil, c.usageError(fmt.Errorf("%s: no files given", c.name))
	}
	return files, nil
}

// usageError adds the command's usage line to an error in its command
// line, but for flag.ErrHelp, which asks for the help itself.
func (c command) usageError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return usageError{err: err, usage: fmt.Sprintf("usage: %s\nRun 'connect-sync help %s' for its flags.\n", c.usage, c.name)}
}

// find returns the command of that name.
func find(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// lookup returns the command of that name, or a usage error suggesting the
// closest.
func lookup(name string) (command, error) {
	if c, ok := find(name); ok {
		return c, nil
	}
	if s := closest(name, commandNames()); s != "" {
		return command{}, usageError{err: fmt.Errorf("unknown command %q; did you mean %q?", name, s)}
	}
	return command{}, usageError{err: fmt.Errorf("unknown command %q", name), usage: overview()}
}

// commandNames are the commands' names, in the table's order.
func commandNames() []string { return names(commands()) }

func names(list []command) []string {
	var names []string
	for _, c := range list {
		names = append(names, c.name)
	}
	return names
}

// closest returns the name nearest to a mistyped one, a typo or two away
// (and fewer than its length: "x" is nobody's typo), or "".
func closest(typed string, names []string) string {
	best, bestDist := "", min(3, len(typed))
	for _, name := range names {
		if d := levenshtein(typed, name); d < bestDist {
			best, bestDist = name, d
		}
	}
	return best
}

// levenshtein is the edit distance between a and b: how many runes to
// insert, delete or replace to turn one into the other.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := range ra {
		cur := make([]int, len(rb)+1)
		cur[0] = i + 1
		for j := range rb {
			cost := 1
			if ra[i] == rb[j] {
				cost = 0
			}
			cur[j+1] = min(prev[j+1]+1, cur[j]+1, prev[j]+cost)
		}
		prev = cur
	}
	return prev[len(rb)]
}

// flagsFirst is the error for a command line that starts with a flag: it
// shows the line with the command first, when an argument names one.
func flagsFirst(args []string) error {
	for i, arg := range args {
		if c, ok := find(arg); ok {
			fixed := append(append([]string{"connect-sync", c.name}, args[:i]...), args[i+1:]...)
			return usageError{err: fmt.Errorf("flags come after the command: %s", shellJoin(fixed))}
		}
	}
	return usageError{err: fmt.Errorf("flags come after the command: connect-sync COMMAND %s", shellJoin(args)), usage: overview()}
}

// shellJoin joins args into a command line a shell reads back as args.
func shellJoin(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = a
		if a == "" || strings.ContainsFunc(a, func(r rune) bool { return !strings.ContainsRune(shellSafe, r) }) {
			quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(quoted, " ")
}

// shellSafe are the characters a shell word may have unquoted.
const shellSafe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-"
