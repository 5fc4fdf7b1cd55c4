// Package webex is a small client for the Webex REST API: rooms, messages,
// people and memberships, with Link paging, typed errors and Retry-After.
// It knows HTTP and Webex, and nothing about Prometheus.
package webex

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultBaseURL is the Webex API's public endpoint.
const DefaultBaseURL = "https://webexapis.com/v1"

const (
	defaultMaxBody     = 32 << 20 // a page of 1000 long messages stays well below this
	defaultConnections = 4        // as --webex.concurrency's default
	maxErrorBody       = 64 << 10
	maxAttempts        = 3 // one call and at most two retries (429, 401, a transient failure)
	// retryBackoff is the pause before calling again after a transient
	// failure (502, 503, 504, no answer); the call is retried once, and only
	// when the context leaves time for the pause and a call as long again.
	retryBackoff    = 300 * time.Millisecond
	maxEmptyPages   = 10
	maxRedirects    = 5
	userAgentHeader = "User-Agent"
)

// RequestInfo describes one HTTP round trip, for the Options.Observe callback.
type RequestInfo struct {
	Endpoint string // "rooms", "messages", "people/me", "memberships", "events", "webhooks", ...
	Code     string // HTTP status ("200", "429") or "error" when no answer came
	Duration time.Duration
	// PageSize is the max the call asked (0: none).
	PageSize int
	// ReducedFrom, when not 0, is the max Webex answered 504 to just
	// before: this call asks the same page again with PageSize (see
	// pageSizeHold; later calls keep the smaller size without saying so).
	ReducedFrom int
}

// Options configure a Client. Token is required.
type Options struct {
	BaseURL string      // default DefaultBaseURL
	Token   TokenSource // where the bearer token comes from
	// HTTPClient: default, a client with no overall timeout (the context
	// bounds each call) that keeps Connections idle connections to the API.
	HTTPClient *http.Client
	// Connections is how many calls the caller makes at once (default 4):
	// as many connections are kept open between them, so that no call waits
	// for a new connection (a TLS handshake with Webex) where one was idle.
	Connections int
	UserAgent   string
	// MaxBodyBytes bounds every answer's body (default 32 MiB, at most 2 GiB).
	MaxBodyBytes int64
	// Observe, if set, is called after every round trip.
	Observe func(RequestInfo)
	// OnBadItem, if set, is called for each list item skipped or decoded
	// only in part (see BadItem). It may be called concurrently.
	OnBadItem func(BadItem)
}

// Client calls the Webex API. It is safe for concurrent use. Its state is
// the account's rate-limit gate (after a 429, no call is sent until
// Retry-After has passed, whoever makes it) and the token's generation.
type Client struct {
	base      *url.URL
	token     TokenSource
	http      *http.Client
	userAgent string
	maxBody   int64
	observe   func(RequestInfo)
	onBadItem func(BadItem)

	now func() time.Time // the clock of the page sizes and the server's time

	mu          sync.Mutex
	pageLimits  map[string]pageLimit // by endpoint, after a 504
	serverSkew  time.Duration        // the server's Date less the local time, at the last answer
	pausedUntil time.Time
	pauseErr    *RateLimitError
	tokenSum    [sha256.Size]byte // of the token last sent: to notice a change, without a copy
	tokenGen    uint64

	listed atomic.Int64 // rooms in the last complete listing: the next one's capacity
}

// New checks the options and returns a client.
func New(o Options) (*Client, error) {
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	base, err := url.Parse(strings.TrimRight(o.BaseURL, "/"))
	if err != nil {
		// url.Parse's error quotes the URL, which may hold credentials.
		return nil, fmt.Errorf("webex API URL: not a URL; want an absolute http(s) URL such as %s", DefaultBaseURL)
	}
	if base.User != nil || base.RawQuery != "" {
		// Not quoted: the user part or the query may be a token.
		return nil, fmt.Errorf("webex API URL: must not carry credentials or a query; want a URL such as %s", DefaultBaseURL)
	}
	if (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, fmt.Errorf("webex API URL %q: want an absolute http(s) URL such as %s", o.BaseURL, DefaultBaseURL)
	}
	if o.Token == nil {
		return nil, errors.New("webex client: no token source")
	}
	c := &Client{
		base:      base,
		token:     o.Token,
		userAgent: o.UserAgent,
		maxBody:   o.MaxBodyBytes,
		observe:   o.Observe,
		onBadItem: o.OnBadItem,
		now:       time.Now,
	}
	if c.maxBody <= 0 {
		c.maxBody = defaultMaxBody
	}
	c.maxBody = min(c.maxBody, maxPage-1)
	hc := http.Client{}
	if o.HTTPClient != nil {
		hc = *o.HTTPClient
	} else {
		// net/http's default keeps 2 idle connections per host: with more
		// calls in flight, every burst of calls dials again.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = o.Connections
		if o.Connections <= 0 {
			t.MaxIdleConnsPerHost = defaultConnections
		}
		hc.Transport = t
	}
	hc.CheckRedirect = c.checkRedirect
	c.http = &hc
	return c, nil
}

