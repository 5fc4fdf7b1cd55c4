package webex

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// page is the envelope of every Webex list answer.
type page[T any] struct {
	Items []T `json:"items"`
}

// list fetches first and every page after it by following Link rel="next"
// exactly as given (the cursor is opaque), calling visit with each page's
// items until visit says to stop (more false, or an error, which list
// returns as a DecodeError) or no next link remains. It refuses a next
// link to another origin (the token would go there), a link seen before (a
// loop), and an endless run of empty pages.
func list[T any](ctx context.Context, c *Client, first *url.URL, visit func([]T) (more bool, err error)) error {
	endpoint := endpointOf(first.Path, c.base.Path)
	seen := map[string]bool{}
	empty := 0
	var buf *bytes.Buffer // the last page's: the next is read into it
	var items []T         // the last page's, their room reused for the next (decodePage)
	var pg pageBuf        // likewise
	for u := first; u != nil; {
		seen[u.String()] = true
		res, err := c.do(ctx, http.MethodGet, u, nil, buf)
		if err != nil {
			return cursorError(u, err)
		}
		if err := decodePage(res.body, &items, &pg); err != nil {
			return &DecodeError{Endpoint: endpoint, Err: err}
		}
		// The items may be slices of the body, which the next page
		// overwrites: visit keeps none.
		more, err := visit(items)
		n := len(items)
		buf = res.buf
		if err != nil {
			return &DecodeError{Endpoint: endpoint, Err: err}
		}
		if !more {
			return nil
		}
		if n == 0 {
			empty++
		} else {
			empty = 0
		}
		next, err := nextLink(res.header.Values("Link"), u)
		if err != nil {
			return &PagingError{Endpoint: endpoint, Reason: "malformed Link header", URL: origin(u),
				Header: clip(strings.Join(res.header.Values("Link"), ", "), 200), TrackingID: res.header.Get("Trackingid")}
		}
		if next == nil {
			return nil
		}
		switch {
		case !c.sameOrigin(next):
			return &PagingError{Endpoint: endpoint, Reason: "next link to a foreign host", URL: origin(next)}
		case seen[next.String()]:
			return &PagingError{Endpoint: endpoint, Reason: "next link loops to a page already read", URL: origin(next)}
		case empty >= maxEmptyPages:
			return &PagingError{Endpoint: endpoint, Reason: "too many empty pages in a row", URL: origin(next)}
		}
		u = next
	}
	return nil
}

// cursorError makes a 404 to a page named by a beforeMessage cursor a
// *CursorError; any other err is returned as it is.
func cursorError(u *url.URL, err error) error {
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusNotFound {
		return err
	}
	cursor := u.Query().Get("beforeMessage")
	if cursor == "" {
		return err
	}
	return &CursorError{APIError: *ae, BeforeMessage: cursor}
}

// nextLink returns the rel="next" target of RFC 8288 Link header values,
// resolved against the current URL, or nil when there is none.
func nextLink(values []string, current *url.URL) (*url.URL, error) {
	for _, v := range values {
		for _, link := range splitLinks(v) {
			// "<" URI-Reference ">" *( ";" link-param ): the target ends at
			// the first ">", and may itself hold ";" and ",".
			link = strings.TrimSpace(link)
			if link == "" {
				continue
			}
			end := strings.IndexByte(link, '>')
			if !strings.HasPrefix(link, "<") || end < 0 {
				return nil, errMalformedLink
			}
			target, params := link[1:end], strings.TrimSpace(link[end+1:])
			if params != "" && params[0] != ';' {
				return nil, errMalformedLink
			}
			if !hasRel(params, "next") {
				continue
			}
			u, err := current.Parse(target)
			if err != nil {
				return nil, errMalformedLink
			}
			return u, nil
		}
	}
	return nil, nil
}

type linkError string

func (e linkError) Error() string { return string(e) }

const errMalformedLink = linkError("malformed Link header")

// splitLinks splits a Link header at the commas between links, not at
// commas inside <...> or quoted parameter values.
func splitLinks(v string) []string {
	var out []string
	start, inURL, inQuote := 0, false, false
	for i := 0; i < len(v); i++ {
		switch ch := v[i]; {
		case ch == '<' && !inQuote:
			inURL = true
		case ch == '>' && !inQuote:
			inURL = false
		case ch == '"' && !inURL:
			inQuote = !inQuote
		case ch == ',' && !inURL && !inQuote:
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}

// hasRel reports whether link parameters such as ` rel="next"` name rel.
func hasRel(params, rel string) bool {
	for _, p := range strings.Split(params, ";") {
		k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
			continue
		}
		for _, r := range strings.Fields(strings.Trim(strings.TrimSpace(val), `"`)) {
			if strings.EqualFold(r, rel) {
				return true
			}
		}
	}
	return false
}
