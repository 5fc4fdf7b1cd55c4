package webextest

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultToken is the bearer token a server accepts unless WithToken or
// SetToken says otherwise.
const DefaultToken = "webextest-token"

// maxLog bounds RequestLog so a long-lived (demo) server does not grow.
const maxLog = 100_000

// Option configures NewServer.
type Option func(*config)

type config struct {
	token    string
	latency  time.Duration
	tls      bool
	listener net.Listener
	officer  bool
	delivery *http.Client
}

// WithToken sets the accepted bearer token.
func WithToken(tok string) Option { return func(c *config) { c.token = tok } }

// WithLatency adds d to every request's answer time.
func WithLatency(d time.Duration) Option { return func(c *config) { c.latency = d } }

// WithListener serves on l instead of a fresh loopback port (for a fake
// run as its own process at a known address).
func WithListener(l net.Listener) Option { return func(c *config) { c.listener = l } }

// WithTLS serves HTTPS with httptest's certificate; use Server.Client.
func WithTLS() Option { return func(c *config) { c.tls = true } }

// Counts is a number of requests by endpoint: "rooms" (also /rooms/{id}),
// "messages", "people/me", "people", "memberships", "teams", "events",
// "webhooks", "access_token" and "other".
type Counts map[string]int

// Request is a request the server received.
type Request struct {
	Method, Path, RawQuery string
	Endpoint               string // as in Counts
	Authorization          string // header value as received
	Time                   time.Time
	// Status is the answer's status: 0 while unanswered, or when none was
	// sent (connection reset, client gone).
	Status int
}

// Server is a running fake Webex API. All its methods are safe for
// concurrent use.
type Server struct {
	URL string // API base, e.g. http://127.0.0.1:1234/v1

	ts      *httptest.Server
	closed  chan struct{}
	closing sync.Once
	sender  sync.WaitGroup     // the webhook deliveries' sender
	stop    context.CancelFunc // stops the sender
	arrived chan Request
	seq     atomic.Uint64 // tracking ids, message ids, cursors

	mu sync.Mutex // guards everything below
	st *state
	// auth
	token       string
	tokenExpiry time.Time // zero: never
	oauth       *oauthConfig
	latency     time.Duration
	// accounting
	counts  Counts
	total   int
	log     []*Request
	changed chan struct{} // closed and replaced at every arrival
	// faults and holds
	faults []*faultState
	holds  []*hold
}

type hold struct {
	endpoint string
	ch       chan struct{}
}

// NewServer starts a server serving a copy of org (nil: an empty org).
func NewServer(org *Org, opts ...Option) *Server {
	cfg := config{token: DefaultToken}
	for _, o := range opts {
		o(&cfg)
	}
	if org == nil {
		org = &Org{}
	}
	s := &Server{
		closed:  make(chan struct{}),
		arrived: make(chan Request, 4096),
		st:      newState(org),
		token:   cfg.token,
		latency: cfg.latency,
		counts:  Counts{},
		changed: make(chan struct{}),
	}
	s.ts = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	if cfg.listener != nil {
		s.ts.Listener.Close()
		s.ts.Listener = cfg.listener
	}
	if cfg.tls {
		s.ts.StartTLS()
	} else {
		s.ts.Start()
	}
	s.URL = s.ts.URL + "/v1"
	s.st.officer = cfg.officer
	delivery := cfg.delivery
	if delivery == nil {
		delivery = &http.Client{}
	}
	var ctx context.Context
	ctx, s.stop = context.WithCancel(context.Background())
	s.sender.Go(func() { s.sendDeliveries(ctx, delivery) })
	return s
}

// Close unblocks held and stalled requests and shuts the server down.
func (s *Server) Close() {
	s.closing.Do(func() { close(s.closed) })
	s.stop()
	s.sender.Wait()
	s.ts.Close()
}

// Client returns an HTTP client for the server (trusting its certificate
// under WithTLS).
func (s *Server) Client() *http.Client { return s.ts.Client() }

