package webex

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Webhook is a webhook of the account (GET /webhooks). Its secret is not
// kept: whoever created it knows it.
type Webhook struct {
	ID        string
	Name      string
	TargetURL string
	Resource  string // "messages", ...
	Event     string // "created", ...
	Filter    string // such as "roomId=..."; "" for none
	Status    string // "active", or "inactive" once Webex disabled it
	OwnedBy   string // "creator" or "org"
	CreatedBy string
	Created   time.Time
}

// Active reports whether Webex delivers the webhook's events.
func (w Webhook) Active() bool { return w.Status == "active" }

// WebhookSpec is what CreateWebhook and UpdateWebhook send. Its Secret goes
// only into the request body to the API's origin: String and GoString leave
// it out, so a spec can be logged.
type WebhookSpec struct {
	Name      string // required
	TargetURL string // required
	Resource  string // required by CreateWebhook: "messages"
	Event     string // required by CreateWebhook: "created"
	Filter    string // CreateWebhook only
	Secret    string // the key of X-Spark-Signature (NewWebhookSecret)
	Status    string // UpdateWebhook only: "active" re-enables a disabled webhook
}

func (s WebhookSpec) String() string {
	secret := "none"
	if s.Secret != "" {
		secret = "set"
	}
	return fmt.Sprintf("webhook %q (%s:%s to %s, filter %q, status %q, secret %s)", s.Name, s.Resource, s.Event, s.TargetURL, s.Filter, s.Status, secret)
}

// GoString keeps the secret out of %#v too.
func (s WebhookSpec) GoString() string { return "webex.WebhookSpec{" + s.String() + "}" }

type webhookJSON struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	TargetURL string `json:"targetUrl"`
	Resource  string `json:"resource"`
	Event     string `json:"event"`
	Filter    string `json:"filter"`
	Status    string `json:"status"`
	OwnedBy   string `json:"ownedBy"`
	CreatedBy string `json:"createdBy"`
	Created   string `json:"created"`
}

func (j webhookJSON) webhook() (Webhook, error) {
	if j.ID == "" {
		return Webhook{}, errors.New("webhook without id")
	}
	created, err := parseTime(j.Created)
	if err != nil {
		return Webhook{}, fmt.Errorf("webhook %s created: %w", clip(j.ID, 100), err)
	}
	return Webhook{ID: j.ID, Name: j.Name, TargetURL: j.TargetURL, Resource: j.Resource, Event: j.Event, Filter: j.Filter,
		Status: j.Status, OwnedBy: j.OwnedBy, CreatedBy: j.CreatedBy, Created: created}, nil
}

// Webhooks lists the account's webhooks, all pages.
func (c *Client) Webhooks(ctx context.Context) ([]Webhook, error) {
	var out []Webhook
	err := list(ctx, c, c.endpoint("webhooks", url.Values{"max": {"100"}}), func(items []webhookJSON) (bool, error) {
		for _, it := range items {
			w, err := it.webhook()
			if err != nil {
				return false, err
			}
			out = append(out, w)
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Webhook reads one webhook (to see whether Webex disabled it).
func (c *Client) Webhook(ctx context.Context, id string) (Webhook, error) {
	return c.webhookCall(ctx, http.MethodGet, id, nil)
}

// CreateWebhook creates a webhook (POST /webhooks, sent once: never
// retried). Name, TargetURL, Resource and Event are required.
func (c *Client) CreateWebhook(ctx context.Context, s WebhookSpec) (Webhook, error) {
	if s.Name == "" || s.TargetURL == "" || s.Resource == "" || s.Event == "" {
		return Webhook{}, errors.New("webex webhooks: a new webhook needs a name, a target URL, a resource and an event")
	}
	body := struct {
		Name      string `json:"name"`
		TargetURL string `json:"targetUrl"`
		Resource  string `json:"resource"`
		Event     string `json:"event"`
		Filter    string `json:"filter,omitempty"`
		Secret    string `json:"secret,omitempty"`
	}{s.Name, s.TargetURL, s.Resource, s.Event, s.Filter, s.Secret}
	return c.webhookCall(ctx, http.MethodPost, "", body)
}

// UpdateWebhook changes a webhook (PUT /webhooks/{id}): Name and TargetURL
// are required; a Secret replaces the old one; Status "active" re-enables a
// webhook Webex disabled.
func (c *Client) UpdateWebhook(ctx context.Context, id string, s WebhookSpec) (Webhook, error) {
	if s.Name == "" || s.TargetURL == "" {
		return Webhook{}, errors.New("webex webhooks: an update needs a name and a target URL")
	}
	body := struct {
		Name      string `json:"name"`
		TargetURL string `json:"targetUrl"`
		Secret    string `json:"secret,omitempty"`
		Status    string `json:"status,omitempty"`
	}{s.Name, s.TargetURL, s.Secret, s.Status}
	return c.webhookCall(ctx, http.MethodPut, id, body)
}

// DeleteWebhook deletes a webhook.
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	u, err := c.webhookURL(id)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, http.MethodDelete, u, nil, nil)
	return err
}

func (c *Client) webhookURL(id string) (*url.URL, error) {
	if id == "" || url.PathEscape(id) != id {
		return nil, fmt.Errorf("webex webhooks: %q is no webhook id", clip(id, 100))
	}
	return c.endpoint("webhooks/"+id, nil), nil
}

// webhookCall sends body (nil for none) to /webhooks (id "") or
// /webhooks/{id} and decodes the webhook in the answer.
func (c *Client) webhookCall(ctx context.Context, method, id string, body any) (Webhook, error) {
	u := c.endpoint("webhooks", nil)
	if id != "" || method != http.MethodPost {
		var err error
		if u, err = c.webhookURL(id); err != nil {
			return Webhook{}, err
		}
	}
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return Webhook{}, fmt.Errorf("webex webhooks: %w", err)
		}
	}
	res, err := c.do(ctx, method, u, b, nil)
	if err != nil {
		return Webhook{}, err
	}
	var j webhookJSON
	if err := json.Unmarshal(res.body, &j); err != nil {
		return Webhook{}, &DecodeError{Endpoint: "webhooks", Err: err}
	}
	w, err := j.webhook()
	if err != nil {
		return Webhook{}, &DecodeError{Endpoint: "webhooks", Err: err}
	}
	return w, nil
}

