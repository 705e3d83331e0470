package state

import "testing"

func TestMemoLivesAndDiesWithItsSink(t *testing.T) {
	w := openWorkspace(t)
	w.RegisterSink("dav", SinkInfo{Type: "carddav", Target: "https://dav.example/book/"})
	m := w.Memo("dav")
	if v, err := m.Get("1"); err != nil || v != nil {
		t.Fatalf("empty memo: %q, %v", v, err)
	}
	if err := m.Put("1", []byte(`{"href":"/book/1.vcf","etag":"\"a\""}`)); err != nil {
		t.Fatal(err)
	}
	m.Put("2", []byte("x"))
	m.Delete("2")
	if v, _ := m.Get("1"); string(v) != `{"href":"/book/1.vcf","etag":"\"a\""}` {
		t.Errorf("Get = %q", v)
	}
	if n, _ := m.Len(); n != 1 {
		t.Errorf("Len = %d, want 1", n)
	}
	// A new target registers the sink again: its memo is gone.
	w.RegisterSink("dav", SinkInfo{Type: "carddav", Target: "https://other.example/book/"})
	if n, _ := m.Len(); n != 0 {
		t.Errorf("Len after re-registering = %d, want 0", n)
	}
	if err := w.Memo("nope").Put("1", nil); err == nil {
		t.Error("Put for an unknown sink succeeded")
	}
}
