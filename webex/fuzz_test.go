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

func fuzzClient(t *testing.T, body []byte) *Client {
	c, err := New(Options{BaseURL: "https://webexapis.com/v1", Token: StaticToken("fuzz"),
		HTTPClient: &http.Client{Transport: bodyTransport(body)}})
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

// wireTime is what a page's time field must decode to: the zero time when
// absent, else the RFC 3339 instant in UTC. ok is false when it is no time.
func wireTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, true
	}
	t, err := time.Parse(time.RFC3339, s)
	return t.UTC(), err == nil
}

func isUTC(t time.Time) bool { return t.Location() == time.UTC }

// FuzzDecodeRooms: a page of rooms either fails with a *DecodeError or
// gives one room per item, in order, with its id, its times in UTC, and no
// title at all when the item's title failed to decrypt.
func FuzzDecodeRooms(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		rooms, err := fuzzClient(t, body).Rooms(context.Background(), RoomsQuery{})
		if err != nil {
			checkDecodeError(t, err, "rooms")
			return
		}
		var page struct {
			Items []struct {
				ID           string                     `json:"id"`
				Title        string                     `json:"title"`
				LastActivity string                     `json:"lastActivity"`
				Created      string                     `json:"created"`
				Errors       map[string]json.RawMessage `json:"errors"`
			} `json:"items"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatalf("decoded %d rooms from a body that is no page of rooms: %v", len(rooms), err)
		}
		if len(rooms) != len(page.Items) {
			t.Fatalf("decoded %d rooms from %d items", len(rooms), len(page.Items))
		}
		for i, r := range rooms {
			it := page.Items[i]
			la, ok1 := wireTime(it.LastActivity)
			cr, ok2 := wireTime(it.Created)
			_, hidden := it.Errors["title"]
			switch {
			case r.ID == "" || r.ID != it.ID:
				t.Fatalf("room %d: id %q, item id %q", i, r.ID, it.ID)
			case !ok1 || !ok2 || !r.LastActivity.Equal(la) || !r.Created.Equal(cr):
				t.Fatalf("room %d: times %v, %v from %q, %q", i, r.LastActivity, r.Created, it.LastActivity, it.Created)
			case !isUTC(r.LastActivity) || !isUTC(r.Created):
				t.Fatalf("room %d: times %v, %v not in UTC", i, r.LastActivity, r.Created)
			case hidden && (r.Title != "" || !r.TitleUnavailable):
				t.Fatalf("room %d: title %q (unavailable %v) from an item whose title failed to decrypt", i, r.Title, r.TitleUnavailable)
			case !hidden && (r.Title != it.Title || r.TitleUnavailable):
				t.Fatalf("room %d: title %q (unavailable %v), item title %q", i, r.Title, r.TitleUnavailable, it.Title)
			}
		}
	})
}

// FuzzDecodeMessages: a page of messages either fails with a *DecodeError
// or gives, in order, the items before the first one that is StopAtID or
// older than Since, with their ids and creation times in UTC.
func FuzzDecodeMessages(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte, stopAt string, sinceMs int64) {
		q := MessagesQuery{RoomID: "room", StopAtID: stopAt}
		if sinceMs != 0 {
			q.Since = time.UnixMilli(sinceMs)
		}
		msgs, err := fuzzClient(t, body).Messages(context.Background(), q)
		if err != nil {
			checkDecodeError(t, err, "messages")
			return
		}
		var page struct {
			Items []struct {
				ID       string `json:"id"`
				RoomID   string `json:"roomId"`
				ParentID string `json:"parentId"`
				PersonID string `json:"personId"`
				Created  string `json:"created"`
			} `json:"items"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatalf("decoded %d messages from a body that is no page of messages: %v", len(msgs), err)
		}
		var want []Message
		for _, it := range page.Items {
			created, ok := wireTime(it.Created)
			if it.ID == "" || !ok {
				t.Fatalf("decoded %d messages although item %q has no id or an invalid time %q", len(msgs), it.ID, it.Created)
			}
			if it.ID == stopAt || (!q.Since.IsZero() && created.Before(q.Since)) {
				break
			}
			want = append(want, Message{ID: it.ID, RoomID: it.RoomID, ParentID: it.ParentID, PersonID: it.PersonID, Created: created})
		}
		if len(msgs) != len(want) {
			t.Fatalf("decoded %d messages, want %d", len(msgs), len(want))
		}
		for i, m := range msgs {
			w := want[i]
			if m.ID != w.ID || m.RoomID != w.RoomID || m.ParentID != w.ParentID || m.PersonID != w.PersonID ||
				!m.Created.Equal(w.Created) || !isUTC(m.Created) {
				t.Fatalf("message %d = %+v, want %+v in UTC", i, m, w)
			}
		}
	})
}
