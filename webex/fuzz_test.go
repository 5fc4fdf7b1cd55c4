package webex

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Seed corpora live in testdata/fuzz/<FuzzName>/: realistic Webex pages
// (the OpenAPI file's examples, the fake's answers, kms_failure items,
// "+00:00" times) and the malformed values seen in the wild. Run one with
//
//	go test -run '^$' -fuzz '^FuzzDecodeRooms$' -fuzztime 20s ./webex/

// fuzzNow is the time Retry-After dates are read against.
var fuzzNow = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// FuzzNextLink: the Link parser never panics, fails only with
// errMalformedLink, returns absolute URLs, splits a header only at the
// commas between links, and finds exactly the target of a well-formed
// rel="next" link whatever characters its URL holds.
func FuzzNextLink(f *testing.F) {
	cur, _ := url.Parse("https://webexapis.com/v1/messages?roomId=r&max=50")
	f.Fuzz(func(t *testing.T, header, target string) {
		parts := splitLinks(header)
		if len(parts) == 0 || strings.Join(parts, ",") != header {
			t.Fatalf("splitLinks(%q) = %q: not a split of the header", header, parts)
		}
		next, err := nextLink([]string{header}, cur)
		if err != nil && (next != nil || err != errMalformedLink) {
			t.Fatalf("nextLink(%q) = %v, %v", header, next, err)
		}
		if next != nil && !next.IsAbs() {
			t.Fatalf("nextLink(%q) = %v: not absolute", header, next)
		}
		// The links of one header value may as well come as several values,
		// and a previous link in an earlier value changes nothing.
		for _, values := range [][]string{parts, {`<https://webexapis.com/v1/messages?c=prev>; rel="prev"`, header}} {
			n2, err2 := nextLink(values, cur)
			if (err == nil) != (err2 == nil) || urlString(next) != urlString(n2) {
				t.Fatalf("nextLink(%q) = %v, %v but nextLink(%q) = %v, %v", header, next, err, values, n2, err2)
			}
		}

		// A well-formed link to target, among others: its resolved target.
		if strings.ContainsAny(target, "<>") {
			return
		}
		want, werr := cur.Parse(target)
		for _, h := range []string{
			"<" + target + `>; rel="next"`,
			`<https://webexapis.com/v1/messages?c=first>; rel="first", <` + target + `>;rel=next; title="a, b; c"`,
			"<" + target + `> ; REL="prev next"`,
		} {
			got, err := nextLink([]string{h}, cur)
			switch {
			case werr != nil && err != errMalformedLink:
				t.Fatalf("nextLink(%q) = %v, %v; the target does not parse (%v): want errMalformedLink", h, got, err, werr)
			case werr == nil && (err != nil || urlString(got) != want.String()):
				t.Fatalf("nextLink(%q) = %v, %v; want %v", h, got, err, want)
			}
		}
	})
}

func urlString(u *url.URL) string {
	if u == nil {
		return "<nil>"
	}
	return u.String()
}

// FuzzParseRetryAfter: never panics; a delay is never negative nor longer
// than maxRetryAfter; a value that is not understood has no delay; delay
// seconds and HTTP dates mean what they say; surrounding blanks are ignored.
func FuzzParseRetryAfter(f *testing.F) {
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := ParseRetryAfter(v, fuzzNow)
		if d < 0 || d > maxRetryAfter || (!ok && d != 0) {
			t.Fatalf("ParseRetryAfter(%q) = %v, %v", v, d, ok)
		}
		if d2, ok2 := ParseRetryAfter(" \t"+v+"  ", fuzzNow); d2 != d || ok2 != ok {
			t.Fatalf("ParseRetryAfter(%q) = %v, %v but with blanks around %v, %v", v, d, ok, d2, ok2)
		}
		s := strings.TrimSpace(v)
		if isDelaySeconds(s) {
			var want time.Duration
			if !strings.HasPrefix(s, "-") {
				want = maxRetryAfter
				if n := strings.TrimLeft(strings.TrimPrefix(s, "+"), "0"); len(n) <= 7 {
					var secs int64
					for _, c := range n {
						secs = secs*10 + int64(c-'0')
					}
					want = min(time.Duration(secs)*time.Second, maxRetryAfter)
				}
			}
			if !ok || d != want {
				t.Fatalf("ParseRetryAfter(%q) = %v, %v; want %v, true", v, d, ok, want)
			}
			return
		}
		if at, err := http.ParseTime(s); err == nil {
			want := min(max(at.Sub(fuzzNow), 0), maxRetryAfter)
			if !ok || d != want {
				t.Fatalf("ParseRetryAfter(%q) = %v, %v; want %v, true (an HTTP date)", v, d, ok, want)
			}
		}
	})
}

