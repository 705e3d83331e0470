package state

import "errors"

// Entry is the checkpoint of one contact: enough to tell whether it changed.
type Entry struct {
	Hash           [16]byte // of the contact's content, lastActivityAt excluded
	Raw            [16]byte // of the contact's bytes as the API sent them; zero if unknown
	LastActivityAt string
}

// Same reports whether two entries describe the same contact content and
// activity, however the API wrote it.
func (e Entry) Same(o Entry) bool {
	return e.Hash == o.Hash && e.LastActivityAt == o.LastActivityAt
}

const hashSize = 16

// Encode returns the entry in the layout every backend stores: the content
// hash, the raw hash, then lastActivityAt.
func (e Entry) Encode() []byte {
	b := make([]byte, 0, 2*hashSize+len(e.LastActivityAt))
	return append(append(append(b, e.Hash[:]...), e.Raw[:]...), e.LastActivityAt...)
}

// DecodeEntry reads an entry that Encode wrote.
func DecodeEntry(b []byte) (Entry, error) {
	var e Entry
	if len(b) < 2*hashSize {
		return e, errors.New("state: corrupt checkpoint entry")
	}
	e.Hash, e.Raw = [16]byte(b), [16]byte(b[hashSize:])
	e.LastActivityAt = string(b[2*hashSize:])
	return e, nil
}
