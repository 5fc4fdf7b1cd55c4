// Package model holds the plain data types of the Webex API the exporter
// uses (rooms, messages, the read of a room's messages), with no HTTP: the
// state (collector/state) is built on them without importing the client.
// Package webex aliases them (webex.Room is model.Room).
package model

import "time"

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

// Message is a message in a room, as far as the exporter cares.
type Message struct {
	ID       string
	RoomID   string
	ParentID string
	PersonID string
	Created  time.Time
}

// MessagesQuery says which of a room's messages to read. Messages come
// newest first (from the newest, from below BeforeMessage, or from the
// newest created before Before); reading stops
// before the first message that is StopAtID or created before Since,
// whichever comes first.
type MessagesQuery struct {
	RoomID        string
	BeforeMessage string // start below this message, to resume a read ("" for the newest)
	// Before starts with the messages created before this time (the API's
	// "before"), to read older history (zero: from the newest).
	Before   time.Time
	StopAtID string    // the newest message already known ("" for none)
	Since    time.Time // oldest creation time wanted (zero: no limit)
	// MentionedMe lists only messages that mention the account (bots must
	// set it in group rooms; Webex then allows at most 100 a page).
	MentionedMe bool
	PageSize    int // default 50 (Webex's own default); at most 1000, 100 with MentionedMe
}
