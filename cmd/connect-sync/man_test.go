package main

import (
	"bytes"
	"flag"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// manSection is the part of a man page after a heading line, up to the
// next heading of that level or above.
func manSection(t *testing.T, page, heading string) string {
	t.Helper()
	_, section, ok := strings.Cut(page, "\n"+heading+"\n")
	if !ok {
		t.Fatalf("the man page has no %q", heading)
	}
	ends := []string{"\n.SH "}
	if strings.HasPrefix(heading, ".SS ") {
		ends = append(ends, "\n.SS ")
	}
	for _, end := range ends {
		if i := strings.Index(section, end); i >= 0 {
			section = section[:i]
		}
	}
	return section
}

func TestManPageNamesEveryCommandAndFlag(t *testing.T) {
	page, stderr, code := runInProcess("man")
	if code != exitOK || stderr != "" {
		t.Fatalf("man: exit %d, stderr:\n%s", code, stderr)
	}
	for _, h := range []string{"NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "COMMANDS", "EXIT STATUS", "ENVIRONMENT", "FILES", "SEE ALSO"} {
		manSection(t, page, ".SH "+h)
	}
	options := manSection(t, page, ".SH OPTIONS")
	common := commonFlagSet()
	common.VisitAll(func(f *flag.Flag) {
		if !strings.Contains(options, `\fB`+roffText("--"+f.Name)+`\fR`) {
			t.Errorf("OPTIONS lacks --%s:\n%s", f.Name, options)
		}
	})
	for _, c := range commands() {
		section := manSection(t, page, ".SS "+c.name)
		if !strings.Contains(section, roffText(c.summary[1:])) {
			t.Errorf("%s: the man page lacks its summary:\n%s", c.name, section)
		}
		fs, _ := c.flagSet()
		fs.VisitAll(func(f *flag.Flag) {
			switch {
			case common.Lookup(f.Name) != nil:
				if !strings.Contains(section, "the flags under OPTIONS") {
					t.Errorf("%s: the man page does not say it takes --%s:\n%s", c.name, f.Name, section)
				}
			case !strings.Contains(section, ".TP\n"+`\fB`+roffText("--"+f.Name)+`\fR`):
				t.Errorf("%s: the man page lacks --%s:\n%s", c.name, f.Name, section)
			}
		})
	}
	status := manSection(t, page, ".SH EXIT STATUS")
	for _, code := range []int{exitOK, exitFailure, exitUsage} {
		if !strings.Contains(status, ".B "+strconv.Itoa(code)+"\n") {
			t.Errorf("EXIT STATUS lacks %d:\n%s", code, status)
		}
	}
	env := manSection(t, page, ".SH ENVIRONMENT")
	for _, v := range []string{"CONNECT_SYNC_CONFIG", "CONNECT_API_KEY"} {
		if !strings.Contains(env, ".B "+v+"\n") {
			t.Errorf("ENVIRONMENT lacks %s:\n%s", v, env)
		}
	}
}

// TestManPageFormats formats the man page with groff, which must find
// nothing to warn about.
func TestManPageFormats(t *testing.T) {
	if _, err := exec.LookPath("groff"); err != nil {
		t.Skip("no groff")
	}
	cmd := exec.Command("groff", "-man", "-Tutf8", "-ww", "-z")
	cmd.Stdin = strings.NewReader(manPage(commands()))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Errorf("groff: %v\n%s", err, &stderr)
	}
}

func TestRoffEscapes(t *testing.T) {
	tests := []struct{ in, want string }{
		{"--dry-run", `\-\-dry\-run`},
		{`a\b`, `a\eb`},
		{".config.yaml", `\&.config.yaml`},
		{"'quoted'", `\&'quoted'`},
		{"two\n  lines", "two lines"},
	}
	for _, tt := range tests {
		if got := roffText(tt.in); got != tt.want {
			t.Errorf("roffText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got, want := roffSynopsis("connect-sync reset [--workspace NAME] FILE..."), `\fBconnect\-sync\fR \fBreset\fR [\fB\-\-workspace\fR\ \fINAME\fR] \fIFILE...\fR`; got != want {
		t.Errorf("roffSynopsis:\n%s\nwant\n%s", got, want)
	}
}
