package webextest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Wire types: the JSON Webex sends, written independently of any client.

type wireList[T any] struct {
	Items []T `json:"items"`
}

type wireError struct {
	Message string `json:"message"`
	Errors  []struct {
		Description string `json:"description"`
	} `json:"errors"`
	TrackingID string `json:"trackingId"`
}

type wireRoom struct {
	ID           string          `json:"id"`
	Title        string          `json:"title,omitempty"`
	Type         string          `json:"type"`
	IsLocked     bool            `json:"isLocked"`
	TeamID       string          `json:"teamId,omitempty"`
	LastActivity string          `json:"lastActivity,omitempty"`
	CreatorID    string          `json:"creatorId,omitempty"`
	Created      string          `json:"created"`
	OwnerID      string          `json:"ownerId,omitempty"`
	Errors       *wireRoomErrors `json:"errors,omitempty"`
}

type wireRoomErrors struct {
	Title wireFieldError `json:"title"`
}

type wireFieldError struct {
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

type wireMessage struct {
	ID              string   `json:"id"`
	ParentID        string   `json:"parentId,omitempty"`
	RoomID          string   `json:"roomId"`
	RoomType        string   `json:"roomType"`
	Text            string   `json:"text,omitempty"`
	PersonID        string   `json:"personId"`
	PersonEmail     string   `json:"personEmail"`
	MentionedPeople []string `json:"mentionedPeople,omitempty"`
	Created         string   `json:"created"`
}

type wirePerson struct {
	ID          string   `json:"id"`
	Emails      []string `json:"emails"`
	DisplayName string   `json:"displayName,omitempty"`
	FirstName   string   `json:"firstName,omitempty"`
	LastName    string   `json:"lastName,omitempty"`
	OrgID       string   `json:"orgId"`
	Created     string   `json:"created"`
	Type        string   `json:"type"`
	// Typed as Webex really sends them, inconsistently: the spec says both
	// are the strings "true"/"false", the service sends invitePending as a
	// JSON boolean.
	InvitePending bool   `json:"invitePending"`
	LoginEnabled  string `json:"loginEnabled"`
}

type wireMembership struct {
	ID                string `json:"id"`
	RoomID            string `json:"roomId"`
	PersonID          string `json:"personId"`
	PersonEmail       string `json:"personEmail,omitempty"`
	PersonDisplayName string `json:"personDisplayName,omitempty"`
	PersonOrgID       string `json:"personOrgId,omitempty"`
	IsModerator       bool   `json:"isModerator"`
	IsMonitor         bool   `json:"isMonitor"`
	RoomType          string `json:"roomType"`
	Created           string `json:"created"`
}

type wireTeam struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Created string `json:"created"`
}

const (
	msgUnauthorized = "The request requires a valid access token set in the Authorization request header."
	// msgBotActivity is Webex's 403 to a bot listing a group room's
	// messages without mentionedPeople=me.
	msgBotActivity = "Failed to get activity."
	kmsReason      = "Key management server failed to respond appropriately. For more information: https://developer.webex.com/docs/api/basics#handling-requests-involving-kms"
	// personCreated is every person's creation time.
	personCreated = "2015-10-18T14:26:16.000Z"
)

// statusMessage is Webex's wording for an error status.
func statusMessage(status int) string {
	switch status {
	case 400:
		return "The request could not be understood by the server due to malformed syntax."
	case 401:
		return msgUnauthorized
	case 403:
		return "The request is understood, but it has been refused or access is not allowed."
	case 404:
		return "The requested resource could not be found."
	case 405:
		return "The request was made to a resource using an HTTP request method that is not supported."
	case 409:
		return "The request could not be processed because it conflicts with some established rule of the system."
	case 410:
		return "The requested resource is no longer available."
	case 415:
		return "The request was made to a resource without specifying a media type or used a media type that is not supported."
	case 423:
		return "The requested resource is temporarily unavailable. A Retry-After header may be present that specifies how many seconds you need to wait before attempting the request again."
	case 429:
		return "Too many requests have been sent in a given amount of time and the request has been rate limited."
	case 500:
		return "Something went wrong on the server. If the issue persists, feel free to contact the Webex Developer Support team."
	case 502:
		return "The server received an invalid response from an upstream server while processing the request. Try again later."
	case 503:
		return "Server is overloaded with requests. Try again later."
	case 504:
		return "An upstream server failed to respond on time. If your query uses max parameter, please try to reduce it."
	}
	return http.StatusText(status)
}

