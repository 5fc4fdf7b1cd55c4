package webextest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Webhook is a webhook of the account, as ground truth.
type Webhook struct {
	ID, Name, TargetURL, Resource, Event, Filter, Secret string
	OwnedBy                                              string // "creator" or "org"
	Status                                               string // "active" or "inactive"
	Created                                              time.Time
}

// Delivery is one delivery of a webhook's event, as the server attempted it.
type Delivery struct {
	WebhookID, MessageID, TargetURL string
	Body                            []byte // the raw JSON body
	Signature                       string // X-Spark-Signature sent ("" for a webhook without secret)
	Status                          int    // the target's answer; 0 when none came
	Err                             error  // why no answer came
	Lost                            bool   // dropped on purpose (LoseDeliveries): never sent
	Replay                          bool   // sent again by ReplayDelivery
}

// Webex disables a webhook after this many failed deliveries within the window.
const (
	disableAfter  = 100
	disableWindow = 5 * time.Minute
	// deliveryTimeout bounds one delivery.
	deliveryTimeout = 10 * time.Second
	// appID is the id of the application every webhook was created with.
	appIDNumber = 0x41505020
)

// webhooks is the account's webhooks and their deliveries; guarded by
// Server.mu.
type webhooks struct {
	list    []*webhook
	outbox  []Delivery    // queued, not yet attempted
	wake    chan struct{} // the sender's signal (capacity 1)
	lose    int           // the next lose deliveries are dropped
	done    []Delivery    // attempted, in order
	last    *Delivery     // the last delivery sent (for ReplayDelivery)
	changed chan struct{} // closed and replaced at every attempt
}

type webhook struct {
	Webhook
	filter   url.Values
	failures []time.Time // failed deliveries within disableWindow
}

// WithDeliveryClient sets the HTTP client deliveries are sent with (for
// example an httptest TLS server's Client); default: a plain http.Client.
func WithDeliveryClient(c *http.Client) Option { return func(cfg *config) { cfg.delivery = c } }

// notify queues a delivery to every active messages:created webhook the
// account's view covers: rooms it is in; for a bot, only direct rooms and
// group rooms where it is mentioned.
func (h *webhooks) notify(st *state, rs *roomState, m Message) {
	if len(h.list) == 0 || rs.other || (st.me.Type == "bot" && rs.room.Type == "group" && !m.mentions(st.me.ID)) {
		return
	}
	for _, w := range h.list {
		if w.Status != "active" || w.Resource != "messages" || w.Event != "created" || !w.matches(st, m) {
			continue
		}
		body := mustJSON(wireDelivery{
			ID: w.ID, Name: w.Name, TargetURL: w.TargetURL, Resource: w.Resource, Event: w.Event, Filter: w.Filter,
			OrgID: st.orgID, CreatedBy: st.me.ID, AppID: MakeID("APPLICATION", appIDNumber), OwnedBy: w.OwnedBy,
			Status: w.Status, Created: formatTime(w.Created), ActorID: m.PersonID,
			Data: wireDeliveryMessage{ID: m.ID, RoomID: m.RoomID, RoomType: m.RoomType, PersonID: m.PersonID,
				PersonEmail: m.PersonEmail, MentionedPeople: m.MentionedPeople, Created: formatTime(m.Created)},
		})
		h.queue(Delivery{WebhookID: w.ID, MessageID: m.ID, TargetURL: w.TargetURL, Body: body, Signature: Sign(body, w.Secret)})
	}
}

