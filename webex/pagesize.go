package webex

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// A listing's page size after a 504. Webex describes its 504 as "An
// upstream server failed to respond on time. If your query uses max
// parameter, please try to reduce it": a large account or organisation
// can answer 504 to every max=1000, so the page is asked again at once
// with a smaller max (1000, then 200, then 50), and the size that was
// asked last is kept for the endpoint for pageSizeHold before a larger one
// is tried again.
const pageSizeHold = time.Hour

// pageLimit is the largest max an endpoint's listings ask until until.
type pageLimit struct {
	size  int
	until time.Time
}

// smallerPageSize is the max to ask after a 504 at max n; 0 when n is 50
// or less (the page is then retried as any transient failure is).
func smallerPageSize(n int) int {
	switch {
	case n > 200:
		return 200
	case n > 50:
		return 50
	}
	return 0
}

// limitPage caps u's max at the size an earlier 504 left for endpoint,
// while that holds.
func (c *Client) limitPage(endpoint string, u *url.URL) *url.URL {
	n := maxOf(u)
	if n == 0 {
		return u
	}
	c.mu.Lock()
	l, ok := c.pageLimits[endpoint]
	c.mu.Unlock()
	if !ok || !c.now().Before(l.until) || n <= l.size {
		return u
	}
	return withMax(u, l.size)
}

// shrinkPage returns u with a smaller max after Webex answered 504 to it,
// and keeps that size for endpoint's listings for pageSizeHold; nil when
// u's max cannot shrink.
func (c *Client) shrinkPage(endpoint string, u *url.URL) *url.URL {
	smaller := smallerPageSize(maxOf(u))
	if smaller == 0 {
		return nil
	}
	c.mu.Lock()
	if c.pageLimits == nil {
		c.pageLimits = map[string]pageLimit{}
	}
	c.pageLimits[endpoint] = pageLimit{size: smaller, until: c.now().Add(pageSizeHold)}
	c.mu.Unlock()
	return withMax(u, smaller)
}

// maxOf returns u's max parameter, 0 when it has none (or not a number).
func maxOf(u *url.URL) int {
	for p := range strings.SplitSeq(u.RawQuery, "&") {
		if v, ok := strings.CutPrefix(p, "max="); ok {
			n, err := strconv.Atoi(v)
			if err == nil && n > 0 {
				return n
			}
			return 0
		}
	}
	return 0
}

// withMax returns a copy of u asking max=n, the rest of its query as it
// was, byte for byte: a next link's cursor is opaque and stays untouched.
func withMax(u *url.URL, n int) *url.URL {
	parts := strings.Split(u.RawQuery, "&")
	for i, p := range parts {
		if strings.HasPrefix(p, "max=") {
			parts[i] = "max=" + strconv.Itoa(n)
		}
	}
	c := *u
	c.RawQuery = strings.Join(parts, "&")
	return &c
}
