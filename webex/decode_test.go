package webex

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
	"unsafe"
)

// readItemCases are items readItem must read exactly as decoding into a
// map does.
var readItemCases = []string{
	`{}`,
	` { } `,
	`{"id":"a","created":"2026-11-24T12:00:00.000Z","personId":"p"}`,
	"\t{ \"id\" : \"a\" ,\n\"title\":\"x\\\"y\\\\\" , \"isLocked\" : true }\r\n",
	`{"id":"first","id":"last"}`,
	`{"ID":"upper","Id":"mixed","id":"exact"}`,
	`{"errors":{"title":{"code":"kms_failure","reason":"}{]["}},"title":"eyJhbGciOi"}`,
	`{"errors":{"\u0074itle":1}}`,
	`{"errors":{"Title":1,"title\u0000":2}}`,
	`{"errors":[{"title":1}]}`,
	`{"a":[1,{"b":[]},"]"],"n":-1.5e3,"t":true,"f":false,"z":null,"id":"x"}`,
	`{"\u0069d":"escaped name"}`,
	`{"id":"plain","\u0069d":"escaped name wins, being last"}`,
	`{"id":"\u00e9t\u00e9","title":"caf\u00e9 \ud83d\ude00"}`,
	`{"id":"été","title":"café"}`,
	"{\"title\":\"bad \xff utf-8\"}",
	"{\"id\xff\":\"bad name\"}",
	`{"id":"a",}`,
	`{"id":"a"`,
	`{"id":"a"} x`,
	`null`,
	`[{"id":"a"}]`,
	`"id"`,
	`42`,
	``,
}

// TestReadItem: readItem reads an item as decoding it into a
// map[string]json.RawMessage does: an object (or null) exactly when that
// decoding succeeds, the value of every key byte for byte (the values
// appear in BadItem reasons), "plain" only for strings whose value their
// quotes hold, and the errors' title as the map tells.
func TestReadItem(t *testing.T) {
	for _, c := range readItemCases {
		t.Run(c, func(t *testing.T) { checkReadItem(t, []byte(c)) })
	}
}

// FuzzReadItem: readItem agrees with encoding/json on any input.
func FuzzReadItem(f *testing.F) {
	for _, c := range readItemCases {
		f.Add([]byte(c))
	}
	f.Fuzz(checkReadItem)
}

// keyNames are the names of the keys, and names that are none.
var keyNames = []string{"id", "title", "type", "teamId", "isLocked", "lastActivity", "created", "errors",
	"roomId", "parentId", "personId", "ID", "Title", "items", "", "creatorId"}

func checkReadItem(t *testing.T, raw []byte) {
	it := readItem(raw)
	var m map[string]json.RawMessage
	err := json.Unmarshal(raw, &m)
	if it.object != (err == nil) {
		t.Fatalf("readItem(%q).object = %v; encoding/json: %v", raw, it.object, err)
	}
	if !it.object {
		if shown(it.raw()) != shown(raw) { // as a report shows it
			t.Fatalf("readItem(%q).raw = %q, not the input", raw, it.raw())
		}
		return
	}
	if !bytes.Equal(it.raw(), bytes.Trim(raw, " \t\r\n")) {
		t.Fatalf("readItem(%q).raw = %q", raw, it.raw())
	}
	keys := 0
	for _, name := range keyNames {
		k, ok := keyOf([]byte(name))
		if !ok {
			continue
		}
		keys++
		v := it.get(k)
		if want, in := m[name]; !bytes.Equal(v.raw, want) || in != (len(v.raw) > 0) {
			t.Fatalf("readItem(%q).get(%q) = %q, encoding/json %q", raw, name, v.raw, want)
		}
		if v.plain {
			var s string
			if err := json.Unmarshal(v.raw, &s); err != nil || s != string(v.raw[1:len(v.raw)-1]) {
				t.Fatalf("readItem(%q): %q is not plain: %q, %v", raw, v.raw, s, err)
			}
		}
		if name == "errors" && len(v.raw) > 0 {
			has, ok := hasMember(v.raw, "title")
			var errs map[string]json.RawMessage
			err := json.Unmarshal(v.raw, &errs)
			if _, want := errs["title"]; has != want || ok != (err == nil) {
				t.Fatalf("hasMember(%q, title) = %v, %v; encoding/json %v, %v", v.raw, has, ok, want, err)
			}
		}
	}
	if keys != int(nKeys) {
		t.Fatalf("keyNames names %d keys of %d", keys, nKeys)
	}
}

