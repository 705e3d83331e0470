package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
)

// completionCommand is `connect-sync completion`: a function, not a
// variable as most commands are, because it reads the command table it is
// in.
func completionCommand() command {
	return command{
		name:    "completion",
		summary: "print a shell completion script: bash, zsh or fish",
		usage:   "connect-sync completion bash|zsh|fish",
		doc: `Writes to standard output the script that completes the commands, their
flags, file names and the values of the flags that take one of a few words. To
load it in bash, zsh and fish:

    source <(connect-sync completion bash)    # in ~/.bashrc
    connect-sync completion zsh > "${fpath[1]}/_connect-sync"
    connect-sync completion fish > ~/.config/fish/completions/connect-sync.fish`,
		words: shellNames,
		flags: func(*flag.FlagSet) action {
			return func(_ context.Context, args []string, stdout, _ io.Writer) error {
				if len(args) != 1 {
					return usageError{err: fmt.Errorf("completion: name one shell: %s", strings.Join(shellNames(), ", "))}
				}
				for _, sh := range shells() {
					if sh.name == args[0] {
						_, err := io.WriteString(stdout, sh.script(commands()))
						return err
					}
				}
				return usageError{err: fmt.Errorf("completion: no script for %q: the shells are %s", args[0], strings.Join(shellNames(), ", "))}
			}
		},
	}
}

// shell is a shell connect-sync writes a completion script for.
type shell struct {
	name   string
	script func([]command) string
}

func shells() []shell {
	return []shell{{"bash", bashCompletion}, {"zsh", zshCompletion}, {"fish", fishCompletion}}
}

func shellNames() []string {
	var names []string
	for _, sh := range shells() {
		names = append(names, sh.name)
	}
	return names
}

// valueKind is what completes a flag's value.
type valueKind int

const (
	noValue   valueKind = iota // a bool flag takes none
	freeValue                  // nothing completes a name or a number
	fileValue
	dirValue
	wordValue
)

// kind says what completes the flag's value, from its placeholder: FILE
// and DIR are file and folder names.
func (d flagDoc) kind() valueKind {
	switch {
	case d.value == "":
		return noValue
	case d.words != nil:
		return wordValue
	case d.value == "FILE":
		return fileValue
	case d.value == "DIR":
		return dirValue
	}
	return freeValue
}

// bashCompletion is the bash script: it completes the command, then the
// command's flags, their values and its arguments.
func bashCompletion(list []command) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# bash completion for connect-sync, written by connect-sync completion bash.
_connect_sync() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local flags= files= words=
	COMPREPLY=()
	if ((COMP_CWORD == 1)); then
		mapfile -t COMPREPLY < <(compgen -W '%s' -- "$cur")
		return
	fi
	# --flag=value is three words to bash: --flag, = and value.
	[[ $cur == = ]] && cur=
	[[ $prev == = ]] && prev=${COMP_WORDS[COMP_CWORD-2]}
	case ${COMP_WORDS[1]} in
`, strings.Join(names(list), " "))
	for _, c := range list {
		fmt.Fprintf(&b, "\t%s)\n", c.name)
		var flags []string
		var values strings.Builder
		for _, d := range c.flagDocs() {
			flags = append(flags, "--"+d.name)
			if d.kind() != noValue {
				fmt.Fprintf(&values, "\t\t-%s | --%s)\n%s\t\t\treturn\n\t\t\t;;\n", d.name, d.name, bashValue(d))
			}
		}
		if values.Len() > 0 {
			b.WriteString("\t\tcase $prev in\n" + values.String() + "\t\tesac\n")
		}
		fmt.Fprintf(&b, "\t\tflags='%s'\n", strings.Join(flags, " "))
		switch {
		case c.files:
			b.WriteString("\t\tfiles=1\n")
		case c.words != nil:
			fmt.Fprintf(&b, "\t\twords='%s'\n", strings.Join(c.words(), " "))
		}
		b.WriteString("\t\t;;\n")
	}
	b.WriteString(`	esac
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$flags" -- "$cur")
	elif [[ -n $files ]]; then
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
	elif [[ -n $words ]] && ((COMP_CWORD == 2)); then
		mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
	fi
}
complete -F _connect_sync connect-sync
`)
	return b.String()
}

// bashValue is the bash that completes a flag's value, lines of it; none
// for a value nothing completes.
func bashValue(d flagDoc) string {
	switch d.kind() {
	case fileValue:
		return "\t\t\tcompopt -o filenames 2>/dev/null\n\t\t\tmapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n"
	case dirValue:
		return "\t\t\tcompopt -o filenames 2>/dev/null\n\t\t\tmapfile -t COMPREPLY < <(compgen -d -- \"$cur\")\n"
	case wordValue:
		return fmt.Sprintf("\t\t\tmapfile -t COMPREPLY < <(compgen -W '%s' -- \"$cur\")\n", strings.Join(d.words, " "))
	}
	return ""
}

// zshCompletion is the zsh script, for a folder of $fpath as
// _connect-sync, or to source.
func zshCompletion(list []command) string {
	var b strings.Builder
	b.WriteString(`#compdef connect-sync
