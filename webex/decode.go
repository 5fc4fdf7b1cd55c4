package webex

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
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
// reports what it had to leave out. It decodes one item at a time.
type itemDecoder struct {
	c        *Client
	endpoint string
	id       string
	members  object // scratch space for the item being decoded
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
// non-object item is skipped (ok false). The result is valid until the
// next call.
func (d *itemDecoder) fields(raw json.RawMessage) (f object, ok bool) {
	d.id = ""
	if f, ok = splitObject(raw, d.members[:0]); ok {
		d.members = f
		return f, true
	}
	// What splitObject leaves to encoding/json (names written with escapes,
	// null, anything not an object) is decoded as it always was.
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		d.report(BadItem{Skipped: true, Reason: "not a JSON object: " + shown(raw)})
		return nil, false
	}
	for k, v := range m {
		f = append(f, member{name: []byte(k), value: v})
	}
	return f, true
}

// itemID reads the id; an item without a usable one is skipped.
func (d *itemDecoder) itemID(raw json.RawMessage) bool {
	id, err := stringValue(raw)
	if absent(raw) || err != nil || id == "" {
		d.report(BadItem{Skipped: true, Field: "id", Reason: "no id: " + shown(raw)})
		return false
	}
	d.id = id
	return true
}

// str reads a string field; absent or null is "".
func (d *itemDecoder) str(field string, raw json.RawMessage) string {
	if absent(raw) {
		return ""
	}
	s, err := stringValue(raw)
	if err != nil {
		d.leftOut(field, fmt.Errorf("not a string: %s", shown(raw)))
		return ""
	}
	return s
}

// boolean reads a boolean field, also written as the string "true" or
// "false" (Webex's spec types several booleans so); absent or null is false.
func (d *itemDecoder) boolean(field string, raw json.RawMessage) bool {
	switch string(raw) {
	case "true", `"true"`:
		return true
	case "false", `"false"`:
		return false
	}
	var b bool
	if absent(raw) || json.Unmarshal(raw, &b) == nil {
		return b
	}
	if s, err := stringValue(raw); err == nil && (s == "true" || s == "false") {
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
	s, err := stringValue(raw)
	if err != nil {
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

// stringValue decodes a JSON string; one that needs no unescaping is taken
// as it is, without encoding/json.
func stringValue(raw json.RawMessage) (string, error) {
	if n := len(raw); n >= 2 && raw[0] == '"' && raw[n-1] == '"' &&
		bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return string(raw[1 : n-1]), nil
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

// object is a JSON object's members, in order, their values raw. A name
// may come twice: the last one counts, as when decoding into a map.
type object []member

type member struct{ name, value []byte }

// get returns the value of the member named name, nil when there is none.
func (o object) get(name string) json.RawMessage {
	for i := len(o) - 1; i >= 0; i-- {
		if string(o[i].name) == name {
			return o[i].value
		}
	}
	return nil
}

// splitObject appends the members of the JSON object raw to o, their names
// and values slices of raw: the same names and values as decoding raw
// into a map[string]json.RawMessage gives, without the map and the copies
// (decode_test.go proves it). ok is false for what it leaves to that
// decoding: raw is no valid JSON object, or a name is written with escapes
// or is not UTF-8 (encoding/json replaces what is not).
func splitObject(raw []byte, o object) (_ object, ok bool) {
	if !json.Valid(raw) {
		return nil, false
	}
	i := skipSpace(raw, 0)
	if raw[i] != '{' {
		return nil, false
	}
	// raw is valid: each member is a string, a colon and a value, then a
	// comma or the closing brace.
	if i = skipSpace(raw, i+1); raw[i] == '}' {
		return o, true
	}
	for {
		end := endOfString(raw, i)
		name := raw[i+1 : end-1]
		if bytes.IndexByte(name, '\\') >= 0 || !utf8.Valid(name) {
			return nil, false
		}
		i = skipSpace(raw, skipSpace(raw, end)+1) // past the colon
		end = endOfValue(raw, i)
		o = append(o, member{name: name, value: raw[i:end]})
		if i = skipSpace(raw, end); raw[i] == '}' {
			return o, true
		}
		i = skipSpace(raw, i+1) // past the comma
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// endOfString returns the index after the valid JSON string at b[i].
func endOfString(b []byte, i int) int {
	for i++; b[i] != '"'; i++ {
		if b[i] == '\\' {
			i++
		}
	}
	return i + 1
}

// endOfValue returns the index after the valid JSON value at b[i].
func endOfValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return endOfString(b, i)
	case '{', '[':
		depth := 0
		for ; ; i++ {
			switch b[i] {
			case '"':
				i = endOfString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
	}
	for i < len(b) && !strings.ContainsRune(",}] \t\r\n", rune(b[i])) {
		i++
	}
	return i
}
