package collector

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/webex-exporter/webex_exporter/collector/state"
	"github.com/webex-exporter/webex_exporter/webex"
)

// The push feed: Webex posts every new message of the account's rooms (a
// messages:created webhook delivery, signed with the webhook's secret) to
// the exporter, which records it in the state before it answers. Polling
// goes on: a room whose lastActivity moved is read at the next scrape when
// no delivered message explains the move, and within
// PushConfig.ReconcileInterval of its first unread move when one does (a
// lost delivery may hide below it; see state.Plan). Push saves latency, and
// the reads of rooms that move more often than that interval.
//
// The feed keeps its own cursor (the webhook's id and secret, written to
// the state file); main.go owns the HTTP listener and hands each
// delivery's body and signature to Deliver.

// WebhookAPI is what the push feed asks of Webex (a *webex.Client).
type WebhookAPI interface {
	Webhooks(ctx context.Context) ([]webex.Webhook, error)
	Webhook(ctx context.Context, id string) (webex.Webhook, error)
	CreateWebhook(ctx context.Context, s webex.WebhookSpec) (webex.Webhook, error)
	UpdateWebhook(ctx context.Context, id string, s webex.WebhookSpec) (webex.Webhook, error)
	DeleteWebhook(ctx context.Context, id string) error
}

// PushConfig configures the push feed.
type PushConfig struct {
	TargetURL string // where Webex delivers (--webhook.url); required
	Name      string // the webhook's name (default "webex_exporter")
	// Secret keys the deliveries' signatures (--webhook.secret-file); ""
	// to use the state file's, or a new random one.
	Secret string
	// CheckEvery is how often the webhook's status is checked (default 5m);
	// a room move no delivery explains checks it at once (at most once a
	// minute).
	CheckEvery time.Duration
	// ReconcileInterval: a room whose lastActivity moved is read within
	// this of its first move no read has covered, even when pushed
	// messages explain the move (a lost delivery may hide below them;
	// default 10m, --webhook.reconcile-interval).
	ReconcileInterval time.Duration
	// Refusals is where refused deliveries are logged (anyone can send
	// them: the caller limits how often); default: the tracker's logger.
	Refusals log.Logger
}

// Delivery results, the values of webex_push_deliveries_total's label.
const (
	PushAccepted          = "accepted"           // a new message, recorded
	PushDuplicate         = "duplicate"          // a message already known (a redelivery)
	PushUnknownRoom       = "unknown_room"       // a room the exporter does not watch (yet): the listing will find it
	PushIgnored           = "ignored"            // well-formed, but not messages:created
	PushRejectedSignature = "rejected_signature" // unsigned, or not signed with the secret
	PushRejectedMalformed = "rejected_malformed" // not a delivery
	PushRejectedTooLarge  = "rejected_too_large" // larger than webex.MaxDeliveryBytes
)

var pushResults = []string{PushAccepted, PushDuplicate, PushUnknownRoom, PushIgnored,
	PushRejectedSignature, PushRejectedMalformed, PushRejectedTooLarge}

// minCheckGap bounds the status checks a burst of unexplained moves makes.
const minCheckGap = time.Minute

// Push is the push feed of one tracker. It reports pushed messages to the
// tracker's state and keeps its cursor (the webhook) in a cursor the state
// file carries; it knows no other feed and not the tracker.
type Push struct {
	state      *state.State
	now        func() time.Time
	cursor     *webhookCursor
	logger     log.Logger
	api        WebhookAPI
	name, url  string
	fileSecret string
	checkEvery time.Duration
	refusals   log.Logger

	enabledDesc, deliveriesDesc, lastDesc *prometheus.Desc

	mu           sync.Mutex
	active       bool      // the webhook is active, as last seen
	checked      time.Time // last status check or set-up (t.now); zero: not set up
	deliveries   map[string]uint64
	lastAccepted time.Time // on the tracker's clock (Config.Now)
}

