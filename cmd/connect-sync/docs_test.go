package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/connect-sync/connect-sync/internal/config"
)

// root is the repository, from this package's folder.
const root = "../.."

// docPages returns the Markdown pages of the user docs, as paths from the
// repository: the README, CONTRIBUTING.md and every page under docs/.
func docPages(t *testing.T) []string {
	t.Helper()
	pages := []string{"README.md", "CONTRIBUTING.md"}
	err := filepath.WalkDir(filepath.Join(root, "docs"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".md") {
			rel, _ := filepath.Rel(root, path)
			pages = append(pages, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return pages
}

func readPage(t *testing.T, page string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, page))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// prose returns a page without its fenced code blocks, where `](` may be
// code rather than a link.
func prose(page string) string {
	var b strings.Builder
	inCode := false
	for line := range strings.Lines(page) {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inCode = !inCode
			continue
		}
		if !inCode {
			b.WriteString(line)
		}
	}
	return b.String()
}

// mdLink is a Markdown link's target: [text](target) or [text](target "title").
var mdLink = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)

// links returns the targets of a page's links.
func links(page string) []string {
	var targets []string
	for _, m := range mdLink.FindAllStringSubmatch(prose(page), -1) {
		targets = append(targets, m[1])
	}
	return targets
}

// Every relative link of the docs leads to a file or folder of the
// repository, and a link to a heading of a Markdown page to a heading
// that page has. Links to the web, and to a heading of the same page, are
// not checked.
func TestDocsLinksResolve(t *testing.T) {
	for _, page := range docPages(t) {
		for _, target := range links(readPage(t, page)) {
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") || strings.HasPrefix(target, "#") {
				continue
			}
			file, anchor, _ := strings.Cut(target, "#")
			path := filepath.Join(root, filepath.Dir(page), filepath.FromSlash(file))
			if _, err := os.Stat(path); err != nil {
				t.Errorf("%s: link to %s: no such file", page, target)
				continue
			}
			if anchor != "" && strings.HasSuffix(file, ".md") {
				rel, _ := filepath.Rel(root, path)
				if !slices.Contains(anchors(readPage(t, rel)), anchor) {
					t.Errorf("%s: link to %s: no heading with that anchor", page, target)
				}
			}
		}
	}
}

// anchors returns the anchors GitHub gives a page's headings: lowercase,
// punctuation dropped, spaces made hyphens, a repeated one numbered.
func anchors(page string) []string {
	var list []string
	seen := map[string]int{}
	for line := range strings.Lines(prose(page)) {
		text, ok := strings.CutPrefix(strings.TrimRight(line, "\n"), "#")
		if !ok {
			continue
		}
		text = strings.TrimLeft(text, "#")
		if !strings.HasPrefix(text, " ") {
			continue
		}
		slug := strings.Map(func(r rune) rune {
			switch {
			case r == ' ':
				return '-'
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				return unicode.ToLower(r)
			}
			return -1
		}, strings.TrimSpace(text))
		if n := seen[slug]; n > 0 {
			list = append(list, slug+"-"+strconv.Itoa(n))
		} else {
			list = append(list, slug)
		}
		seen[slug]++
	}
	return list
}

// The README links every page under docs/, so that none is an orphan.
func TestDocsReadmeLinksEveryPage(t *testing.T) {
	linked := map[string]bool{}
	for _, target := range links(readPage(t, "README.md")) {
		file, _, _ := strings.Cut(target, "#")
		linked[filepath.ToSlash(filepath.Clean(file))] = true
	}
	for _, page := range docPages(t) {
		if strings.HasPrefix(page, "docs/") && !linked[page] {
			t.Errorf("README.md does not link %s", page)
		}
	}
}

// The README's YAML blocks are configs a newcomer copies: each loads.
func TestDocsReadmeConfigsLoad(t *testing.T) {
	t.Setenv(config.APIKeyEnv, "sk_live_docs")
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(readPage(t, "README.md"), -1)
	if len(blocks) == 0 {
		t.Fatal("README.md has no YAML config")
	}
	for _, b := range blocks {
		if _, err := config.Parse("README.md", []byte(b[1])); err != nil {
			t.Errorf("README.md's config does not load: %v\n%s", err, b[1])
		}
	}
}

// The README's Commands table has a row for every command: its first cell
// is `name` or starts with `name and the arguments.
func TestDocsReadmeListsEveryCommand(t *testing.T) {
	readme := readPage(t, "README.md")
	_, table, ok := strings.Cut(readme, "\n## Commands\n")
	if !ok {
		t.Fatal("README.md has no ## Commands section")
	}
	table, _, _ = strings.Cut(table, "\n## ")
	var rows []string
	for line := range strings.Lines(table) {
		if cell, ok := strings.CutPrefix(line, "| `"); ok {
			rows = append(rows, cell)
		}
	}
	for _, c := range commands() {
		name := c.name
		if !slices.ContainsFunc(rows, func(cell string) bool {
			return strings.HasPrefix(cell, name+"` ") || strings.HasPrefix(cell, name+" ")
		}) {
			t.Errorf("README.md's Commands table has no row for %s", name)
		}
	}
}
