package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// commandForm and flagForm are how each shell's script names a command
// and a flag.
var (
	commandForm = map[string]string{"bash": "\t%s)\n", "zsh": "\t%s)\n", "fish": "__fish_use_subcommand -a %s "}
	flagForm    = map[string]string{"bash": "--%s", "zsh": "'--%s", "fish": " -l %s "}
)

func TestCompletionScriptsNameEveryCommandAndFlag(t *testing.T) {
	for _, sh := range shells() {
		t.Run(sh.name, func(t *testing.T) {
			script, stderr, code := runInProcess("completion", sh.name)
			if code != exitOK || stderr != "" {
				t.Fatalf("exit %d, stderr:\n%s", code, stderr)
			}
			for _, c := range commands() {
				if !strings.Contains(script, fmt.Sprintf(commandForm[sh.name], c.name)) {
					t.Errorf("the script lacks %s", c.name)
				}
				fs, _ := c.flagSet()
				fs.VisitAll(func(f *flag.Flag) {
					if !strings.Contains(script, fmt.Sprintf(flagForm[sh.name], f.Name)) {
						t.Errorf("the script lacks %s --%s", c.name, f.Name)
					}
				})
			}
		})
	}
}

// TestCompletionScriptsParse checks each script's syntax with its shell,
// where it is installed.
func TestCompletionScriptsParse(t *testing.T) {
	for _, sh := range shells() {
		t.Run(sh.name, func(t *testing.T) {
			if _, err := exec.LookPath(sh.name); err != nil {
				t.Skipf("no %s", sh.name)
			}
			path := filepath.Join(t.TempDir(), "script")
			if err := os.WriteFile(path, []byte(sh.script(commands())), 0o600); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(sh.name, "-n", path).CombinedOutput(); err != nil || len(out) > 0 {
				t.Errorf("%s -n: %v\n%s", sh.name, err, out)
			}
		})
	}
}

// completionQuery is a command line being completed, its last word the
// one under the cursor, and the completions it must get, in any order.
type completionQuery struct {
	words []string // after connect-sync
	want  []string
}

// completionQueries are what the scripts must complete, from the
// definitions: the commands, each command's flags, the values of its word,
// file and folder flags, and its arguments. They run in a folder holding
// one file, contacts.csv, and one folder, folder.
func completionQueries() []completionQuery {
	queries := []completionQuery{{[]string{""}, commandNames()}}
	for _, c := range commands() {
		var flags []string
		fs, _ := c.flagSet()
		fs.VisitAll(func(f *flag.Flag) {
			flags = append(flags, "--"+f.Name)
			value := []string{c.name, "--" + f.Name, ""}
			placeholder, _ := flag.UnquoteUsage(f)
			switch w, isWord := f.Value.(wordFlag); {
			case isWord:
				queries = append(queries, completionQuery{value, w.words})
			case placeholder == "file":
				queries = append(queries, completionQuery{value, []string{"contacts.csv", "folder"}})
			case placeholder == "dir":
				queries = append(queries, completionQuery{value, []string{"folder"}})
			}
		})
		queries = append(queries, completionQuery{[]string{c.name, "--"}, flags})
		switch {
		case c.files:
			queries = append(queries, completionQuery{[]string{c.name, ""}, []string{"contacts.csv", "folder"}})
		case c.words != nil:
			queries = append(queries, completionQuery{[]string{c.name, ""}, c.words()})
		}
	}
	return queries
}

// TestCompletionsComplete runs the bash and fish scripts, where those
// shells are installed, on every completion query.
func TestCompletionsComplete(t *testing.T) {
	drivers := []struct {
		shell string
		// query is the shell code that prints a query's completions, one
		// a line.
		query func(words []string) string
	}{
		{"bash", func(words []string) string {
			return fmt.Sprintf("COMP_WORDS=(connect-sync %s); COMP_CWORD=%d; COMPREPLY=(); _connect_sync; printf '%%s\\n' \"${COMPREPLY[@]}\"", shellJoin(words), len(words))
		}},
		{"fish", func(words []string) string {
			return "complete -C " + fishQuote("connect-sync "+strings.Join(words, " ")) + " | string replace -r '\\t.*' ''"
		}},
	}
	queries := completionQueries()
	for _, d := range drivers {
		t.Run(d.shell, func(t *testing.T) {
			if _, err := exec.LookPath(d.shell); err != nil {
				t.Skipf("no %s", d.shell)
			}
			dir := t.TempDir()
			script := filepath.Join(t.TempDir(), "script")
			if err := os.WriteFile(script, []byte(completion(t, d.shell)), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "contacts.csv"), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(filepath.Join(dir, "folder"), 0o700); err != nil {
				t.Fatal(err)
			}
			// One shell runs every query, each answer ending in a line of
			// its own.
			driver := "source " + script + "\n"
			for _, q := range queries {
				driver += d.query(q.words) + "\necho '=== end'\n"
			}
			cmd := exec.Command(d.shell, "-c", driver)
			if d.shell == "fish" {
				cmd = exec.Command(d.shell, "--no-config", "-c", driver)
			}
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			answers := strings.Split(strings.TrimSuffix(string(out), "=== end\n"), "=== end\n")
			if len(answers) != len(queries) {
				t.Fatalf("%d answers to %d queries:\n%s", len(answers), len(queries), out)
			}
			for i, q := range queries {
				var got []string
				for _, line := range strings.Fields(answers[i]) {
					got = append(got, strings.TrimSuffix(line, "/")) // fish marks folders
				}
				slices.Sort(got)
				want := slices.Sorted(slices.Values(q.want))
				if !slices.Equal(got, want) {
					t.Errorf("connect-sync %s<TAB>: %q, want %q", strings.Join(q.words, " "), got, want)
				}
			}
		})
	}
}

// completion is the completion script of a shell.
func completion(t *testing.T, shell string) string {
	t.Helper()
	script, stderr, code := runInProcess("completion", shell)
	if code != exitOK {
		t.Fatalf("completion %s: exit %d\n%s", shell, code, stderr)
	}
	return script
}
