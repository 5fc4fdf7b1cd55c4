package webextest

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Fault makes matching requests misbehave. A request matches when its
// endpoint (as in Counts) is Endpoint, its room (the roomId parameter,
// or the id of /rooms/{id}) is RoomID, it has the parameter Param and its
// max is above MaxAbove; empty (zero) fields match anything. The
// first matching fault in injection order applies, after holds and
// latency.
//
// Delay is waited first; then the first set of these applies:
// ResetConnection, Stall, Status (an error answer, before the token is
// checked), Body alone (a 200 with that body). Malformed, HugeBody,
// Truncate, LinkLoop, Link, LinkHost, OmitItem, EmptyPage and Patch replace or
// alter a normal 200 answer (after the token check): a request whose normal
// answer is not a 200 gets that answer, and still uses up one of Times.
type Fault struct {
	Endpoint string // "rooms", "messages", ... ("" = any)
	RoomID   string // only requests for this room ("" = any)
	Param    string // only requests with this query parameter, e.g. "beforeMessage" ("" = any)
	// MaxAbove: only requests whose max parameter is a number above it,
	// as an account too large for max=1000 meets Webex's 504 (0 = any).
	MaxAbove int
	Times    int // matching requests it applies to (0 = until ClearFaults)

	Status     int    // e.g. 429, 500, 503, 401, 404, 410, 423, 504
	RetryAfter string // Retry-After as written; 429 and 423 default to "1"
	// Body replaces the error JSON (or is a 200's body without Status).
	Body string

	Delay time.Duration // wait before answering
	Stall bool          // 200 headers and part of a body, then nothing until the client or server gives up
	// ResetConnection closes the connection without an answer. Go's
	// Transport silently retries an idempotent request once when a reused
	// connection closes this way, so use Times >= 2 to make a client see it.
	ResetConnection bool
	Truncate        bool  // the normal answer, its body cut in half (connection closed early)
	Malformed       bool  // 200 with invalid JSON
	HugeBody        int64 // 200 with a body of this many bytes (streamed)
	LinkLoop        bool  // the normal page with a next link to the same URL
	// LinkHost: the normal page with its next link (or, on a last page,
	// the request's own URL) moved to this base URL (e.g.
	// "http://127.0.0.1:4444/v1"), same path and query.
	LinkHost string
	// OmitItem: the normal page without the item of this id, as a listing
	// whose pages shifted under a concurrent change may leave a room out.
	OmitItem string
	// Link replaces the normal page's Link header with this value as
	// written (a malformed one, say).
	Link string
	// EmptyPage: {"items":[]} with a next link to the page that would have
	// been served (the request's URL plus an ignored "emptyPage" parameter,
	// so each empty page has a distinct URL).
	EmptyPage bool
	// Patch makes list items odd, as items from the field can be: for each
	// item id (a room in /rooms, a message in /messages, a membership in
	// /memberships), each field is set
	// to its new raw JSON (`"false"`, `null`, `42`, `[]`; must be valid
	// JSON), or removed when "". The page is otherwise unchanged.
	Patch map[string]map[string]string
}

type faultState struct {
	Fault
	left int // remaining uses; <= 0 for unlimited
}

// InjectFault adds a fault.
func (s *Server) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &faultState{Fault: f, left: f.Times})
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// matchFault returns (and uses up) the first fault matching a request.
func (s *Server) matchFault(endpoint, roomID string, q url.Values) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if (f.Endpoint != "" && f.Endpoint != endpoint) || (f.RoomID != "" && f.RoomID != roomID) || (f.Param != "" && !q.Has(f.Param)) {
			continue
		}
		if n, err := strconv.Atoi(q.Get("max")); f.MaxAbove > 0 && (err != nil || n <= f.MaxAbove) {
			continue
		}
		if f.left > 0 {
			f.left--
			if f.left == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		copied := f.Fault
		return &copied
	}
	return nil
}

// roomIDOf returns the room a request is about, if any.
func roomIDOf(r *http.Request) string {
	if id := r.URL.Query().Get("roomId"); id != "" {
		return id
	}
	if id, ok := strings.CutPrefix(r.URL.Path, "/v1/rooms/"); ok {
		return id
	}
	return ""
}

