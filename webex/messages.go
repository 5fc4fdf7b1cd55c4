package webex

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// Message is a message in a room, as far as the exporter cares.
type Message struct {
	ID       string
	RoomID   string
	ParentID string
	PersonID string
	Created  time.Time
}

// MessagesQuery says which of a room's messages to read. Messages come
// newest first (from the newest, or from below BeforeMessage); reading stops
// before the first message that is StopAtID or created before Since,
// whichever comes first.
type MessagesQuery struct {
	RoomID        string
	BeforeMessage string    // start below this message, to resume a read ("" for the newest)
	Before        time.Time // or only messages created before this time (zero: no limit)
	StopAtID      string    // the newest message already known ("" for none)
	Since         time.Time // oldest creation time wanted (zero: no limit)
	// MentionedMe lists only messages that mention the account (bots must
	// set it in group rooms; Webex then allows at most 100 a page).
	MentionedMe bool
	PageSize    int // default 50 (Webex's own default); at most 1000, 100 with MentionedMe
}

type messageJSON struct {
	ID       string `json:"id"`
	RoomID   string `json:"roomId"`
	ParentID string `json:"parentId"`
	PersonID string `json:"personId"`
	Created  string `json:"created"`
}

// Messages reads a room's messages newest first, following pages until the
// stop condition of q is met or the room has no older messages. On an error
// it also returns the messages read until then: a run from the start, which
// a caller can resume with BeforeMessage set to the last one.
func (c *Client) Messages(ctx context.Context, q MessagesQuery) ([]Message, error) {
	if q.RoomID == "" {
		return nil, fmt.Errorf("webex messages: no room id")
	}
	limit := 1000
	if q.MentionedMe {
		limit = 100
	}
	size := q.PageSize
	if size <= 0 {
		size = 50
	}
	size = min(size, limit)
	v := url.Values{"roomId": {q.RoomID}, "max": {strconv.Itoa(size)}}
	if q.MentionedMe {
		v.Set("mentionedPeople", "me")
	}
	if q.BeforeMessage != "" {
		v.Set("beforeMessage", q.BeforeMessage)
	} else if !q.Before.IsZero() {
		v.Set("before", q.Before.UTC().Format("2006-01-02T15:04:05.000Z"))
	}
	var out []Message
	err := list(ctx, c, c.endpoint("messages", v), func(items []messageJSON) (bool, error) {
		for _, it := range items {
			if it.ID == "" {
				return false, fmt.Errorf("message without id")
			}
			created, err := parseTime(it.Created)
			if err != nil {
				return false, fmt.Errorf("message %s created: %w", it.ID, err)
			}
			if it.ID == q.StopAtID || (!q.Since.IsZero() && created.Before(q.Since)) {
				return false, nil
			}
			out = append(out, Message{ID: it.ID, RoomID: it.RoomID, ParentID: it.ParentID, PersonID: it.PersonID, Created: created})
		}
		return true, nil
	})
	return out, err
}
