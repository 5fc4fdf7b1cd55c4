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
	valid    bool   // the items are known to be valid JSON
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
	split := splitObject
	if d.valid {
		split = splitValidObject
	}
	if f, ok = split(raw, d.members[:0]); ok {
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
	if t, ok := quickTime(raw); ok {
		return t, nil
	}
	s, err := stringValue(raw)
	if err != nil {
		return time.Time{}, fmt.Errorf("not a string: %s", shown(raw))
	}
	return parseTime(s)
}

// quickTime reads a time written as Webex writes them,
// "2016-04-21T19:12:48.920Z" (quotes included), without time.Parse: what
// parseTime returns for it (TestQuickTime and FuzzQuickTime prove it). ok is
// false for anything else, and for a day past the 28th (time.Parse knows
// the months' lengths), which parseTime reads.
func quickTime(raw []byte) (_ time.Time, ok bool) {
	if len(raw) != 26 || raw[0] != '"' || raw[5] != '-' || raw[8] != '-' || raw[11] != 'T' || raw[14] != ':' ||
		raw[17] != ':' || raw[20] != '.' || raw[24] != 'Z' || raw[25] != '"' {
		return time.Time{}, false
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range raw[i : i+n] {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	year, month, day := num(1, 4), num(6, 2), num(9, 2)
	hour, minute, sec, ms := num(12, 2), num(15, 2), num(18, 2), num(21, 3)
	if year < 0 || month < 1 || month > 12 || day < 1 || day > 28 || hour < 0 || hour > 23 || minute < 0 || minute > 59 ||
		sec < 0 || sec > 59 || ms < 0 {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, ms*1e6, time.UTC), true
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
	return splitValidObject(raw, o)
}

// splitValidObject is splitObject for raw known to be valid JSON.
func splitValidObject(raw []byte, o object) (_ object, ok bool) {
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

// validItem is a list item known to be valid JSON: the page it came from
// was validated whole, by splitPage or by encoding/json.
type validItem []byte

// UnmarshalJSON keeps a copy of the item, for a page left to encoding/json.
func (v *validItem) UnmarshalJSON(b []byte) error {
	*v = bytes.Clone(b)
	return nil
}

// decodePage reads the items of a list answer ({"items": [...]}) into
// items. Items of type validItem or json.RawMessage are split out of body
// in one pass that also validates it (slices of body, not copies:
// splitPage), unless body is
// something splitPage leaves to encoding/json, which decodes every other
// type.
func decodePage[T any](body []byte, items *[]T) error {
	switch v := any(items).(type) {
	case *[]validItem:
		if split, ok := splitPage(body); ok {
			*v = split
			return nil
		}
	case *[]json.RawMessage: // as encoding/json would, but slices of body
		if split, ok := splitPage(body); ok {
			*v = make([]json.RawMessage, len(split))
			for i, it := range split {
				(*v)[i] = json.RawMessage(it)
			}
			return nil
		}
	}
	var p page[T]
	err := json.Unmarshal(body, &p)
	*items = p.Items
	return err
}

// splitPage returns the elements of the "items" array of the JSON object
// body, as slices of body: what encoding/json decodes into a
// page[json.RawMessage] (decode_test.go proves it). It reads body once,
// validating it as it goes (so that splitValidObject need not). ok is false for what it leaves to
// encoding/json: body is not valid JSON, not an object, its items are not
// an array or null, or one of its own member names is written with escapes
// or other than ASCII (encoding/json matches names without regard to case,
// Unicode's included).
func splitPage(body []byte) (_ []validItem, ok bool) {
	s := scanner{b: body}
	var items []validItem
	s.space()
	if !s.byte('{') {
		return nil, false
	}
	if s.space(); !s.byte('}') {
		for {
			name, ok := s.name()
			if s.space(); !ok || !s.byte(':') {
				return nil, false
			}
			s.space()
			if !bytes.EqualFold(name, []byte("items")) {
				if !s.value(1) { // in the page's object
					return nil, false
				}
			} else if items, ok = s.items(); !ok {
				return nil, false
			}
			if s.space(); s.byte('}') {
				break
			}
			if !s.byte(',') {
				return nil, false
			}
			s.space()
		}
	}
	if s.space(); s.i != len(body) {
		return nil, false
	}
	return items, true
}

// scanner reads JSON (RFC 8259) as encoding/json accepts it.
type scanner struct {
	b []byte
	i int
}

// maxDepth is encoding/json's limit on nesting.
const maxDepth = 10000

func (s *scanner) space() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

// byte consumes c if it comes next.
func (s *scanner) byte(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// items reads the value of "items": an array (its elements) or null (no
// items).
func (s *scanner) items() ([]validItem, bool) {
	if s.literal("null") {
		return nil, true
	}
	if !s.byte('[') {
		return nil, false
	}
	var items []validItem
	if s.space(); s.byte(']') {
		return items, true
	}
	for {
		start := s.i
		if !s.value(2) { // in the page's object and the items array
			return nil, false
		}
		items = append(items, validItem(s.b[start:s.i:s.i]))
		if s.space(); s.byte(']') {
			return items, true
		}
		if !s.byte(',') {
			return nil, false
		}
		s.space()
	}
}

// name reads a member name that is plain: no escapes, ASCII only.
func (s *scanner) name() ([]byte, bool) {
	start := s.i
	if !s.string() {
		return nil, false
	}
	name := s.b[start+1 : s.i-1]
	for _, c := range name {
		if c == '\\' || c >= utf8.RuneSelf {
			return nil, false
		}
	}
	return name, true
}

// value reads one JSON value inside depth arrays and objects.
func (s *scanner) value(depth int) bool {
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		return s.string()
	case c == '{', c == '[':
		if depth++; depth > maxDepth {
			return false
		}
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		s.i++
		if s.space(); s.byte(end) {
			return true
		}
		for {
			if c == '{' {
				if !s.string() {
					return false
				}
				if s.space(); !s.byte(':') {
					return false
				}
				s.space()
			}
			if !s.value(depth) {
				return false
			}
			if s.space(); s.byte(end) {
				return true
			}
			if !s.byte(',') {
				return false
			}
			s.space()
		}
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	default:
		return s.number()
	}
}

func (s *scanner) literal(word string) bool {
	if bytes.HasPrefix(s.b[s.i:], []byte(word)) {
		s.i += len(word)
		return true
	}
	return false
}

// string reads a string: no control characters, valid escapes (bytes that
// are not UTF-8 are accepted, as encoding/json does).
func (s *scanner) string() bool {
	if !s.byte('"') {
		return false
	}
	for s.i < len(s.b) {
		for s.i < len(s.b) && plain[s.b[s.i]] {
			s.i++
		}
		if s.i == len(s.b) {
			return false
		}
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return true
		case c < 0x20:
			return false
		case c == '\\':
			if s.i+1 >= len(s.b) {
				return false
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.b) {
					return false
				}
				for _, h := range s.b[s.i+2 : s.i+6] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return false
					}
				}
				s.i += 6
			default:
				return false
			}
		default:
			s.i++
		}
	}
	return false
}

// plain is the bytes a string holds as they are: not a quote, a backslash
// or a control character.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() bool {
	s.byte('-')
	if !s.byte('0') && !s.digits() {
		return false
	}
	if s.byte('.') && !s.digits() {
		return false
	}
	if s.byte('e') || s.byte('E') {
		if !s.byte('+') {
			s.byte('-')
		}
		if !s.digits() {
			return false
		}
	}
	return true
}

// digits reads one digit or more.
func (s *scanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}
