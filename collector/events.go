package collector

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/go-kit/log/level"

	"github.com/webex-exporter/webex_exporter/webex"
)

// The events feed (--webex.scope=org): every message created anywhere in
// the organisation, from the Events API (a compliance officer's token).
// A refresh lists the account's rooms as the poll feed does (their titles
// and lastActivity), then reads the messages:created events since the
// newest one seen, less an overlap for events that appear late, and hands
// each event's message to ingestLocked, the one operation every feed uses
// (it de-duplicates by message id, so an event read twice counts once).
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
	// describeRetry: a room Webex refused to describe (403, 404) is asked
	// again after this long, not at every refresh.
	describeRetry = 24 * time.Hour
	// emptyTitle is what a compliance officer gets as a 1:1 room's title.
	emptyTitle = "Empty Title"
)

// eventsFeed is the events feed's cursor; guarded by Tracker.mu but for src.
type eventsFeed struct {
	src EventSource // nil when the Source cannot read events
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
	refused        bool            // the last read was refused (403): logged once
	excluded       map[string]bool // rooms described and left out by the filters
}

// backfilled reports whether every event within the widest window has
// been read at least once (late ones aside).
func (f *eventsFeed) backfilled() bool {
	return !f.top.IsZero() && (f.gapTo.IsZero() || !f.gapBacklog)
}

// addGap widens the gap to cover [from, to).
func (f *eventsFeed) addGap(from, to time.Time, backlog bool) {
	if f.gapTo.IsZero() {
		f.gapFrom, f.gapTo, f.gapBacklog = from, to, backlog
		return
	}
	if from.Before(f.gapFrom) {
		f.gapFrom = from
	}
	f.gapTo = latest(f.gapTo, to)
	f.gapBacklog = f.gapBacklog || backlog
}

var errNoEvents = errors.New("--webex.scope=org: the Webex client cannot read events")

// orgFeed is the events feed (ScopeOrg): the listing merged without reads,
// the events since the newest seen, then descriptions of rooms new to the
// state. Its cursor is Tracker.org. A refusal of the events read leaves the
// refresh down: a token without the compliance role must not look like a
// working exporter.
type orgFeed struct{ t *Tracker }

func (orgFeed) phases() []string { return []string{"events", "descriptions"} }

func (f orgFeed) run(ctx context.Context, r *pass) []Phase {
	t := f.t
	t.mergeListing(r.rooms, r.listed, r.now)
	r.rooms, r.listed = nil, nil // merged: the reads need not keep the listing alive
	eventsPhase, answered := t.readEvents(ctx, r.now)
	r.up = r.up && answered
	return []Phase{eventsPhase, t.runPhase(ctx, "descriptions", t.describeJobs(r.now), func(ctx context.Context, j job) error {
		return t.describe(ctx, j.roomID, r.now)
	}, nil)}
}

// mergeListing merges the listing of the account's rooms into the state,
// as the poll feed's plan does, but plans no reads: the events bring the
// messages. It returns the rooms whose members are due.
func (t *Tracker) mergeListing(rooms []webex.Room, listed map[string]int, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	cutoff := now.Add(-t.widest)
	t.mergeLocked(rooms, listed, cutoff, func(st *roomState, r webex.Room) {
		// An event may be newer than the listing's lastActivity.
		st.room.LastActivity = latest(r.LastActivity, st.newest)
	})
	for id, st := range t.rooms {
		if _, ok := listed[id]; !ok {
			st.history = st.history.prune(cutoff.UnixMilli())
		}
	}
}