// NewPush attaches a push feed to t: t's refreshes set the webhook up and
// check it, and Deliver records deliveries in t's state.
func NewPush(t *Tracker, api WebhookAPI, cfg PushConfig) *Push {
	p := &Push{state: t.state, now: t.now, cursor: &t.webhook, logger: t.logger, api: api, name: cfg.Name, url: cfg.TargetURL, fileSecret: cfg.Secret,
		checkEvery: cfg.CheckEvery, refusals: cfg.Refusals, deliveries: map[string]uint64{},
		enabledDesc:    prometheus.NewDesc(namespace+"_push_enabled", "1 if the exporter's webhook is set up and active (as last checked), else 0; without it, polling alone keeps the values true.", nil, nil),
		deliveriesDesc: prometheus.NewDesc(namespace+"_push_deliveries_total", "Webhook deliveries received, by result (accepted, duplicate, unknown_room, ignored, rejected_signature, rejected_malformed, rejected_too_large).", []string{"result"}, nil),
		lastDesc:       prometheus.NewDesc(namespace+"_push_last_delivery_timestamp_seconds", "When the last signed delivery of a message was received, Unix time; absent until then.", nil, nil),
	}
	if p.name == "" {
		p.name = "webex_exporter"
	}
	if p.checkEvery <= 0 {
		p.checkEvery = 5 * time.Minute
	}
	reconcile := cfg.ReconcileInterval
	if reconcile <= 0 {
		reconcile = 10 * time.Minute
	}
	if p.refusals == nil {
		p.refusals = t.logger
	}
	t.attachPush(p, reconcile)
	return p
}

// attachPush makes the tracker's refreshes run the push feed f right after
// the poll feed, and read a move a pushed message explains within
// reconcile.
func (t *Tracker) attachPush(f feed, reconcile time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.feeds = slices.Insert(slices.Clone(t.feeds), min(1, len(t.feeds)), f)
	t.state.SetReconcile(reconcile)
}

// The push feed's part of a refresh: no phase of its own, but the webhook
// set up or checked (see maintain) once the poll feed has planned.
func (*Push) phases() []string { return nil }

func (p *Push) run(ctx context.Context, r *pass) []Phase {
	p.maintain(ctx, r.now, r.unexplained)
	return nil
}

// webhookState is the push feed's cursor in the state: its webhook and the
// secret its deliveries are signed with.
type webhookState struct {
	id, secret, targetURL string
	// fileSecret: the secret is --webhook.secret-file's, not written to
	// the state file.
	fileSecret bool
}

// webhookCursor holds the push feed's cursor: the feed reads and sets it,
// the state file carries it (also while push is off, for the next start
// with it on), and a change of account clears it.
type webhookCursor struct {
	mu sync.Mutex
	w  webhookState
}

func (c *webhookCursor) get() webhookState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.w
}

func (c *webhookCursor) set(w webhookState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.w = w
}

// Deliver records one delivery: its signature checked against the secret
// in constant time, then its message ingested (a message already known
// counts once). It returns the result; the caller answers 2xx unless
// result is one of the refusals (PushRejected...).
func (p *Push) Deliver(body []byte, signature string) string {
	result := p.deliver(body, signature)
	p.mu.Lock()
	p.deliveries[result]++
	if result == PushAccepted || result == PushDuplicate {
		p.lastAccepted = p.now()
	}
	p.mu.Unlock()
	return result
}

func (p *Push) deliver(body []byte, signature string) string {
	if len(body) > webex.MaxDeliveryBytes {
		return PushRejectedTooLarge
	}
	secret := p.fileSecret
	if secret == "" {
		secret = p.cursor.get().secret
	}
	if !webex.VerifySignature(body, secret, signature) {
		return PushRejectedSignature
	}
	d, err := webex.ParseDelivery(body)
	var de *webex.DeliveryError
	switch {
	case errors.As(err, &de) && de.Unwanted:
		return PushIgnored
	case err != nil:
		level.Warn(p.refusals).Log("msg", "Refusing a webhook delivery", "err", err)
		return PushRejectedMalformed
	}
	m := d.Message
	switch p.state.Pushed(webex.Message{ID: m.ID, RoomID: m.RoomID, PersonID: m.PersonID, Created: m.Created}, p.now()) {
	case state.PushedNew:
		return PushAccepted
	case state.PushedDuplicate:
		return PushDuplicate
	}
	return PushUnknownRoom
}

