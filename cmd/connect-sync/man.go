package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/connect-sync/connect-sync/internal/config"
)

// manCommand is `connect-sync man`: a function, not a variable as most
// commands are, because it reads the command table it is in.
func manCommand() command {
	return command{
		name:    "man",
		summary: "print the connect-sync(1) man page",
		usage:   "connect-sync man",
		doc: `Writes the manual page, in roff, to standard output. To install it, and to
read it without installing it:

    connect-sync man > /usr/local/share/man/man1/connect-sync.1
    connect-sync man | man -l -`,
		flags: func(*flag.FlagSet) action {
			return func(_ context.Context, _ []string, stdout, _ io.Writer) error {
				_, err := io.WriteString(stdout, manPage(commands()))
				return err
			}
		},
	}
}

// manPage is the connect-sync(1) man page of the commands, in roff with
// the man macros: every command's usage, description and flags, from
// their definitions.
func manPage(list []command) string {
	var b strings.Builder
	fmt.Fprintf(&b, ".TH CONNECT\\-SYNC 1 \"\" \"%s\" \"User Commands\"\n", roffText("connect-sync "+version()))
	b.WriteString(".SH NAME\nconnect\\-sync \\- " + roffText(about) + "\n")
	b.WriteString(".SH SYNOPSIS\n" + roffCommandSynopsis("connect-sync COMMAND [FLAGS]"))
	b.WriteString(".SH DESCRIPTION\n" + roffText(`connect-sync fetches the contacts of one or more
Connect workspaces, works out what changed since its last run, and delivers
the changes to the sinks of each workspace: CSV files, vCard folders, CardDAV
address books, webhooks and NATS subjects. It syncs once (sync) or as a service
(run); the config file says which workspaces and sinks.`) + "\n")
	b.WriteString(".PP\n" + roffText(`Flags come after the command. connect-sync help COMMAND and
connect-sync COMMAND --help print a command's flags.`) + "\n")

	common := flagDocs(commonFlagSet())
	b.WriteString(".SH OPTIONS\n" + roffText("Every command that reads the config takes these flags; the others of each command are under COMMANDS.") + "\n")
	writeRoffFlags(&b, common)

	b.WriteString(".SH COMMANDS\n")
	for _, c := range list {
		own, takesCommon := withoutCommon(c.flagDocs(), common)
		fmt.Fprintf(&b, ".SS %s\n%s", c.name, roffCommandSynopsis(c.usage))
		b.WriteString(".PP\n" + roffText(strings.ToUpper(c.summary[:1])+c.summary[1:]+".") + "\n")
		for _, p := range paragraphs(c.doc) {
			b.WriteString(".PP\n" + roffParagraph(p))
		}
		switch {
		case takesCommon && len(own) > 0:
			b.WriteString(".PP\nIt takes the flags under OPTIONS, and these:\n")
		case takesCommon:
			b.WriteString(".PP\nIt takes the flags under OPTIONS.\n")
		}
		writeRoffFlags(&b, own)
	}

	b.WriteString(".SH EXIT STATUS\n")
	for _, s := range exitStatuses {
		fmt.Fprintf(&b, ".TP\n.B %d\n%s\n", s.code, roffText(s.meaning))
	}
	b.WriteString(".SH ENVIRONMENT\n")
	fmt.Fprintf(&b, ".TP\n.B %s\n%s\n", roffText(configEnv), roffText("The config file, when --config names none."))
	fmt.Fprintf(&b, ".TP\n.B %s\n%s\n", roffText(config.APIKeyEnv), roffText(`The API key of a config in the
single-workspace form that sets neither connect.api_key nor connect.api_key_file.`))
	b.WriteString(".SH FILES\n")
	fmt.Fprintf(&b, ".TP\n.I %s\n%s\n", roffText(defaultConfigPath), roffText(`The config file, unless --config or
`+configEnv+` names another. config.example.yaml, in the source, documents every key.`))
	fmt.Fprintf(&b, ".TP\n.I %s\n%s\n", roffText("./connect-sync.db"), roffText(`The state file, unless state.path
names another: each workspace's checkpoint and each sink's queue and deliveries. One process at a
time holds it.`))
	b.WriteString(".SH SEE ALSO\n" + roffText(`README.md and config.example.yaml in the connect-sync
source; the systemd units in its contrib/systemd folder.`) + "\n")
	return b.String()
}

// withoutCommon returns a command's flags other than the common ones, and
// whether it takes the common ones.
func withoutCommon(docs, common []flagDoc) ([]flagDoc, bool) {
	var own []flagDoc
	for _, d := range docs {
		if !slices.ContainsFunc(common, func(c flagDoc) bool { return c.name == d.name }) {
			own = append(own, d)
		}
	}
	return own, len(docs)-len(own) == len(common)
}

// writeRoffFlags writes flags as a tagged list.
func writeRoffFlags(b *strings.Builder, docs []flagDoc) {
	for _, d := range docs {
		fmt.Fprintf(b, ".TP\n%s\n%s\n", roffSynopsis(d.synopsis()), roffText(d.usageWithDefault()))
	}
}

// roffParagraph is a paragraph of a command's doc: filled, or an example
// as it is, indented.
func roffParagraph(p string) string {
	if !isExample(p) {
		return roffText(p) + "\n"
	}
	var b strings.Builder
	b.WriteString(".RS 4\n.nf\n")
	for line := range strings.Lines(p) {
		b.WriteString(roffEscape(strings.TrimPrefix(strings.TrimSuffix(line, "\n"), "    ")) + "\n")
	}
	b.WriteString(".fi\n.RE\n")
	return b.String()
}

// roffText escapes text, filled into one line, for a roff text line.
func roffText(text string) string {
	return roffEscape(strings.Join(strings.Fields(text), " "))
}

// roffEscape escapes a line of text for roff.
func roffEscape(line string) string {
	s := strings.NewReplacer(`\`, `\e`, "-", `\-`).Replace(line)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s // not a request
	}
	return s
}

// synopsisWord is a word of a synopsis, between its spaces, brackets,
// parentheses and bars.
var synopsisWord = regexp.MustCompile(`[^\s\[\]()|]+`)

// roffCommandSynopsis sets a command line's synopsis in a .SY block,
// which groff and mandoc fill flush left, unhyphenated, hanging after the
// program's name.
func roffCommandSynopsis(usage string) string {
	return ".SY connect\\-sync\n" + roffSynopsis(strings.TrimPrefix(usage, "connect-sync ")) + "\n.YS\n"
}

// roffSynopsis sets a synopsis the way man pages do: what is typed as it
// is in bold, placeholders (in capitals) in italics, and no line broken
// inside brackets.
func roffSynopsis(usage string) string {
	groups := synopsisGroups(usage)
	for i, g := range groups {
		g = synopsisWord.ReplaceAllStringFunc(g, func(w string) string {
			font := `\fB`
			if w[0] >= 'A' && w[0] <= 'Z' {
				font = `\fI`
			}
			return font + roffText(w) + `\fR`
		})
		groups[i] = strings.ReplaceAll(g, " ", `\ `)
	}
	return strings.Join(groups, " ")
}
