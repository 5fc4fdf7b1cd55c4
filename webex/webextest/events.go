package webextest

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// EventRetention is how far back /events reaches (Webex's default retention).
const EventRetention = 90 * 24 * time.Hour

// emptyTitle is the title a compliance officer gets for a direct room.
const emptyTitle = "Empty Title"

// event is one item of the organisation's event log.
type event struct {
	id, resource, typ, actorID string
	created                    time.Time
	data                       any  // the wire form of the event's data
	hidden                     bool // not visible yet (PostLate)
}

// eventLog is the organisation's events, oldest first (by created, then id).
type eventLog struct {
	list []*event
	byID map[string]*event
}

func eventLess(a, b *event) bool {
	if !a.created.Equal(b.created) {
		return a.created.Before(b.created)
	}
	return a.id < b.id
}

// init records the events of an organisation's existing rooms: each
// room's creator joining it and each message.
func (l *eventLog) init(st *state) {
	l.byID = map[string]*event{}
	for _, rooms := range []map[string]*roomState{st.rooms, st.others} {
		for _, rs := range rooms {
			if rs.room.CreatorID != "" {
				l.append(st.membershipEvent(rs, rs.room.CreatorID, rs.room.Created))
			}
			for _, m := range rs.msgs {
				l.append(st.messageEvent(m))
			}
		}
	}
	slices.SortFunc(l.list, func(a, b *event) int {
		if eventLess(a, b) {
			return -1
		}
		return 1
	})
}

func (l *eventLog) append(e *event) {
	l.list = append(l.list, e)
	l.byID[e.id] = e
}

// add inserts e in order (a message may be posted at a past time).
func (l *eventLog) add(e *event) {
	i := len(l.list)
	for i > 0 && eventLess(e, l.list[i-1]) {
		i--
	}
	l.list = slices.Insert(l.list, i, e)
	l.byID[e.id] = e
}

type wireEvent struct {
	ID       string `json:"id"`
	Resource string `json:"resource"`
	Type     string `json:"type"`
	AppID    string `json:"appId,omitempty"`
	ActorID  string `json:"actorId"`
	OrgID    string `json:"orgId"`
	Created  string `json:"created"`
	Data     any    `json:"data"`
}

type wireEventMessage struct {
	ID          string `json:"id"`
	RoomID      string `json:"roomId"`
	RoomType    string `json:"roomType"`
	OrgID       string `json:"orgId"`
	Text        string `json:"text,omitempty"`
	PersonID    string `json:"personId"`
	PersonEmail string `json:"personEmail"`
	Created     string `json:"created"`
}

// messageEventID is the id of the messages:created event of a message.
func messageEventID(messageID string) string { return webexID("EVENT", idUUID(messageID)) }

func (st *state) messageEvent(m Message) *event {
	return &event{
		id: messageEventID(m.ID), resource: "messages", typ: "created", actorID: m.PersonID, created: m.Created,
		data: wireEventMessage{ID: m.ID, RoomID: m.RoomID, RoomType: m.RoomType, OrgID: st.orgID, Text: m.Text,
			PersonID: m.PersonID, PersonEmail: m.PersonEmail, Created: formatTime(m.Created)},
	}
}

func (st *state) membershipEvent(rs *roomState, personID string, at time.Time) *event {
	mid := webexID("MEMBERSHIP", idUUID(personID)+":"+idUUID(rs.room.ID))
	w := wireMembership{ID: mid, RoomID: rs.room.ID, PersonID: personID, RoomType: rs.room.Type, Created: formatTime(at)}
	if p, ok := st.person(personID); ok {
		w.PersonEmail, w.PersonDisplayName, w.PersonOrgID = p.Email, p.DisplayName, st.orgID
	}
	return &event{id: webexID("EVENT", idUUID(mid)), resource: "memberships", typ: "created", actorID: personID, created: wireTime(at), data: w}
}

func (st *state) wireEvent(e *event) wireEvent {
	return wireEvent{ID: e.id, Resource: e.resource, Type: e.typ, ActorID: e.actorID, OrgID: st.orgID, Created: formatTime(e.created), Data: e.data}
}

// WithComplianceOfficer makes the token a compliance officer's: /events
// answers, and /rooms/{id} describes rooms the account is not in.
func WithComplianceOfficer() Option { return func(c *config) { c.officer = true } }

// SetComplianceOfficer gives or takes the compliance officer role.
func (s *Server) SetComplianceOfficer(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.officer = on
}

// PostLate is Post whose messages:created event is not visible in /events
// until release is called, as Webex's events may appear late. The message
// itself is visible at once (/messages, lastActivity, webhooks).
func (s *Server) PostLate(m Message) (posted Message, release func()) {
	posted = s.Post(m)
	s.mu.Lock()
	e := s.st.events.byID[messageEventID(posted.ID)]
	if e != nil {
		e.hidden = true
	}
	s.mu.Unlock()
	return posted, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if e != nil {
			e.hidden = false
		}
	}
}

