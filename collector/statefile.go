package collector

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/webex-exporter/webex_exporter/collector/state"
	"github.com/webex-exporter/webex_exporter/collector/statefile"
)

// The state file: what the tracker knows, kept across restarts so that the
// first scrape after one costs what a warm scrape costs. The file itself
// (format, atomic write, load, setting a corrupt one aside, its metrics) is
// package statefile, which knows none of the fields below: this file is the
// glue, the sections the tracker writes and reads. They are format 1's
// top-level keys: widest_ms, windows, webhook (the push feed's cursor),
// events (the events feed's cursor), rooms (one record per room) and
// senders (the person ids the rooms' messages refer to by index).

// savedState is a state file's content, decoded, until the account is
// known (Tracker.restored).
type savedState struct {
	Written time.Time
	Account string // person id of the account the state belongs to
	// WidestMS is the widest window when written: the windows' messages
	// reach back that far from Written, no further.
	WidestMS int64
	Windows  []string
	Senders  []string // interned person ids; rooms refer to them by index
	Webhook  *savedWebhook
	Events   *savedEvents
	Rooms    []state.RoomRecord // decoded from savedRoom
}

// savedEvents is the events feed's cursor (eventsFeed).
type savedEvents struct {
	Since      time.Time `json:"since,omitzero"`
	Top        time.Time `json:"top,omitzero"`
	GapFrom    time.Time `json:"gap_from,omitzero"`
	GapTo      time.Time `json:"gap_to,omitzero"`
	GapBacklog bool      `json:"gap_backlog,omitempty"`
}

type savedRoom struct {
	ID           string    `json:"id"`
	Title        string    `json:"title,omitempty"`
	Type         string    `json:"type,omitempty"`
	TeamID       string    `json:"team_id,omitempty"`
	IsLocked     bool      `json:"is_locked,omitempty"`
	LastActivity time.Time `json:"last_activity,omitzero"`
	Created      time.Time `json:"created,omitzero"`

	Watched      bool       `json:"watched,omitempty"`
	ReadActivity time.Time  `json:"read_activity,omitzero"`
	Newest       time.Time  `json:"newest,omitzero"`
	NewestIDs    []string   `json:"newest_ids,omitempty"`
	Total        uint64     `json:"total,omitempty"`
	Refreshed    time.Time  `json:"refreshed,omitzero"`
	Pending      bool       `json:"pending,omitempty"`
	NoMessages   bool       `json:"no_messages,omitempty"`
	Gaps         []savedGap `json:"gaps,omitempty"`
	Uncovered    time.Time  `json:"uncovered,omitzero"`
	Absent       int        `json:"absent,omitempty"`
	// Evented: named by the events feed. Undescribed: known only by id and
	// type so far; DescribeFailed: when Webex last refused to describe it.
	Evented        bool      `json:"evented,omitempty"`
	Undescribed    bool      `json:"undescribed,omitempty"`
	DescribeFailed time.Time `json:"describe_failed,omitzero"`

	Members         int       `json:"members,omitempty"`
	MembersAt       time.Time `json:"members_at,omitzero"`
	MembersActivity time.Time `json:"members_activity,omitzero"`

	// The windows' messages, oldest first, as three columns: creation time
	// (Unix ms, each but the first as the step from the one before), id
	// hash, and sender (index into savedState.Senders).
	At      []int64  `json:"at,omitempty"`
	IDs     []uint32 `json:"ids,omitempty"`
	Senders []int    `json:"senders,omitempty"`
}

// savedWebhook is the push feed's cursor. Secret is only a generated one:
// a secret from --webhook.secret-file stays in its file.
type savedWebhook struct {
	ID        string `json:"id"`
	Secret    string `json:"secret"`
	TargetURL string `json:"target_url"`
}

type savedGap struct {
	BeforeID string    `json:"before_id,omitempty"`
	Before   time.Time `json:"before,omitzero"`
	StopAtID string    `json:"stop_at_id,omitempty"`
	Until    time.Time `json:"until,omitzero"`
	Backlog  bool      `json:"backlog,omitempty"`
	Failures int       `json:"failures,omitempty"`
}

// senderIndex numbers the senders of one file's messages as they come.
// It is keyed by person id, not by the tracker's table index: the table
// may be compacted between two rooms of a write.
type senderIndex struct {
	index map[string]int
	ids   []string
}

func (s *senderIndex) of(id string) int {
	n, ok := s.index[id]
	if !ok {
		if s.index == nil {
			s.index = map[string]int{}
		}
		n = len(s.ids)
		s.index[id] = n
		s.ids = append(s.ids, id)
	}
	return n
}