// SetToken changes the accepted bearer token (it does not expire).
func (s *Server) SetToken(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token, s.tokenExpiry = tok, time.Time{}
}

// SetLatency changes the time added to every request.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// AddRoom adds a room to the account's rooms, or replaces the fields of
// the room with that id (keeping its messages). An empty ID is generated,
// an empty Type is "group", a zero Created is now and a zero LastActivity
// is Created; the creator, if a known person, becomes a member.
func (s *Server) AddRoom(r Room) {
	if r.ID == "" {
		r.ID = MakeID("ROOM", s.seq.Add(1)^0x524f4f4d)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.addRoom(r)
}

// RemoveRoom makes the account leave a room: it disappears from listings
// and its messages, memberships and details answer 404.
func (s *Server) RemoveRoom(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.removeRoom(id)
}

// PostMessage adds a message by personID created at at (truncated to
// milliseconds) to a room, makes the author a member and moves the room's
// LastActivity to at if later. It returns the message, or the zero Message
// if the room is unknown.
func (s *Server) PostMessage(roomID, personID string, at time.Time) Message {
	return s.Post(Message{RoomID: roomID, PersonID: personID, Created: at})
}

// Post is PostMessage with every field: an empty ID is generated, empty
// Text gets a default, a zero Created is now, PersonEmail is filled from
// the person when empty, and RoomType follows the room.
func (s *Server) Post(m Message) Message {
	if m.ID == "" {
		m.ID = MakeID("MESSAGE", s.seq.Add(1)^0x4d455353)
	}
	if m.Text == "" {
		m.Text = "Hello from webextest"
	}
	if m.Created.IsZero() {
		m.Created = time.Now()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, ok := s.st.room(m.RoomID)
	if !ok {
		return Message{}
	}
	return s.st.post(rs, m)
}

// DeleteMessage deletes a message, as its author can: it leaves the
// room's listings, and a beforeMessage naming it answers 404. It reports
// whether the message existed.
func (s *Server) DeleteMessage(roomID, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, ok := s.st.rooms[roomID]
	if !ok {
		return false
	}
	n := len(rs.msgs)
	rs.msgs = slices.DeleteFunc(rs.msgs, func(m Message) bool { return m.ID == id })
	return len(rs.msgs) < n
}

// MoveActivity moves a room's LastActivity to at (if later) without a
// visible message, as an edit or a membership change does.
func (s *Server) MoveActivity(roomID string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rs, ok := s.st.room(roomID); ok {
		s.st.moveActivity(rs, wireTime(at))
	}
}

// SetMe changes the account the token belongs to (e.g. to a bot). It stays
// a member of every room; messages mention it only if they name p.ID, so
// keep the generated id to turn the account into a bot:
//
//	me := s.Org().Me; me.Type = "bot"; s.SetMe(me)
func (s *Server) SetMe(p Person) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.me = p
}

// AddPerson adds or replaces a person (an author for PostMessage).
func (s *Server) AddPerson(p Person) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.addPerson(p)
}

// Rooms returns the account's rooms, newest created first.
func (s *Server) Rooms() []Room {
	s.mu.Lock()
	defer s.mu.Unlock()
	order := s.st.sortedRooms(sortCreated)
	out := make([]Room, len(order))
	for i, rs := range order {
		out[i] = rs.room
	}
	return out
}

// Room returns a room of the organisation by id (the account's or another).
func (s *Server) Room(id string) (Room, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, ok := s.st.room(id)
	if !ok {
		return Room{}, false
	}
	return rs.room, true
}

// Messages returns a room's messages, oldest first (nil for an unknown room).
func (s *Server) Messages(roomID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, ok := s.st.room(roomID)
	if !ok {
		return nil
	}
	return cloneMessages(rs.msgs)
}

// Org returns a deep copy of the current state.
func (s *Server) Org() *Org {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.snapshot()
}