// eventResources and eventTypes are the values /events accepts.
var (
	eventResources = []string{"attachmentActions", "businessTexts", "call_records", "convergedRecordings", "file_transcodings",
		"files", "meetingMessages", "meetings", "meetingTranscripts", "memberships", "messages", "rooms", "tabs"}
	eventTypes = []string{"created", "updated", "deleted", "ended"}
)

func forbidden(tid string) reply {
	return errorReply(http.StatusForbidden, statusMessage(http.StatusForbidden), tid)
}

// GET /events: the organisation's events newest first, for a compliance
// officer only. from is inclusive, to exclusive and not in the future;
// nothing older than EventRetention is listed. The next link carries a
// keyset cursor (the last event's time and id), so events appearing
// between pages never shift the pages still to come.
func (s *Server) listEvents(r *http.Request, tid string) reply {
	q := r.URL.Query()
	size, ok := parseMax(q, 100, 1000)
	if !ok {
		return badRequest(tid, "max must be a number.")
	}
	resource, typ, actor := q.Get("resource"), q.Get("type"), q.Get("actorId")
	if resource != "" && !slices.Contains(eventResources, resource) {
		return badRequest(tid, "Invalid resource.")
	}
	if typ != "" && !slices.Contains(eventTypes, typ) {
		return badRequest(tid, "Invalid type.")
	}
	now := time.Now()
	var from, to time.Time
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"from", &from}, {"to", &to}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return badRequest(tid, "%s must be an ISO 8601 date and time.", p.name)
			}
			*p.t = t
		}
	}
	if to.After(now) {
		return badRequest(tid, "to cannot be in the future.")
	}
	if oldest := now.Add(-EventRetention); from.Before(oldest) {
		from = oldest
	}
	var cursor *event
	if c := q.Get("cursor"); c != "" {
		e, ok := decodeEventCursor(c)
		if !ok {
			return badRequest(tid, "Invalid cursor.")
		}
		cursor = e
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.st.officer {
		return forbidden(tid)
	}
	list := s.st.events.list
	i := len(list)
	if cursor != nil {
		i = sort.Search(len(list), func(j int) bool { return !eventLess(list[j], cursor) })
	}
	items := make([]wireEvent, 0, min(size, 64))
	var last *event
	more := false
	for i--; i >= 0; i-- {
		e := list[i]
		if e.created.Before(from) {
			break
		}
		if e.hidden || (!to.IsZero() && !e.created.Before(to)) || (resource != "" && e.resource != resource) ||
			(typ != "" && e.typ != typ) || (actor != "" && e.actorID != actor) {
			continue
		}
		if len(items) == size {
			more = true
			break
		}
		items = append(items, s.st.wireEvent(e))
		last = e
	}
	rep := okReply(wireList[wireEvent]{Items: items})
	if more {
		rep.next = s.nextURL(r, map[string]string{"max": strconv.Itoa(size), "cursor": encodeEventCursor(last)})
	}
	if cursor != nil {
		rep.first = s.firstURL(r)
	}
	return rep
}

// An events cursor is the time and id of the last event sent.
func encodeEventCursor(e *event) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "events:%d:%s", e.created.UnixNano(), e.id))
}

func decodeEventCursor(c string) (*event, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, false
	}
	parts := strings.SplitN(string(b), ":", 3)
	if len(parts) != 3 || parts[0] != "events" {
		return nil, false
	}
	n, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return nil, false
	}
	return &event{created: time.Unix(0, n).UTC(), id: parts[2]}, true
}

// GET /events/{id}

func (s *Server) getEvent(r *http.Request, tid string) reply {
	id := strings.TrimPrefix(r.URL.Path, "/v1/events/")
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.st.officer {
		return forbidden(tid)
	}
	e, ok := s.st.events.byID[id]
	if !ok || e.hidden || e.created.Before(time.Now().Add(-EventRetention)) {
		return notFound(tid)
	}
	return okReply(s.st.wireEvent(e))
}

// otherRoom answers GET /rooms/{id} for a room the account is not in: a
// compliance officer gets it (a direct room titled "Empty Title"), anyone
// else 403; an unknown id is 404. s.mu is held.
func (s *Server) otherRoom(id, tid string) reply {
	rs, ok := s.st.others[id]
	switch {
	case !ok:
		return notFound(tid)
	case !s.st.officer:
		return forbidden(tid)
	}
	w := s.wireRoom(rs.room)
	if rs.room.Type == "direct" {
		w.Title = emptyTitle
	}
	return okReply(w)
}
