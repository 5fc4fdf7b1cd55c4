package webex

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// oddPages are listing pages with items of every oddity the lenient
// decoders meet: what they keep and report must not change with how they
// read a page.
var oddPages = []string{
	`{"items":[{"id":"r1","title":"ok","type":"group","isLocked":false,"lastActivity":"2026-11-24T11:00:00.000Z","created":"2025-03-01T08:00:00.000Z"},` +
		`{"id":42,"title":"numeric id"},{"title":"no id"},{"id":""},{"id":null},null,[1],"room",7,` +
		`{"id":"r2","title":7,"type":["group"],"teamId":{"a":1},"isLocked":"yes","lastActivity":"yesterday","created":12},` +
		`{"id":"r3","isLocked":"true","lastActivity":"2026-11-24T12:00:00+01:00","created":"2024-02-29T23:59:59.999Z"},` +
		`{"id":"r4","title":"eyJhbGciOi","errors":{"title":{"code":"kms_failure"}}},` +
		`{"id":"r5","title":"kept","errors":"no object"},{"id":"r6","title":"kept too","errors":{"\u0074itle":{}}},` +
		`{"\u0069d":"r7","title":"caf\u00e9 \"quoted\"","type":"direct","teamId":"t\u0031"},` +
		`{"id":"r8","id":"r8 last","title":"a","title":"b","isLocked":true,"isLocked":1},` +
		`{"id":"r9","lastActivity":"2026-02-30T00:00:00.000Z","created":"2026-11-24T11:00:00.000Z "},` +
		"{\"id\":\"r10\",\"title\":\"bad \xff utf-8\",\"type\":\"gr\xc3\xa9up\"}]}",
	`{"items":[{"id":"m1","roomId":"r","personId":"p","created":"2026-11-24T11:00:00.000Z"},` +
		`{"id":"m2","created":"soon"},{"id":"m3"},{"id":"m4","created":""},{"id":"m5","created":null},` +
		`{"id":"m6","roomId":1,"parentId":["x"],"personId":false,"created":"2026-11-24T10:00:00.000Z"},` +
		`{"id":"m7","roomId":"r","parentId":"m1","personId":"p","created":"2026-11-24T09:59:59.5Z"},{"created":"2026-11-24T09:00:00.000Z"},[]]}`,
	`{"items":[{"id":"x1","roomId":"r","personId":"p"},{"id":1},{"id":"x2","roomId":[],"personId":{"id":"p"}},"x3"]}`,
	`{"items":{"id":"r1"}}`,
	`{"items":[{"id":"r1"}],"items":"x"}`,
	`{"Items":[{"id":"r1"}],"notice":"\u00e9"}`,
	`{"items":[{"id":"r1",}]}`,
	`[{"id":"r1"}]`,
	``,
}

// TestOddItemsReported: every odd page decodes to the rooms, messages and
// memberships, reports and errors recorded here, from the decoders as
// they were before a page was read in one pass (main 8388270).
func TestOddItemsReported(t *testing.T) {
	ctx := context.Background()
	var got []string
	for _, page := range oddPages {
		var reports []string
		c := fuzzClient(t, []byte(page), func(b BadItem) { reports = append(reports, b.String()) })
		rooms, err := c.Rooms(ctx, RoomsQuery{})
		got = append(got, fmt.Sprintf("rooms %+v %v %q", rooms, err, reports))
		reports = nil
		msgs, err := c.Messages(ctx, MessagesQuery{RoomID: "r", StopAtID: "m7"})
		got = append(got, fmt.Sprintf("messages %+v %v %q", msgs, err, reports))
		reports = nil
		ms, err := c.Memberships(ctx, "r")
		got = append(got, fmt.Sprintf("memberships %+v %v %q", ms, err, reports))
	}
	// A single room, decoded as a listing's item is.
	for _, body := range []string{`{"id":"r1","title":7,"errors":[]}`, `{"title":"no id"}`, `{"id":"r1"} trailing`, `"r1"`} {
		var reports []string
		c := fuzzClient(t, []byte(body), func(b BadItem) { reports = append(reports, b.String()) })
		r, err := c.Room(ctx, "r1")
		got = append(got, fmt.Sprintf("room %+v %v %q", r, err, reports))
	}
	if !slices.Equal(got, oddWant) {
		var b strings.Builder
		for i, g := range got {
			if i >= len(oddWant) || g != oddWant[i] {
				fmt.Fprintf(&b, "\n%d: got  %s", i, g)
				if i < len(oddWant) {
					fmt.Fprintf(&b, "\n%d: want %s", i, oddWant[i])
				}
			}
		}
		t.Errorf("%d results, want %d:%s", len(got), len(oddWant), b.String())
		if testing.Verbose() {
			for _, g := range got {
				fmt.Printf("\t%q,\n", g)
			}
		}
	}
}

