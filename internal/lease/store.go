package lease

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/connect-sync/connect-sync/internal/natsconn"
)

const (
	workspacePrefix = "workspace."
	instancePrefix  = "instance."
)

// leaseRecord is the value of key workspace.<name>.
type leaseRecord struct {
	Instance   string    `json:"instance"`
	Session    string    `json:"session"` // the holder process's own random id
	AcquiredAt time.Time `json:"acquired_at"`
	RenewedAt  time.Time `json:"renewed_at"`
}

// instanceRecord is the value of key instance.<id>, the heartbeat.
type instanceRecord struct {
	ID        string    `json:"id"`
	Session   string    `json:"session"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	StartedAt time.Time `json:"started_at"`
}

// held is a workspace key as the bucket holds it.
type held struct {
	leaseRecord
	rev uint64
}

// view is the bucket's content at one moment: the live instances (those
// with a heartbeat) and the workspaces' holders.
type view struct {
	instances map[string]instanceRecord
	holders   map[string]held
}

// bucket is the key-value bucket, written through compare-and-set
// publishes and conditional purges only (see the package comment).
type bucket struct {
	js     jetstream.JetStream
	kv     jetstream.KeyValue
	stream jetstream.Stream
	prefix string // the keys' subject prefix, $KV.<bucket>.
}

// openBucket opens the bucket, or creates it with the given TTL (MaxAge),
// history 1, file storage and replicas.
func openBucket(ctx context.Context, js jetstream.JetStream, name string, ttl time.Duration, replicas int) (*bucket, error) {
	kv, err := js.KeyValue(ctx, name)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      name,
			Description: "connect-sync workspace leases",
			History:     1,
			TTL:         ttl,
			Storage:     jetstream.FileStorage,
			Replicas:    replicas,
		})
		if errors.Is(err, jetstream.ErrBucketExists) { // another instance was quicker
			kv, err = js.KeyValue(ctx, name)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("lease: open bucket %s: %w", name, err)
	}
	stream, err := js.Stream(ctx, "KV_"+name)
	if err != nil {
		return nil, fmt.Errorf("lease: open bucket %s: %w", name, err)
	}
	return &bucket{js: js, kv: kv, stream: stream, prefix: "$KV." + name + "."}, nil
}

// ttl is the bucket's MaxAge, which every instance sharing it must use.
func (b *bucket) ttl() time.Duration { return b.stream.CachedInfo().Config.MaxAge }

// write stores value under key if the key's last revision is expect (0: if
// the key does not exist), and returns the new revision. It publishes
// rather than calling KeyValue.Create, which on a delete marker falls back
// to an update from the marker's revision: several takers would then race
// on one revision, which clustered nats-server 2.9 can accept twice.
func (b *bucket) write(ctx context.Context, key string, value any, expect uint64) (uint64, error) {
	data, err := json.Marshal(value)
	if err != nil {
		return 0, err
	}
	msg := &nats.Msg{Subject: b.prefix + key, Data: data}
	ack, err := b.js.PublishMsg(ctx, msg, jetstream.WithExpectLastSequencePerSubject(expect))
	if err != nil {
		return 0, err
	}
	return ack.Sequence, nil
}

// purge removes key if its last revision is rev or older: a newer
// holder's write, even one stored while this request was under way,
// survives.
func (b *bucket) purge(ctx context.Context, key string, rev uint64) error {
	// The server reads a purge sequence of 1 as no bound at all, but rev+1
	// is at least 2.
	return b.stream.Purge(ctx, jetstream.WithPurgeSubject(b.prefix+key), jetstream.WithPurgeSequence(rev+1))
}

// session reads key's holder session and revision.
func (b *bucket) session(ctx context.Context, key string) (string, uint64, error) {
	e, err := b.kv.Get(ctx, key)
	if err != nil {
		return "", 0, err
	}
	var r struct {
		Session string `json:"session"`
	}
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return "", 0, fmt.Errorf("key %s: %w", key, err)
	}
	return r.Session, e.Revision(), nil
}

// conflict reports whether err says the key's revision was not the one
// expected: someone else wrote it, or it is gone.
func conflict(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists) ||
		errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// list reads every key's last value, through an ordered consumer, which the
// stream's leader serves (a direct get may be answered by a lagging
// replica).
func (b *bucket) list(ctx context.Context) (*view, error) {
	w, err := b.kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("lease: list: %w", err)
	}
	defer natsconn.StopWatcher(w)
	v := &view{instances: map[string]instanceRecord{}, holders: map[string]held{}}
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("lease: list: %w", ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				return nil, errors.New("lease: list: watcher closed")
			}
			if e == nil { // every key's last value has come
				return v, nil
			}
			v.add(e.Key(), e.Value(), e.Revision())
		}
	}
}

// add records one key; a value that does not decode still marks a
// workspace taken, by nobody known.
func (v *view) add(key string, value []byte, rev uint64) {
	if id, ok := strings.CutPrefix(key, instancePrefix); ok {
		var r instanceRecord
		if json.Unmarshal(value, &r) == nil {
			v.instances[id] = r
		}
	} else if name, ok := strings.CutPrefix(key, workspacePrefix); ok {
		h := held{rev: rev}
		_ = json.Unmarshal(value, &h.leaseRecord)
		v.holders[name] = h
	}
}

// Holder is a workspace's lease as the bucket holds it.
type Holder struct {
	Workspace  string    `json:"workspace"`
	Instance   string    `json:"instance"`
	AcquiredAt time.Time `json:"acquired_at"`
	RenewedAt  time.Time `json:"renewed_at"`
	// Live says the instance has a heartbeat; Host and PID come from it.
	Live bool   `json:"live"`
	Host string `json:"host,omitempty"`
	PID  int    `json:"pid,omitempty"`
}

// Holders lists the workspaces leased in the bucket named name, by
// workspace, for status: it needs no Manager.
func Holders(ctx context.Context, js jetstream.JetStream, name string) ([]Holder, error) {
	kv, err := js.KeyValue(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("lease: open bucket %s: %w", name, err)
	}
	b := &bucket{kv: kv}
	v, err := b.list(ctx)
	if err != nil {
		return nil, err
	}
	return v.holderList(), nil
}

func (v *view) holderList() []Holder {
	var hs []Holder
	for name, h := range v.holders {
		i, live := v.instances[h.Instance]
		hs = append(hs, Holder{
			Workspace: name, Instance: h.Instance, AcquiredAt: h.AcquiredAt, RenewedAt: h.RenewedAt,
			Live: live, Host: i.Host, PID: i.PID,
		})
	}
	slices.SortFunc(hs, func(a, b Holder) int { return strings.Compare(a.Workspace, b.Workspace) })
	return hs
}
