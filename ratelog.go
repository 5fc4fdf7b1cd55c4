package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/go-kit/log"
)

// refusalLogEvery is how often the log may say that deliveries of one kind
// were refused: anyone who reaches the webhook listener can send them.
const refusalLogEvery = time.Minute

// rateLimitedLogger writes a line at most once per interval for each
// message (the "msg" value), with count: how many lines of that message
// were logged since its last written line, this one included. The others
// are only counted. The first line of a message is written at once, and so
// is the first one after a quiet interval, which carries the count of the
// burst before it. Callers log constant messages: the table holds one entry
// per message.
type rateLimitedLogger struct {
	next  log.Logger
	every time.Duration
	now   func() time.Time

	mu   sync.Mutex
	msgs map[string]*rateLimitedMsg
}

type rateLimitedMsg struct {
	written time.Time // when a line of this message was last written
	count   int       // lines since then, not written
}

func newRateLimitedLogger(next log.Logger, every time.Duration, now func() time.Time) *rateLimitedLogger {
	return &rateLimitedLogger{next: next, every: every, now: now, msgs: map[string]*rateLimitedMsg{}}
}

func (l *rateLimitedLogger) Log(keyvals ...any) error {
	var msg string
	for i := 0; i+1 < len(keyvals); i += 2 {
		if keyvals[i] == "msg" {
			msg = fmt.Sprint(keyvals[i+1])
			break
		}
	}
	now := l.now()
	l.mu.Lock()
	m := l.msgs[msg]
	if m == nil {
		m = &rateLimitedMsg{}
		l.msgs[msg] = m
	}
	m.count++
	if !m.written.IsZero() && now.Sub(m.written) < l.every {
		l.mu.Unlock()
		return nil
	}
	count := m.count
	m.written, m.count = now, 0
	l.mu.Unlock()
	return l.next.Log(append(keyvals[:len(keyvals):len(keyvals)], "count", count)...)
}
