package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
)

// about is what connect-sync does, in the words of the general help and
// the man page's NAME.
const about = "sync the contacts of Connect (Skarbe CRM) workspaces to CSV files, vCard folders and other sinks"

// helpCommand is `connect-sync help`: a function, not a variable as most
// commands are, because it reads the command table it is in.
func helpCommand() command {
	return command{
		name:    "help",
		summary: "show the commands, or a command's description, usage and flags",
		usage:   "connect-sync help [COMMAND]",
		doc:     "connect-sync COMMAND --help shows a command's help too.",
		words:   commandNames,
		flags: func(*flag.FlagSet) action {
			return func(_ context.Context, args []string, stdout, _ io.Writer) error {
				switch len(args) {
				case 0:
					_, err := io.WriteString(stdout, "connect-sync: "+about+"\n\n"+overview())
					return err
				case 1:
					c, err := lookup(args[0])
					if err != nil {
						return err
					}
					return writeHelp(stdout, c)
				}
				return usageError{err: fmt.Errorf("help: unexpected argument %q", args[1])}
			}
		},
	}
}

// overview is the usage of connect-sync and its list of commands.
func overview() string {
	var b strings.Builder
	b.WriteString("usage: connect-sync COMMAND [flags]\n\ncommands:\n")
	list := commands()
	width := 0
	for _, c := range list {
		width = max(width, len(c.name))
	}
	for _, c := range list {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, c.name, c.summary)
	}
	b.WriteString("\nFlags come after the command. Run 'connect-sync help COMMAND' for a command's flags.\n")
	return b.String()
}

// writeHelp writes a command's help: its summary, usage, description and
// flags with their defaults.
func writeHelp(w io.Writer, c command) error {
	var b strings.Builder
	fmt.Fprintf(&b, "connect-sync %s: %s\n\n", c.name, c.summary)
	// The usage's continuation lines line up after "usage: ".
	b.WriteString("usage: " + strings.TrimPrefix(wrap(synopsisGroups(c.usage), "       ", 80), "       "))
	for _, p := range paragraphs(c.doc) {
		if isExample(p) {
			b.WriteString("\n" + p + "\n")
			continue
		}
		b.WriteString("\n" + wrap(strings.Fields(p), "", 80))
	}
	if docs := c.flagDocs(); len(docs) > 0 {
		b.WriteString("\nflags:\n")
		for _, d := range docs {
			fmt.Fprintf(&b, "  %s\n%s", d.synopsis(), wrap(strings.Fields(d.usageWithDefault()), "        ", 80))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// flagDoc is what help, the man page and the completions say of a flag.
type flagDoc struct {
	name  string   // without dashes
	value string   // the value's placeholder (FILE, NAME, text|json); "" for a bool flag
	usage string   // its usage, the placeholder's backquotes removed
	def   string   // the default help shows; "" for none
	words []string // a word flag's words
}

// flagDocs describes the command's flags, in name order.
func (c command) flagDocs() []flagDoc {
	fs, _ := c.flagSet()
	return flagDocs(fs)
}

// flagDocs describes a flag set's flags, in name order.
func flagDocs(fs *flag.FlagSet) []flagDoc {
	var docs []flagDoc
	fs.VisitAll(func(f *flag.Flag) {
		value, usage := flag.UnquoteUsage(f)
		d := flagDoc{name: f.Name, value: strings.ToUpper(value), usage: usage, def: f.DefValue}
		if w, ok := f.Value.(wordFlag); ok {
			d.words = w.words
			d.value = strings.Join(w.words, "|")
		}
		if d.value == "" && d.def == "false" {
			d.def = "" // a bool flag is off unless given
		}
		docs = append(docs, d)
	})
	return docs
}

// synopsis is the flag as given on the command line: --name VALUE.
func (d flagDoc) synopsis() string {
	if d.value == "" {
		return "--" + d.name
	}
	return "--" + d.name + " " + d.value
}

// usageWithDefault is the flag's usage, with its default when it has one.
func (d flagDoc) usageWithDefault() string {
	if d.def == "" {
		return d.usage
	}
	return d.usage + " (default: " + d.def + ")"
}

// paragraphs splits a command's doc at its blank lines.
func paragraphs(doc string) []string {
	if doc == "" {
		return nil
	}
	return strings.Split(doc, "\n\n")
}

// isExample says whether a paragraph of a doc is an example, indented by
// four spaces, which help and the man page show as it is.
func isExample(p string) bool { return strings.HasPrefix(p, "    ") }

// synopsisGroups splits a synopsis at its spaces, but for those inside
// brackets or parentheses: "[--workspace NAME]" stays whole.
func synopsisGroups(usage string) []string {
	var groups []string
	depth, start := 0, 0
	for i, r := range usage {
		switch r {
		case '[', '(':
			depth++
		case ']', ')':
			depth--
		case ' ':
			if depth == 0 {
				groups = append(groups, usage[start:i])
				start = i + 1
			}
		}
	}
	return append(groups, usage[start:])
}

// wrap fills words into lines of at most width columns, each after
// indent; a longer word has a line of its own.
func wrap(words []string, indent string, width int) string {
	var b strings.Builder
	line := indent
	for _, word := range words {
		switch {
		case len(line) == len(indent):
		case len(line)+1+len(word) > width:
			b.WriteString(line + "\n")
			line = indent
		default:
			line += " "
		}
		line += word
	}
	return b.String() + line + "\n"
}
