package natsstate

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// The keys of one workspace, all under "<workspace>.":
//
//	wal                the write-ahead record of the write in progress
//	x.meta             JSON meta: next sequence number and sink generation,
//	                   last run, last success
//	x.e.<id>           checkpoint entry (16-byte content hash, 16-byte raw
//	                   hash, lastActivityAt), as in the bbolt file
//	x.k.<sink>         JSON {gen, info}: a registered sink, its generation
//	                   and state.SinkInfo
//	x.q.<seq>          JSON [gen…]: the sinks (by generation) whose queue
//	                   holds change seq
//	x.d.<gen>.<seq>    JSON {error, at}: a dead letter of the sink of that
//	                   generation
//	x.m.<gen>.<id>     a memo value of the sink of that generation
//	s.<id>             the contact's snapshot (its JSON)
//	c.<seq>            the change record (state.Record's JSON)
//	i.<fp>             JSON state.Import: the import ledger
//
// Everything under x. is the index a Workspace keeps in memory, loaded in
// one pass; the rest is read by key when needed. <id>, <sink> and <fp> are
// base64url (no padding; "=" for an empty string), <seq> 16 hex digits,
// <gen> hex.
//
// A sink's queue, dead letters and memos are keyed by its generation, a
// number given at each registration, so dropping or registering a sink
// again is one write (its x.k. key): what the old generation left is
// garbage, collected at once and, after a crash, when the workspace is
// opened again.
type keys struct {
	prefix string // "<workspace>."
}

const (
	keyWAL    = "wal"
	keyMeta   = "x.meta"
	indexKeys = "x.>"
)

func encode(s string) string {
	if s == "" {
		return "="
	}
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

func decode(s string) (string, error) {
	if s == "=" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	return string(b), err
}

func seqToken(seq uint64) string { return fmt.Sprintf("%016x", seq) }

func entryKey(id string) string            { return "x.e." + encode(id) }
func sinkKey(name string) string           { return "x.k." + encode(name) }
func queueKey(seq uint64) string           { return "x.q." + seqToken(seq) }
func deadKey(gen, seq uint64) string       { return fmt.Sprintf("x.d.%x.%s", gen, seqToken(seq)) }
func memoKey(gen uint64, id string) string { return fmt.Sprintf("x.m.%x.%s", gen, encode(id)) }
func snapshotKey(id string) string         { return "s." + encode(id) }
func changeKey(seq uint64) string          { return "c." + seqToken(seq) }
func importKey(fp string) string           { return "i." + encode(fp) }

// parsedKey is an index key taken apart.
type parsedKey struct {
	kind string // "meta", "e", "k", "q", "d", "m"
	name string // contact id (e, m) or sink name (k)
	gen  uint64 // d, m
	seq  uint64 // q, d
}

// parseKey reads an index key (relative to the workspace).
func parseKey(key string) (parsedKey, error) {
	if key == keyMeta {
		return parsedKey{kind: "meta"}, nil
	}
	parts := strings.Split(key, ".")
	if len(parts) < 3 || parts[0] != "x" {
		return parsedKey{}, fmt.Errorf("unknown key %s", key)
	}
	k := parsedKey{kind: parts[1]}
	var err error
	switch {
	case (k.kind == "e" || k.kind == "k") && len(parts) == 3:
		k.name, err = decode(parts[2])
	case k.kind == "q" && len(parts) == 3:
		k.seq, err = strconv.ParseUint(parts[2], 16, 64)
	case k.kind == "d" && len(parts) == 4:
		if k.gen, err = strconv.ParseUint(parts[2], 16, 64); err == nil {
			k.seq, err = strconv.ParseUint(parts[3], 16, 64)
		}
	case k.kind == "m" && len(parts) == 4:
		if k.gen, err = strconv.ParseUint(parts[2], 16, 64); err == nil {
			k.name, err = decode(parts[3])
		}
	default:
		return parsedKey{}, fmt.Errorf("unknown key %s", key)
	}
	if err != nil {
		return parsedKey{}, fmt.Errorf("key %s: %w", key, err)
	}
	return k, nil
}
