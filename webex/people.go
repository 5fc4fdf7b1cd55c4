package webex

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
)

// Person is the account the token belongs to (GET /people/me).
type Person struct {
	ID          string
	DisplayName string
	Emails      []string
	OrgID       string
	Type        string // "person", "bot" or "appuser"
}

// IsBot reports whether the account is a bot: bots see only messages that
// mention them in group rooms.
func (p Person) IsBot() bool { return p.Type == "bot" }

// Me returns the account the token belongs to.
func (c *Client) Me(ctx context.Context) (Person, error) {
	res, err := c.get(ctx, c.endpoint("people/me", nil))
	if err != nil {
		return Person{}, err
	}
	// Decoded leniently: only the fields the exporter uses, so the
	// inconsistently typed ones (invitePending, loginEnabled) cannot fail it.
	var p struct {
		ID          string   `json:"id"`
		DisplayName string   `json:"displayName"`
		Emails      []string `json:"emails"`
		OrgID       string   `json:"orgId"`
		Type        string   `json:"type"`
	}
	if err := json.Unmarshal(res.body, &p); err != nil {
		return Person{}, &DecodeError{Endpoint: "people/me", Err: err}
	}
	return Person(p), nil
}

// Membership is one person's membership of a room.
type Membership struct {
	ID       string
	RoomID   string
	PersonID string
}

// Memberships lists a room's members, all pages. Items are decoded
// leniently, as rooms and messages are: one without an id is skipped, a
// field of the wrong type left out, both reported to Options.OnBadItem.
func (c *Client) Memberships(ctx context.Context, roomID string) ([]Membership, error) {
	v := url.Values{"roomId": {roomID}, "max": {strconv.Itoa(1000)}}
	var out []Membership
	d := c.itemDecoder("memberships")
	err := list(ctx, c, c.endpoint("memberships", v), func(items []json.RawMessage) (bool, error) {
		for _, it := range items {
			if m, ok := d.membership(it); ok {
				out = append(out, m)
			}
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// membership decodes one item leniently, each field on its own: without an
// id it is skipped (ok false); a bad field is left out and the rest kept.
// Both are reported.
func (d *itemDecoder) membership(raw json.RawMessage) (m Membership, ok bool) {
	it := readItem(raw)
	if !d.begin(&it) || !d.itemID(it.get(fID)) {
		return Membership{}, false
	}
	return Membership{
		ID:       d.id,
		RoomID:   d.intern("roomId", it.get(fRoomID)),
		PersonID: d.str("personId", it.get(fPersonID)),
	}, true
}
