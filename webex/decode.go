package webex

import (
	"encoding/json"
	"fmt"
	"time"
)

// BadItem is a list item the client could not decode whole. One odd item
// never fails a page: an item that cannot be used (no id; a message with no
// usable creation time) is skipped, and a field of the wrong type or form
// is left out (its zero value) while the rest of the item is kept.
type BadItem struct {
	Endpoint string // "rooms", "messages"
	ID       string // the item's id; "" when it has none
	Skipped  bool   // true: the item was dropped; false: Field was left out
	Field    string // the field at fault ("" when the item is not a JSON object)
	Reason   string // what was wrong, with any value clipped
}

func (b BadItem) String() string {
	what := "field " + b.Field + " left out"
	if b.Skipped {
		what = "item skipped"
	}
	return fmt.Sprintf("webex %s item %q: %s: %s", b.Endpoint, b.ID, what, b.Reason)
}

// itemDecoder reads the fields of one list item, each on its own, and
// reports what it had to leave out.
type itemDecoder struct {
	c        *Client
	endpoint string
	id       string
}

func (c *Client) itemDecoder(endpoint string) *itemDecoder {
	return &itemDecoder{c: c, endpoint: endpoint}
}

func (d *itemDecoder) report(b BadItem) {
	b.Endpoint, b.ID = d.endpoint, d.id
	if d.c.onBadItem != nil {
		d.c.onBadItem(b)
	}
}

// fields splits an item into its fields, by their exact names; a
// non-object item is skipped (ok false).
func (d *itemDecoder) fields(raw json.RawMessage) (f map[string]json.RawMessage, ok bool) {
	d.id = ""
	if err := json.Unmarshal(raw, &f); err != nil {
		d.report(BadItem{Skipped: true, Reason: "not a JSON object: " + shown(raw)})
		return nil, false
	}
	return f, true
}

// itemID reads the id; an item without a usable one is skipped.
func (d *itemDecoder) itemID(raw json.RawMessage) bool {
	var id string
	if absent(raw) || json.Unmarshal(raw, &id) != nil || id == "" {
		d.report(BadItem{Skipped: true, Field: "id", Reason: "no id: " + shown(raw)})
		return false
	}
	d.id = id
	return true
}

// str reads a string field; absent or null is "".
func (d *itemDecoder) str(field string, raw json.RawMessage) string {
	var s string
	if absent(raw) {
		return ""
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		d.leftOut(field, fmt.Errorf("not a string: %s", shown(raw)))
		return ""
	}
	return s
}

// boolean reads a boolean field, also written as the string "true" or
// "false" (Webex's spec types several booleans so); absent or null is false.
func (d *itemDecoder) boolean(field string, raw json.RawMessage) bool {
	var b bool
	if absent(raw) || json.Unmarshal(raw, &b) == nil {
		return b
	}
	var s string
	if json.Unmarshal(raw, &s) == nil && (s == "true" || s == "false") {
		return s == "true"
	}
	d.leftOut(field, fmt.Errorf("not a boolean: %s", shown(raw)))
	return false
}

// leftOut reports a field left out of the item.
func (d *itemDecoder) leftOut(field string, err error) {
	d.report(BadItem{Field: field, Reason: err.Error()})
}

// timeField reads an RFC 3339 time; absent, null or "" is the zero time.
func timeField(raw json.RawMessage) (time.Time, error) {
	if absent(raw) {
		return time.Time{}, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return time.Time{}, fmt.Errorf("not a string: %s", shown(raw))
	}
	return parseTime(s)
}

func absent(raw json.RawMessage) bool { return len(raw) == 0 || string(raw) == "null" }

func shown(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "absent"
	}
	return clip(string(raw), 40)
}
