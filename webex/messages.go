package webex

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/webex-exporter/webex_exporter/webex/model"
)

// Message is a message in a room (model.Message).
type Message = model.Message

// MessagesQuery says which of a room's messages to read (model.MessagesQuery).
type MessagesQuery = model.MessagesQuery

// message decodes one item leniently, each field on its own: without an id or a usable creation
// time (it cannot be placed in a window) it is skipped (ok false); another
// bad field is left out and the rest kept. Both are reported.
func (d *itemDecoder) message(it *item) (m Message, ok bool) {
	if !d.begin(it) || !d.itemID(it.get(fID)) {
		return Message{}, false
	}
	created, err := timeField(it.get(fCreated))
	if err == nil && created.IsZero() {
		err = errors.New("no creation time")
	}
	if err != nil {
		d.report(BadItem{Skipped: true, Field: "created", Reason: err.Error()})
		return Message{}, false
	}
	return Message{
		ID:       d.id,
		RoomID:   d.intern("roomId", it.get(fRoomID)),
		ParentID: d.intern("parentId", it.get(fParentID)),
		PersonID: d.intern("personId", it.get(fPersonID)),
		Created:  created,
	}, true
}

// Messages reads a room's messages newest first, following pages until the
// stop condition of q is met or the room has no older messages. On an error
// it also returns the messages read until then: a run from the start, which
// a caller can resume with BeforeMessage set to the last one. A 404 to a
// page's beforeMessage cursor (its message deleted) is a *CursorError: the
// read goes on with Before (CursorError.Before) instead.
func (c *Client) Messages(ctx context.Context, q MessagesQuery) ([]Message, error) {
	if q.RoomID == "" {
		return nil, fmt.Errorf("webex messages: no room id")
	}
	limit := 1000
	if q.MentionedMe {
		limit = 100
	}
	size := q.PageSize
	if size <= 0 {
		size = 50
	}
	size = min(size, limit)
	v := url.Values{"roomId": {q.RoomID}, "max": {strconv.Itoa(size)}}
	if q.MentionedMe {
		v.Set("mentionedPeople", "me")
	}
	if q.BeforeMessage != "" {
		v.Set("beforeMessage", q.BeforeMessage)
	}
	if !q.Before.IsZero() {
		v.Set("before", q.Before.UTC().Format(wireTimeFormat))
	}
	var out []Message
	d := c.itemDecoder("messages")
	err := list(ctx, c, c.endpoint("messages", v), func(items []item) (bool, error) {
		for i := range items {
			m, ok := d.message(&items[i])
			if !ok && d.id != "" && d.id == q.StopAtID {
				return false, nil // the known message, however odd its other fields
			}
			if !ok {
				continue
			}
			if m.ID == q.StopAtID || (!q.Since.IsZero() && m.Created.Before(q.Since)) {
				return false, nil
			}
			out = append(out, m)
		}
		return true, nil
	})
	var ce *CursorError
	if errors.As(err, &ce) && len(out) > 0 {
		ce.Before = out[len(out)-1].Created.Add(time.Millisecond)
	}
	return out, err
}
