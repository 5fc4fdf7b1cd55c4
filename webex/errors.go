package webex

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultRetryAfter is the wait assumed when a 429 carries no usable Retry-After.
const DefaultRetryAfter = 60 * time.Second

// maxRetryAfter bounds the wait a Retry-After can impose: one hour, the
// longest Retry-After Webex documents (3600 seconds). A longer value (seen:
// a week) would silence the exporter for that long on one answer; after an
// hour, one call asks again and a still-closed account answers 429 anew.
const maxRetryAfter = time.Hour

// APIError is an answer from Webex with a status other than 2xx.
type APIError struct {
	Endpoint   string // "rooms", "messages", ...
	StatusCode int
	Message    string // Webex's "message", or the first error description
	TrackingID string // Webex's trackingId (body) or Trackingid (header)
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "webex %s: %d %s", e.Endpoint, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.TrackingID != "" {
		fmt.Fprintf(&b, " (trackingId %s)", e.TrackingID)
	}
	return b.String()
}

// RateLimitError is a 429 (or 423 with Retry-After) answer, or a call not
// made because an earlier 429 asked to wait past the caller's deadline.
type RateLimitError struct {
	APIError
	RetryAfter time.Duration // as announced (or DefaultRetryAfter)
	Until      time.Time     // when calls may resume
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("%s: rate limited until %s", e.APIError.Error(), e.Until.UTC().Format(time.RFC3339))
}

func (e *RateLimitError) Unwrap() error { return &e.APIError }

// PagingError is a Link header the client refused to follow.
type PagingError struct {
	Endpoint string
	Reason   string // "loop", "foreign host", "malformed"
	URL      string // scheme and host only, never the query
	// Header is the refused Link header as received, clipped to about 200
	// bytes; set only when it is malformed (a link followed elsewhere is
	// not quoted).
	Header     string
	TrackingID string // of the answer that carried the header, when known
}

func (e *PagingError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "webex %s: refusing next page: %s", e.Endpoint, e.Reason)
	if e.Header != "" {
		fmt.Fprintf(&b, " %q", e.Header)
	}
	fmt.Fprintf(&b, " (%s)", e.URL)
	if e.TrackingID != "" {
		fmt.Fprintf(&b, " (trackingId %s)", e.TrackingID)
	}
	return b.String()
}

// CursorError is Webex answering 404 to a page of messages named by a
// beforeMessage cursor: the message the cursor names was deleted (a known
// quirk), or the room is gone. It unwraps to that 404's *APIError, so
// IsNotFound holds too: a caller that tells the two apart checks for a
// CursorError first, and goes on with MessagesQuery.Before; a room gone
// answers that read 404 again, as a plain *APIError.
type CursorError struct {
	APIError
	BeforeMessage string // the refused cursor: the id of the message it names
	// Before is where the read can go on (MessagesQuery.Before, with
	// BeforeMessage empty): a millisecond after the creation of the last
	// message read, so messages of that millisecond, the last one among
	// them, come again (drop them by id). Zero when no message was read
	// before the refusal (the query's own BeforeMessage was refused): then
	// the caller goes on from that message's creation time, which it knows.
	Before time.Time
}

func (e *CursorError) Error() string {
	return fmt.Sprintf("%s: beforeMessage %s refused (a deleted message?)", e.APIError.Error(), clip(e.BeforeMessage, 100))
}

func (e *CursorError) Unwrap() error { return &e.APIError }

// DecodeError is a 2xx answer whose body could not be read as the API's JSON.
type DecodeError struct {
	Endpoint string
	Err      error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("webex %s: decoding answer: %v", e.Endpoint, e.Err)
}
func (e *DecodeError) Unwrap() error { return e.Err }

// StatusCode returns the HTTP status of an API error in err's chain (a
// RateLimitError unwraps to its APIError), or 0.
func StatusCode(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.StatusCode
	}
	return 0
}

// IsUnauthorized reports whether err is Webex refusing the token (401).
func IsUnauthorized(err error) bool { return StatusCode(err) == http.StatusUnauthorized }

// IsNotFound reports whether err is a 404 (for example a room left between listing and reading).
func IsNotFound(err error) bool { return StatusCode(err) == http.StatusNotFound }

// IsForbidden reports whether Webex answered 403: the token lacks a role or
// scope the call needs (the Events API's compliance officer role).
func IsForbidden(err error) bool { return StatusCode(err) == http.StatusForbidden }

// ParseRetryAfter reads a Retry-After value: delay seconds or an HTTP date.
// ok is false for an absent or malformed value (such as "rand(30),add(30)").
// Negative delays and dates in the past give 0; no delay exceeds an hour
// (maxRetryAfter).
func ParseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	// Out of int64's range, ParseInt gives the nearest bound and ErrRange:
	// still a delay, to cap like any other.
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if secs < 0 {
			return 0, true
		}
		const maxSecs = int64(maxRetryAfter / time.Second)
		if secs > maxSecs {
			secs = maxSecs
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), maxRetryAfter), true
	}
	return 0, false
}
