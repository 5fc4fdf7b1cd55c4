package webex

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzDecodeEvents: a page of events either fails with a *DecodeError or
// gives, in order, exactly its well-formed messages:created items, each
// with its ids and times in UTC; every other item is either skipped as
// another kind or reported as bad, never both, never returned.
func FuzzDecodeEvents(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		bad := 0
		q := EventsQuery{Resource: "messages", Type: "created"}
		var events []Event
		err := fuzzClient(t, body, func(b BadItem) {
			bad++
			if b.Endpoint != "events" || !b.Skipped || b.Reason == "" || !utf8.ValidString(b.Reason) {
				t.Fatalf("bad item reported as %+v", b)
			}
		}).Events(context.Background(), q, func(page []Event) error { events = append(events, page...); return nil })
		if err != nil {
			checkDecodeError(t, err, "events")
			return
		}
		var page struct{ Items []json.RawMessage }
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatalf("decoded %d events from a body that is no page: %v", len(events), err)
		}
		var want []Event
		wantBad := 0
		for _, raw := range page.Items {
			var it struct {
				ID, Resource, Type, ActorID, Created string
				Data                                 json.RawMessage
			}
			if json.Unmarshal(raw, &it) != nil || it.ID == "" || it.Resource == "" || it.Type == "" || it.Created == "" {
				wantBad++
				continue
			}
			created, ok := eventTime(it.Created)
			if !ok || created.IsZero() {
				wantBad++
				continue
			}
			var d struct{ ID, RoomID, RoomType, PersonID, PersonEmail, Created string }
			if it.Resource == "messages" && json.Unmarshal(it.Data, &d) != nil {
				wantBad++
				continue
			}
			dc, dok := eventTime(d.Created)
			complete := d.ID != "" && d.RoomID != "" && dok && !dc.IsZero()
			if it.Resource == "messages" && it.Type == "created" && !complete {
				wantBad++
				continue
			}
			if it.Resource != "messages" || it.Type != "created" {
				continue
			}
			want = append(want, Event{ID: it.ID, Resource: it.Resource, Type: it.Type, ActorID: it.ActorID, Created: created,
				Message: MessageData{ID: d.ID, RoomID: d.RoomID, RoomType: d.RoomType, PersonID: d.PersonID, PersonEmail: d.PersonEmail, Created: dc}})
		}
		if len(events) != len(want) || bad != wantBad {
			t.Fatalf("decoded %d events, %d bad; want %d, %d bad", len(events), bad, len(want), wantBad)
		}
		for i, e := range events {
			w := want[i]
			if e.ID != w.ID || e.ActorID != w.ActorID || !e.Created.Equal(w.Created) || !isUTC(e.Created) || !isUTC(e.Message.Created) ||
				e.Message.ID != w.Message.ID || e.Message.RoomID != w.Message.RoomID || e.Message.RoomType != w.Message.RoomType ||
				e.Message.PersonID != w.Message.PersonID || e.Message.PersonEmail != w.Message.PersonEmail || !e.Message.Created.Equal(w.Message.Created) {
				t.Fatalf("event %d = %+v, want %+v", i, e, w)
			}
		}
	})
}

// FuzzParseDelivery: a delivery is either refused with a *DeliveryError
// whose message is printable, or is a messages:created delivery of a
// webhook with a message that has an id, a room and a creation time in UTC;
// a body over MaxDeliveryBytes is always refused.
func FuzzParseDelivery(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := ParseDelivery(body)
		if err != nil {
			var de *DeliveryError
			if !errors.As(err, &de) || !utf8.ValidString(err.Error()) {
				t.Fatalf("error %#v (%q) is not a printable *DeliveryError", err, err)
			}
			if de.Unwanted && de.Resource == "messages" && de.Event == "created" {
				t.Fatalf("messages:created refused as unwanted")
			}
			return
		}
		if len(body) > MaxDeliveryBytes {
			t.Fatalf("accepted a body of %d bytes", len(body))
		}
		m := d.Message
		if d.WebhookID == "" || d.Resource != "messages" || d.Event != "created" || m.ID == "" || m.RoomID == "" || m.Created.IsZero() || !isUTC(m.Created) {
			t.Fatalf("accepted %+v", d)
		}
		var again struct {
			ID   string
			Data struct{ ID, RoomID string }
		}
		if json.Unmarshal(body, &again) != nil || again.ID != d.WebhookID || again.Data.ID != m.ID || again.Data.RoomID != m.RoomID {
			t.Fatalf("accepted %+v from a body that says %+v", d, again)
		}
	})
}

// eventTime is what an event's time field must decode to, and whether it
// is a time at all.
func eventTime(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}
