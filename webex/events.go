package webex

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// ComplianceScope is the token scope GET /events needs (the compliance
// officer role); without it Webex answers 403.
const ComplianceScope = "spark-compliance:events_read"

// Event is an item of the organisation's event log (GET /events), as far as
// the exporter cares.
type Event struct {
	ID       string
	Resource string // "messages", "memberships", ...
	Type     string // "created", "updated", "deleted", ...
	ActorID  string
	Created  time.Time
	// Message is the message the event is about (resource "messages").
	Message MessageData
}

// MessageData is what an event or a webhook delivery tells of a message:
// enough to count it and its sender, not its text.
type MessageData struct {
	ID          string
	RoomID      string
	RoomType    string // "group" or "direct"
	PersonID    string
	PersonEmail string
	Created     time.Time
}

// EventsQuery says which events to read. Resource and Type are sent to
// Webex and also checked on every item, so other items never come back.
type EventsQuery struct {
	Resource string    // "messages", ...; "" for all
	Type     string    // "created", ...; "" for all
	ActorID  string    // only events of this person
	From     time.Time // oldest wanted (inclusive); zero: as far back as Webex keeps (90 days)
	// To is the end (exclusive); zero for up to the present. Webex
	// refuses a future one: a To not before the server's clock (its last
	// Date) is not sent, and the events from To on are dropped.
	To       time.Time
	PageSize int // 1..1000; default 1000 (fewest calls)
}

// apiTime is how a time goes into a query.
func apiTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// Events reads the organisation's events, newest first, and hands them to
// apply a page at a time, as each page arrives, so a long read (a cold
// start's day of an organisation's events) never holds more than a page.
// apply must not keep page after it returns; an error from it ends the
// read and is returned as it is. Events needs a compliance officer's
// token (ComplianceScope): anyone else gets an *APIError with StatusCode
// 403. When a page fails, the pages before it have been applied: the
// newest events, down to the oldest applied, so a caller can resume below
// it.
func (c *Client) Events(ctx context.Context, q EventsQuery, apply func(page []Event) error) error {
	size := q.PageSize
	if size <= 0 || size > 1000 {
		size = 1000
	}
	v := url.Values{"max": {strconv.Itoa(size)}}
	for k, s := range map[string]string{"resource": q.Resource, "type": q.Type, "actorId": q.ActorID} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if !q.From.IsZero() {
		v.Set("from", apiTime(q.From))
	}
	// Webex refuses a to in the future by its own clock, which may be
	// behind the local one: a to not before the server's time is left
	// out (up to the present), and the events from q.To on are dropped
	// here.
	if !q.To.IsZero() && q.To.Before(c.serverNow()) {
		v.Set("to", apiTime(q.To))
	}
	var page []Event
	var applyErr error
	d := c.itemDecoder("events")
	err := list(ctx, c, c.endpoint("events", v), func(items []json.RawMessage) (bool, error) {
		page = page[:0]
		for _, raw := range items {
			e, err := decodeEvent(raw)
			if err != nil {
				// Skipped, and reported to Options.OnBadItem.
				d.report(BadItem{Skipped: true, Reason: err.Error()})
				continue
			}
			if (q.Resource != "" && e.Resource != q.Resource) || (q.Type != "" && e.Type != q.Type) ||
				(!q.To.IsZero() && !e.Created.Before(q.To)) {
				continue
			}
			page = append(page, e)
		}
		if len(page) == 0 {
			return true, nil
		}
		applyErr = apply(page)
		return applyErr == nil, nil
	})
	if applyErr != nil {
		return applyErr
	}
	return err
}

// messageDataJSON is a message in an event's or a delivery's data.
type messageDataJSON struct {
	ID          string `json:"id"`
	RoomID      string `json:"roomId"`
	RoomType    string `json:"roomType"`
	PersonID    string `json:"personId"`
	PersonEmail string `json:"personEmail"`
	Created     string `json:"created"`
}

// message checks and converts the data of a messages event.
func (j messageDataJSON) message() (MessageData, error) {
	if j.ID == "" || j.RoomID == "" {
		return MessageData{}, errors.New("message without id or roomId")
	}
	created, err := parseTime(j.Created)
	if err != nil || created.IsZero() {
		return MessageData{}, fmt.Errorf("message %s created: %q is no time", clip(j.ID, 100), clip(j.Created, 40))
	}
	return MessageData{ID: j.ID, RoomID: j.RoomID, RoomType: j.RoomType, PersonID: j.PersonID, PersonEmail: j.PersonEmail, Created: created}, nil
}

type eventJSON struct {
	ID       string          `json:"id"`
	Resource string          `json:"resource"`
	Type     string          `json:"type"`
	ActorID  string          `json:"actorId"`
	Created  string          `json:"created"`
	Data     json.RawMessage `json:"data"`
}

// decodeEvent reads one item of an events page. Every item needs an id, a
// resource, a type and a creation time; a messages item needs a data
// object, and a messages:created one a message with id, roomId and created.
func decodeEvent(raw json.RawMessage) (Event, error) {
	var j eventJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return Event{}, fmt.Errorf("event: %w", err)
	}
	if j.ID == "" || j.Resource == "" || j.Type == "" {
		return Event{}, errors.New("event without id, resource or type")
	}
	e := Event{ID: j.ID, Resource: j.Resource, Type: j.Type, ActorID: j.ActorID}
	var err error
	if e.Created, err = parseTime(j.Created); err != nil || e.Created.IsZero() {
		return Event{}, fmt.Errorf("event %s created: %q is no time", clip(j.ID, 100), clip(j.Created, 40))
	}
	if j.Resource != "messages" {
		return e, nil
	}
	var d messageDataJSON
	if err := json.Unmarshal(j.Data, &d); err != nil {
		return Event{}, fmt.Errorf("event %s data: %w", clip(j.ID, 100), err)
	}
	e.Message, err = d.message()
	if err != nil && j.Type == "created" {
		// Only a created message must be complete: it is what gets counted.
		return Event{}, fmt.Errorf("event %s: %w", clip(j.ID, 100), err)
	}
	return e, nil
}
