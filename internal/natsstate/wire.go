package natsstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// wire talks to the bucket's stream in pipelined requests: a KV Put is one
// round trip awaited before the next, and a write of a chunk holds
// hundreds of keys.
//
// Reads go to the JetStream API's message get, which the stream's leader
// answers: a direct get, which any replica may answer, could miss what was
// just written.
type wire struct {
	nc     *nats.Conn
	api    string // "$JS.API."
	stream string // "KV_<bucket>"
	put    string // "$KV.<bucket>."
}

// window bounds the requests in flight at once.
const window = 256

func newWire(js jetstream.JetStream, bucket string) *wire {
	api := js.Options().APIPrefix
	if api == "" {
		api = jetstream.DefaultAPIPrefix
	}
	if !strings.HasSuffix(api, ".") {
		api += "."
	}
	return &wire{nc: js.Conn(), api: api, stream: "KV_" + bucket, put: "$KV." + bucket + "."}
}

// maxPayload is the largest message the server takes.
func (c *wire) maxPayload() int { return int(c.nc.MaxPayload()) }

// request is one request and, once done, its reply.
type request struct {
	msg   *nats.Msg
	reply *nats.Msg
}

// do sends the requests, at most window at a time, and waits for every
// reply.
func (c *wire) do(ctx context.Context, reqs []*request) error {
	if len(reqs) == 0 {
		return nil
	}
	inbox := c.nc.NewInbox()
	replies := make(chan *nats.Msg, min(window, len(reqs)))
	sub, err := c.nc.ChanSubscribe(inbox+".*", replies)
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	sent, received := 0, 0
	for received < len(reqs) {
		// Nothing more goes out once ctx has ended: for a Workspace, its
		// lease did, and another instance may hold the workspace now.
		if err := ctx.Err(); err != nil && sent < len(reqs) {
			return fmt.Errorf("%d of %d requests sent: %w", sent, len(reqs), err)
		}
		for sent < len(reqs) && sent-received < window {
			m := reqs[sent].msg
			m.Reply = inbox + "." + strconv.Itoa(sent)
			if err := c.nc.PublishMsg(m); err != nil {
				return err
			}
			sent++
		}
		select {
		case r := <-replies:
			i, err := strconv.Atoi(r.Subject[len(inbox)+1:])
			if err != nil || i >= sent || reqs[i].reply != nil {
				continue // not one of ours
			}
			if r.Header.Get("Status") == "503" {
				return fmt.Errorf("%s: %w", reqs[i].msg.Subject, nats.ErrNoResponders)
			}
			reqs[i].reply = r
			received++
		case <-ctx.Done():
			return fmt.Errorf("%d of %d replies: %w", received, len(reqs), ctx.Err())
		}
	}
	return nil
}

// apiError is a JetStream API error reply.
type apiError struct {
	Code        int    `json:"code"`
	ErrCode     int    `json:"err_code"`
	Description string `json:"description"`
}

func (e *apiError) Error() string { return fmt.Sprintf("%s (%d)", e.Description, e.ErrCode) }

// errNoMessage is the JetStream API's "no message found".
const errNoMessage = 10037

func checkReply(r *nats.Msg, v any) error {
	var reply struct {
		Error *apiError `json:"error"`
	}
	if err := json.Unmarshal(r.Data, &reply); err != nil {
		return fmt.Errorf("reply %q: %w", r.Data, err)
	}
	if reply.Error != nil {
		return reply.Error
	}
	if v != nil {
		return json.Unmarshal(r.Data, v)
	}
	return nil
}

// write applies puts and deletes of full keys, pipelined. A delete is a
// KV delete marker: a purge of the key's subject would leave none, but
// costs the server a pass over the stream's blocks (about a millisecond
// per key on a stream of 100,000 contacts, against tens of microseconds).
// The markers are removed in bulk by compact.
func (c *wire) write(ctx context.Context, ops []op) error {
	reqs := make([]*request, len(ops))
	for i, o := range ops {
		reqs[i] = &request{msg: c.msg(o)}
	}
	if err := c.do(ctx, reqs); err != nil {
		return err
	}
	for i, r := range reqs {
		if err := checkReply(r.reply, nil); err != nil {
			return fmt.Errorf("write %s: %w", ops[i].key, err)
		}
	}
	return nil
}

// msg is the message that applies o, a put or a delete of a full key.
func (c *wire) msg(o op) *nats.Msg {
	m := &nats.Msg{Subject: c.put + o.key, Data: o.value, Header: nats.Header{}}
	if o.del {
		m.Header.Set("KV-Operation", "DEL")
	}
	return m
}

// writerHeader names the Workspace that wrote a message of the wal key.
const writerHeader = "Connect-Sync-Writer"

// errLost means a compare-and-set lost: the key's last message is not
// the one expected.
var errLost = errors.New("the key was written by another writer")