// errorReply is Webex's error answer: JSON, except 429's short HTML page.
// 429 and 423 carry Retry-After: 1.
func errorReply(status int, msg, tid string) reply {
	rep := reply{status: status}
	switch status {
	case http.StatusTooManyRequests:
		rep.retryAfter = "1"
		rep.ctype = "text/html;charset=UTF-8"
		rep.body = []byte("<html><head><title>429 Too Many Requests</title></head><body><h1>Too Many Requests</h1></body></html>\n")
		return rep
	case http.StatusLocked:
		rep.retryAfter = "1"
	}
	e := wireError{Message: msg, TrackingID: tid}
	e.Errors = append(e.Errors, struct {
		Description string `json:"description"`
	}{msg})
	rep.body = mustJSON(e)
	return rep
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // wire types always encode
	}
	return b
}

func okReply(v any) reply { return reply{status: http.StatusOK, body: mustJSON(v)} }

// authorized checks the bearer token.
func (s *Server) authorized(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	defer s.mu.Unlock()
	if !ok || tok == "" || tok != s.token {
		return false
	}
	return s.tokenExpiry.IsZero() || time.Now().Before(s.tokenExpiry)
}

// route answers an authorized API request.
func (s *Server) route(r *http.Request, tid string) reply {
	p, ok := strings.CutPrefix(r.URL.Path, "/v1/")
	if !ok {
		return errorReply(http.StatusNotFound, statusMessage(http.StatusNotFound), tid)
	}
	var h func(*http.Request, string) reply
	switch {
	case p == "rooms":
		h = s.listRooms
	case strings.HasPrefix(p, "rooms/") && !strings.Contains(p[len("rooms/"):], "/") && len(p) > len("rooms/"):
		h = s.getRoom
	case p == "messages":
		h = s.listMessages
	case p == "people/me":
		h = s.getMe
	case strings.HasPrefix(p, "people/") && !strings.Contains(p[len("people/"):], "/") && len(p) > len("people/"):
		h = s.getPerson
	case p == "memberships":
		h = s.listMemberships
	case p == "teams":
		h = s.listTeams
	case p == "events":
		h = s.listEvents
	case strings.HasPrefix(p, "events/"):
		h = s.getEvent
	case p == "webhooks" || strings.HasPrefix(p, "webhooks/"):
		return s.webhooksAPI(r, tid)
	default:
		return errorReply(http.StatusNotFound, statusMessage(http.StatusNotFound), tid)
	}
	if r.Method != http.MethodGet {
		rep := errorReply(http.StatusMethodNotAllowed, statusMessage(http.StatusMethodNotAllowed), tid)
		rep.header = http.Header{"Allow": {"GET"}}
		return rep
	}
	return h(r, tid)
}

func badRequest(tid, format string, args ...any) reply {
	return errorReply(http.StatusBadRequest, fmt.Sprintf(format, args...), tid)
}

func notFound(tid string) reply {
	return errorReply(http.StatusNotFound, statusMessage(http.StatusNotFound), tid)
}

// parseMax reads the max parameter: def when absent; a number outside
// 1..limit is clamped into it, as Webex does; what is no number is refused.
func parseMax(q url.Values, def, limit int) (int, bool) {
	v := q.Get("max")
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, false
	}
	return min(max(n, 1), limit), true
}

// firstURL is the first page of the request's listing: its query without
// the cursor, as an absolute URL on this server.
func (s *Server) firstURL(r *http.Request) string {
	return s.nextURL(r, nil, "cursor")
}

// nextURL is the request's query with some parameters changed, as an
// absolute URL on this server.
func (s *Server) nextURL(r *http.Request, set map[string]string, drop ...string) string {
	q := r.URL.Query()
	q.Del("emptyPage")
	for _, k := range drop {
		q.Del(k)
	}
	for k, v := range set {
		q.Set(k, v)
	}
	return s.ts.URL + r.URL.Path + "?" + q.Encode()
}

// GET /rooms

