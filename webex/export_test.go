package webex

import "time"

// SetClock sets the clock a client's page sizes and server time use.
func SetClock(c *Client, now func() time.Time) { c.now = now }