func (h *webhooks) queue(d Delivery) {
	h.outbox = append(h.outbox, d)
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// Sign returns the X-Spark-Signature of body: hex HMAC-SHA1 keyed with
// secret ("" without a secret).
func Sign(body []byte, secret string) string {
	if secret == "" {
		return ""
	}
	m := hmac.New(sha1.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// matches applies a webhook's filter to a message.
func (w *webhook) matches(st *state, m Message) bool {
	for k, vs := range w.filter {
		v := vs[0]
		var ok bool
		switch k {
		case "roomId":
			ok = m.RoomID == v
		case "roomType":
			ok = m.RoomType == v
		case "personId":
			ok = m.PersonID == v
		case "personEmail":
			ok = strings.EqualFold(m.PersonEmail, v)
		case "mentionedPeople":
			ok = m.mentions(st.me.ID) && (v == "me" || v == st.me.ID)
		}
		if !ok {
			return false
		}
	}
	return true
}

var filterKeys = []string{"roomId", "roomType", "personId", "personEmail", "mentionedPeople"}

type wireWebhook struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	TargetURL string `json:"targetUrl"`
	Resource  string `json:"resource"`
	Event     string `json:"event"`
	Filter    string `json:"filter,omitempty"`
	Secret    string `json:"secret,omitempty"`
	Status    string `json:"status"`
	Created   string `json:"created"`
	OrgID     string `json:"orgId"`
	CreatedBy string `json:"createdBy"`
	AppID     string `json:"appId"`
	OwnedBy   string `json:"ownedBy"`
}

type wireDelivery struct {
	ID        string              `json:"id"`
	Name      string              `json:"name"`
	TargetURL string              `json:"targetUrl"`
	Resource  string              `json:"resource"`
	Event     string              `json:"event"`
	Filter    string              `json:"filter,omitempty"`
	OrgID     string              `json:"orgId"`
	CreatedBy string              `json:"createdBy"`
	AppID     string              `json:"appId"`
	OwnedBy   string              `json:"ownedBy"`
	Status    string              `json:"status"`
	Created   string              `json:"created"`
	ActorID   string              `json:"actorId"`
	Data      wireDeliveryMessage `json:"data"`
}

type wireDeliveryMessage struct {
	ID              string   `json:"id"`
	RoomID          string   `json:"roomId"`
	RoomType        string   `json:"roomType"`
	PersonID        string   `json:"personId"`
	PersonEmail     string   `json:"personEmail"`
	MentionedPeople []string `json:"mentionedPeople,omitempty"`
	Created         string   `json:"created"`
}

// webhookBody is what POST and PUT /webhooks take.
type webhookBody struct {
	Name      string `json:"name"`
	TargetURL string `json:"targetUrl"`
	Resource  string `json:"resource"`
	Event     string `json:"event"`
	Filter    string `json:"filter"`
	Secret    string `json:"secret"`
	OwnedBy   string `json:"ownedBy"`
	Status    string `json:"status"`
}

func (s *Server) wireWebhook(w *webhook) wireWebhook {
	return wireWebhook{ID: w.ID, Name: w.Name, TargetURL: w.TargetURL, Resource: w.Resource, Event: w.Event, Filter: w.Filter,
		Secret: w.Secret, Status: w.Status, Created: formatTime(w.Created), OrgID: s.st.orgID, CreatedBy: s.st.me.ID,
		AppID: MakeID("APPLICATION", appIDNumber), OwnedBy: w.OwnedBy}
}

// webhooksAPI answers /webhooks (GET, POST) and /webhooks/{id} (GET, PUT, DELETE).
func (s *Server) webhooksAPI(r *http.Request, tid string) reply {
	id, one := strings.CutPrefix(strings.TrimPrefix(r.URL.Path, "/v1/"), "webhooks/")
	allow := "GET, POST"
	if one {
		allow = "GET, PUT, DELETE"
	}
	switch {
	case one && (id == "" || strings.Contains(id, "/")):
		return notFound(tid)
	case !one && r.Method == http.MethodGet:
		return s.listWebhooks(r, tid)
	case !one && r.Method == http.MethodPost:
		return s.createWebhook(r, tid)
	case one && r.Method == http.MethodGet:
		return s.withWebhook(id, tid, func(w *webhook) reply { return okReply(s.wireWebhook(w)) })
	case one && r.Method == http.MethodPut:
		return s.updateWebhook(r, id, tid)
	case one && r.Method == http.MethodDelete:
		return s.withWebhook(id, tid, func(w *webhook) reply {
			s.st.hooks.list = slices.DeleteFunc(s.st.hooks.list, func(x *webhook) bool { return x == w })
			return reply{status: http.StatusNoContent}
		})
	}
	rep := errorReply(http.StatusMethodNotAllowed, statusMessage(http.StatusMethodNotAllowed), tid)
	rep.header = http.Header{"Allow": {allow}}
	return rep
}

// withWebhook calls f with the webhook id under s.mu, or answers 404.
func (s *Server) withWebhook(id, tid string, f func(*webhook) reply) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range s.st.hooks.list {
		if w.ID == id {
			return f(w)
		}
	}
	return notFound(tid)
}

func (s *Server) listWebhooks(r *http.Request, tid string) reply {
	return offsetPage(s, r, tid, func() []*webhook { return s.st.hooks.list }, s.wireWebhook)
}

// readWebhookBody decodes and checks a POST or PUT body; msg says what is
// wrong.
func readWebhookBody(r *http.Request, create bool) (b webhookBody, filter url.Values, msg string) {
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&b); err != nil {
		return b, nil, "The request body is not valid JSON."
	}
	if b.Name == "" || b.TargetURL == "" || (create && (b.Resource == "" || b.Event == "")) {
		if create {
			return b, nil, "name, targetUrl, resource and event are required."
		}
		return b, nil, "name and targetUrl are required."
	}
	if u, err := url.Parse(b.TargetURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return b, nil, "targetUrl must be an absolute http or https URL."
	}
	if b.OwnedBy != "" && b.OwnedBy != "creator" && b.OwnedBy != "org" {
		return b, nil, "ownedBy must be org."
	}
	if !create {
		if b.Status != "" && b.Status != "active" {
			return b, nil, "status may only be set to active."
		}
		return b, nil, ""
	}
	if !slices.Contains([]string{"memberships", "messages", "rooms", "attachmentActions", "meetings", "recordings"}, b.Resource) {
		return b, nil, "Unsupported resource."
	}
	if !slices.Contains([]string{"created", "updated", "deleted", "started", "ended", "joined", "left", "migrated"}, b.Event) {
		return b, nil, "Unsupported event."
	}
	filter, err := url.ParseQuery(b.Filter)
	if err != nil {
		return b, nil, "Invalid filter."
	}
	for k, v := range filter {
		if !slices.Contains(filterKeys, k) || len(v) != 1 || v[0] == "" {
			return b, nil, "Invalid filter: " + k + "."
		}
	}
	return b, filter, ""
}