// writeIf writes one op of a full key, as writer, if the key's last
// message has sequence number last (0: the key has none), and returns the
// sequence number of the message written. The server checks the
// condition when it stores the message, in order with every other write;
// it fails with errLost when not met.
func (c *wire) writeIf(ctx context.Context, o op, last uint64, writer string) (uint64, error) {
	m := c.msg(o)
	m.Header.Set(nats.ExpectedLastSubjSeqHdr, strconv.FormatUint(last, 10))
	m.Header.Set(writerHeader, writer)
	r := &request{msg: m}
	if err := c.do(ctx, []*request{r}); err != nil {
		return 0, err
	}
	var ack struct {
		Seq uint64 `json:"seq"`
	}
	err := checkReply(r.reply, &ack)
	var apiErr *apiError
	if errors.As(err, &apiErr) && (apiErr.ErrCode == int(nats.JSErrCodeStreamWrongLastSequence) || apiErr.ErrCode == int(nats.JSErrCodeStreamWrongLastSequenceConstant)) {
		return 0, fmt.Errorf("write %s: %w (%w)", o.key, errLost, err)
	}
	if err != nil {
		return 0, fmt.Errorf("write %s: %w", o.key, err)
	}
	return ack.Seq, nil
}

// message is the last message of a key.
type message struct {
	seq    uint64 // 0 when the key has none
	value  []byte // nil when the key has none or was deleted
	writer string // its writerHeader
}

// last reads the last message of a full key, or of the keys a wildcard
// key matches.
func (c *wire) last(ctx context.Context, key string) (message, error) {
	r := c.getRequest(key)
	if err := c.do(ctx, []*request{r}); err != nil {
		return message{}, err
	}
	return parseGet(r, key)
}

// get reads the keys' values; a missing or deleted key's is nil.
func (c *wire) get(ctx context.Context, keys []string) ([][]byte, error) {
	reqs := make([]*request, len(keys))
	for i, k := range keys {
		reqs[i] = c.getRequest(k)
	}
	if err := c.do(ctx, reqs); err != nil {
		return nil, err
	}
	values := make([][]byte, len(keys))
	for i, r := range reqs {
		m, err := parseGet(r, keys[i])
		if err != nil {
			return nil, err
		}
		values[i] = m.value
	}
	return values, nil
}

// getRequest asks for the last message of a full key (or wildcard).
func (c *wire) getRequest(key string) *request {
	body, _ := json.Marshal(map[string]string{"last_by_subj": c.put + key})
	return &request{msg: &nats.Msg{Subject: c.api + "STREAM.MSG.GET." + c.stream, Data: body}}
}

// parseGet reads the reply to a getRequest.
func parseGet(r *request, key string) (message, error) {
	var reply struct {
		Message struct {
			Seq  uint64 `json:"seq"`
			Hdrs []byte `json:"hdrs"`
			Data []byte `json:"data"`
		} `json:"message"`
	}
	err := checkReply(r.reply, &reply)
	var apiErr *apiError
	switch {
	case errors.As(err, &apiErr) && apiErr.ErrCode == errNoMessage:
		return message{}, nil
	case err != nil:
		return message{}, fmt.Errorf("read %s: %w", key, err)
	}
	m := message{seq: reply.Message.Seq, value: reply.Message.Data}
	deleted := false
	if len(reply.Message.Hdrs) > 0 {
		h, err := nats.DecodeHeadersMsg(reply.Message.Hdrs)
		if err != nil {
			return message{}, fmt.Errorf("read %s: headers: %w", key, err)
		}
		m.writer = h.Get(writerHeader)
		deleted = h.Get("KV-Operation") != ""
	}
	switch {
	case deleted:
		m.value = nil
	case m.value == nil:
		m.value = []byte{}
	}
	return m, nil
}

// lastSeq returns the sequence number of the stream's last message.
func (c *wire) lastSeq(ctx context.Context) (uint64, error) {
	r := &request{msg: &nats.Msg{Subject: c.api + "STREAM.INFO." + c.stream}}
	if err := c.do(ctx, []*request{r}); err != nil {
		return 0, err
	}
	var info struct {
		State struct {
			LastSeq uint64 `json:"last_seq"`
		} `json:"state"`
	}
	if err := checkReply(r.reply, &info); err != nil {
		return 0, fmt.Errorf("stream info: %w", err)
	}
	return info.State.LastSeq, nil
}

// purgeBefore removes every message on the subjects of the keys that
// match filter whose sequence number is below seq.
func (c *wire) purgeBefore(ctx context.Context, filter string, seq uint64) error {
	body, _ := json.Marshal(map[string]any{"filter": c.put + filter, "seq": seq})
	r := &request{msg: &nats.Msg{Subject: c.api + "STREAM.PURGE." + c.stream, Data: body}}
	if err := c.do(ctx, []*request{r}); err != nil {
		return err
	}
	if err := checkReply(r.reply, nil); err != nil {
		return fmt.Errorf("purge %s: %w", filter, err)
	}
	return nil
}