var oddWant = []string{
	"rooms [{ID:r1 Title:ok Type:group TeamID: IsLocked:false LastActivity:2026-11-24 11:00:00 +0000 UTC Created:2025-03-01 08:00:00 +0000 UTC TitleUnavailable:false} {ID:r2 Title: Type: TeamID: IsLocked:false LastActivity:0001-01-01 00:00:00 +0000 UTC Created:0001-01-01 00:00:00 +0000 UTC TitleUnavailable:false} {ID:r3 Title: Type: TeamID: IsLocked:true LastActivity:2026-11-24 11:00:00 +0000 UTC Created:2024-02-29 23:59:59.999 +0000 UTC TitleUnavailable:false} {ID:r4 Title: Type: TeamID: IsLocked:false LastActivity:0001-01-01 00:00:00 +0000 UTC Created:0001-01-01 00:00:00 +0000 UTC TitleUnavailable:true} {ID:r5 Title:kept Type: TeamID: IsLocked:false LastActivity:0001-01-01 00:00:00 +0000 UTC Created:0001-01-01 00:00:00 +0000 UTC TitleUnavailable:false} {ID:r6 Title: Type: TeamID: IsLocked:false LastActivity:0001-01-01 00:00:00 +0000 UTC Created:0001-01-01 00:00:00 +0000 UTC TitleUnavailable:true} {ID:r7 Title:café \"quoted\" Type:direct TeamID:t1 IsLocked:false LastActivity:0001-01-01 00:00:00 +0000 UTC Created:0001-01-01 00:00:00 +0000 UTC TitleUnavailable:false} {ID:r8 last Title:b Type: TeamID: IsLocked:false LastActivity:0001-01-01 00:00:00 +0000 UTC Created:0001-01-01 00:00:00 +0000 UTC TitleUnavailable:false} {ID:r9 Title: Type: TeamID: IsLocked:false LastActivity:0001-01-01 00:00:00 +0000 UTC Created:0001-01-01 00:00:00 +0000 UTC TitleUnavailable:false} {ID:r10 Title:bad � utf-8 Type:gréup TeamID: IsLocked:false LastActivity:0001-01-01 00:00:00 +0000 UTC Created:0001-01-01 00:00:00 +0000 UTC TitleUnavailable:false}] <nil> [\"webex rooms item \\\"\\\": item skipped: no id: 42\" \"webex rooms item \\\"\\\": item skipped: no id: absent\" \"webex rooms item \\\"\\\": item skipped: no id: \\\"\\\"\" \"webex rooms item \\\"\\\": item skipped: no id: null\" \"webex rooms item \\\"\\\": item skipped: no id: absent\" \"webex rooms item \\\"\\\": item skipped: not a JSON object: [1]\" \"webex rooms item \\\"\\\": item skipped: not a JSON object: \\\"room\\\"\" \"webex rooms item \\\"\\\": item skipped: not a JSON object: 7\" \"webex rooms item \\\"r2\\\": field title left out: not a string: 7\" \"webex rooms item \\\"r2\\\": field type left out: not a string: [\\\"group\\\"]\" \"webex rooms item \\\"r2\\\": field teamId left out: not a string: {\\\"a\\\":1}\" \"webex rooms item \\\"r2\\\": field isLocked left out: not a boolean: \\\"yes\\\"\" \"webex rooms item \\\"r2\\\": field lastActivity left out: not an RFC 3339 time: \\\"yesterday\\\"\" \"webex rooms item \\\"r2\\\": field created left out: not a string: 12\" \"webex rooms item \\\"r5\\\": field errors left out: not an object: \\\"no object\\\"\" \"webex rooms item \\\"r8 last\\\": field isLocked left out: not a boolean: 1\" \"webex rooms item \\\"r9\\\": field lastActivity left out: not an RFC 3339 time: \\\"2026-02-30T00:00:00.000Z\\\"\" \"webex rooms item \\\"r9\\\": field created left out: not an RFC 3339 time: \\\"2026-11-24T11:00:00.000Z\\\"\"]",
	"messages [{ID:r1 RoomID: ParentID: PersonID: Created:2025-03-01 08:00:00 +0000 UTC} {ID:r3 RoomID: ParentID: PersonID: Created:2024-02-29 23:59:59.999 +0000 UTC}] <nil> [\"webex messages item \\\"\\\": item skipped: no id: 42\" \"webex messages item \\\"\\\": item skipped: no id: absent\" \"webex messages item \\\"\\\": item skipped: no id: \\\"\\\"\" \"webex messages item \\\"\\\": item skipped: no id: null\" \"webex messages item \\\"\\\": item skipped: no id: absent\" \"webex messages item \\\"\\\": item skipped: not a JSON object: [1]\" \"webex messages item \\\"\\\": item skipped: not a JSON object: \\\"room\\\"\" \"webex messages item \\\"\\\": item skipped: not a JSON object: 7\" \"webex messages item \\\"r2\\\": item skipped: not a string: 12\" \"webex messages item \\\"r4\\\": item skipped: no creation time\" \"webex messages item \\\"r5\\\": item skipped: no creation time\" \"webex messages item \\\"r6\\\": item skipped: no creation time\" \"webex messages item \\\"r7\\\": item skipped: no creation time\" \"webex messages item \\\"r8 last\\\": item skipped: no creation time\" \"webex messages item \\\"r9\\\": item skipped: not an RFC 3339 time: \\\"2026-11-24T11:00:00.000Z\\\"\" \"webex messages item \\\"r10\\\": item skipped: no creation time\"]",
	"memberships [{ID:r1 RoomID: PersonID:} {ID:r2 RoomID: PersonID:} {ID:r3 RoomID: PersonID:} {ID:r4 RoomID: PersonID:} {ID:r5 RoomID: PersonID:} {ID:r6 RoomID: PersonID:} {ID:r7 RoomID: PersonID:} {ID:r8 last RoomID: PersonID:} {ID:r9 RoomID: PersonID:} {ID:r10 RoomID: PersonID:}] <nil> [\"webex memberships item \\\"\\\": item skipped: no id: 42\" \"webex memberships item \\\"\\\": item skipped: no id: absent\" \"webex memberships item \\\"\\\": item skipped: no id: \\\"\\\"\" \"webex memberships item \\\"\\\": item skipped: no id: null\" \"webex memberships item \\\"\\\": item skipped: no id: absent\" \"webex memberships item \\\"\\\": item skipped: not a JSON object: [1]\" \"webex memberships item \\\"\\\": item skipped: not a JSON object: \\\"room\\\"\" \"webex memberships item \\\"\\\": item skipped: not a JSON object: 7\"]",
	"rooms [{ID:m1 Title: Type: TeamID: IsLocked:false LastActivity:0001-01-01 00:00:00 +0000 UTC Created:2026-11-24 11:00:00 +0000 UTC TitleUnavailable:false} {ID:m2 Title: Type: TeamID: IsLocked:false LastActivity:0001-01-01 00:00:00 +0000 UTC Created:0001-01-01 00:00:00 +0000 UTC TitleUnavailable:false} {ID:m3 Title: Type: TeamID: IsLocked:false LastActivity:0001-01-01 00:00:00 +0000 UTC Created:0001-01-01 00:00:00 +0000 UTC TitleUnavailable:false} {ID:m4 Title: Type: TeamID: IsLocked:false LastActivity:0001-01-01 00:00:00 +0000 UTC Created:0001-01-01 00:00:00 +0000 UTC TitleUnavailable:false} {ID:m5 Title: Type: TeamID: IsLocked:false LastActivity:0001-01-01 00:00:00 +0000 UTC Created:0001-01-01 00:00:00 +0000 UTC TitleUnavailable:false} {ID:m6 Title: Type: TeamID: IsLocked:false LastActivity:0001-01-01 00:00:00 +0000 UTC Created:2026-11-24 10:00:00 +0000 UTC TitleUnavailable:false} {ID:m7 Title: Type: TeamID: IsLocked:false LastActivity:0001-01-01 00:00:00 +0000 UTC Created:2026-11-24 09:59:59.5 +0000 UTC TitleUnavailable:false}] <nil> [\"webex rooms item \\\"m2\\\": field created left out: not an RFC 3339 time: \\\"soon\\\"\" \"webex rooms item \\\"\\\": item skipped: no id: absent\" \"webex rooms item \\\"\\\": item skipped: not a JSON object: []\"]",
	"messages [{ID:m1 RoomID:r ParentID: PersonID:p Created:2026-11-24 11:00:00 +0000 UTC} {ID:m6 RoomID: ParentID: PersonID: Created:2026-11-24 10:00:00 +0000 UTC}] <nil> [\"webex messages item \\\"m2\\\": item skipped: not an RFC 3339 time: \\\"soon\\\"\" \"webex messages item \\\"m3\\\": item skipped: no creation time\" \"webex messages item \\\"m4\\\": item skipped: no creation time\" \"webex messages item \\\"m5\\\": item skipped: no creation time\" \"webex messages item \\\"m6\\\": field roomId left out: not a string: 1\" \"webex messages item \\\"m6\\\": field parentId left out: not a string: [\\\"x\\\"]\" \"webex messages item \\\"m6\\\": field personId left out: not a string: false\"]",
	"memberships [{ID:m1 RoomID:r PersonID:p} {ID:m2 RoomID: PersonID:} {ID:m3 RoomID: PersonID:} {ID:m4 RoomID: PersonID:} {ID:m5 RoomID: PersonID:} {ID:m6 RoomID: PersonID:} {ID:m7 RoomID:r PersonID:p}] <nil> [\"webex memberships item \\\"m6\\\": field roomId left out: not a string: 1\" \"webex memberships item \\\"m6\\\": field personId left out: not a string: false\" \"webex memberships item \\\"\\\": item skipped: no id: absent\" \"webex memberships item \\\"\\\": item skipped: not a JSON object: []\"]",
	"rooms [{ID:x1 Title: Type: TeamID: IsLocked:false LastActivity:0001-01-01 00:00:00 +0000 UTC Created:0001-01-01 00:00:00 +0000 UTC TitleUnavailable:false} {ID:x2 Title: Type: TeamID: IsLocked:false LastActivity:0001-01-01 00:00:00 +0000 UTC Created:0001-01-01 00:00:00 +0000 UTC TitleUnavailable:false}] <nil> [\"webex rooms item \\\"\\\": item skipped: no id: 1\" \"webex rooms item \\\"\\\": item skipped: not a JSON object: \\\"x3\\\"\"]",
	"messages [] <nil> [\"webex messages item \\\"x1\\\": item skipped: no creation time\" \"webex messages item \\\"\\\": item skipped: no id: 1\" \"webex messages item \\\"x2\\\": item skipped: no creation time\" \"webex messages item \\\"\\\": item skipped: not a JSON object: \\\"x3\\\"\"]",
	"memberships [{ID:x1 RoomID:r PersonID:p} {ID:x2 RoomID: PersonID:}] <nil> [\"webex memberships item \\\"\\\": item skipped: no id: 1\" \"webex memberships item \\\"x2\\\": field roomId left out: not a string: []\" \"webex memberships item \\\"x2\\\": field personId left out: not a string: {\\\"id\\\":\\\"p\\\"}\" \"webex memberships item \\\"\\\": item skipped: not a JSON object: \\\"x3\\\"\"]",
	"rooms [] webex rooms: decoding answer: json: cannot unmarshal object into Go struct field page[github.com/webex-exporter/webex_exporter/webex.validItem].items of type []webex.validItem []",
	"messages [] webex messages: decoding answer: json: cannot unmarshal object into Go struct field page[github.com/webex-exporter/webex_exporter/webex.validItem].items of type []webex.validItem []",
	"memberships [] webex memberships: decoding answer: json: cannot unmarshal object into Go struct field page[encoding/json.RawMessage].items of type []json.RawMessage []",
	"rooms [] webex rooms: decoding answer: json: cannot unmarshal string into Go struct field page[github.com/webex-exporter/webex_exporter/webex.validItem].items of type []webex.validItem []",
	"messages [] webex messages: decoding answer: json: cannot unmarshal string into Go struct field page[github.com/webex-exporter/webex_exporter/webex.validItem].items of type []webex.validItem []",
	"memberships [] webex memberships: decoding answer: json: cannot unmarshal string into Go struct field page[encoding/json.RawMessage].items of type []json.RawMessage []",
	"rooms [{ID:r1 Title: Type: TeamID: IsLocked:false LastActivity:0001-01-01 00:00:00 +0000 UTC Created:0001-01-01 00:00:00 +0000 UTC TitleUnavailable:false}] <nil> []",
	"messages [] <nil> [\"webex messages item \\\"r1\\\": item skipped: no creation time\"]",
	"memberships [{ID:r1 RoomID: PersonID:}] <nil> []",
	"rooms [] webex rooms: decoding answer: invalid character '}' looking for beginning of object key string []",
	"messages [] webex messages: decoding answer: invalid character '}' looking for beginning of object key string []",
	"memberships [] webex memberships: decoding answer: invalid character '}' looking for beginning of object key string []",
	"rooms [] webex rooms: decoding answer: json: cannot unmarshal array into Go value of type webex.page[github.com/webex-exporter/webex_exporter/webex.validItem] []",
	"messages [] webex messages: decoding answer: json: cannot unmarshal array into Go value of type webex.page[github.com/webex-exporter/webex_exporter/webex.validItem] []",
	"memberships [] webex memberships: decoding answer: json: cannot unmarshal array into Go value of type webex.page[encoding/json.RawMessage] []",
	"rooms [] webex rooms: decoding answer: unexpected end of JSON input []",
	"messages [] webex messages: decoding answer: unexpected end of JSON input []",
	"memberships [] webex memberships: decoding answer: unexpected end of JSON input []",
	"room {ID:r1 Title: Type: TeamID: IsLocked:false LastActivity:0001-01-01 00:00:00 +0000 UTC Created:0001-01-01 00:00:00 +0000 UTC TitleUnavailable:false} <nil> [\"webex rooms item \\\"r1\\\": field title left out: not a string: 7\" \"webex rooms item \\\"r1\\\": field errors left out: not an object: []\"]",
	"room {ID: Title: Type: TeamID: IsLocked:false LastActivity:0001-01-01 00:00:00 +0000 UTC Created:0001-01-01 00:00:00 +0000 UTC TitleUnavailable:false} webex rooms: decoding answer: room r1: an answer without an id [\"webex rooms item \\\"\\\": item skipped: no id: absent\"]",
	"room {ID: Title: Type: TeamID: IsLocked:false LastActivity:0001-01-01 00:00:00 +0000 UTC Created:0001-01-01 00:00:00 +0000 UTC TitleUnavailable:false} webex rooms: decoding answer: room r1: an answer without an id [\"webex rooms item \\\"\\\": item skipped: not a JSON object: {\\\"id\\\":\\\"r1\\\"} trailing\"]",
	"room {ID: Title: Type: TeamID: IsLocked:false LastActivity:0001-01-01 00:00:00 +0000 UTC Created:0001-01-01 00:00:00 +0000 UTC TitleUnavailable:false} webex rooms: decoding answer: room r1: an answer without an id [\"webex rooms item \\\"\\\": item skipped: not a JSON object: \\\"r1\\\"\"]",
}

// TestNoRoomsIsNil: a listing without rooms (none listed, or none usable)
// is nil, as it was when the rooms were appended one by one.
func TestNoRoomsIsNil(t *testing.T) {
	for _, body := range []string{`{"items":[]}`, `{"items":[{"id":1}]}`, `{}`} {
		rooms, err := fuzzClient(t, []byte(body), nil).Rooms(context.Background(), RoomsQuery{})
		if rooms != nil || err != nil {
			t.Errorf("%s: %#v, %v; want nil, nil", body, rooms, err)
		}
	}
}