// readEvents reads the events since the newest seen (less the overlap), or
// back to the widest window's start at first, then what an interrupted
// read left. answered reports whether Webex answered (not a refusal).
func (t *Tracker) readEvents(ctx context.Context, now time.Time) (_ Phase, answered bool) {
	start := time.Now()
	f := t.org
	if f.src == nil {
		level.Error(t.logger).Log("msg", "Cannot read the organisation's events", "err", errNoEvents)
		return Phase{Name: "events"}, false
	}
	cutoff := now.Add(-t.widest)
	t.mu.Lock()
	first := f.since.IsZero()
	if first {
		f.since = now
	}
	q := webex.EventsQuery{Resource: "messages", Type: "created", From: cutoff}
	if !f.top.IsZero() {
		q.From = latest(cutoff, f.top.Add(-eventsOverlap))
	}
	t.mu.Unlock()

	var read eventSpan
	err := f.src.Events(ctx, q, func(page []webex.Event) error { t.ingestEvents(page, &read, now); return nil })
	t.applyEvents(q, read, err, false, now)
	answered = err == nil || read.n > 0
	if first && !answered {
		// Refused or unanswered: the exporter has not begun watching yet.
		t.mu.Lock()
		f.since = time.Time{}
		t.mu.Unlock()
	}
	if err == nil {
		t.mu.Lock()
		gap := !f.gapTo.IsZero()
		g := webex.EventsQuery{Resource: "messages", Type: "created", From: latest(f.gapFrom, cutoff), To: f.gapTo}
		t.mu.Unlock()
		if gap {
			var gapRead eventSpan
			err = f.src.Events(ctx, g, func(page []webex.Event) error { t.ingestEvents(page, &gapRead, now); return nil })
			t.applyEvents(g, gapRead, err, true, now)
		}
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	refused := webex.IsForbidden(err)
	switch {
	case refused && !f.refused:
		level.Error(t.logger).Log("msg", "Webex refused to list the organisation's events: --webex.scope=org needs a compliance officer's token with the scope "+webex.ComplianceScope, "err", err)
	case err != nil && !refused:
		level.Warn(t.logger).Log("msg", "Reading the organisation's events failed; the rest is read next time", "err", err)
	}
	f.refused = refused
	// Every room's messages are known in full once the backlog is read.
	done := f.backfilled()
	for _, st := range t.rooms {
		st.watched, st.read, st.gaps, st.pending = done, done, nil, false
		if err == nil {
			st.refreshed = now
		}
	}
	return Phase{Name: "events", Success: err == nil, Duration: time.Since(start)}, answered
}

// eventSpan is what a read of events has applied so far: how many events,
// the newest and the oldest.
type eventSpan struct {
	n              int
	newest, oldest time.Time
}

// ingestEvents applies a page of events as it arrives: each event's
// message goes into its room (created when new).
func (t *Tracker) ingestEvents(page []webex.Event, read *eventSpan, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.org
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
		st := t.eventRoomLocked(d.RoomID, d.RoomType)
		if st == nil {
			continue
		}
		m := webex.Message{ID: d.ID, RoomID: d.RoomID, PersonID: d.PersonID, Created: d.Created}
		t.ingestLocked(st, []webex.Message{m}, origin{evented: true, since: f.since}, now)
		st.room.LastActivity = latest(st.room.LastActivity, st.newest)
	}
}

// applyEvents records what a read of events (q) applied: the cursor moves.
// A read that failed after some pages got the newest events: what lies
// below the oldest of them is left as a gap. gapRead: q was the read of
// the gap.
func (t *Tracker) applyEvents(q webex.EventsQuery, read eventSpan, err error, gapRead bool, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.org
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
		f.top = latest(latest(f.top, newest), q.From)
	case read.n > 0:
		f.addGap(q.From, below, f.top.IsZero())
		f.top = latest(f.top, newest)
	}
	if !f.gapTo.IsZero() && !f.gapTo.After(latest(f.gapFrom, now.Add(-t.widest))) {
		// Nothing left of it lies within a window.
		f.gapFrom, f.gapTo, f.gapBacklog = time.Time{}, time.Time{}, false
	}
}

// eventRoomLocked returns the state of the room an event names, creating it
// (known by id and type until described) if the filters may keep it; nil
// when they leave it out.
func (t *Tracker) eventRoomLocked(id, roomType string) *roomState {
	if st := t.rooms[id]; st != nil {
		st.evented, st.absent = true, 0
		return st
	}
	if _, out := t.excluded[id]; out || t.org.excluded[id] {
		return nil
	}
	r := webex.Room{ID: id, Type: roomType}
	if len(t.filter.Types) > 0 && !slices.Contains(t.filter.Types, r.Type) ||
		len(t.filter.RoomIDs) > 0 && !slices.Contains(t.filter.RoomIDs, r.ID) {
		return nil
	}
	st := &roomState{room: r, evented: true}
	t.rooms[id] = st
	return st
}

// describeJobs lists the rooms to describe: those no listing or earlier
// description told about, unless Webex refused them recently; the most
// recently active first.
func (t *Tracker) describeJobs(now time.Time) []job {
	t.mu.Lock()
	defer t.mu.Unlock()
	var jobs []job
	for id, st := range t.rooms {
		if !st.described && (st.describeFailed.IsZero() || now.Sub(st.describeFailed) >= describeRetry) {
			jobs = append(jobs, job{roomID: id, lastActivity: st.room.LastActivity})
		}
	}
	slices.SortFunc(jobs, func(a, b job) int { return b.lastActivity.Compare(a.lastActivity) })
	return jobs
}

// describe reads a room's title, type, team and creation time. A refusal
// (403) or an unknown room (404) is remembered, and asked again only after
// describeRetry; the room goes on being exported with what the events say.
func (t *Tracker) describe(ctx context.Context, id string, now time.Time) error {
	r, err := t.org.src.Room(ctx, id)
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.rooms[id]
	if st == nil {
		return err
	}
	if webex.IsForbidden(err) || webex.IsNotFound(err) {
		level.Debug(t.logger).Log("msg", "Webex does not describe the room; asking again later", "room_id", id, "err", err)
		st.describeFailed = now
		return nil
	}
	if err != nil {
		return err
	}
	if r.Title == emptyTitle {
		r.Title = ""
	}
	if r.Type == "" {
		r.Type = st.room.Type
	}
	r.LastActivity = latest(r.LastActivity, st.newest)
	if !t.filter.Keep(r) {
		delete(t.rooms, id)
		t.org.excluded[id] = true
		return nil
	}
	st.room, st.described, st.describeFailed = r, true, time.Time{}
	return nil
}
