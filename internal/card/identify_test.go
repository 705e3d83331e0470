package card

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

const uid = "urn:uuid:0c8b7e5c-4b2e-5d0a-9d1a-1f0e8a6f2b11"

// folded is a NOTE whose one value of n octets is folded at 75 octets, as
// Encode folds, with CRLF line ends.
func folded(n int) string {
	var b strings.Builder
	b.Grow(n + n/24)
	fold(&b, "NOTE:"+strings.Repeat("x", n))
	return b.String()
}

func TestIdentify(t *testing.T) {
	tests := []struct {
		name, card string
		want       Identity
	}{
		{"as Encode writes it", string(encode(t, full, Version3)), Identity{UID(sourceURL, full.ID), full.ID}},
		{"version 4.0", string(encode(t, full, Version4)), Identity{UID(sourceURL, full.ID), full.ID}},
		{"CRLF", "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:" + uid + "\r\nX-CONNECT-ID:7\r\nEND:VCARD\r\n", Identity{uid, "7"}},
		{"LF", "BEGIN:VCARD\nVERSION:3.0\nUID:" + uid + "\nX-CONNECT-ID:7\nEND:VCARD\n", Identity{uid, "7"}},
		{"mixed line ends, none at the end", "BEGIN:VCARD\nUID:" + uid + "\r\nX-CONNECT-ID:7\nEND:VCARD", Identity{uid, "7"}},
		{"folded value", "BEGIN:VCARD\r\nUID:urn:uuid:0c8b7e5c-4b2e-5d0a-\r\n 9d1a-1f0e8a6f2b11\r\nX-CONNECT-ID:1\r\n\t2\r\nEND:VCARD\r\n", Identity{uid, "12"}},
		{"folded with LF", "BEGIN:VCARD\nUID:urn:uuid:0c8b7e5c-4b2e-5d0a-\n 9d1a-1f0e8a6f2b11\nEND:VCARD\n", Identity{UID: uid}},
		{"folded name", "BEGIN:VC\r\n ARD\r\nX-CONN\r\n ECT-ID:7\r\nU\r\n\tI\r\n D:" + uid + "\r\nEN\r\n D:VCARD\r\n", Identity{uid, "7"}},
		{"folded in a fold's place", "BEGIN:VCARD\r\nUID:a\r\n \r\n b\r\nEND:VCARD\r\n", Identity{UID: "ab"}},
		{"parameters", "BEGIN:VCARD\r\nUID;VALUE=text:" + uid + "\r\nX-CONNECT-ID;TYPE=a,b;X-Y=z:7\r\nEND:VCARD\r\n", Identity{uid, "7"}},
		{"quoted parameter with a colon", "BEGIN:VCARD\r\nUID;X-A=\"a:b;c\":" + uid + "\r\nX-CONNECT-ID;X-A=\"x:\r\n y\";X-B=\"\":7\r\nEND:VCARD\r\n", Identity{uid, "7"}},
		{"groups", "BEGIN:VCARD\r\nitem2.uid:" + uid + "\r\nitem1.X-CONNECT-ID:7\r\nEND:VCARD\r\n", Identity{uid, "7"}},
		{"lower case", "begin:vcard\r\nuid:" + uid + "\r\nx-connect-id:7\r\nEnd:vCard\r\n", Identity{uid, "7"}},
		{"escaped", "BEGIN:VCARD\r\nX-CONNECT-ID:a\\,b\\;c\\\\n\\nd\\Ne\r\nEND:VCARD\r\n", Identity{ConnectID: "a,b;c\\n\nd\ne"}},
		{"no UID", "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\r\nX-CONNECT-ID:7\r\nEND:VCARD\r\n", Identity{ConnectID: "7"}},
		{"neither", "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\r\nEND:VCARD\r\n", Identity{}},
		{"empty values", "BEGIN:VCARD\r\nUID:\r\nX-CONNECT-ID:\r\nEND:VCARD\r\n", Identity{}},
		{"UID after a huge property", "BEGIN:VCARD\r\n" + folded(4<<20) + "UID:" + uid + "\r\nEND:VCARD\r\n", Identity{UID: uid}},
		{"the first of each", "BEGIN:VCARD\r\nUID:" + uid + "\r\nX-CONNECT-ID:7\r\nUID:other\r\nX-CONNECT-ID:8\r\nEND:VCARD\r\n", Identity{uid, "7"}},
		{"lookalikes", "BEGIN:VCARD\r\nNOTE:UID:x\r\nX-UID:1\r\nUIDS:2\r\nX-CONNECT-IDS:3\r\nNOTE;UID=4:5\r\nX-CONNECT-ID\r\nEND:VCARD\r\n", Identity{}},
		{"a long name", "BEGIN:VCARD\r\n" + strings.Repeat("x", 1<<20) + ".UID:1\r\nUID:" + uid + "\r\nEND:VCARD\r\n", Identity{UID: uid}},
		{"blank and garbage lines", "\r\n\r\nnot a property\r\nBEGIN:VCARD\r\n\r\nUID:" + uid + "\r\nEND:VCARD\r\n", Identity{UID: uid}},
		{"stops at END:VCARD", "BEGIN:VCARD\r\nX-CONNECT-ID:7\r\nEND:VCARD\r\nBEGIN:VCARD\r\nUID:" + uid + "\r\nEND:VCARD\r\n", Identity{ConnectID: "7"}},
		{"value with a colon", "BEGIN:VCARD\r\nX-CONNECT-ID:a:b\r\nEND:VCARD\r\n", Identity{ConnectID: "a:b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Identify(strings.NewReader(tt.card))
			if err != nil || got != tt.want {
				t.Errorf("Identify = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestIdentifyNotACard(t *testing.T) {
	tests := []struct {
		name string
		data io.Reader
	}{
		{"empty", strings.NewReader("")},
		{"blank", strings.NewReader("\r\n\n")},
		{"no BEGIN", strings.NewReader("VERSION:3.0\r\nUID:" + uid + "\r\nEND:VCARD\r\n")},
		{"not a card", strings.NewReader("BEGIN:VCALENDAR\r\nUID:" + uid + "\r\nEND:VCALENDAR\r\n")},
		{"no END", strings.NewReader("BEGIN:VCARD\r\nUID:" + uid + "\r\n")},
		{"another END", strings.NewReader("BEGIN:VCARD\r\nUID:" + uid + "\r\nEND:VCALENDAR\r\n")},
		{"a folded END", strings.NewReader("BEGIN:VCARD\r\nUID:" + uid + "\r\nEND:VCARD\r\n X\r\n")},
		{"zeros", io.LimitReader(zeros{}, 1<<20)},
		{"no END in the first 32 MiB", io.MultiReader(strings.NewReader("BEGIN:VCARD\r\nUID:"+uid+"\r\nNOTE:"), endless("x\r\n "))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Identify(tt.data)
			if !errors.Is(err, ErrNotCard) || got != (Identity{}) {
				t.Errorf("Identify = %+v, %v; want ErrNotCard", got, err)
			}
		})
	}
	t.Run("read error", func(t *testing.T) {
		failed := errors.New("disk on fire")
		_, err := Identify(io.MultiReader(strings.NewReader("BEGIN:VCARD\r\nUID:x\r\n"), iotest.ErrReader(failed)))
		if !errors.Is(err, failed) || errors.Is(err, ErrNotCard) {
			t.Errorf("error %v, want the read error", err)
		}
	})
}

// A CRLF that the read buffer splits, CR at the end of one read and LF at
// the start of the next, is still one line end: folded lines join without
// the CR. The buffer (4 KiB) splits only a longer physical line.
func TestIdentifyCRLFAcrossReads(t *testing.T) {
	for n := 4000; n < 4200; n++ {
		long := strings.Repeat("x", n)
		data := "BEGIN:VCARD\r\nNOTE:" + long + "\r\nUID:" + long + "\r\n b\r\nEND:VCARD\r\n"
		if got, err := Identify(strings.NewReader(data)); err != nil || got.UID != long+"b" {
			t.Fatalf("%d octets: Identify = %.20q, %v", n, got.UID[max(0, len(got.UID)-10):], err)
		}
	}
}

// TestIdentifyHugeFoldedLine: a card as large as a server may send, one
// folded line, is read in well under a second (go-vcard: hours).
func TestIdentifyHugeFoldedLine(t *testing.T) {
	data := "BEGIN:VCARD\r\n" + folded(16<<20) + "UID:" + uid + "\r\nEND:VCARD\r\n"
	start := time.Now()
	got, err := Identify(strings.NewReader(data))
	if err != nil || got.UID != uid {
		t.Errorf("Identify = %+v, %v", got, err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %v", took)
	}
}

// BenchmarkIdentify reads a card whose one folded line is 1 MiB, then 16
// MiB: the time per byte stays the same (linear), where go-vcard's grows
// with the line (23 s for 1 MiB).
func BenchmarkIdentify(b *testing.B) {
	for _, size := range []int{1 << 20, 16 << 20} {
		data := "BEGIN:VCARD\r\n" + folded(size) + "UID:" + uid + "\r\nEND:VCARD\r\n"
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if got, err := Identify(strings.NewReader(data)); err != nil || got.UID != uid {
					b.Fatal(got, err)
				}
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// endless repeats s forever.
func endless(s string) io.Reader {
	return &repeater{chunk: strings.Repeat(s, 4096/len(s)+1)}
}

type repeater struct {
	chunk string
	at    int
}

func (r *repeater) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.chunk[r.at:])
		n += c
		r.at = (r.at + c) % len(r.chunk)
	}
	return n, nil
}

// FuzzIdentify checks that unfolding happens as RFC 6350 says: a card
// reads the same with its lines unfolded beforehand.
func FuzzIdentify(f *testing.F) {
	for _, seed := range []string{
		"BEGIN:VCARD\r\nUID:urn:uuid:0c8b7e5c-4b2e-5d0a-\r\n 9d1a\r\nEND:VCARD\r\n",
		"BEGIN:VC\r\n ARD\nX-CONN\r\n\tECT-ID;X-A=\"x:\r\n y\":7\r\nitem1.U\n ID:a\\,b\r\nEN\r\n D:VCARD",
		"begin:vcard\r\n\r\nuid;value=text:x\r\n \r\n y\r\r\n z\r\nend:vcard\r\n",
	} {
		f.Add(seed)
	}
	unfold := strings.NewReplacer("\r\n ", "", "\r\n\t", "", "\n ", "", "\n\t", "")
	f.Fuzz(func(t *testing.T, data string) {
		got, err := Identify(strings.NewReader(data))
		want, wantErr := Identify(strings.NewReader(unfold.Replace(data)))
		if got != want || (err == nil) != (wantErr == nil) {
			t.Errorf("Identify = %+v, %v; unfolded first: %+v, %v", got, err, want, wantErr)
		}
	})
}