// isDelaySeconds reports whether s is an optionally signed run of digits.
func isDelaySeconds(s string) bool {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// bodyTransport answers every request with a 200 and the same JSON body,
// without a network, so fuzzing drives the client's real path: round trip,
// size limit, paging and decoding.
type bodyTransport []byte

func (b bodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"application/json;charset=UTF-8"}},
		Body:       io.NopCloser(bytes.NewReader(b)),
		Request:    r,
	}, nil
}

func fuzzClient(t *testing.T, body []byte, bad func(BadItem)) *Client {
	c, err := New(Options{BaseURL: "https://webexapis.com/v1", Token: StaticToken("fuzz"),
		HTTPClient: &http.Client{Transport: bodyTransport(body)}, OnBadItem: bad})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// checkDecodeError fails unless err is a *DecodeError for endpoint with a
// printable message.
func checkDecodeError(t *testing.T, err error, endpoint string) {
	t.Helper()
	var de *DecodeError
	if !errors.As(err, &de) || de.Endpoint != endpoint {
		t.Fatalf("error %#v (%v) is not a *DecodeError of %s", err, err, endpoint)
	}
	if !utf8.ValidString(err.Error()) {
		t.Fatalf("error message is not valid UTF-8: %q", err.Error())
	}
}

// badItems records what the client reports, and checks each report.
type badItems struct {
	t        *testing.T
	endpoint string
	skipped  int
}

func (b *badItems) report(it BadItem) {
	if it.Endpoint != b.endpoint || !utf8.ValidString(it.String()) || it.Reason == "" {
		b.t.Fatalf("bad item report %+v (endpoint want %s)", it, b.endpoint)
	}
	if it.Skipped {
		b.skipped++
	}
}

// The reference decoding below reads each item as a generic JSON value,
// independently of the client's decoder.

// page decodes a list page's items as generic values; ok is false when the
// body is no page.
func fuzzPage(body []byte) (items []any, err error) {
	var p struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, err
	}
	for _, raw := range p.Items {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, err
		}
		items = append(items, v)
	}
	return items, nil
}

