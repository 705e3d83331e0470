package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os/exec"
	"strings"
	"testing"
)

// runInProcess runs connect-sync's command line as main does, without a
// process: what it printed and the exit code.
func runInProcess(args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	code = exitCode(err, &errOut)
	return out.String(), errOut.String(), code
}

// filled is text with its line breaks and runs of spaces made single
// spaces, so that a check does not depend on where help wraps.
func filled(text string) string { return strings.Join(strings.Fields(text), " ") }

func TestHelpShowsEveryFlagAndDefault(t *testing.T) {
	for _, c := range commands() {
		t.Run(c.name, func(t *testing.T) {
			help, stderr, code := runInProcess("help", c.name)
			if code != exitOK || stderr != "" {
				t.Fatalf("help %s: exit %d, stderr:\n%s", c.name, code, stderr)
			}
			for _, args := range [][]string{{c.name, "--help"}, {c.name, "-h"}, {"--help", c.name}} {
				if out, stderr, code := runInProcess(args...); out != help || stderr != "" || code != exitOK {
					t.Errorf("%v: exit %d, stderr %q, and not the help of help %s:\n%s", args, code, stderr, c.name, out)
				}
			}
			text := filled(help)
			for _, want := range []string{c.summary, "usage: " + c.usage} {
				if !strings.Contains(text, want) {
					t.Errorf("the help lacks %q:\n%s", want, help)
				}
			}
			fs, _ := c.flagSet()
			common := commonFlagSet()
			fs.VisitAll(func(f *flag.Flag) {
				if common.Lookup(f.Name) == nil && !strings.Contains(c.usage, "--"+f.Name) {
					t.Errorf("the usage line lacks --%s: %s", f.Name, c.usage)
				}
				if !strings.Contains(help, "\n  --"+f.Name) {
					t.Errorf("the help lacks --%s:\n%s", f.Name, help)
				}
				if f.DefValue != "" && f.DefValue != "false" && !strings.Contains(text, "(default: "+f.DefValue+")") {
					t.Errorf("the help lacks the default of --%s, %s:\n%s", f.Name, f.DefValue, help)
				}
			})
			if strings.Count(help, "default") != strings.Count(help, "(default: ") {
				t.Errorf("a default shown twice, or in another form:\n%s", help)
			}
		})
	}
}

func TestHelpShowsTheConfigDefaultOnce(t *testing.T) {
	t.Setenv(configEnv, "/etc/connect-sync/config.yaml")
	help, _, _ := runInProcess("sync", "--help")
	if !strings.Contains(help, "(default: $CONNECT_SYNC_CONFIG, else ./config.yaml)") || strings.Count(help, "default: $CONNECT_SYNC_CONFIG") != 1 ||
		strings.Contains(help, "/etc/connect-sync") {
		t.Errorf("the --config default:\n%s", help)
	}
}

func TestHelpListsTheCommands(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		out, stderr, code := runInProcess(args...)
		if code != exitOK || stderr != "" {
			t.Errorf("%v: exit %d, stderr:\n%s", args, code, stderr)
		}
		for _, c := range commands() {
			if !strings.Contains(out, "\n  "+c.name+" ") || !strings.Contains(out, c.summary) {
				t.Errorf("%v lacks %s, %q:\n%s", args, c.name, c.summary, out)
			}
		}
	}
}

func TestCommandLineErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "no command given"},
		{"typo", []string{"synk"}, `unknown command "synk"; did you mean "sync"?`},
		{"swapped letters", []string{"stauts"}, `unknown command "stauts"; did you mean "status"?`},
		{"letter left out", []string{"redelivr"}, `did you mean "redeliver"?`},
		{"nothing close", []string{"frobnicate"}, "unknown command \"frobnicate\"\n\nusage: connect-sync COMMAND [flags]"},
		{"too short to guess", []string{"x"}, "unknown command \"x\"\n\n"},
		{"help of a typo", []string{"help", "imprt"}, `unknown command "imprt"; did you mean "import"?`},
		{"flag first", []string{"--workspace", "x", "sync"}, "flags come after the command: connect-sync sync --workspace x\n"},
		{"flag first, quoted", []string{"--lead-status", "New Lead", "import", "a.csv"}, "flags come after the command: connect-sync import --lead-status 'New Lead' a.csv\n"},
		{"flag and no command", []string{"--version"}, "flags come after the command: connect-sync COMMAND --version\n\nusage:"},
		{"argument", []string{"sync", "extra"}, `sync: unexpected argument "extra"`},
		{"unknown flag", []string{"sync", "--frob"}, "flag provided but not defined: -frob\n\nusage: connect-sync sync [--workspace NAME]"},
		{"no files", []string{"import", "--dry-run"}, "import: no files given"},
		{"two commands to help with", []string{"help", "sync", "run"}, `help: unexpected argument "run"`},
		{"no shell", []string{"completion"}, "completion: name one shell: bash, zsh, fish"},
		{"unknown shell", []string{"completion", "tcsh"}, `completion: no script for "tcsh"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runInProcess(tt.args...)
			if code != exitUsage || !strings.Contains(stderr, tt.want) || stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant exit %d and %q", code, stdout, stderr, exitUsage, tt.want)
			}
			if strings.Contains(tt.name, "nothing close") && strings.Contains(stderr, "did you mean") {
				t.Errorf("a far-fetched suggestion:\n%s", stderr)
			}
		})
	}
}

// TestHelpExitCodes checks the real process: help on stdout with exit 0,
// usage errors on stderr with exit 2.
func TestHelpExitCodes(t *testing.T) {
	tests := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"redeliver", "--help"}, exitOK, "\nusage: connect-sync redeliver [--workspace NAME]", ""},
		{[]string{"help"}, exitOK, "usage: connect-sync COMMAND [flags]\n", ""},
		{[]string{"--workspace", "x", "sync"}, exitUsage, "", "connect-sync: flags come after the command: connect-sync sync --workspace x\n"},
		{[]string{"synk"}, exitUsage, "", `connect-sync: unknown command "synk"; did you mean "sync"?`},
	}
	for _, tt := range tests {
		cmd := exec.Command(binary, tt.args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if exit := new(exec.ExitError); errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tt.code || !strings.Contains(stdout.String(), tt.stdout) || !strings.Contains(stderr.String(), tt.stderr) ||
			(tt.stdout == "") != (stdout.Len() == 0) || (tt.stderr == "") != (stderr.Len() == 0) {
			t.Errorf("%v: exit %d\nstdout:\n%s\nstderr:\n%s\nwant exit %d, %q on stdout, %q on stderr", tt.args, code, &stdout, &stderr, tt.code, tt.stdout, tt.stderr)
		}
	}
}

func TestLevenshtein(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "run", 3},
		{"sync", "sync", 0},
		{"synk", "sync", 1},
		{"stauts", "status", 2},
		{"kitten", "sitting", 3},
		{"démo", "demo", 1},
	}
	for _, tt := range tests {
		if got := levenshtein(tt.a, tt.b); got != tt.want || levenshtein(tt.b, tt.a) != tt.want {
			t.Errorf("levenshtein(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