func (s *Server) createWebhook(r *http.Request, tid string) reply {
	b, filter, msg := readWebhookBody(r, true)
	if msg != "" {
		return badRequest(tid, "%s", msg)
	}
	if b.OwnedBy == "" {
		b.OwnedBy = "creator"
	}
	w := &webhook{
		Webhook: Webhook{ID: MakeID("WEBHOOK", s.seq.Add(1)^0x57454248), Name: b.Name, TargetURL: b.TargetURL,
			Resource: b.Resource, Event: b.Event, Filter: b.Filter, Secret: b.Secret, OwnedBy: b.OwnedBy,
			Status: "active", Created: wireTime(time.Now())},
		filter: filter,
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.hooks.list = append(s.st.hooks.list, w)
	return okReply(s.wireWebhook(w))
}

func (s *Server) updateWebhook(r *http.Request, id, tid string) reply {
	b, _, msg := readWebhookBody(r, false)
	if msg != "" {
		return badRequest(tid, "%s", msg)
	}
	return s.withWebhook(id, tid, func(w *webhook) reply {
		w.Name, w.TargetURL = b.Name, b.TargetURL
		if b.Secret != "" {
			w.Secret = b.Secret
		}
		if b.OwnedBy != "" {
			w.OwnedBy = b.OwnedBy
		}
		if b.Status == "active" {
			w.Status, w.failures = "active", nil
		}
		return okReply(s.wireWebhook(w))
	})
}

// Webhooks returns the account's webhooks, in creation order.
func (s *Server) Webhooks() []Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Webhook, len(s.st.hooks.list))
	for i, w := range s.st.hooks.list {
		out[i] = w.Webhook
	}
	return out
}

