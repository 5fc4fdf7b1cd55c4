package webextest

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Room is a Webex space the account belongs to, as ground truth.
type Room struct {
	ID, Title, Type, TeamID, CreatorID string // Type is "group" or "direct"
	IsLocked                           bool
	Created, LastActivity              time.Time
	// KMSFailure makes listings return the room with an encrypted-looking
	// title and an "errors" object with code kms_failure; Title keeps the
	// real title.
	KMSFailure bool
}

// Message is a message in a room, as ground truth.
type Message struct {
	ID, RoomID, ParentID, PersonID, PersonEmail, Text string
	RoomType                                          string
	Created                                           time.Time
	MentionedPeople                                   []string // person ids
}

// Person is a Webex account. Type is "person", "bot" or "appuser".
type Person struct{ ID, Email, DisplayName, Type string }

// Team is a Webex team some group rooms belong to.
type Team struct {
	ID, Name string
	Created  time.Time
}

// Org is an organisation: the account (Me), the people it meets, its rooms
// and their messages and members.
type Org struct {
	ID     string // organisation id (orgId of every person)
	Me     Person
	People []Person
	Teams  []Team
	Rooms  []Room
	// OtherRooms are rooms of the organisation the account does not belong
	// to (seen only by a compliance officer). A direct one has no Title.
	OtherRooms []Room
	// Messages holds each room's messages, oldest first, by room id. Rooms
	// without messages may be absent.
	Messages map[string][]Message
	// Memberships lists each room's members (person ids, Me included in
	// the account's rooms) by room id.
	Memberships map[string][]string
}

// TimeFormat is how the wire writes timestamps (always UTC), except those
// of a whole second, written as SecondsFormat.
const TimeFormat = "2006-01-02T15:04:05.000Z"

// SecondsFormat is the other form of time Webex writes (its description's
// message and webhook examples: "2015-10-18T14:26:16+00:00"); the fake
// writes a time of a whole second so.
const SecondsFormat = "2006-01-02T15:04:05+00:00"

func formatTime(t time.Time) string {
	if t.Nanosecond() == 0 {
		return t.UTC().Format(SecondsFormat)
	}
	return t.UTC().Format(TimeFormat)
}

// wireTime truncates t to what the wire carries.
func wireTime(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// MakeID returns a Webex-style id: base64 (URL alphabet, no padding; the
// same text as Webex's own for these inputs) of "ciscospark://us/<kind>/<uuid>",
// where the uuid is derived from n. kind is ROOM, MESSAGE, PEOPLE, TEAM,
// ORGANIZATION, ... The same (kind, n) always gives the same id.
func MakeID(kind string, n uint64) string {
	a := splitmix(n)
	return webexID(kind, uuidOf(a, splitmix(a)))
}

func webexID(kind, uuid string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("ciscospark://us/" + kind + "/" + uuid))
}

// idUUID returns the last path element of a Webex-style id, or the id itself.
func idUUID(id string) string {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(id, "="))
	if err != nil {
		b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(id, "="))
	}
	if err != nil || !strings.HasPrefix(string(b), "ciscospark://") {
		return id
	}
	s := string(b)
	return s[strings.LastIndexByte(s, '/')+1:]
}

// uuidOf formats 128 bits as a version-4-looking uuid.
func uuidOf(a, b uint64) string {
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x",
		uint32(a>>32), uint16(a>>16), uint16(a)&0xfff,
		uint16(b>>48)&0x3fff|0x8000, b&0xffffffffffff)
}

// splitmix is SplitMix64's output function: a cheap, well-mixed hash.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

func (m Message) clone() Message {
	m.MentionedPeople = slices.Clone(m.MentionedPeople)
	return m
}

func (m Message) mentions(personID string) bool {
	return slices.Contains(m.MentionedPeople, personID)
}

// cloneMessages copies a room's messages (strings are shared, slices not).
func cloneMessages(ms []Message) []Message {
	out := make([]Message, len(ms))
	for i, m := range ms {
		out[i] = m.clone()
	}
	return out
}