func (s *Server) wireRoom(r Room) wireRoom {
	w := wireRoom{
		ID:           r.ID,
		Title:        r.Title,
		Type:         r.Type,
		IsLocked:     r.IsLocked,
		TeamID:       r.TeamID,
		LastActivity: formatTime(r.LastActivity),
		CreatorID:    r.CreatorID,
		Created:      formatTime(r.Created),
	}
	if r.Type == "group" {
		w.OwnerID = s.st.orgID
	}
	if r.KMSFailure {
		w.Title = encryptedTitle(r.ID)
		w.Errors = &wireRoomErrors{Title: wireFieldError{Code: "kms_failure", Reason: kmsReason}}
	}
	return w
}

// encryptedTitle is a JWE-looking blob, as Webex sends for a title it
// could not decrypt.
func encryptedTitle(id string) string {
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h = (h ^ uint64(id[i])) * 1099511628211
	}
	part := func(n int) string {
		b := make([]byte, 0, n)
		for x := h; len(b) < n; x = splitmix(x) {
			b = fmt.Appendf(b, "%016x", splitmix(x))
		}
		return base64.RawURLEncoding.EncodeToString(b[:n])
	}
	return "eyJhbGciOiJkaXIiLCJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIiwia2lkIjoia21zOi8va21zLWNpc2NvLndieDIuY29tL2tleXMvIn0.." +
		part(12) + "." + part(24) + "." + part(16)
}

func (s *Server) listRooms(r *http.Request, tid string) reply {
	q := r.URL.Query()
	limit, ok := parseMax(q, 100, 1000)
	if !ok {
		return badRequest(tid, "max must be a number.")
	}
	typ, teamID := q.Get("type"), q.Get("teamId")
	if typ != "" && typ != "direct" && typ != "group" {
		return badRequest(tid, "type must be direct or group.")
	}
	sortBy := q.Get("sortBy")
	switch sortBy {
	case "":
		sortBy = sortCreated
	case sortCreated, sortID, sortLastActivity:
	default:
		return badRequest(tid, "sortBy must be id, lastactivity or created.")
	}
	var from *roomKey
	if c := q.Get("cursor"); c != "" {
		k, ok := decodeRoomCursor(c, sortBy)
		if !ok {
			return badRequest(tid, "Invalid cursor.")
		}
		from = &k
	}

	s.mu.Lock()
	order := s.st.sortedRooms(sortBy)
	i := 0
	if from != nil {
		i = after(order, sortBy, *from)
	}
	items := make([]wireRoom, 0, min(limit, len(order)-i))
	var last roomKey
	more := false
	for ; i < len(order); i++ {
		rm := order[i].room
		if (typ != "" && rm.Type != typ) || (teamID != "" && rm.TeamID != teamID) {
			continue
		}
		if len(items) == limit {
			more = true
			break
		}
		items = append(items, s.wireRoom(rm))
		last = order[i].key(sortBy)
	}
	s.mu.Unlock()

	rep := okReply(wireList[wireRoom]{Items: items})
	if more {
		rep.next = s.nextURL(r, map[string]string{"max": strconv.Itoa(limit), "cursor": encodeRoomCursor(sortBy, last)})
	}
	if from != nil {
		rep.first = s.firstURL(r)
	}
	return rep
}

// A rooms cursor is the listing order and the key of the last room sent.
func encodeRoomCursor(sortBy string, k roomKey) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%s:%d:%s", sortBy, k.t, k.id))
}

func decodeRoomCursor(c, sortBy string) (roomKey, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return roomKey{}, false
	}
	parts := strings.SplitN(string(b), ":", 3)
	if len(parts) != 3 || parts[0] != sortBy {
		return roomKey{}, false
	}
	t, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return roomKey{}, false
	}
	return roomKey{t, parts[2]}, true
}

// GET /rooms/{id}

func (s *Server) getRoom(r *http.Request, tid string) reply {
	id := strings.TrimPrefix(r.URL.Path, "/v1/rooms/")
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, ok := s.st.rooms[id]
	if !ok {
		return s.otherRoom(id, tid)
	}
	return okReply(s.wireRoom(rs.room))
}

// GET /messages: newest first. mentionedPeople (only "me" or the account's
// id) keeps the messages that mention the account, in any room; a bot
// account must give it in group rooms (403 otherwise).

