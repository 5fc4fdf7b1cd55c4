package collector

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/webex-exporter/webex_exporter/collector/state"
	"github.com/webex-exporter/webex_exporter/internal/times"
	"github.com/webex-exporter/webex_exporter/webex"
)

// The events feed (--webex.scope=org): every message created anywhere in
// the organisation, from the Events API (a compliance officer's token).
// A refresh lists the account's rooms as the poll feed does (their titles
// and lastActivity), then reads the messages:created events since the
// newest one seen, less an overlap for events that appear late, and hands
// each event's message to the state (which de-duplicates by message id,
// so an event read twice counts once).
// The first refresh reads back to the widest window's start: the backlog,
// which fills the windows but is not counted. Rooms new to the state are
// described once (GET /rooms/{id}). No /messages read is made: the cost of
// a refresh is ceil(new events/1000) calls, plus one per new room, plus
// the listing, whatever the organisation's size.

// EventSource is what the events feed reads besides Source (a *webex.Client).
type EventSource interface {
	Events(ctx context.Context, q webex.EventsQuery, apply func(page []webex.Event) error) error
	Room(ctx context.Context, id string) (webex.Room, error)
}

const (
	// eventsOverlap: each read starts this far before the newest event
	// seen, for events Webex lists late. An event later than that is missed.
	eventsOverlap = 2 * time.Minute
	// emptyTitle is what a compliance officer gets as a 1:1 room's title.
	emptyTitle = "Empty Title"
)

// eventsFeed is the events feed (ScopeOrg): the listing merged without
// reads, the events since the newest seen, then descriptions of rooms new
// to the state. A refusal of the events read leaves the refresh down: a
// token without the compliance role must not look like a working exporter.
type eventsFeed struct {
	src     EventSource // nil when the Source cannot read events
	state   *state.State
	logger  log.Logger
	workers int

	mu sync.Mutex // guards the cursor below (the state file reads it too)
	// since is when the exporter began watching the organisation (zero
	// before the first refresh): messages created from then on count in
	// webex_room_messages_total; older ones are backlog.
	since time.Time
	// top is the newest event seen (zero until a read got its newest
	// events): the next read starts eventsOverlap before it.
	top time.Time
	// [gapFrom, gapTo) holds events no read has reached yet, left by an
	// interrupted read (gapTo zero: none). backlog: the gap is part of the
	// first read back to the widest window's start, so until it is read no
	// room's messages are known in full.
	gapFrom, gapTo time.Time
	gapBacklog     bool
	refused        bool // the last read was refused (403): logged once
}

// backfilled reports whether every event within the widest window has
// been read at least once (late ones aside).
// Called with f.mu held.
func (f *eventsFeed) backfilled() bool {
	return !f.top.IsZero() && (f.gapTo.IsZero() || !f.gapBacklog)
}

// addGap widens the gap to cover [from, to).
// Called with f.mu held.
func (f *eventsFeed) addGap(from, to time.Time, backlog bool) {
	if f.gapTo.IsZero() {
		f.gapFrom, f.gapTo, f.gapBacklog = from, to, backlog
		return
	}
	if from.Before(f.gapFrom) {
		f.gapFrom = from
	}
	f.gapTo = times.Latest(f.gapTo, to)
	f.gapBacklog = f.gapBacklog || backlog
}

var errNoEvents = errors.New("--webex.scope=org: the Webex client cannot read events")

func (*eventsFeed) phases() []string { return []string{"events", "descriptions"} }

func (f *eventsFeed) run(ctx context.Context, r *pass) []Phase {
	f.state.Listed(r.rooms, r.now)
	r.rooms = nil // merged: the reads need not keep the listing alive
	eventsPhase, answered := f.readEvents(ctx, r.now)
	r.up = r.up && answered
	return []Phase{eventsPhase, runPhase(ctx, f.workers, f.logger, "descriptions", f.state.Undescribed(r.now), func(ctx context.Context, j state.Due) error {
		return f.describe(ctx, j.RoomID, r.now)
	}, nil)}
}

// readEvents reads the events since the newest seen (less the overlap), or
// back to the widest window's start at first, then what an interrupted
// read left. answered reports whether Webex answered (not a refusal).
func (f *eventsFeed) readEvents(ctx context.Context, now time.Time) (_ Phase, answered bool) {
	start := time.Now()
	if f.src == nil {
		level.Error(f.logger).Log("msg", "Cannot read the organisation's events", "err", errNoEvents)
		return Phase{Name: "events"}, false
	}
	cutoff := now.Add(-f.state.Widest())
	f.mu.Lock()
	first := f.since.IsZero()
	if first {
		f.since = now
	}
	since := f.since
	q := webex.EventsQuery{Resource: "messages", Type: "created", From: cutoff}
	if !f.top.IsZero() {
		q.From = times.Latest(cutoff, f.top.Add(-eventsOverlap))
	}
	f.mu.Unlock()

	var read eventSpan
	err := f.src.Events(ctx, q, func(page []webex.Event) error { f.ingest(page, &read, since, now); return nil })
	f.applyEvents(q, read, err, false, now)
	answered = err == nil || read.n > 0
	if first && !answered {
		// Refused or unanswered: the exporter has not begun watching yet.
		f.mu.Lock()
		f.since = time.Time{}
		f.mu.Unlock()
	}
	if err == nil {
		f.mu.Lock()
		gap := !f.gapTo.IsZero()
		g := webex.EventsQuery{Resource: "messages", Type: "created", From: times.Latest(f.gapFrom, cutoff), To: f.gapTo}
		f.mu.Unlock()
		if gap {
			var gapRead eventSpan
			err = f.src.Events(ctx, g, func(page []webex.Event) error { f.ingest(page, &gapRead, since, now); return nil })
			f.applyEvents(g, gapRead, err, true, now)
		}
	}

	f.mu.Lock()
	refused := webex.IsForbidden(err)
	switch {
	case refused && !f.refused:
		level.Error(f.logger).Log("msg", "Webex refused to list the organisation's events: --webex.scope=org needs a compliance officer's token with the scope "+webex.ComplianceScope, "err", err)
	case err != nil && !refused:
		level.Warn(f.logger).Log("msg", "Reading the organisation's events failed; the rest is read next time", "err", err)
	}
	f.refused = refused
	// Every room's messages are known in full once the backlog is read.
	done := f.backfilled()
	f.mu.Unlock()
	f.state.Covered(done, err == nil, now)
	return Phase{Name: "events", Success: err == nil, Duration: time.Since(start)}, answered
}