// checkRedirect follows redirects only within the API's own scheme and host,
// so the token is never sent elsewhere.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	if !c.sameOrigin(req.URL) {
		return &PagingError{Endpoint: endpointOf(via[0].URL.Path, c.base.Path), Reason: "redirect to a foreign host", URL: origin(req.URL)}
	}
	return nil
}

// sameOrigin reports whether u is on the API's origin, compared
// normalised: scheme and host case-insensitive, a default port (80 for
// http, 443 for https) the same as none.
func (c *Client) sameOrigin(u *url.URL) bool { return originKey(u) == originKey(c.base) }

// originKey is a URL's normalised origin: "https://webexapis.com:443".
func originKey(u *url.URL) string {
	scheme, port := strings.ToLower(u.Scheme), u.Port()
	if port == "" {
		switch scheme {
		case "http":
			port = "80"
		case "https":
			port = "443"
		}
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

func origin(u *url.URL) string { return u.Scheme + "://" + u.Host }

// endpoint builds the URL of an API path such as "rooms" with a query.
func (c *Client) endpoint(path string, q url.Values) *url.URL {
	u := *c.base
	u.Path = strings.TrimRight(c.base.Path, "/") + "/" + path
	u.RawQuery = q.Encode()
	return &u
}

// endpointOf names an API path for metrics and errors: "/v1/people/me" -> "people/me".
func endpointOf(path, basePath string) string {
	p := strings.Trim(strings.TrimPrefix(path, basePath), "/")
	switch {
	case p == "people/me":
		return p
	case strings.HasPrefix(p, "rooms"):
		return "rooms"
	case strings.HasPrefix(p, "messages"):
		return "messages"
	case strings.HasPrefix(p, "memberships"):
		return "memberships"
	case strings.HasPrefix(p, "people"):
		return "people"
	case strings.HasPrefix(p, "teams"):
		return "teams"
	case p == "access_token":
		return p
	case strings.HasPrefix(p, "events"):
		return "events"
	case strings.HasPrefix(p, "webhooks"):
		return "webhooks"
	}
	return "other"
}

// response is a successful answer: its body (read whole, within limits) and headers.
type response struct {
	body   []byte
	header http.Header
	buf    *bytes.Buffer // holds body: the next page of a listing is read into it (list)
}

// get sends an authenticated GET to u (see do).
func (c *Client) get(ctx context.Context, u *url.URL) (*response, error) {
	return c.do(ctx, http.MethodGet, u, nil, nil)
}

// do sends an authenticated request with an optional JSON body to u (which
// must be on the API's origin), honouring the rate-limit gate, Retry-After
// within ctx's deadline, re-reading the token once after a 401, and calling
// once more after a transient failure. A GET answered 504 is asked again
// at once with a smaller max instead, while its max can shrink (see
// pageSizeHold). Every attempt is reported to Observe. A POST is sent
// once: it is not idempotent, so no answer makes it safe to repeat.
// The answer's body is read into into, when not nil (its content is lost).
func (c *Client) do(ctx context.Context, method string, u *url.URL, body []byte, into *bytes.Buffer) (*response, error) {
	if !c.sameOrigin(u) {
		return nil, &PagingError{Endpoint: endpointOf(u.Path, c.base.Path), Reason: "foreign host", URL: origin(u)}
	}
	endpoint := endpointOf(u.Path, c.base.Path)
	attempts := maxAttempts
	if method == http.MethodPost {
		attempts = 1
	}
	if method == http.MethodGet {
		u = c.limitPage(endpoint, u)
	}
	reread, retried, reducedFrom := false, false, 0
	for attempt := 1; ; attempt++ {
		if err := c.waitGate(ctx); err != nil {
			return nil, err
		}
		resp, err := c.roundTrip(ctx, method, endpoint, u, body, reducedFrom, into)
		if err == nil {
			return resp, nil
		}
		var rl *RateLimitError
		if errors.As(err, &rl) {
			c.pause(rl)
		}
		reducedFrom = 0
		if method == http.MethodGet && StatusCode(err) == http.StatusGatewayTimeout {
			// Asked again at once with a smaller max, outside the attempts:
			// the max shrinks to 50 at most twice.
			if smaller := c.shrinkPage(endpoint, u); smaller != nil {
				reducedFrom, u = maxOf(u), smaller
				attempt--
				continue
			}
		}
		if attempt >= attempts {
			return nil, err
		}
		switch {
		case rl != nil:
			// waitGate at the top of the loop waits, or gives up at once
			// if the deadline comes first.
		case IsUnauthorized(err) && !reread:
			inv, ok := c.token.(Invalidator)
			if !ok || !inv.Invalidate() {
				return nil, err
			}
			reread = true
		case transient(err) && !retried:
			if !backOff(ctx) {
				return nil, err
			}
			retried = true
		default:
			return nil, err
		}
	}
}

// transient reports whether err is a failure that the same GET may not
// meet again: a 502, 503 or 504, or no answer at all (connection refused
// or reset, EOF). A 500 is not retried: Webex answers it to requests it
// cannot handle, and asks to contact support "if the issue persists".
func transient(err error) bool {
	switch StatusCode(err) {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	var na *noAnswerError
	return errors.As(err, &na)
}

// backOff waits retryBackoff before a retry; false when ctx's deadline
// leaves no time for the pause and a call, or ctx ends while waiting.
func backOff(ctx context.Context) bool {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < 2*retryBackoff {
		return false
	}
	t := time.NewTimer(retryBackoff)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// noAnswerError is a request that got no HTTP answer, while its context
// was still live: a transport failure worth one retry.
type noAnswerError struct{ err error }

func (e *noAnswerError) Error() string { return e.err.Error() }
func (e *noAnswerError) Unwrap() error { return e.err }

// roundTrip makes one HTTP request and turns any non-2xx answer into a typed error.
// reducedFrom goes to Observe (see RequestInfo).
func (c *Client) roundTrip(ctx context.Context, method, endpoint string, u *url.URL, body []byte, reducedFrom int, into *bytes.Buffer) (*response, error) {
	tok, err := c.token.Token(ctx)
	if err != nil {
		return nil, fmt.Errorf("webex %s: getting token: %w", endpoint, err)
	}
	c.noteToken(tok)
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("webex %s: %w", endpoint, stripURL(err))
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	if c.userAgent != "" {
		req.Header.Set(userAgentHeader, c.userAgent)
	}
	info := RequestInfo{Endpoint: endpoint, PageSize: maxOf(u), ReducedFrom: reducedFrom}
	start := time.Now()
	res, err := c.http.Do(req)
	if err != nil {
		info.Code = "error"
		c.report(info, start)
		err = fmt.Errorf("webex %s: %w", endpoint, stripURL(err))
		var refused *PagingError // a redirect checkRedirect refused
		if ctx.Err() == nil && !errors.As(err, &refused) {
			err = &noAnswerError{err}
		}
		return nil, err
	}
	defer res.Body.Close()
	limit := c.maxBody
	if res.StatusCode/100 != 2 {
		limit = maxErrorBody
	}
	body, buf, readErr := readBody(res.Body, res.ContentLength, limit, into)
	info.Code = strconv.Itoa(res.StatusCode)
	c.report(info, start)
	c.noteServerTime(res.Header.Get("Date"))
	if res.StatusCode/100 != 2 {
		return nil, c.apiError(endpoint, res, body)
	}
	if readErr != nil {
		return nil, &DecodeError{Endpoint: endpoint, Err: fmt.Errorf("reading body: %w", stripURL(readErr))}
	}
	if int64(len(body)) > limit {
		return nil, &DecodeError{Endpoint: endpoint, Err: fmt.Errorf("body larger than %d bytes", limit)}
	}
	return &response{body: body, header: res.Header, buf: buf}, nil
}

// readBody reads a body of at most limit bytes (limit+1 read say it is
// larger) into buf, or a new buffer when buf is nil, and returns the buffer
// holding it. A listing reads each page into the buffer of the page before
// (list), not in growing pieces copied together at every page as
// io.ReadAll would (most pages come without a Content-Length). A buffer is
// grown ahead to a length announced (up to 4 MiB: an announcement is not
// yet a body).
func readBody(r io.Reader, size, limit int64, buf *bytes.Buffer) ([]byte, *bytes.Buffer, error) {
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	buf.Reset()
	if size > 0 && size <= min(limit, 4<<20) {
		buf.Grow(int(size) + bytes.MinRead) // room to read the end of the body too
	}
	_, err := buf.ReadFrom(io.LimitReader(r, limit+1))
	return buf.Bytes(), buf, err
}

func (c *Client) report(info RequestInfo, start time.Time) {
	if c.observe != nil {
		info.Duration = time.Since(start)
		c.observe(info)
	}
}

// noteServerTime keeps how far the server's clock (an answer's Date
// header, to the second) is from the local one.
func (c *Client) noteServerTime(date string) {
	t, err := http.ParseTime(date)
	if err != nil {
		return
	}
	skew := t.Sub(c.now())
	c.mu.Lock()
	c.serverSkew = skew
	c.mu.Unlock()
}

// serverNow is the server's time as its last Date said, and the local time
// when it is later (or before any answer). The Date is whole seconds, so
// this is at most about a second behind the server's clock, never ahead.
func (c *Client) serverNow() time.Time {
	c.mu.Lock()
	skew := c.serverSkew
	c.mu.Unlock()
	return c.now().Add(min(skew, 0))
}

// stripURL drops the URL from a *url.Error: the message stays useful and
// query strings (cursors, room ids) stay out of logs.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// errorBody is Webex's error JSON.
type errorBody struct {
	Message string `json:"message"`
	Errors  []struct {
		Description string `json:"description"`
	} `json:"errors"`
	TrackingID string `json:"trackingId"`
}

func (c *Client) apiError(endpoint string, res *http.Response, body []byte) error {
	e := APIError{Endpoint: endpoint, StatusCode: res.StatusCode, TrackingID: res.Header.Get("Trackingid")}
	var eb errorBody
	if json.Unmarshal(body, &eb) == nil {
		e.Message = eb.Message
		if e.Message == "" && len(eb.Errors) > 0 {
			e.Message = eb.Errors[0].Description
		}
		if eb.TrackingID != "" {
			e.TrackingID = eb.TrackingID
		}
	}
	e.Message = clip(e.Message, 300)
	retryAfter := res.Header.Get("Retry-After")
	if res.StatusCode == http.StatusTooManyRequests || (res.StatusCode == http.StatusLocked && retryAfter != "") {
		now := time.Now()
		d, ok := ParseRetryAfter(retryAfter, now)
		if !ok {
			d = DefaultRetryAfter
		}
		return &RateLimitError{APIError: e, RetryAfter: d, Until: now.Add(d)}
	}
	return &e
}

// clip shortens s to about n bytes, keeping it valid UTF-8.
func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return strings.ToValidUTF8(s[:n], "") + "…"
	}
	return strings.ToValidUTF8(s, "\uFFFD") // a reason stays UTF-8 when a value is not
}

// noteToken counts a new token generation when tok differs from the token
// of the call before.
func (c *Client) noteToken(tok string) {
	sum := sha256.Sum256([]byte(tok))
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tokenGen == 0 || sum != c.tokenSum {
		c.tokenSum = sum
		c.tokenGen++
	}
}

// TokenGeneration is 0 before the first call, 1 from the first call's
// token on, and grows each time a call sends a token that differs from the
// one the call before sent (a token file swapped for another account's
// token, an OAuth refresh). A caller that keeps what it learned about the
// account notes the generation with it and learns again when it changes.
func (c *Client) TokenGeneration() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tokenGen
}

// pause closes the gate until rl.Until (never shortening an existing pause).
func (c *Client) pause(rl *RateLimitError) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if rl.Until.After(c.pausedUntil) {
		c.pausedUntil = rl.Until
		c.pauseErr = rl
	}
}

// PausedUntil returns when the rate-limit gate opens (zero when open).
func (c *Client) PausedUntil() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Now().Before(c.pausedUntil) {
		return c.pausedUntil
	}
	return time.Time{}
}

// waitGate returns at once when no 429 asked to wait; waits when the pause
// ends before ctx's deadline; otherwise fails at once with the RateLimitError
// that closed the gate, so a scrape does not burn its deadline waiting.
func (c *Client) waitGate(ctx context.Context) error {
	c.mu.Lock()
	until, rl := c.pausedUntil, c.pauseErr
	c.mu.Unlock()
	wait := until.Sub(time.Now())
	if wait <= 0 {
		return ctx.Err()
	}
	if dl, ok := ctx.Deadline(); ok && dl.Before(until) {
		return rl
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