// maintain, called by each refresh, sets the webhook up (once), and checks
// that it is active every CheckEvery, or at once (at most once a minute)
// when unexplained is set: a room moved with no delivery to explain it.
// A disabled webhook (Webex disables one after repeated failed
// deliveries, and never enables it again) is enabled again.
func (p *Push) maintain(ctx context.Context, now time.Time, unexplained bool) {
	p.mu.Lock()
	checked := p.checked
	p.mu.Unlock()
	since := now.Sub(checked)
	switch {
	case checked.IsZero():
	case since >= p.checkEvery:
	case unexplained && since >= minCheckGap:
	default:
		return
	}
	active, err := p.ensure(ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		level.Error(p.logger).Log("msg", "Could not set up or check the webhook; polling alone keeps the values true", "err", err)
		p.active = false
		return
	}
	p.checked, p.active = now, active
}

// ensure finds the exporter's webhook (by the id in the state, else by its
// name and target URL: it touches no other webhook), creates it when there
// is none, and enables it (and sets the secret) when needed.
func (p *Push) ensure(ctx context.Context) (active bool, err error) {
	w := p.cursor.get()
	if w.fileSecret && w.secret == "" {
		w.secret = p.fileSecret // restored: the file holds no such secret
	}
	secret := p.fileSecret
	if secret == "" && w.targetURL == p.url {
		secret = w.secret
	}
	newSecret := secret == ""
	if newSecret {
		secret = webex.NewWebhookSecret()
	}
	spec := webex.WebhookSpec{Name: p.name, TargetURL: p.url, Resource: "messages", Event: "created", Secret: secret}

	var found *webex.Webhook
	if w.id != "" {
		h, err := p.api.Webhook(ctx, w.id)
		switch {
		case err == nil && h.TargetURL == p.url:
			found = &h
		case err != nil && !webex.IsNotFound(err):
			return false, err
		}
	}
	if found == nil {
		hooks, err := p.api.Webhooks(ctx)
		if err != nil {
			return false, err
		}
		for i, h := range hooks {
			if h.Name == p.name && h.TargetURL == p.url && h.Resource == "messages" && h.Event == "created" {
				found = &hooks[i]
				break
			}
		}
	}
	var h webex.Webhook
	switch {
	case found == nil:
		if h, err = p.api.CreateWebhook(ctx, spec); err != nil {
			return false, err
		}
		level.Info(p.logger).Log("msg", "Created the webhook for pushed messages", "webhook_id", h.ID, "target", p.url)
	case !found.Active() || newSecret || secret != w.secret:
		// Disabled by Webex, or its secret unknown here (no state file):
		// set it, active.
		spec.Status = "active"
		if h, err = p.api.UpdateWebhook(ctx, found.ID, spec); err != nil {
			return false, err
		}
		if !found.Active() {
			level.Warn(p.logger).Log("msg", "Webex had disabled the webhook (deliveries failed); enabled it again", "webhook_id", h.ID)
		}
	default:
		h = *found
	}
	p.cursor.set(webhookState{id: h.ID, secret: secret, targetURL: p.url, fileSecret: p.fileSecret != "" && secret == p.fileSecret})
	return h.Active(), nil
}

// Remove deletes the exporter's webhook (at shutdown, when asked to).
func (p *Push) Remove(ctx context.Context) error {
	id := p.cursor.get().id
	if id == "" {
		return nil
	}
	if err := p.api.DeleteWebhook(ctx, id); err != nil && !webex.IsNotFound(err) {
		return err
	}
	p.cursor.set(webhookState{})
	return nil
}

var _ prometheus.Collector = (*Push)(nil)

// Describe implements prometheus.Collector.
func (p *Push) Describe(ch chan<- *prometheus.Desc) {
	ch <- p.enabledDesc
	ch <- p.deliveriesDesc
	ch <- p.lastDesc
}

// Collect implements prometheus.Collector.
func (p *Push) Collect(ch chan<- prometheus.Metric) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(p.enabledDesc, prometheus.GaugeValue, boolFloat(p.active))
	for _, r := range pushResults {
		ch <- prometheus.MustNewConstMetric(p.deliveriesDesc, prometheus.CounterValue, float64(p.deliveries[r]), r)
	}
	if !p.lastAccepted.IsZero() {
		ch <- prometheus.MustNewConstMetric(p.lastDesc, prometheus.GaugeValue, unix(p.lastAccepted))
	}
}
