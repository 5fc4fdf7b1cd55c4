package webex

import (
	"context"
	"fmt"
	"net/url"
	"slices"
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
	// One slice, as long as the last listing and a little more: grown page
	// by page from nothing it would be copied at every page, and put
	// together from one slice per page it would be two copies at the end
	// (at 10,000 rooms, 1.3 MB each).
	hint := c.listed.Load()
	rooms := make([]Room, 0, hint+hint/16)
	d := c.itemDecoder("rooms")
	err := list(ctx, c, c.endpoint("rooms", v), func(items []item) (bool, error) {
		rooms = slices.Grow(rooms, len(items))
		for i := range items {
			if r, ok := d.room(&items[i]); ok {
				rooms = append(rooms, r)
			}
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	c.listed.Store(int64(len(rooms)))
	if len(rooms) == 0 {
		return nil, nil // nil for no rooms, as before
	}
	return rooms, nil
}

// room decodes one item leniently, each field on its own: without an id it is skipped (ok
// false); a bad field is left out and the rest kept. Both are reported.
func (d *itemDecoder) room(it *item) (r Room, ok bool) {
	if !d.begin(it) || !d.itemID(it.get(fID)) {
		return Room{}, false
	}
	r = Room{
		ID:       d.id,
		Title:    d.str("title", it.get(fTitle)),
		Type:     d.intern("type", it.get(fType)),
		TeamID:   d.intern("teamId", it.get(fTeamID)),
		IsLocked: d.boolean("isLocked", it.get(fIsLocked)),
	}
	var err error
	if r.LastActivity, err = timeField(it.get(fLastActivity)); err != nil {
		d.leftOut("lastActivity", err)
	}
	if r.Created, err = timeField(it.get(fCreated)); err != nil {
		d.leftOut("created", err)
	}
	// {"errors": {"title": {"code": "kms_failure", ...}}}: Webex could not
	// decrypt the title, and the title field holds the encrypted blob.
	if e := it.get(fErrors).raw; !absent(e) {
		if failed, ok := hasMember(e, "title"); !ok {
			d.leftOut("errors", fmt.Errorf("not an object: %s", shown(e)))
		} else if failed {
			r.Title, r.TitleUnavailable = "", true
		}
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
	it := readItem(res.body)
	r, ok := c.itemDecoder("rooms").room(&it)
	if !ok {
		return Room{}, &DecodeError{Endpoint: "rooms", Err: fmt.Errorf("room %s: an answer without an id", clip(id, 100))}
	}
	return r, nil
}