// field returns an object's string field ("" when absent or not a string).
func field(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// wireTime is what a time field must decode to: the instant in UTC when it
// is an RFC 3339 string, else the zero time.
func wireTime(v any) time.Time {
	s, _ := v.(string)
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

func isUTC(t time.Time) bool { return t.Location() == time.UTC }

// FuzzDecodeRooms: a body that is no page fails with a *DecodeError; a page
// gives, in order, one room per item that is an object with a string id,
// each other item being reported as skipped. A field of the wrong type or
// form is left out (its zero value): times in UTC when they are RFC 3339,
// isLocked also from "true"/"false", no title at all when the item's title
// failed to decrypt (errors.title).
func FuzzDecodeRooms(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		bad := &badItems{t: t, endpoint: "rooms"}
		rooms, err := fuzzClient(t, body, bad.report).Rooms(context.Background(), RoomsQuery{})
		items, perr := fuzzPage(body)
		if err != nil {
			checkDecodeError(t, err, "rooms")
			if perr == nil {
				t.Fatalf("a page of %d items failed: %v", len(items), err)
			}
			return
		}
		if perr != nil {
			t.Fatalf("decoded %d rooms from a body that is no page of rooms: %v", len(rooms), perr)
		}
		var want []Room
		for _, v := range items {
			m, _ := v.(map[string]any)
			if field(m, "id") == "" {
				continue
			}
			r := Room{ID: field(m, "id"), Title: field(m, "title"), Type: field(m, "type"), TeamID: field(m, "teamId"),
				LastActivity: wireTime(m["lastActivity"]), Created: wireTime(m["created"])}
			switch l := m["isLocked"].(type) {
			case bool:
				r.IsLocked = l
			case string:
				r.IsLocked = l == "true"
			}
			if errs, ok := m["errors"].(map[string]any); ok {
				if _, hidden := errs["title"]; hidden {
					r.Title, r.TitleUnavailable = "", true
				}
			}
			want = append(want, r)
		}
		if len(rooms) != len(want) || bad.skipped != len(items)-len(want) {
			t.Fatalf("decoded %d rooms (%d reported skipped) from %d items; want %d", len(rooms), bad.skipped, len(items), len(want))
		}
		for i, r := range rooms {
			w := want[i]
			if r.ID != w.ID || r.Title != w.Title || r.TitleUnavailable != w.TitleUnavailable || r.Type != w.Type ||
				r.TeamID != w.TeamID || r.IsLocked != w.IsLocked || !r.LastActivity.Equal(w.LastActivity) ||
				!r.Created.Equal(w.Created) || !isUTC(r.LastActivity) || !isUTC(r.Created) {
				t.Fatalf("room %d = %+v, want %+v in UTC", i, r, w)
			}
		}
	})
}

// FuzzDecodeMessages: a body that is no page fails with a *DecodeError; a
// page gives, in order, the items before the first one that is StopAtID or
// older than Since, leaving out (and reporting as skipped) the items that
// are no object, have no string id, or no RFC 3339 creation time.
func FuzzDecodeMessages(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte, stopAt string, sinceMs int64) {
		q := MessagesQuery{RoomID: "room", StopAtID: stopAt}
		if sinceMs != 0 {
			q.Since = time.UnixMilli(sinceMs)
		}
		bad := &badItems{t: t, endpoint: "messages"}
		msgs, err := fuzzClient(t, body, bad.report).Messages(context.Background(), q)
		items, perr := fuzzPage(body)
		if err != nil {
			checkDecodeError(t, err, "messages")
			if perr == nil {
				t.Fatalf("a page of %d items failed: %v", len(items), err)
			}
			return
		}
		if perr != nil {
			t.Fatalf("decoded %d messages from a body that is no page of messages: %v", len(msgs), perr)
		}
		var want []Message
		skipped := 0
		for _, v := range items {
			m, _ := v.(map[string]any)
			id := field(m, "id")
			created := wireTime(m["created"])
			if id == "" || created.IsZero() {
				skipped++
			}
			if id != "" && id == stopAt {
				break
			}
			if id == "" || created.IsZero() {
				continue
			}
			if !q.Since.IsZero() && created.Before(q.Since) {
				break
			}
			want = append(want, Message{ID: id, RoomID: field(m, "roomId"), ParentID: field(m, "parentId"),
				PersonID: field(m, "personId"), Created: created})
		}
		if len(msgs) != len(want) || bad.skipped != skipped {
			t.Fatalf("decoded %d messages (%d reported skipped); want %d (%d skipped)", len(msgs), bad.skipped, len(want), skipped)
		}
		for i, m := range msgs {
			w := want[i]
			if m != w && (m.ID != w.ID || m.RoomID != w.RoomID || m.ParentID != w.ParentID || m.PersonID != w.PersonID ||
				!m.Created.Equal(w.Created) || !isUTC(m.Created)) {
				t.Fatalf("message %d = %+v, want %+v in UTC", i, m, w)
			}
		}
	})
}