// savedRoomOf is a room's record in its saved form; recordOf the reverse.
func savedRoomOf(r state.RoomRecord) savedRoom {
	sr := savedRoom{ID: r.ID, Title: r.Title, Type: r.Type, TeamID: r.TeamID, IsLocked: r.IsLocked,
		LastActivity: r.LastActivity, Created: r.Created,
		Watched: r.Watched, ReadActivity: r.ReadActivity, Newest: r.Newest, NewestIDs: r.NewestIDs,
		Total: r.Total, Refreshed: r.Refreshed, Pending: r.Pending, NoMessages: r.NoMessages,
		Uncovered: r.Uncovered, Absent: r.Absent,
		Evented: r.Evented, Undescribed: r.Undescribed, DescribeFailed: r.DescribeFailed,
		Members: r.Members, MembersAt: r.MembersAt, MembersActivity: r.MembersActivity,
		At: r.At, IDs: r.IDs, Senders: r.Senders}
	for _, g := range r.Gaps {
		sr.Gaps = append(sr.Gaps, savedGap(g))
	}
	return sr
}

func recordOf(sr savedRoom) state.RoomRecord {
	r := state.RoomRecord{ID: sr.ID, Title: sr.Title, Type: sr.Type, TeamID: sr.TeamID, IsLocked: sr.IsLocked,
		LastActivity: sr.LastActivity, Created: sr.Created,
		Watched: sr.Watched, ReadActivity: sr.ReadActivity, Newest: sr.Newest, NewestIDs: sr.NewestIDs,
		Total: sr.Total, Refreshed: sr.Refreshed, Pending: sr.Pending, NoMessages: sr.NoMessages,
		Uncovered: sr.Uncovered, Absent: sr.Absent,
		Evented: sr.Evented, Undescribed: sr.Undescribed, DescribeFailed: sr.DescribeFailed,
		Members: sr.Members, MembersAt: sr.MembersAt, MembersActivity: sr.MembersActivity,
		At: sr.At, IDs: sr.IDs, Senders: sr.Senders}
	for _, g := range sr.Gaps {
		r.Gaps = append(r.Gaps, state.GapRecord(g))
	}
	return r
}

// errOwnerChanged stops a write during which the token's account changed:
// the file would mix two accounts' rooms.
var errOwnerChanged = errors.New("the account changed during the write")

// SaveState writes the state file now (after a refresh, and at shutdown).
// Failures are logged and counted in webex_state_write_failures_total. A
// state that belongs to no account yet is not written (statefile.ErrNoAccount):
// it would replace a restored file that is still waiting to be adopted.
//
// The rooms are written one at a time, each copied under the lock and
// encoded after it: the write holds one room's copy at a time, not a
// second copy of the state, and never holds the lock across file I/O.
func (t *Tracker) SaveState() error {
	if t.stateFile == nil {
		return nil
	}
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	h, body := t.saveState()
	return t.stateFile.Save(h, body)
}