// eventSpan is what a read of events has applied so far: how many events,
// the newest and the oldest.
type eventSpan struct {
	n              int
	newest, oldest time.Time
}

// ingest reports a page of events as it arrives: each event's message,
// into its room.
func (f *eventsFeed) ingest(page []webex.Event, read *eventSpan, since, now time.Time) {
	es := make([]state.Evented, 0, len(page))
	for _, e := range page {
		read.n++
		if read.newest.IsZero() || e.Created.After(read.newest) {
			read.newest = e.Created
		}
		if read.oldest.IsZero() || e.Created.Before(read.oldest) {
			read.oldest = e.Created
		}
		if e.Resource != "messages" || e.Type != "created" {
			continue
		}
		d := e.Message
		es = append(es, state.Evented{Message: webex.Message{ID: d.ID, RoomID: d.RoomID, PersonID: d.PersonID, Created: d.Created}, RoomType: d.RoomType})
	}
	f.state.EventMessages(es, since, now)
}

// applyEvents records what a read of events (q) applied: the cursor moves.
// A read that failed after some pages got the newest events: what lies
// below the oldest of them is left as a gap. gapRead: q was the read of
// the gap.
func (f *eventsFeed) applyEvents(q webex.EventsQuery, read eventSpan, err error, gapRead bool, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	newest, oldest := read.newest, read.oldest
	// to is exclusive: resume at the oldest event's millisecond, whose
	// other events may be on the page that failed.
	below := oldest.Add(time.Millisecond)
	switch {
	case gapRead && err == nil:
		f.gapFrom, f.gapTo, f.gapBacklog = time.Time{}, time.Time{}, false
	case gapRead && read.n > 0:
		f.gapTo = below
	case gapRead:
	case err == nil:
		f.top = times.Latest(times.Latest(f.top, newest), q.From)
	case read.n > 0:
		f.addGap(q.From, below, f.top.IsZero())
		f.top = times.Latest(f.top, newest)
	}
	if !f.gapTo.IsZero() && !f.gapTo.After(times.Latest(f.gapFrom, now.Add(-f.state.Widest()))) {
		// Nothing left of it lies within a window.
		f.gapFrom, f.gapTo, f.gapBacklog = time.Time{}, time.Time{}, false
	}
}

// describe reads a room's title, type, team and creation time. A refusal
// (403) or an unknown room (404) is reported, and asked again only after
// state.DescribeRetry; the room goes on being exported with what the
// events say (unless a filter needs its title or team).
func (f *eventsFeed) describe(ctx context.Context, id string, now time.Time) error {
	r, err := f.src.Room(ctx, id)
	if webex.IsForbidden(err) || webex.IsNotFound(err) {
		level.Debug(f.logger).Log("msg", "Webex does not describe the room; asking again later", "room_id", id, "err", err)
		f.state.DescribeRefused(id, now)
		return nil
	}
	if err != nil {
		return err
	}
	if r.Title == emptyTitle {
		r.Title = ""
	}
	r.ID = id
	f.state.Described(r)
	return nil
}

// cursor returns the feed's cursor, for the state file.
func (f *eventsFeed) cursor() savedEvents {
	f.mu.Lock()
	defer f.mu.Unlock()
	return savedEvents{Since: f.since, Top: f.top, GapFrom: f.gapFrom, GapTo: f.gapTo, GapBacklog: f.gapBacklog}
}

// restore takes over a saved cursor at now. written is when the file was
// written; reach, when the widest window grew (state.Import), how far
// back the saved messages reach.
func (f *eventsFeed) restore(e savedEvents, written, reach, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.since, f.top, f.gapFrom, f.gapTo, f.gapBacklog = e.Since, e.Top, e.GapFrom, e.GapTo, e.GapBacklog
	// Written while the clock ran ahead: messages from now on count,
	// and the events are read again from the window's start.
	f.since = times.Earliest(f.since, now)
	if f.top.After(now) {
		f.top = time.Time{}
	}
	if !reach.IsZero() && !f.top.IsZero() {
		// The widest window grew: read its older part again, as backlog.
		f.addGap(written.Add(-f.state.Widest()), reach.Add(time.Millisecond), true)
	}
}