// TestStringValue: the shortcut for plain strings decodes as encoding/json does.
func TestStringValue(t *testing.T) {
	for _, raw := range []string{`""`, `"abc"`, `"a\"b"`, `"\u00e9"`, "\"\xff\"", `"é"`, `42`, `null`, `"`, `["a"]`} {
		t.Run(raw, func(t *testing.T) {
			got, err := stringValue(json.RawMessage(raw))
			var want string
			werr := json.Unmarshal([]byte(raw), &want)
			if (err == nil) != (werr == nil) || got != want {
				t.Fatalf("stringValue(%s) = %q, %v; encoding/json %q, %v", raw, got, err, want, werr)
			}
		})
	}
}

// splitPageCases are pages splitPage must split exactly as encoding/json
// decodes them into a page[json.RawMessage], or leave to it.
var splitPageCases = []string{
	`{"items":[]}`,
	`{"items":null}`,
	`{}`,
	` {"items" : [ {"id":"a","title":"x\"y\\\u00e9"} , {"id":"b"} ] } `,
	`{"items":[{"id":"a"}],"notice":{"a":[1,2,{"b":null}]},"n":-0.5e+7}`,
	`{"ITEMS":[1],"Items":[2,3]}`,
	`{"items":[1],"items":null}`,
	`{"items":[null,true,false,0,-1,1.5,2e3,"s",[],{}]}`,
	`{"items":[{"id":"a","id":"b"},{"\u0069d":"c","title":"t"},{"a":1},{"n\u00e9":{"x":[{}]}}]}`,
	"{\"items\":[{\"\xff\":1},{\"id\":\"\xff\"}]}",
	`{"items":["\ud83d\ude00","` + "\xff" + `"]}`,
	`{"\u0069tems":[1]}`,
	`{"itemſ":[1]}`,
	`{"items":{}}`,
	`{"items":"x"}`,
	`{"items":[01]}`,
	`{"items":[1.]}`,
	`{"items":[-]}`,
	`{"items":["a` + "\n" + `"]}`,
	`{"items":["\x"]}`,
	`{"items":["\u12"]}`,
	`{"items":[1,]}`,
	`{"items":[1]`,
	`{"items":[1]} x`,
	`{"items":[tru]}`,
	`[{"items":[]}]`,
	`null`,
	``,
	`{"items":[` + strings.Repeat("[", 9998) + strings.Repeat("]", 9998) + `]}`,
	`{"items":[` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `]}`,
}

// TestSplitPage: where splitPage splits a page, it finds the items
// encoding/json does, byte for byte; the plain pages take that path.
func TestSplitPage(t *testing.T) {
	for _, c := range splitPageCases {
		t.Run(clip(c, 60), func(t *testing.T) { checkSplitPage(t, []byte(c)) })
	}
	for _, c := range splitPageCases[:9] {
		if _, ok := splitPage([]byte(c), nil, &pageBuf{}); !ok {
			t.Errorf("splitPage(%s) left it to encoding/json", c)
		}
	}
	deep := splitPageCases[len(splitPageCases)-2]
	if _, ok := splitPage([]byte(deep), nil, &pageBuf{}); !ok {
		t.Errorf("splitPage refused 10,000 levels of nesting, as many as encoding/json takes")
	}
}

// FuzzSplitPage: splitPage agrees with encoding/json on any input.
func FuzzSplitPage(f *testing.F) {
	for _, c := range splitPageCases {
		f.Add([]byte(c))
	}
	f.Fuzz(checkSplitPage)
}