// failEarly applies the faults that replace the whole exchange; it reports
// whether it answered.
func (s *Server) failEarly(w *statusWriter, r *http.Request, f *Fault, tid string) bool {
	switch {
	case f.ResetConnection:
		resetConnection(w)
	case f.Stall:
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"items":[{"id":"`))
		_ = http.NewResponseController(w).Flush()
		select {
		case <-r.Context().Done():
		case <-s.closed:
		}
		panic(http.ErrAbortHandler) // drop the connection: never end the body
	case f.Status != 0 && f.Status != http.StatusOK:
		rep := errorReply(f.Status, statusMessage(f.Status), tid)
		if f.RetryAfter != "" {
			rep.retryAfter = f.RetryAfter
		}
		if f.Body != "" {
			rep.body, rep.ctype = []byte(f.Body), "text/plain;charset=UTF-8"
			if b := strings.TrimSpace(f.Body); strings.HasPrefix(b, "{") {
				rep.ctype = ""
			} else if strings.HasPrefix(b, "<") {
				rep.ctype = "text/html;charset=UTF-8"
			}
		}
		s.write(w, rep)
	case f.Body != "":
		s.write(w, reply{status: http.StatusOK, body: []byte(f.Body)})
	default:
		return false
	}
	return true
}

// corrupt applies the faults that alter a normal 200 answer; it reports
// whether it answered itself (otherwise rep is to be written).
func (s *Server) corrupt(w *statusWriter, r *http.Request, f *Fault, rep *reply) bool {
	switch {
	case f.Malformed:
		rep.body = []byte(`{"items":[{"id":"Y2lzY29zcGFyazovL3VzL1JPT00v","title":"broken",}` + "\n")
	case f.HugeBody > 0:
		writeHuge(w, r, f.HugeBody)
		return true
	case f.Truncate:
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(rep.body)))
		if l := rep.linkHeader(); l != "" {
			w.Header().Set("Link", l)
		}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(rep.body[:len(rep.body)/2])
		_ = http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler) // close the connection mid-body
	case f.LinkLoop:
		rep.next = s.requestURL(r)
	case f.Link != "":
		rep.link = f.Link
	case f.LinkHost != "":
		next := rep.next
		if next == "" {
			next = s.requestURL(r)
		}
		rep.next = strings.TrimRight(f.LinkHost, "/") + strings.TrimPrefix(next, s.URL)
	case f.OmitItem != "":
		var page struct {
			Items []map[string]any `json:"items"`
		}
		if json.Unmarshal(rep.body, &page) == nil {
			page.Items = slices.DeleteFunc(page.Items, func(it map[string]any) bool { return it["id"] == f.OmitItem })
			rep.body = mustJSON(page)
		}
	case len(f.Patch) > 0:
		rep.body = patchItems(rep.body, f.Patch)
	case f.EmptyPage:
		u := *r.URL
		q := u.Query()
		q.Set("emptyPage", strconv.FormatUint(s.seq.Add(1), 10))
		u.RawQuery = q.Encode()
		rep.body, rep.next = []byte(`{"items":[]}`), s.ts.URL+u.RequestURI()
	}
	return false
}

// patchItems applies a Fault's Patch to a list page's JSON.
func patchItems(body []byte, patch map[string]map[string]string) []byte {
	var page map[string]json.RawMessage
	var items []map[string]json.RawMessage
	if json.Unmarshal(body, &page) != nil || json.Unmarshal(page["items"], &items) != nil {
		return body
	}
	for _, it := range items {
		var id string
		if json.Unmarshal(it["id"], &id) != nil {
			continue
		}
		for k, v := range patch[id] {
			if v == "" {
				delete(it, k)
			} else {
				it[k] = json.RawMessage(v)
			}
		}
	}
	page["items"] = mustJSON(items)
	return mustJSON(page)
}

// requestURL returns the absolute URL of a request to this server.
func (s *Server) requestURL(r *http.Request) string { return s.ts.URL + r.URL.RequestURI() }

// resetConnection closes the client's connection without an answer (a TCP
// reset where possible).
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	raw := conn
	if nc, ok := conn.(interface{ NetConn() net.Conn }); ok {
		raw = nc.NetConn()
	}
	if tcp, ok := raw.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = raw.Close()
}

// writeHuge streams a 200 JSON-looking body of n bytes without holding it
// in memory.
func writeHuge(w http.ResponseWriter, r *http.Request, n int64) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	w.WriteHeader(http.StatusOK)
	chunk := bytes.Repeat([]byte(" "), 32<<10)
	head := []byte(`{"items":[`)
	if int64(len(head)) > n {
		head = head[:n]
	}
	if _, err := w.Write(head); err != nil {
		return
	}
	for left := n - int64(len(head)); left > 0; {
		if r.Context().Err() != nil {
			panic(http.ErrAbortHandler)
		}
		c := chunk[:min(int64(len(chunk)), left)]
		if _, err := w.Write(c); err != nil {
			return
		}
		left -= int64(len(c))
	}
}
