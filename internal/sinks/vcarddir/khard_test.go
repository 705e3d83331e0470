package vcarddir

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/connect-sync/connect-sync/internal/card"
	"github.com/connect-sync/connect-sync/internal/contact"
)

// khardContacts are read back by khard, a vdir client built on the Python
// vobject parser. Each has the name khard should list.
var khardContacts = []struct {
	contact.Contact
	listed string
}{
	{contact.Contact{
		ID: "1", FullName: "Zoë Müller, Jr.", FirstName: "Zoë", LastName: "Müller; Jr.",
		Email: "zoe@example.com", CompanyName: "Acme; Widgets, Inc.",
		Note: "Line one, with a comma; and a semicolon\r\nLine \"two\" \\ backslash\nthird",
	}, "Zoë Müller, Jr."},
	{contact.Contact{ID: "2", Email: "only@example.com"}, "only@example.com"},
	{contact.Contact{ID: "../3", FirstName: "Łucja", LastName: "Kowalska", Email: "lk@example.com"}, "Łucja Kowalska"},
}

// TestKhard runs the real client against the folder:
// khard --config F list --parsable, then show --format yaml per contact.
func TestKhard(t *testing.T) {
	if _, err := exec.LookPath("khard"); err != nil {
		t.Fatalf("khard is needed for this test: install it with `apt-get install -y khard` (%v)", err)
	}
	for _, version := range []string{card.Version3, card.Version4} {
		t.Run(version, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "book")
			s := openSink(t, dir, version)
			gone := contact.Contact{ID: "4", FullName: "Deleted Person"}
			var batch []contact.Change
			for _, k := range khardContacts {
				batch = append(batch, change(contact.Created, k.Contact))
			}
			deliver(t, s, append(batch, change(contact.Created, gone))...)
			deliver(t, s, change(contact.Deleted, gone))

			conf := khardConfig(t, dir)
			want := map[string]string{}
			for _, k := range khardContacts {
				want[card.UID(sourceURL, k.ID)] = k.listed
			}
			if got := khardList(t, conf); !maps.Equal(got, want) {
				t.Errorf("khard lists %q, want %q", got, want)
			}
			for _, k := range khardContacts {
				checkShown(t, khardShow(t, conf, card.UID(sourceURL, k.ID)), k.Contact)
			}
		})
	}
}

// checkShown compares what khard shows of a contact with the contact.
func checkShown(t *testing.T, shown map[string]any, c contact.Contact) {
	t.Helper()
	want := map[string]any{
		"First name": c.FirstName,
		"Last name":  c.LastName,
		"Note":       strings.ReplaceAll(c.Note, "\r\n", "\n"),
	}
	if c.CompanyName != "" {
		want["Organisation"] = []any{[]any{c.CompanyName}}
	}
	if got := emails(shown["Email"]); got != c.Email {
		t.Errorf("contact %s: khard shows emails %q, want %q", c.ID, got, c.Email)
	}
	for key, value := range want {
		got := shown[key]
		if got == nil {
			got = ""
		}
		if fmt.Sprint(got) != fmt.Sprint(value) {
			t.Errorf("contact %s: khard shows %s %q, want %q", c.ID, key, got, value)
		}
	}
}

// emails lists the addresses of khard's Email entry, whatever their type
// (khard shows 3.0's TYPE=INTERNET as it is, and 4.0's none as internet).
func emails(entry any) string {
	byType, _ := entry.(map[string]any)
	var list []string
	for _, v := range byType {
		list = append(list, fmt.Sprint(v))
	}
	slices.Sort(list)
	return strings.Join(list, ",")
}

func khardConfig(t *testing.T, dir string) string {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "khard.conf")
	writeFile(t, conf, fmt.Sprintf(`[addressbooks]
[[test]]
path = %s
[general]
default_action = list
editor = /bin/false
merge_editor = /bin/false
[contact table]
display = formatted_name
`, dir))
	return conf
}

// khardList maps the UIDs khard lists to the names it shows.
func khardList(t *testing.T, conf string) map[string]string {
	t.Helper()
	listed := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(khard(t, conf, "list", "--parsable")), "\n") {
		fields := strings.Split(line, "\t")
		if len(fields) != 3 {
			t.Fatalf("khard list line %q", line)
		}
		listed[fields[0]] = fields[1]
	}
	return listed
}

func khardShow(t *testing.T, conf, uid string) map[string]any {
	t.Helper()
	var shown map[string]any
	if err := yaml.Unmarshal([]byte(khard(t, conf, "show", "--format", "yaml", "uid:"+uid)), &shown); err != nil {
		t.Fatal(err)
	}
	return shown
}

// khard runs khard and fails on any warning, such as a card it had to
// repair before it could parse it.
func khard(t *testing.T, conf string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "khard", append([]string{"--config", conf}, args...)...)
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home, "LC_ALL=C.UTF-8")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("%s: %v\n%s", cmd, err, stderr.String())
	}
	return stdout.String()
}