func checkSplitPage(t *testing.T, body []byte) {
	items, ok := splitPage(body, nil, &pageBuf{})
	var p page[json.RawMessage]
	err := json.Unmarshal(body, &p)
	if !ok {
		trimmed := bytes.TrimLeft(body, " \t\r\n")
		if err != nil || !bytes.HasPrefix(trimmed, []byte("{")) || bytes.Contains(body, []byte(`\`)) ||
			!isASCII(body) {
			return // left to encoding/json, rightly
		}
		t.Fatalf("splitPage(%q) left a plain page to encoding/json", body)
	}
	if err != nil {
		t.Fatalf("splitPage(%q) split what encoding/json refuses: %v", body, err)
	}
	if len(items) != len(p.Items) {
		t.Fatalf("splitPage(%q): %d items, encoding/json %d", body, len(items), len(p.Items))
	}
	for i := range items {
		if !bytes.Equal(items[i].raw(), p.Items[i]) {
			t.Fatalf("splitPage(%q) item %d = %q, encoding/json %q", body, i, items[i].raw(), p.Items[i])
		}
		// Read in the page as on its own, which FuzzReadItem ties to encoding/json.
		alone := readItem(p.Items[i])
		if items[i].object != alone.object || items[i].n != alone.n {
			t.Fatalf("splitPage(%q) item %d = %+v, on its own %+v", body, i, items[i], alone)
		}
		for k := range nKeys {
			if got, want := items[i].get(k), alone.get(k); !bytes.Equal(got.raw, want.raw) || got.plain != want.plain {
				t.Fatalf("splitPage(%q) item %d key %d = %+v, on its own %+v", body, i, k, got, want)
			}
		}
	}
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// BenchmarkDecodeRoomsPage decodes a listing page of 1,000 rooms as Webex
// writes them, as a page left to encoding/json is decoded (into
// RawMessages, each item then read again on its own) and as any other is
// (one pass over the page; decoding an item reads only the values it
// uses), side by side. Run it with
//
//	go test -run '^$' -bench DecodeRoomsPage -benchmem ./webex/
func BenchmarkDecodeRoomsPage(b *testing.B) {
	var page bytes.Buffer
	page.WriteString(`{"items":[`)
	for i := range 1000 {
		if i > 0 {
			page.WriteString(",")
		}
		id := base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "ciscospark://us/ROOM/%08x-5a5b-11ee-9c3a-%012x", i, i*7919))
		fmt.Fprintf(&page, `{"id":%q,"title":"Project room %d","type":"group","isLocked":%v,"teamId":%q,`+
			`"lastActivity":"2026-11-24T11:%02d:%02d.%03dZ","creatorId":%q,"created":"2025-03-0%dT08:00:00.000Z",`+
			`"ownerId":"Y2lzY29zcGFyazovL3VzL09SR0FOSVpBVElPTi8xMjM0","isPublic":false,"isReadOnly":false}`,
			id, i, i%7 == 0, id, i%60, i%59, i%1000, id, 1+i%9)
	}
	page.WriteString(`]}`)
	c := &Client{}
	b.Run("encoding-json", func(b *testing.B) {
		d := c.itemDecoder("rooms")
		for b.Loop() {
			var p struct{ Items []json.RawMessage }
			if err := json.Unmarshal(page.Bytes(), &p); err != nil {
				b.Fatal(err)
			}
			for _, raw := range p.Items {
				if it := readItem(raw); !func() bool { _, ok := d.room(&it); return ok }() {
					b.Fatal("room skipped")
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/room")
	})
	b.Run("onePass", func(b *testing.B) {
		d := c.itemDecoder("rooms")
		benchPage(b, page.Bytes(), "room", func(it *item) bool { _, ok := d.room(it); return ok })
	})
}

// benchPage decodes page in one pass and each of its items with decode, as
// a listing does, and reports the time per item (named per).
func benchPage(b *testing.B, page []byte, per string, decode func(*item) bool) {
	var items []item
	var pg pageBuf
	for b.Loop() {
		if err := decodePage(page, &items, &pg); err != nil {
			b.Fatal(err)
		}
		for i := range items {
			if !decode(&items[i]) {
				b.Fatal(per + " skipped")
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(items)), "ns/"+per)
}

// TestDecodePageRaw: a page of json.RawMessage items decodes as
// encoding/json decodes it, item for item, or fails as it does.
func TestDecodePageRaw(t *testing.T) {
	for _, c := range splitPageCases {
		var got []json.RawMessage
		err := decodePage([]byte(c), &got, &pageBuf{})
		var want page[json.RawMessage]
		wantErr := json.Unmarshal([]byte(c), &want)
		if (err == nil) != (wantErr == nil) || len(got) != len(want.Items) {
			t.Errorf("decodePage(%s): %d items, err %v; encoding/json: %d, %v", clip(c, 60), len(got), err, len(want.Items), wantErr)
			continue
		}
		for i := range got {
			if !bytes.Equal(got[i], want.Items[i]) {
				t.Errorf("decodePage(%s): item %d is %s, want %s", clip(c, 60), i, got[i], want.Items[i])
			}
		}
	}
}

// TestDecodePageItems: a page of items decodes as encoding/json decodes
// it, item for item (and each item as on its own), or fails with the
// error encoding/json gives, also where splitPage leaves the page to it.
func TestDecodePageItems(t *testing.T) {
	for _, c := range splitPageCases {
		var got []item
		err := decodePage([]byte(c), &got, &pageBuf{})
		var want page[validItem]
		wantErr := json.Unmarshal([]byte(c), &want)
		if fmt.Sprint(err) != fmt.Sprint(wantErr) || len(got) != len(want.Items) {
			t.Errorf("decodePage(%s): %d items, err %v; encoding/json: %d, %v", clip(c, 60), len(got), err, len(want.Items), wantErr)
			continue
		}
		for i := range got {
			alone := readItem(want.Items[i])
			if !bytes.Equal(got[i].raw(), want.Items[i]) || got[i].object != alone.object {
				t.Errorf("decodePage(%s): item %d is %s, want %s", clip(c, 60), i, got[i].raw(), want.Items[i])
			}
			for k := range nKeys {
				if g, w := got[i].get(k), alone.get(k); !bytes.Equal(g.raw, w.raw) || g.plain != w.plain {
					t.Errorf("decodePage(%s): item %d key %d is %+v, on its own %+v", clip(c, 60), i, k, g, w)
				}
			}
		}
	}
}

// TestItemSize: an item takes no more than the slice of the page it was
// before items were read in one pass, and a member read 12 bytes, so that
// a page of many tiny items (a body of 32 MiB holds 16 million) costs no
// more memory than it did.
func TestItemSize(t *testing.T) {
	if n, m := unsafe.Sizeof(item{}), unsafe.Sizeof(span{}); n > unsafe.Sizeof([]byte{}) || m > 12 {
		t.Errorf("an item takes %d bytes, a span %d", n, m)
	}
}

// quickTimeCases are times quickTime must read as parseTime does, or leave to it.
var quickTimeCases = []string{
	`"2016-04-21T19:12:48.920Z"`, `"0000-01-01T00:00:00.000Z"`, `"9999-12-28T23:59:59.999Z"`, `"2024-02-28T12:00:00.001Z"`,
	`"2024-02-29T12:00:00.001Z"`, `"2023-02-29T12:00:00.001Z"`, `"2024-04-31T12:00:00.000Z"`, `"2024-13-01T12:00:00.000Z"`,
	`"2024-00-01T12:00:00.000Z"`, `"2024-01-00T12:00:00.000Z"`, `"2024-01-01T24:00:00.000Z"`, `"2024-01-01T23:60:00.000Z"`,
	`"2024-01-01T23:59:60.000Z"`, `"2024-01-01T23:59:59.99Z"`, `"2024-01-01t23:59:59.999Z"`, `"2024-01-01T23:59:59.999z"`,
	`"2024-01-01T23:59:59.999+00:00"`, `"2024-01-01 23:59:59.999Z"`, `"+024-01-01T23:59:59.999Z"`, `"2024-01-01T23:59:59.-99Z"`,
	`"2024-01-01T23:59:59,999Z"`, `"2024-01-01T23:59:59.999Z`, `2024-01-01T23:59:59.999Z""`, `"2024-1-01T23:59:59.9999Z"`,
}

// TestQuickTime: quickTime reads Webex's times as parseTime does, to the
// struct (location included), and leaves the rest to it.
func TestQuickTime(t *testing.T) {
	for _, c := range quickTimeCases {
		checkQuickTime(t, []byte(c))
	}
	if _, ok := quickTime([]byte(quickTimeCases[0])); !ok {
		t.Errorf("quickTime(%s) left Webex's own form to time.Parse", quickTimeCases[0])
	}
}

// TestQuickTimeEveryDay: quickTime reads every day of the first, a middle
// and the last 400 years (a whole cycle of leap years) of its range as the
// instant it names, as time.Date has it, at the first and the last
// millisecond of the day.
func TestQuickTimeEveryDay(t *testing.T) {
	for _, years := range [][2]int{{0, 400}, {1900, 2300}, {9600, 10000}} {
		for d := time.Date(years[0], 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < years[1]; d = d.AddDate(0, 0, 1) {
			for _, at := range []time.Time{d, d.Add(24*time.Hour - time.Millisecond)} {
				raw := at.AppendFormat([]byte(`"`), "2006-01-02T15:04:05.000Z")
				raw = append(raw, '"')
				if got, ok := quickTime(raw); !ok || got != at {
					t.Fatalf("quickTime(%s) = %v, %v; want %v", raw, got, ok, at)
				}
			}
		}
	}
}

// FuzzQuickTime: quickTime agrees with parseTime on any input.
func FuzzQuickTime(f *testing.F) {
	for _, c := range quickTimeCases {
		f.Add([]byte(c))
	}
	f.Fuzz(checkQuickTime)
}

func checkQuickTime(t *testing.T, raw []byte) {
	got, ok := quickTime(raw)
	if !ok {
		return // left to parseTime
	}
	s, err := stringValue(raw)
	if err != nil {
		t.Fatalf("quickTime(%s) read what is no JSON string", raw)
	}
	want, err := parseTime(s)
	if err != nil || got != want {
		t.Fatalf("quickTime(%s) = %v, parseTime: %v, %v", raw, got, want, err)
	}
}

// TestScannerString: string, which reads eight bytes at a time, ends
// where a byte-by-byte reading ends, accepts what it accepts and says
// the same of what the string holds, for any byte (every value) at any
// place within a word and across words, alone and after an escape or a
// non-ASCII byte.
func TestScannerString(t *testing.T) {
	var bodies [][]byte
	for n := range 20 {
		for at := range n + 1 {
			for c := range 256 {
				for _, before := range []string{"", `\n`, "é", "\xff"} {
					b := append([]byte(`"`+before), bytes.Repeat([]byte("a"), n)...)
					b = append(b, `"x`...)
					b[1+len(before)+at] = byte(c) // the closing quote itself when at == n
					bodies = append(bodies, b)
				}
			}
		}
	}
	for _, b := range bodies {
		s := scanner{b: b}
		ok, kind := s.string()
		end, wantOK, wantKind := stringByBytes(b)
		if ok != wantOK || (ok && (s.i != end || kind != wantKind)) {
			t.Fatalf("string(%q) = %v, %d, ends at %d; byte by byte %v, %d, %d", b, ok, kind, s.i, wantOK, wantKind, end)
		}
		if ok { // and as encoding/json reads it
			var v string
			if err := json.Unmarshal(b[:end], &v); err != nil || (kind == 0 && v != string(b[1:end-1])) {
				t.Fatalf("string(%q) ok, kind %d; encoding/json %q, %v", b, kind, v, err)
			}
		} else if json.Valid(b[:len(b)-1]) {
			t.Fatalf("string(%q) refused what encoding/json takes", b)
		}
	}
}

// stringByBytes reads the string at b[0] byte by byte, as the scanner did
// before it read eight bytes at a time.
func stringByBytes(b []byte) (end int, ok bool, kind uint8) {
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1, true, kind
		case c < 0x20:
			return 0, false, 0
		case c == '\\':
			kind |= escaped
			if i+1 >= len(b) {
				return 0, false, 0
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if i+6 > len(b) {
					return 0, false, 0
				}
				for _, h := range b[i+2 : i+6] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return 0, false, 0
					}
				}
				i += 5
			default:
				return 0, false, 0
			}
		case c >= 0x80:
			kind |= nonASCII
		}
	}
	return 0, false, 0
}