// Requests returns the number of requests received by endpoint.
func (s *Server) Requests() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := make(Counts, len(s.counts))
	for k, v := range s.counts {
		c[k] = v
	}
	return c
}

// RequestsTotal returns the number of requests received.
func (s *Server) RequestsTotal() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// ResetRequests zeroes the counts and empties the request log.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts, s.total, s.log = Counts{}, 0, nil
}

// RequestLog returns the requests received (the latest 100,000), in
// arrival order.
func (s *Server) RequestLog() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.log))
	for i, r := range s.log {
		out[i] = *r
	}
	return out
}

// Arrived announces each request as it arrives, before any Hold. Sends
// never block: announcements are dropped while the channel (4096) is full.
func (s *Server) Arrived() <-chan Request { return s.arrived }

// WaitRequests blocks until at least n requests to endpoint ("" for any)
// have arrived since the start or the last ResetRequests, counting held
// ones. It fails when ctx is done or the server closed.
func (s *Server) WaitRequests(ctx context.Context, endpoint string, n int) error {
	return s.waitFor(ctx, n, func() (int, chan struct{}) {
		if endpoint == "" {
			return s.total, s.changed
		}
		return s.counts[endpoint], s.changed
	})
}

// waitFor blocks until count (called under s.mu; it returns the count and
// the channel closed at its next change) reaches n, ctx is done or the
// server closed.
func (s *Server) waitFor(ctx context.Context, n int, count func() (int, chan struct{})) error {
	for {
		s.mu.Lock()
		got, changed := count()
		s.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.closed:
			return http.ErrServerClosed
		}
	}
}

// Hold makes requests to endpoint ("" for any) that arrive from now on
// wait, after being counted, until release is called, their context is
// done or the server closes. release may be called more than once.
func (s *Server) Hold(endpoint string) (release func()) {
	h := &hold{endpoint: endpoint, ch: make(chan struct{})}
	s.mu.Lock()
	s.holds = append(s.holds, h)
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.holds = slices.DeleteFunc(s.holds, func(x *hold) bool { return x == h })
			s.mu.Unlock()
			close(h.ch)
		})
	}
}

// endpointOf names the endpoint of a request path.
func endpointOf(path string) string {
	p, ok := strings.CutPrefix(path, "/v1/")
	if !ok {
		return "other"
	}
	switch {
	case p == "rooms" || strings.HasPrefix(p, "rooms/"):
		return "rooms"
	case p == "messages" || strings.HasPrefix(p, "messages/"):
		return "messages"
	case p == "people/me":
		return "people/me"
	case p == "people" || strings.HasPrefix(p, "people/"):
		return "people"
	case p == "memberships" || strings.HasPrefix(p, "memberships/"):
		return "memberships"
	case p == "teams" || strings.HasPrefix(p, "teams/"):
		return "teams"
	case p == "access_token":
		return "access_token"
	case p == "events" || strings.HasPrefix(p, "events/"):
		return "events"
	case p == "webhooks" || strings.HasPrefix(p, "webhooks/"):
		return "webhooks"
	}
	return "other"
}

// arrive counts and logs a request, announces it and returns its log entry
// and the holds it must wait for.
func (s *Server) arrive(r *http.Request, endpoint string) (*Request, []*hold) {
	req := &Request{
		Method:        r.Method,
		Path:          r.URL.Path,
		RawQuery:      r.URL.RawQuery,
		Endpoint:      endpoint,
		Authorization: r.Header.Get("Authorization"),
		Time:          time.Now(),
	}
	s.mu.Lock()
	s.counts[endpoint]++
	s.total++
	s.log = append(s.log, req)
	if len(s.log) >= 2*maxLog {
		s.log = slices.Clone(s.log[len(s.log)-maxLog:])
	}
	close(s.changed)
	s.changed = make(chan struct{})
	var holds []*hold
	for _, h := range s.holds {
		if h.endpoint == "" || h.endpoint == endpoint {
			holds = append(holds, h)
		}
	}
	announce := *req
	s.mu.Unlock()
	select {
	case s.arrived <- announce:
	default:
	}
	return req, holds
}

