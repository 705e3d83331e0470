package importer

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ArgumentError is a problem with what the import was asked to do (a file
// that does not exist or is of no type it reads, a --lead-status the
// workspace does not have), as opposed to a problem in the data.
type ArgumentError struct{ Err error }

func (e *ArgumentError) Error() string { return e.Err.Error() }
func (e *ArgumentError) Unwrap() error { return e.Err }

// format is a kind of input file.
type format string

const (
	formatCSV   format = "CSV"
	formatVCard format = "vCard"
)

// input is an open input file and how it is read.
type input struct {
	name   string
	file   *os.File
	r      *bufio.Reader
	format format
	by     string // how the format was chosen, for errors
}

func (in *input) String() string {
	return fmt.Sprintf("%s (read as %s %s)", in.name, in.format, in.by)
}

// sniffSize is how much of a file without a known extension is looked at.
const sniffSize = 4 << 10

// openInput opens a file and decides how to read it: by its extension
// (.csv, .vcf, .vcard), else by its content. A UTF-8 byte order mark is
// skipped; UTF-16, which no reader here takes, is refused.
func openInput(name string) (*input, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, &ArgumentError{err}
	}
	in := &input{name: name, file: f, r: bufio.NewReaderSize(f, 64<<10)}
	if err := in.detect(); err != nil {
		f.Close()
		return nil, err
	}
	return in, nil
}

func (in *input) detect() error {
	if fi, err := in.file.Stat(); err == nil && fi.IsDir() {
		return &ArgumentError{&fs.PathError{Op: "read", Path: in.name, Err: errors.New("is a directory")}}
	}
	head, _ := in.r.Peek(sniffSize)
	switch {
	case bytes.HasPrefix(head, []byte("\xef\xbb\xbf")):
		in.r.Discard(3)
		head = head[3:]
	case bytes.HasPrefix(head, []byte("\xfe\xff")), bytes.HasPrefix(head, []byte("\xff\xfe")):
		return fmt.Errorf("%s: the file is UTF-16; save it as UTF-8", in.name)
	}
	switch strings.ToLower(filepath.Ext(in.name)) {
	case ".csv":
		in.format, in.by = formatCSV, "by its extension"
		return nil
	case ".vcf", ".vcard":
		in.format, in.by = formatVCard, "by its extension"
		return nil
	}
	in.by = "by its content"
	text := bytes.TrimLeft(head, " \t\r\n")
	firstLine, _, _ := bytes.Cut(text, []byte("\n"))
	switch {
	case len(text) >= 11 && strings.EqualFold(string(text[:11]), "BEGIN:VCARD"):
		in.format = formatVCard
	case bytes.ContainsAny(firstLine, ",;\t"):
		in.format = formatCSV
	default:
		return &ArgumentError{fmt.Errorf("%s: not a .csv, .vcf or .vcard file, and its content is neither vCard (BEGIN:VCARD) nor CSV with a header row", in.name)}
	}
	return nil
}