func (s *Server) listMessages(r *http.Request, tid string) reply {
	q := r.URL.Query()
	roomID := q.Get("roomId")
	if roomID == "" {
		return badRequest(tid, "roomId is required.")
	}
	var mentioned []string
	for _, v := range q["mentionedPeople"] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				mentioned = append(mentioned, p)
			}
		}
	}
	limit := 1000
	if len(mentioned) > 0 {
		limit = 100
	}
	size, ok := parseMax(q, 50, limit)
	if !ok {
		return badRequest(tid, "max must be a number.")
	}
	var before time.Time
	if v := q.Get("before"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return badRequest(tid, "before must be an ISO 8601 date and time.")
		}
		before = t
	}
	beforeMessage, parentID := q.Get("beforeMessage"), q.Get("parentId")

	s.mu.Lock()
	me := s.st.me
	for _, p := range mentioned {
		if p != "me" && p != me.ID {
			s.mu.Unlock()
			return badRequest(tid, "Only 'me' or the person ID of the current user may be specified in mentionedPeople.")
		}
	}
	rs, ok := s.st.rooms[roomID]
	if !ok {
		s.mu.Unlock()
		return notFound(tid)
	}
	if me.Type == "bot" && rs.room.Type == "group" && len(mentioned) == 0 {
		s.mu.Unlock()
		return errorReply(http.StatusForbidden, msgBotActivity, tid)
	}
	msgs := rs.msgs
	end := len(msgs)
	if beforeMessage != "" {
		end = -1
		for i := len(msgs) - 1; i >= 0; i-- {
			if msgs[i].ID == beforeMessage {
				end = i
				break
			}
		}
		if end < 0 {
			s.mu.Unlock()
			return notFound(tid)
		}
	}
	if !before.IsZero() {
		end = min(end, sort.Search(len(msgs), func(i int) bool { return !msgs[i].Created.Before(before) }))
	}
	items := make([]wireMessage, 0, min(size, end))
	more := false
	for i := end - 1; i >= 0; i-- {
		m := msgs[i]
		if (len(mentioned) > 0 && !m.mentions(me.ID)) || (parentID != "" && m.ParentID != parentID) {
			continue
		}
		if len(items) == size {
			more = true
			break
		}
		items = append(items, wireMessage{
			ID:              m.ID,
			ParentID:        m.ParentID,
			RoomID:          m.RoomID,
			RoomType:        m.RoomType,
			Text:            m.Text,
			PersonID:        m.PersonID,
			PersonEmail:     m.PersonEmail,
			MentionedPeople: m.MentionedPeople,
			Created:         formatTime(m.Created),
		})
	}
	rep := okReply(wireList[wireMessage]{Items: items}) // under the lock: items share slices with the state
	s.mu.Unlock()
	if more {
		rep.next = s.nextURL(r, map[string]string{"beforeMessage": items[len(items)-1].ID}, "before")
	}
	return rep
}

// GET /people/me and /people/{id}

func (s *Server) wirePerson(p Person) wirePerson {
	first, last, _ := strings.Cut(p.DisplayName, " ")
	w := wirePerson{
		ID:           p.ID,
		Emails:       []string{},
		DisplayName:  p.DisplayName,
		FirstName:    first,
		LastName:     last,
		OrgID:        s.st.orgID,
		Created:      personCreated,
		Type:         p.Type,
		LoginEnabled: "true",
	}
	if p.Email != "" {
		w.Emails = append(w.Emails, p.Email)
	}
	if w.Type == "" {
		w.Type = "person"
	}
	return w
}

func (s *Server) getMe(r *http.Request, tid string) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	return okReply(s.wirePerson(s.st.me))
}

func (s *Server) getPerson(r *http.Request, tid string) reply {
	id := strings.TrimPrefix(r.URL.Path, "/v1/people/")
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.st.person(id)
	if !ok {
		return notFound(tid)
	}
	return okReply(s.wirePerson(p))
}

// GET /memberships

