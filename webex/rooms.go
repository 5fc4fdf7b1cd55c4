package webex

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// Room is a Webex space the account belongs to.
type Room struct {
	ID     string
	Title  string // "" when TitleUnavailable
	Type   string // "group" or "direct"
	TeamID string
	// IsLocked is true for a moderated room.
	IsLocked     bool
	LastActivity time.Time
	Created      time.Time
	// TitleUnavailable is set when Webex could not decrypt the title
	// (kms_failure): Title is then empty, never the encrypted blob.
	TitleUnavailable bool
}

// RoomsQuery filters the rooms listing.
type RoomsQuery struct {
	Type     string // "group", "direct" or "" for both
	TeamID   string
	PageSize int // 1..1000; default 1000 (fewest calls)
}

type roomJSON struct {
	ID           string                     `json:"id"`
	Title        string                     `json:"title"`
	Type         string                     `json:"type"`
	IsLocked     bool                       `json:"isLocked"`
	TeamID       string                     `json:"teamId"`
	LastActivity string                     `json:"lastActivity"`
	Created      string                     `json:"created"`
	Errors       map[string]json.RawMessage `json:"errors"`
}

// Rooms lists every room the account belongs to, all pages.
func (c *Client) Rooms(ctx context.Context, q RoomsQuery) ([]Room, error) {
	size := q.PageSize
	if size <= 0 || size > 1000 {
		size = 1000
	}
	v := url.Values{"max": {strconv.Itoa(size)}}
	if q.Type != "" {
		v.Set("type", q.Type)
	}
	if q.TeamID != "" {
		v.Set("teamId", q.TeamID)
	}
	var rooms []Room
	err := list(ctx, c, c.endpoint("rooms", v), func(items []roomJSON) (bool, error) {
		for _, it := range items {
			r, err := it.room()
			if err != nil {
				return false, err
			}
			rooms = append(rooms, r)
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return rooms, nil
}

func (j roomJSON) room() (Room, error) {
	if j.ID == "" {
		return Room{}, fmt.Errorf("room without id")
	}
	r := Room{ID: j.ID, Title: j.Title, Type: j.Type, TeamID: j.TeamID, IsLocked: j.IsLocked}
	var err error
	if r.LastActivity, err = parseTime(j.LastActivity); err != nil {
		return Room{}, fmt.Errorf("room %s lastActivity: %w", j.ID, err)
	}
	if r.Created, err = parseTime(j.Created); err != nil {
		return Room{}, fmt.Errorf("room %s created: %w", j.ID, err)
	}
	if _, bad := j.Errors["title"]; bad {
		r.Title, r.TitleUnavailable = "", true
	}
	return r, nil
}

// parseTime reads Webex's RFC 3339 times, with or without fractional
// seconds, "Z" or an offset. An absent time is the zero time.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("not an RFC 3339 time: %q", clip(s, 40))
	}
	return t.UTC(), nil
}