// MaxDeliveryBytes bounds a webhook delivery's body: a messages:created
// delivery is well under 2 KiB.
const MaxDeliveryBytes = 64 << 10

// NewWebhookSecret returns a fresh webhook secret: 32 random bytes, in hex.
func NewWebhookSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it crashes the program instead)
	return hex.EncodeToString(b)
}

// VerifySignature reports whether header, the X-Spark-Signature of a
// delivery, is the hex HMAC-SHA1 of body keyed with secret. It compares in
// constant time, and refuses an empty secret and any header that is not 40
// hex digits.
func VerifySignature(body []byte, secret, header string) bool {
	if secret == "" || len(header) != 2*sha1.Size {
		return false
	}
	got, err := hex.DecodeString(header)
	if err != nil {
		return false
	}
	m := hmac.New(sha1.New, []byte(secret))
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

// Delivery is a webhook's messages:created delivery.
type Delivery struct {
	WebhookID string // the webhook's id
	Name      string // the webhook's name
	Resource  string // "messages"
	Event     string // "created"
	OrgID     string
	CreatedBy string
	AppID     string
	OwnedBy   string
	Status    string
	ActorID   string
	Message   MessageData
}

// DeliveryError is a delivery ParseDelivery refused.
type DeliveryError struct {
	// Unwanted is set for a well-formed delivery of another resource or
	// event than messages:created (Resource and Event say which): answer it
	// 2xx all the same, or Webex counts a failure and may disable the webhook.
	Unwanted        bool
	Resource, Event string
	Reason          string
}

func (e *DeliveryError) Error() string {
	if e.Unwanted {
		return fmt.Sprintf("webhook delivery: %q:%q, not messages:created", clip(e.Resource, 40), clip(e.Event, 40))
	}
	return "webhook delivery: " + e.Reason
}

// ParseDelivery reads a webhook delivery's body. It refuses a body larger
// than MaxDeliveryBytes, one that is no JSON object, one without the
// webhook's id, a delivery other than messages:created (Unwanted), and one
// whose message has no id, room or creation time. Unknown fields are ignored.
func ParseDelivery(body []byte) (Delivery, error) {
	if len(body) > MaxDeliveryBytes {
		return Delivery{}, &DeliveryError{Reason: fmt.Sprintf("body larger than %d bytes", MaxDeliveryBytes)}
	}
	var j struct {
		ID        string          `json:"id"`
		Name      string          `json:"name"`
		Resource  string          `json:"resource"`
		Event     string          `json:"event"`
		OrgID     string          `json:"orgId"`
		CreatedBy string          `json:"createdBy"`
		AppID     string          `json:"appId"`
		OwnedBy   string          `json:"ownedBy"`
		Status    string          `json:"status"`
		ActorID   string          `json:"actorId"`
		Data      messageDataJSON `json:"data"`
	}
	if err := json.Unmarshal(body, &j); err != nil {
		return Delivery{}, &DeliveryError{Reason: "not a JSON delivery: " + clip(err.Error(), 100)}
	}
	if j.ID == "" || j.Resource == "" || j.Event == "" {
		return Delivery{}, &DeliveryError{Reason: "no webhook id, resource or event"}
	}
	if j.Resource != "messages" || j.Event != "created" {
		return Delivery{}, &DeliveryError{Unwanted: true, Resource: j.Resource, Event: j.Event}
	}
	m, err := j.Data.message()
	if err != nil {
		return Delivery{}, &DeliveryError{Reason: strings.TrimSpace(err.Error())}
	}
	return Delivery{WebhookID: j.ID, Name: j.Name, Resource: j.Resource, Event: j.Event, OrgID: j.OrgID, CreatedBy: j.CreatedBy,
		AppID: j.AppID, OwnedBy: j.OwnedBy, Status: j.Status, ActorID: j.ActorID, Message: m}, nil
}
