package webex

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/bits"
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

// itemDecoder reads the fields of one list item at a time, each on its
// own, and reports what it had to leave out.
type itemDecoder struct {
	c        *Client
	endpoint string
	id       string
	strs     map[string]string // values that repeat from item to item (intern)
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

// begin starts decoding it: an item that is no JSON object is skipped (ok
// false). null decodes as an object without members, as it does into a
// map.
func (d *itemDecoder) begin(it *item) bool {
	d.id = ""
	if !it.object {
		d.report(BadItem{Skipped: true, Reason: "not a JSON object: " + shown(it.raw())})
		return false
	}
	return true
}

// itemID reads the id; an item without a usable one is skipped.
func (d *itemDecoder) itemID(v value) bool {
	id, err := v.string()
	if absent(v.raw) || err != nil || id == "" {
		d.report(BadItem{Skipped: true, Field: "id", Reason: "no id: " + shown(v.raw)})
		return false
	}
	d.id = id
	return true
}

// str reads a string field; absent or null is "".
func (d *itemDecoder) str(field string, v value) string {
	if absent(v.raw) {
		return ""
	}
	s, err := v.string()
	if err != nil {
		d.leftOut(field, fmt.Errorf("not a string: %s", shown(v.raw)))
		return ""
	}
	return s
}

// maxInterned bounds the values one decoder keeps to hand out again.
const maxInterned = 1024

// intern is str for a field whose values repeat from item to item (a
// room's type and team, a message's room and sender): an equal value
// read before is handed out again rather than copied once more.
func (d *itemDecoder) intern(field string, v value) string {
	if !v.plain {
		return d.str(field, v)
	}
	b := v.raw[1 : len(v.raw)-1]
	if s, ok := d.strs[string(b)]; ok {
		return s
	}
	s := string(b)
	if d.strs == nil {
		d.strs = map[string]string{}
	}
	if len(d.strs) < maxInterned {
		d.strs[s] = s
	}
	return s
}

// boolean reads a boolean field, also written as the string "true" or
// "false" (Webex's spec types several booleans so); absent or null is false.
func (d *itemDecoder) boolean(field string, v value) bool {
	raw := v.raw
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
	if s, err := v.string(); err == nil && (s == "true" || s == "false") {
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
func timeField(v value) (time.Time, error) {
	if absent(v.raw) {
		return time.Time{}, nil
	}
	if t, ok := quickTime(v.raw); ok {
		return t, nil
	}
	s, err := v.string()
	if err != nil {
		return time.Time{}, fmt.Errorf("not a string: %s", shown(v.raw))
	}
	return parseTime(s)
}

// quickTime reads a time written as Webex writes them,
// "2016-04-21T19:12:48.920Z" (quotes included), without time.Parse: what
// parseTime returns for it (TestQuickTime and FuzzQuickTime prove it). ok is
// false for anything else, which parseTime reads.
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
	if year < 0 || month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour < 0 || hour > 23 ||
		minute < 0 || minute > 59 || sec < 0 || sec > 59 || ms < 0 {
		return time.Time{}, false
	}
	// time.Date's instant, without its normalising: the days since
	// 1970-01-01 of the proleptic Gregorian calendar, counted from March
	// (so that a leap day ends its year), in eras of 400 years.
	y := year
	if month <= 2 {
		y--
	}
	era := (y+400)/400 - 1 // y/400 rounded down: y is -1 at the least
	yoe := y - era*400
	doy := (153*((month+9)%12)+2)/5 + day - 1
	days := era*146097 + yoe*365 + yoe/4 - yoe/100 + doy - 719468
	return time.Unix(int64(days)*86400+int64(hour*3600+minute*60+sec), int64(ms)*1e6).UTC(), true
}

// daysIn is the length of a month (1-12) of the proleptic Gregorian
// calendar, as time.Parse knows it.
func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func absent(raw []byte) bool { return len(raw) == 0 || string(raw) == "null" }

func shown(raw []byte) string {
	if len(raw) == 0 {
		return "absent"
	}
	return clip(string(raw), 40)
}

// stringValue decodes a JSON string; one that needs no unescaping is taken
// as it is, without encoding/json.
func stringValue(raw []byte) (string, error) {
	if n := len(raw); n >= 2 && raw[0] == '"' && raw[n-1] == '"' &&
		bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return string(raw[1 : n-1]), nil
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

// value is a member's value in an item, raw (empty when the item has no
// such member), as the page pass found it.
type value struct {
	raw   []byte
	plain bool // a string with no escape, all ASCII: its value is what its quotes hold
}

// string decodes a JSON string, as encoding/json does.
func (v value) string() (string, error) {
	if v.plain {
		return string(v.raw[1 : len(v.raw)-1]), nil
	}
	return stringValue(v.raw)
}

// item is one list item after the page pass (splitPage, readItem): where
// its bytes lie in its page, and the spans of the members the decoders
// read, so that decoding it reads only those values. The names and values
// are those decoding the item into a map[string]json.RawMessage gives
// (FuzzReadItem proves it): a name matches exactly, a name written with
// escapes is read unescaped, and of a name given twice the last value
// counts. It takes 24 bytes, as the slice of the page it was before, and
// each member read 12 more (a member takes 7 bytes of the page at the
// least): the worst page, of tiny items ([0,0,...]), still costs 12 times
// its length, as it did.
type item struct {
	pg         *pageBuf
	start, end uint32 // its bytes, pg.body[start:end]
	first      uint32 // its spans, pg.spans[first : first+n], one per key at most
	n          uint8
	object     bool // a JSON object, or null (an object without members, as in a map)
}

// pageBuf is a page's body and the spans of its items, in turn. list
// reuses one from page to page.
type pageBuf struct {
	body  []byte
	spans []span
}

// span is where the value of a member the decoders read lies in the body.
type span struct {
	start, end uint32
	key        key
	plain      bool // see value
}

// maxPage is the longest body the page pass reads (its offsets are 32
// bits); Options.MaxBodyBytes is bounded by it.
const maxPage = 1 << 31

func (it *item) raw() []byte { return it.pg.body[it.start:it.end:it.end] }

// get returns the value of the member named by key k.
func (it *item) get(k key) value {
	for _, s := range it.pg.spans[it.first : it.first+uint32(it.n)] {
		if s.key == k {
			return value{raw: it.pg.body[s.start:s.end:s.end], plain: s.plain}
		}
	}
	return value{}
}

// key is a member name the decoders read.
type key uint8

const (
	fID key = iota
	fTitle
	fType
	fTeamID
	fIsLocked
	fLastActivity
	fCreated
	fErrors
	fRoomID
	fParentID
	fPersonID
	nKeys
)

// keyOf returns the key named name, ok false for a name no decoder reads.
func keyOf(name []byte) (_ key, ok bool) {
	switch string(name) {
	case "id":
		return fID, true
	case "title":
		return fTitle, true
	case "type":
		return fType, true
	case "teamId":
		return fTeamID, true
	case "isLocked":
		return fIsLocked, true
	case "lastActivity":
		return fLastActivity, true
	case "created":
		return fCreated, true
	case "errors":
		return fErrors, true
	case "roomId":
		return fRoomID, true
	case "parentId":
		return fParentID, true
	case "personId":
		return fPersonID, true
	}
	return 0, false
}

// readItem reads one item on its own (a single room's answer, a
// membership), validating it as encoding/json would. What is no valid
// JSON is an item that is no object.
func readItem(raw []byte) item {
	pg := &pageBuf{body: raw}
	if len(raw) >= maxPage {
		return item{pg: pg, end: maxPage - 1}
	}
	s := scanner{b: raw}
	var it item
	s.space()
	ok := s.item(&it, 0)
	if s.space(); !ok || s.i != len(raw) {
		return item{pg: pg, end: uint32(len(raw))}
	}
	pg.spans = s.spans
	it.pg = pg
	return it
}

// hasMember reports whether the JSON object raw, known to be valid JSON,
// has a member named name, as decoding it into a map tells; ok is false
// when raw is no object.
func hasMember(raw []byte, name string) (has, ok bool) {
	s := scanner{b: raw}
	if s.space(); !s.byte('{') {
		return false, false
	}
	if s.space(); s.byte('}') {
		return false, true
	}
	for {
		start := s.i
		_, kind := s.string()
		n := raw[start+1 : s.i-1]
		if kind&escaped != 0 {
			u, _ := stringValue(raw[start:s.i])
			n = []byte(u)
		}
		if string(n) == name {
			return true, true
		}
		s.space()
		s.byte(':')
		s.space()
		s.value(1)
		if s.space(); !s.byte(',') {
			return false, true
		}
		s.space()
	}
}

// validItem is a list item of a page left to encoding/json (decodePage).
type validItem []byte

// UnmarshalJSON keeps a copy of the item.
func (v *validItem) UnmarshalJSON(b []byte) error {
	*v = bytes.Clone(b)
	return nil
}

// decodePage reads the items of a list answer ({"items": [...]}) into
// items. Items of type item or json.RawMessage are read in one pass over
// body that also validates it, slices of body, not copies (splitPage),
// unless body is something splitPage leaves to encoding/json, which
// decodes every other type. The room of items and pg (for items) is
// reused.
func decodePage[T any](body []byte, items *[]T, pg *pageBuf) error {
	switch v := any(items).(type) {
	case *[]item:
		if split, ok := splitPage(body, (*v)[:0], pg); ok {
			*v = split
			return nil
		}
		var p page[validItem] // the same errors as before items were read in one pass
		if err := json.Unmarshal(body, &p); err != nil {
			*v = (*v)[:0]
			return err
		}
		// Valid, with a plain "items": the same items, read in one pass.
		plain := []byte(`{"items":[`)
		for i, raw := range p.Items {
			if i > 0 {
				plain = append(plain, ',')
			}
			plain = append(plain, raw...)
		}
		plain = append(plain, "]}"...)
		split, ok := splitPage(plain, (*v)[:0], pg)
		if !ok { // not met: plain is valid, and no longer than body
			return fmt.Errorf("a page of %d bytes encoding/json read could not be read again", len(body))
		}
		*v = split
		return nil
	case *[]json.RawMessage: // as encoding/json would, but slices of body
		if split, ok := splitPage(body, nil, pg); ok {
			*v = make([]json.RawMessage, len(split))
			for i := range split {
				(*v)[i] = json.RawMessage(split[i].raw())
			}
			return nil
		}
	}
	var p page[T]
	err := json.Unmarshal(body, &p)
	*items = p.Items
	return err
}

// splitPage reads the elements of the "items" array of the JSON object
// body, appending them to buf, each an item (see item) whose bytes are a
// slice of body, its spans kept in pg: what encoding/json decodes into a
// page[json.RawMessage], each element then into a
// map[string]json.RawMessage (decode_test.go proves it). It reads body
// once, validating it as it goes. ok is false for what it leaves to
// encoding/json: body is not valid JSON, not an object, its items are not
// an array or null, or one of its own member names is written with
// escapes or other than ASCII (encoding/json matches names without regard
// to case, Unicode's included); and for a body of maxPage bytes or more.
func splitPage(body []byte, buf []item, pg *pageBuf) (_ []item, ok bool) {
	if len(body) >= maxPage {
		return nil, false
	}
	s := scanner{b: body, spans: pg.spans[:0]}
	items := buf
	s.space()
	if !s.byte('{') {
		return nil, false
	}
	if s.space(); !s.byte('}') {
		for {
			start := s.i
			if ok, kind := s.string(); !ok || kind != 0 {
				return nil, false
			}
			name := body[start+1 : s.i-1]
			if s.space(); !s.byte(':') {
				return nil, false
			}
			s.space()
			if !bytes.EqualFold(name, []byte("items")) {
				if !s.value(1) { // in the page's object
					return nil, false
				}
			} else if items, ok = s.items(buf[:0]); !ok {
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
	pg.body, pg.spans = body, s.spans
	for i := range items {
		items[i].pg = pg
	}
	return items, true
}

// scanner reads JSON (RFC 8259) as encoding/json accepts it.
type scanner struct {
	b     []byte
	i     int
	spans []span // item appends the spans of the members the decoders read
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

// items reads the value of "items", an array (its elements) or null (no
// items), appending the elements to items.
func (s *scanner) items(items []item) ([]item, bool) {
	if s.literal("null") {
		return items, true
	}
	if !s.byte('[') {
		return nil, false
	}
	if s.space(); s.byte(']') {
		return items, true
	}
	for {
		items = append(items, item{})
		if !s.item(&items[len(items)-1], 2) { // in the page's object and the items array
			return nil, false
		}
		if s.space(); s.byte(']') {
			return items, true
		}
		if !s.byte(',') {
			return nil, false
		}
		s.space()
	}
}

// item reads one value inside depth arrays and objects into it (zero but
// for pg, which the caller sets): an object member by member, noting where
// the values of the keys lie.
func (s *scanner) item(it *item, depth int) bool {
	start := s.i
	it.first = uint32(len(s.spans))
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		if !s.value(depth) {
			return false
		}
		it.start, it.end, it.object = uint32(start), uint32(s.i), s.b[start] == 'n'
		return true
	}
	if depth++; depth > maxDepth {
		return false
	}
	s.i++
	if s.space(); !s.byte('}') {
		for {
			nameAt := s.i
			ok, kind := s.string()
			if !ok {
				return false
			}
			name := s.b[nameAt+1 : s.i-1]
			if kind&escaped != 0 { // rare: decoded as encoding/json does
				u, _ := stringValue(s.b[nameAt:s.i])
				name = []byte(u)
			}
			k, known := keyOf(name)
			if s.space(); !s.byte(':') {
				return false
			}
			s.space()
			at, plain := s.i, false
			if s.i < len(s.b) && s.b[s.i] == '"' {
				ok, kind = s.string()
				plain = kind == 0
			} else {
				ok = s.value(depth)
			}
			if !ok {
				return false
			}
			if known {
				s.note(it, span{start: uint32(at), end: uint32(s.i), key: k, plain: plain})
			}
			if s.space(); s.byte('}') {
				break
			}
			if !s.byte(',') {
				return false
			}
			s.space()
		}
	}
	it.start, it.end, it.object = uint32(start), uint32(s.i), true
	return true
}

// note keeps sp as the span of its key in it: the last one given counts.
func (s *scanner) note(it *item, sp span) {
	for i := it.first; i < uint32(len(s.spans)); i++ {
		if s.spans[i].key == sp.key {
			s.spans[i] = sp
			return
		}
	}
	s.spans = append(s.spans, sp)
	it.n++
}

// value reads one JSON value inside depth arrays and objects.
func (s *scanner) value(depth int) bool {
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		ok, _ := s.string()
		return ok
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
				if ok, _ := s.string(); !ok {
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

// What a string holds besides plain ASCII (scanner.string).
const (
	nonASCII = 1 << iota // bytes of 0x80 and more: UTF-8 or not (encoding/json accepts either)
	escaped              // a backslash escape
)

// string reads a string: no control characters, valid escapes (bytes that
// are not UTF-8 are accepted, as encoding/json does). kind says what it
// holds besides plain ASCII. The bytes are read eight at a time while
// none of them ends the string or needs a closer look (FuzzSplitPage and
// FuzzReadItem prove it equal to encoding/json).
func (s *scanner) string() (ok bool, kind uint8) {
	b, i := s.b, s.i
	if i >= len(b) || b[i] != '"' {
		return false, 0
	}
	i++
	var high uint64 // the plain bytes read eight at a time, or'ed: their high bits say non-ASCII
	for {
		for i+8 <= len(b) {
			w := binary.LittleEndian.Uint64(b[i:])
			if m := special(w); m != 0 {
				k := bits.TrailingZeros64(m) / 8 // the first special byte: the k before it are plain
				high |= w << (64 - 8*k)
				i += k
				break
			}
			high |= w
			i += 8
		}
		if i >= len(b) {
			return false, 0
		}
		switch c := b[i]; {
		case c == '"':
			s.i = i + 1
			if high&highs != 0 {
				kind |= nonASCII
			}
			return true, kind
		case c < 0x20:
			return false, 0
		case c == '\\':
			kind |= escaped
			if i+1 >= len(b) {
				return false, 0
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return false, 0
				}
				for _, h := range b[i+2 : i+6] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return false, 0
					}
				}
				i += 6
			default:
				return false, 0
			}
		default: // a byte among the last seven of b
			if c >= 0x80 {
				kind |= nonASCII
			}
			i++
		}
	}
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// special has the high bit set of the first byte of w (little endian) that
// is a quote, a backslash or a control character, if there is one; it may
// have those of bytes after it too, never of one before it (the borrow of
// a subtraction runs upwards). Bytes of 0x80 and more are none of these.
func special(w uint64) uint64 {
	q, bs := w^(ones*'"'), w^(ones*'\\')
	return ((q-ones)&^q | (bs-ones)&^bs | (w-ones*0x20)&^w) & highs
}

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