// saveState takes what the state file's header and small sections need
// under the lock, and returns them with the body that writes the rooms.
func (t *Tracker) saveState() (statefile.Header, func(*statefile.Writer) error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.stateAttempt = now
	owner, ids := t.state.Rooms()
	h := statefile.Header{Written: now, Account: owner}
	widest := t.state.Widest().Milliseconds()
	var windows []string
	for _, w := range t.state.Windows() {
		windows = append(windows, w.Name)
	}
	var webhook *savedWebhook
	if w := t.webhook.get(); w.id != "" {
		webhook = &savedWebhook{ID: w.id, TargetURL: w.targetURL}
		if !w.fileSecret {
			webhook.Secret = w.secret
		}
	}
	var events *savedEvents
	if f := t.org; f != nil {
		c := f.cursor()
		events = &c
	}

	return h, func(w *statefile.Writer) error {
		if err := w.Value("widest_ms", widest); err != nil {
			return err
		}
		if err := w.Value("windows", windows); err != nil {
			return err
		}
		if webhook != nil {
			if err := w.Value("webhook", webhook); err != nil {
				return err
			}
		}
		if events != nil {
			if err := w.Value("events", events); err != nil {
				return err
			}
		}
		var senders senderIndex
		err := w.List("rooms", func(add func(any) error) error {
			for _, id := range ids {
				r, owner, ok := t.state.ExportRoom(id, senders.of)
				switch {
				case owner != h.Account:
					return errOwnerChanged
				case !ok: // gone since the write began
					continue
				}
				sr := savedRoomOf(r)
				if err := add(&sr); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		return w.Value("senders", senders.ids)
	}
}

// decodeState reads and checks a state file's content, one room at a time.
// Anything it does not accept is an error: the file is set aside.
func decodeState(r io.Reader) (*savedState, error) {
	var s savedState
	h, err := statefile.Decode(r, func(name string, b *statefile.Body) error {
		switch name {
		case "rooms":
			return b.Each(func(b *statefile.Body) error {
				var room savedRoom
				if err := b.Decode(&room); err != nil {
					return err
				}
				s.Rooms = append(s.Rooms, recordOf(room))
				return nil
			})
		case "widest_ms":
			return b.Decode(&s.WidestMS)
		case "windows":
			return b.Decode(&s.Windows)
		case "senders":
			return b.Decode(&s.Senders)
		case "webhook":
			return b.Decode(&s.Webhook)
		case "events":
			return b.Decode(&s.Events)
		}
		return nil // a section of a later version: skipped
	})
	if err != nil {
		return nil, err
	}
	s.Written, s.Account = h.Written, h.Account
	if s.WidestMS <= 0 {
		return nil, fmt.Errorf("widest window %d ms: want a positive duration", s.WidestMS)
	}
	seen := make(map[string]bool, len(s.Rooms))
	for i, r := range s.Rooms {
		switch {
		case r.ID == "":
			return nil, fmt.Errorf("room %d: no id", i)
		case seen[r.ID]:
			return nil, fmt.Errorf("room %s: twice", r.ID)
		case len(r.At) != len(r.IDs) || len(r.At) != len(r.Senders):
			return nil, fmt.Errorf("room %s: message columns of different lengths", r.ID)
		case len(r.Gaps) > state.MaxGaps:
			return nil, fmt.Errorf("room %s: %d gaps, at most %d", r.ID, len(r.Gaps), state.MaxGaps)
		}
		seen[r.ID] = true
		for j := range r.At {
			if j > 0 && r.At[j] < 0 {
				return nil, fmt.Errorf("room %s: messages out of order", r.ID)
			}
			if r.Senders[j] < 0 || r.Senders[j] >= len(s.Senders) {
				return nil, fmt.Errorf("room %s: sender %d of %d", r.ID, r.Senders[j], len(s.Senders))
			}
		}
	}
	return &s, nil
}

// restoreLocked takes over a saved state of this account (state.Import:
// rooms the filters no longer keep leave; windows wider than before get a
// backlog gap; restored future times are clamped), with the feeds'
// cursors. Called with t.mu held.
func (t *Tracker) restoreLocked(s *savedState) {
	now := t.now()
	reach := t.state.Import(state.Saved{Written: s.Written, Widest: time.Duration(s.WidestMS) * time.Millisecond,
		Senders: s.Senders, Rooms: s.Rooms}, now)
	if w := s.Webhook; w != nil {
		// No secret: it was --webhook.secret-file's, which the push feed
		// knows (and uses) by itself.
		t.webhook.set(webhookState{id: w.ID, secret: w.Secret, targetURL: w.TargetURL, fileSecret: w.Secret == ""})
	}
	if f := t.org; f != nil && s.Events != nil {
		f.restore(*s.Events, s.Written, reach, now)
	}
	rooms, _, _, _ := t.state.Size()
	level.Info(t.logger).Log("msg", "Resuming from the state file", "file", t.stateFile.Path(), "rooms", rooms, "written", s.Written.UTC().Format(time.RFC3339))
}

// LoadState reads the state file, if one is configured and exists, before
// the first scrape. Its content waits until the account is known (see
// adoptLocked). A file that cannot be decoded is set aside with a warning
// and the exporter starts cold: it never refuses to start.
func (t *Tracker) LoadState() {
	if t.stateFile == nil {
		return
	}
	var s *savedState
	if !t.stateFile.Load(func(r io.Reader) (err error) {
		s, err = decodeState(r)
		return err
	}) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.restored = s
	if owner := t.state.OwnerID(); owner != "" { // the account is known already
		t.adoptLocked(owner)
	}
}

// saveIfDue writes the state file when StateInterval has passed since the
// last attempt.
func (t *Tracker) saveIfDue(now time.Time) {
	if t.stateFile == nil {
		return
	}
	t.mu.Lock()
	due := now.Sub(t.stateAttempt) >= t.stateInterval
	t.mu.Unlock()
	if due {
		t.SaveState() //nolint:errcheck // logged and counted by the state file
	}
}

// NewStateMetrics describes t's state file metrics; it emits nothing when
// the state file is off (or t is nil).
func NewStateMetrics(t *Tracker) prometheus.Collector {
	if t == nil {
		return statefile.NewMetrics(nil)
	}
	return statefile.NewMetrics(t.stateFile)
}
