package webex

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/webex-exporter/webex_exporter/webex/model"
)

// Room is a Webex space the account belongs to (model.Room).
type Room = model.Room

// RoomsQuery filters the rooms listing.
type RoomsQuery struct {
	Type     string // "group", "direct" or "" for both
	TeamID   string
	PageSize int // 1..1000; default 1000 (fewest calls)
}

// Rooms lists every room the account belongs to, all pages.
func (c *Client) Rooms(ctx context.Context, q RoomsQuery) ([]Room, error) {
	size := q.PageSize
	if size <= 0 || size > 1000 {
		size = 1000
	}
	v := url.Values{"max": {strconv.Itoa(size)}}
	if q.Type != "" {
		v.Set("type", q.Type)
	}
	if q.TeamID != "" {
		v.Set("teamId", q.TeamID)
	}
	var rooms []Room
	d := c.itemDecoder("rooms")
	d.valid = true
	err := list(ctx, c, c.endpoint("rooms", v), func(items []validItem) (bool, error) {
		for _, it := range items {
			if r, ok := d.room(json.RawMessage(it)); ok {
				rooms = append(rooms, r)
			}
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return rooms, nil
}

// room decodes one item leniently, each field on its own: without an id it is skipped (ok
// false); a bad field is left out and the rest kept. Both are reported.
func (d *itemDecoder) room(raw json.RawMessage) (r Room, ok bool) {
	j, ok := d.fields(raw)
	if !ok || !d.itemID(j.get("id")) {
		return Room{}, false
	}
	r = Room{
		ID:       d.id,
		Title:    d.str("title", j.get("title")),
		Type:     d.str("type", j.get("type")),
		TeamID:   d.str("teamId", j.get("teamId")),
		IsLocked: d.boolean("isLocked", j.get("isLocked")),
	}
	var err error
	if r.LastActivity, err = timeField(j.get("lastActivity")); err != nil {
		d.leftOut("lastActivity", err)
	}
	if r.Created, err = timeField(j.get("created")); err != nil {
		d.leftOut("created", err)
	}
	// {"errors": {"title": {"code": "kms_failure", ...}}}: Webex could not
	// decrypt the title, and the title field holds the encrypted blob.
	var errs map[string]json.RawMessage
	if e := j.get("errors"); !absent(e) && json.Unmarshal(e, &errs) != nil {
		d.leftOut("errors", fmt.Errorf("not an object: %s", shown(e)))
	}
	if _, bad := errs["title"]; bad {
		r.Title, r.TitleUnavailable = "", true
	}
	return r, true
}

// wireTimeFormat is how Webex writes times: "2016-04-21T19:12:48.920Z".
const wireTimeFormat = "2006-01-02T15:04:05.000Z07:00"

// parseTime reads Webex's RFC 3339 times, with or without fractional
// seconds, "Z" or an offset. An absent time is the zero time.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("not an RFC 3339 time: %q", clip(s, 40))
	}
	return t.UTC(), nil
}

// Room describes one room by id (GET /rooms/{id}). A compliance officer
// gets any room of the organisation, a 1:1 room then titled "Empty Title";
// anyone else gets only rooms they are in (403 or 404 otherwise).
func (c *Client) Room(ctx context.Context, id string) (Room, error) {
	if id == "" || url.PathEscape(id) != id {
		return Room{}, fmt.Errorf("webex rooms: %q is no room id", clip(id, 100))
	}
	res, err := c.get(ctx, c.endpoint("rooms/"+id, nil))
	if err != nil {
		return Room{}, err
	}
	// Decoded as a listing's item is: a bad field is left out (and
	// reported); without an id the answer is no room.
	r, ok := c.itemDecoder("rooms").room(res.body)
	if !ok {
		return Room{}, &DecodeError{Endpoint: "rooms", Err: fmt.Errorf("room %s: an answer without an id", clip(id, 100))}
	}
	return r, nil
}