// DisableWebhook sets a webhook's status to inactive, as Webex does after
// 100 failed deliveries within 5 minutes (the server also does that by
// itself). It reports whether the webhook exists.
func (s *Server) DisableWebhook(id string) bool {
	return s.withWebhook(id, "", func(w *webhook) reply {
		w.Status = "inactive"
		return reply{status: http.StatusOK}
	}).status == http.StatusOK
}

// LoseDeliveries makes the next n deliveries get lost: recorded with Lost
// set, never sent, and not counted as failures.
func (s *Server) LoseDeliveries(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.hooks.lose += n
}

// ReplayDelivery sends the last delivery sent once more, byte for byte (as
// a duplicate delivery by Webex would be). It reports whether there was one.
func (s *Server) ReplayDelivery() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := &s.st.hooks
	if h.last == nil {
		return false
	}
	d := *h.last
	d.Status, d.Err, d.Replay = 0, nil, true
	h.queue(d)
	return true
}

// Deliveries returns the deliveries attempted so far (sent or lost), in order.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.st.hooks.done)
}

// WaitDeliveries blocks until at least n deliveries have been attempted
// (sent and answered or failed, or lost) since the server started. It fails
// when ctx is done or the server closed.
func (s *Server) WaitDeliveries(ctx context.Context, n int) error {
	return s.waitFor(ctx, n, func() (int, chan struct{}) { return len(s.st.hooks.done), s.st.hooks.changed })
}

// sendDeliveries is the server's one sender: it attempts queued deliveries
// in order until the server closes.
func (s *Server) sendDeliveries(ctx context.Context, client *http.Client) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.st.hooks.wake:
		}
		for {
			s.mu.Lock()
			h := &s.st.hooks
			if len(h.outbox) == 0 {
				s.mu.Unlock()
				break
			}
			d := h.outbox[0]
			h.outbox = h.outbox[1:]
			if h.lose > 0 {
				h.lose--
				d.Lost = true
			}
			s.mu.Unlock()
			if !d.Lost {
				d.Status, d.Err = deliver(ctx, client, d)
			}
			s.mu.Lock()
			s.st.hooks.record(d, time.Now())
			s.mu.Unlock()
		}
	}
}

// deliver POSTs one delivery and returns the target's status.
func deliver(ctx context.Context, client *http.Client, d Delivery) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, deliveryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.TargetURL, bytes.NewReader(d.Body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "webextest-webhooks")
	if d.Signature != "" {
		req.Header.Set("X-Spark-Signature", d.Signature)
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	res.Body.Close()
	return res.StatusCode, nil
}

// record notes an attempted delivery; a webhook with disableAfter failures
// within disableWindow becomes inactive.
func (h *webhooks) record(d Delivery, now time.Time) {
	h.done = append(h.done, d)
	if !d.Lost {
		last := d
		h.last = &last
	}
	close(h.changed)
	h.changed = make(chan struct{})
	if d.Lost || (d.Err == nil && d.Status/100 == 2) {
		return
	}
	for _, w := range h.list {
		if w.ID != d.WebhookID {
			continue
		}
		w.failures = append(slices.DeleteFunc(w.failures, func(t time.Time) bool { return now.Sub(t) > disableWindow }), now)
		if len(w.failures) >= disableAfter {
			w.Status = "inactive"
		}
	}
}