func (s *Server) listMemberships(r *http.Request, tid string) reply {
	q := r.URL.Query()
	limit, ok := parseMax(q, 100, 1000)
	if !ok {
		return badRequest(tid, "max must be a number.")
	}
	roomID, personID, personEmail := q.Get("roomId"), q.Get("personId"), q.Get("personEmail")
	if roomID == "" && (personID != "" || personEmail != "") {
		return badRequest(tid, "roomId is required with personId or personEmail.")
	}
	offset, ok := decodeOffset(q.Get("cursor"))
	if !ok {
		return badRequest(tid, "Invalid cursor.")
	}

	s.mu.Lock()
	type pair struct {
		rs       *roomState
		personID string
	}
	var all []pair
	if roomID != "" {
		rs, ok := s.st.rooms[roomID]
		if !ok {
			s.mu.Unlock()
			return notFound(tid)
		}
		for _, id := range s.st.members(rs) {
			p, _ := s.st.person(id)
			if (personID == "" || id == personID) && (personEmail == "" || strings.EqualFold(p.Email, personEmail)) {
				all = append(all, pair{rs, id})
			}
		}
	} else {
		for _, rs := range s.st.sortedRooms(sortCreated) {
			all = append(all, pair{rs, s.st.me.ID})
		}
	}
	lo, hi := min(offset, len(all)), min(offset+limit, len(all))
	items := make([]wireMembership, 0, hi-lo)
	for _, m := range all[lo:hi] {
		p, known := s.st.person(m.personID)
		w := wireMembership{
			ID:          webexID("MEMBERSHIP", idUUID(m.personID)+":"+idUUID(m.rs.room.ID)),
			RoomID:      m.rs.room.ID,
			PersonID:    m.personID,
			IsModerator: m.rs.room.IsLocked && m.personID == m.rs.room.CreatorID,
			RoomType:    m.rs.room.Type,
			Created:     formatTime(m.rs.room.Created),
		}
		if known {
			w.PersonEmail, w.PersonDisplayName, w.PersonOrgID = p.Email, p.DisplayName, s.st.orgID
		}
		items = append(items, w)
	}
	s.mu.Unlock()

	rep := okReply(wireList[wireMembership]{Items: items})
	offsetLinks(s, r, &rep, lo, hi, len(all), limit)
	return rep
}

// An offset cursor is the index of the next item to send.
func encodeOffset(n int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(n)))
}

func decodeOffset(c string) (int, bool) {
	if c == "" {
		return 0, true
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, false
	}
	v, ok := strings.CutPrefix(string(b), "offset:")
	n, err := strconv.Atoi(v)
	return n, ok && err == nil && n >= 0
}

// GET /teams

func (s *Server) listTeams(r *http.Request, tid string) reply {
	return offsetPage(s, r, tid, func() []Team { return s.st.teams }, func(t Team) wireTeam {
		return wireTeam{ID: t.ID, Name: t.Name, Created: formatTime(t.Created)}
	})
}

// offsetPage answers a list paged with an offset cursor: the items of all
// (both functions called under s.mu) from the cursor on, at most max of
// them, with a next link while more remain.
func offsetPage[T, W any](s *Server, r *http.Request, tid string, all func() []T, wire func(T) W) reply {
	q := r.URL.Query()
	limit, ok := parseMax(q, 100, 1000)
	if !ok {
		return badRequest(tid, "max must be a number.")
	}
	offset, ok := decodeOffset(q.Get("cursor"))
	if !ok {
		return badRequest(tid, "Invalid cursor.")
	}
	s.mu.Lock()
	list := all()
	lo, hi := min(offset, len(list)), min(offset+limit, len(list))
	items := make([]W, 0, hi-lo)
	for _, x := range list[lo:hi] {
		items = append(items, wire(x))
	}
	n := len(list)
	s.mu.Unlock()
	rep := okReply(wireList[W]{Items: items})
	offsetLinks(s, r, &rep, lo, hi, n, limit)
	return rep
}

// offsetLinks sets the links of a page of items [lo, hi) out of n, limit a
// page: next while more remain, and beyond the first page the first and
// the previous one.
func offsetLinks(s *Server, r *http.Request, rep *reply, lo, hi, n, limit int) {
	if hi < n {
		rep.next = s.nextURL(r, map[string]string{"max": strconv.Itoa(limit), "cursor": encodeOffset(hi)})
	}
	if lo > 0 {
		rep.first = s.firstURL(r)
		rep.prev = rep.first
		if p := lo - limit; p > 0 {
			rep.prev = s.nextURL(r, map[string]string{"max": strconv.Itoa(limit), "cursor": encodeOffset(p)})
		}
	}
}