# zsh completion for connect-sync, written by connect-sync completion zsh.

_connect-sync() {
	local -a commands
	commands=(
`)
	for _, c := range list {
		fmt.Fprintf(&b, "\t\t%s\n", zshQuote(c.name+":"+c.summary))
	}
	b.WriteString(`	)
	if ((CURRENT == 2)); then
		_describe -t commands 'connect-sync command' commands
		return
	fi
	local cmd=$words[2]
	shift words
	((CURRENT--))
	case $cmd in
`)
	for _, c := range list {
		var specs []string
		for _, d := range c.flagDocs() {
			specs = append(specs, zshQuote(zshFlag(d)))
		}
		switch {
		case c.files:
			specs = append(specs, "'*:file:_files'")
		case c.words != nil:
			specs = append(specs, zshQuote("1:argument:("+strings.Join(c.words(), " ")+")"))
		}
		fmt.Fprintf(&b, "\t%s)\n", c.name)
		if len(specs) > 0 {
			fmt.Fprintf(&b, "\t\t_arguments \\\n\t\t\t%s\n", strings.Join(specs, " \\\n\t\t\t"))
		}
		b.WriteString("\t\t;;\n")
	}
	b.WriteString(`	esac
}

# Autoloaded from $fpath, this file is the body of _connect-sync, which
# defines the function above and calls it; sourced, it registers it.
if [[ $funcstack[1] == _connect-sync ]]; then
	_connect-sync "$@"
else
	compdef _connect-sync connect-sync
fi
`)
	return b.String()
}

// zshFlag is a flag's _arguments spec: --name=[usage]:message:action.
func zshFlag(d flagDoc) string {
	explanation := "[" + strings.NewReplacer(`\`, `\\`, "[", `\[`, "]", `\]`, ":", `\:`).Replace(d.usage) + "]"
	message := strings.ToLower(d.value)
	switch d.kind() {
	case noValue:
		return "--" + d.name + explanation
	case fileValue:
		return "--" + d.name + "=" + explanation + ":" + message + ":_files"
	case dirValue:
		return "--" + d.name + "=" + explanation + ":" + message + ":_directories"
	case wordValue:
		return "--" + d.name + "=" + explanation + ":" + d.name + ":(" + strings.Join(d.words, " ") + ")"
	}
	return "--" + d.name + "=" + explanation + ":" + message + ": "
}

// zshQuote quotes s for zsh, in single quotes.
func zshQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// fishCompletion is the fish script, for
// ~/.config/fish/completions/connect-sync.fish.
func fishCompletion(list []command) string {
	var b strings.Builder
	b.WriteString("# fish completion for connect-sync, written by connect-sync completion fish.\n")
	b.WriteString("complete -c connect-sync -f\n")
	for _, c := range list {
		fmt.Fprintf(&b, "complete -c connect-sync -n __fish_use_subcommand -a %s -d %s\n", c.name, fishQuote(c.summary))
	}
	for _, c := range list {
		seen := "-n " + fishQuote("__fish_seen_subcommand_from "+c.name)
		for _, d := range c.flagDocs() {
			fmt.Fprintf(&b, "complete -c connect-sync %s -l %s%s -d %s\n", seen, d.name, fishValue(d), fishQuote(d.usage))
		}
		switch {
		case c.files:
			fmt.Fprintf(&b, "complete -c connect-sync %s -F\n", seen)
		case c.words != nil:
			fmt.Fprintf(&b, "complete -c connect-sync %s -x -a %s\n", seen, fishQuote(strings.Join(c.words(), " ")))
		}
	}
	return b.String()
}

// fishValue are the options of complete that complete a flag's value.
func fishValue(d flagDoc) string {
	switch d.kind() {
	case noValue:
		return ""
	case fileValue:
		return " -r -F"
	case dirValue:
		return " -x -a '(__fish_complete_directories)'"
	case wordValue:
		return " -x -a " + fishQuote(strings.Join(d.words, " "))
	}
	return " -x"
}

// fishQuote quotes s for fish, in single quotes.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(s) + "'"
}