func (s *Server) setStatus(req *Request, status int) {
	s.mu.Lock()
	req.Status = status
	s.mu.Unlock()
}

// sleep waits d; it reports false if ctx is done or the server closes first.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-s.closed:
	}
	return false
}

// waitHolds waits for every hold to be released; false if ctx is done or
// the server closes first.
func (s *Server) waitHolds(ctx context.Context, holds []*hold) bool {
	for _, h := range holds {
		select {
		case <-h.ch:
		case <-ctx.Done():
			return false
		case <-s.closed:
			return false
		}
	}
	return true
}

// newTrackingID returns a Webex-looking tracking id.
func (s *Server) newTrackingID() string {
	n := s.seq.Add(1)
	return "ROUTER_" + strings.ToUpper(uuidOf(splitmix(n), splitmix(^n)))
}

// statusWriter records the status written through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// serve answers one request: count it, wait for holds and latency, apply a
// matching fault, check the token, route, and maybe corrupt the answer.
func (s *Server) serve(rw http.ResponseWriter, r *http.Request) {
	endpoint := endpointOf(r.URL.Path)
	req, holds := s.arrive(r, endpoint)
	w := &statusWriter{ResponseWriter: rw}
	defer func() { s.setStatus(req, w.status) }()
	ctx := r.Context()
	s.mu.Lock()
	latency := s.latency
	s.mu.Unlock()
	if !s.waitHolds(ctx, holds) || !s.sleep(ctx, latency) {
		panic(http.ErrAbortHandler) // client gone or server closing: no answer
	}
	tid := s.newTrackingID()
	w.Header().Set("Trackingid", tid)
	f := s.matchFault(endpoint, roomIDOf(r), r.URL.Query())
	if f != nil {
		if !s.sleep(ctx, f.Delay) {
			panic(http.ErrAbortHandler)
		}
		if s.failEarly(w, r, f, tid) {
			return
		}
	}
	var rep reply
	if endpoint == "access_token" {
		rep = s.accessToken(r, tid)
	} else if !s.authorized(r) {
		rep = errorReply(http.StatusUnauthorized, msgUnauthorized, tid)
	} else {
		rep = s.route(r, tid)
	}
	if f != nil && rep.status == http.StatusOK && s.corrupt(w, r, f, &rep) {
		return
	}
	s.write(w, rep)
}

// reply is an answer before it is written.
type reply struct {
	status     int
	body       []byte
	ctype      string // default JSON
	next       string // Link rel="next" target
	first      string // Link rel="first" target (beyond the first page)
	prev       string // Link rel="prev" target (where the cursor allows)
	link       string // the whole Link header as written, when set (a fault's)
	retryAfter string
	header     http.Header // extra headers
}

// linkHeader is the reply's Link header: first and prev, where known,
// beside next (last, as RFC 8288 allows any order), in one value.
func (rep reply) linkHeader() string {
	if rep.link != "" {
		return rep.link
	}
	var links []string
	for _, l := range []struct{ url, rel string }{{rep.first, "first"}, {rep.prev, "prev"}, {rep.next, "next"}} {
		if l.url != "" {
			links = append(links, "<"+l.url+`>; rel="`+l.rel+`"`)
		}
	}
	return strings.Join(links, ", ")
}

func (s *Server) write(w http.ResponseWriter, rep reply) {
	h := w.Header()
	ctype := rep.ctype
	if ctype == "" {
		ctype = "application/json;charset=UTF-8"
	}
	h.Set("Content-Type", ctype)
	if l := rep.linkHeader(); l != "" {
		h.Set("Link", l)
	}
	if rep.retryAfter != "" {
		h.Set("Retry-After", rep.retryAfter)
	}
	for k, v := range rep.header {
		h[k] = v
	}
	w.WriteHeader(rep.status)
	_, _ = w.Write(rep.body)
}
