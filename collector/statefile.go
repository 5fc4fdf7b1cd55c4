package collector

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/webex-exporter/webex_exporter/webex"
)

// The state file: what the tracker knows, kept across restarts so that the
// first scrape after one costs what a warm scrape costs. It is JSON (the
// standard library's encoder, readable with jq), written whole to a
// temporary file in the same directory, synced and renamed over the old
// one, so a crash leaves the old file or the new one, never a torn one.

// stateVersion is the file format's version. A file of another version is
// set aside like a corrupt one: the exporter starts cold.
const stateVersion = 1

// savedState is the state file's content.
type savedState struct {
	Version int       `json:"version"`
	Written time.Time `json:"written"`
	Account string    `json:"account"` // person id of the account the state belongs to
	// WidestMS is the widest window when written: the windows' messages
	// reach back that far from Written, no further.
	WidestMS int64    `json:"widest_ms"`
	Windows  []string `json:"windows"`
	Senders  []string `json:"senders"` // interned person ids; rooms refer to them by index
	// Webhook is the push feed's webhook and the secret of its signatures.
	Webhook *savedWebhook `json:"webhook,omitempty"`
	// Events is the events feed's cursor (--webex.scope=org only).
	Events *savedEvents `json:"events,omitempty"`
	Rooms  []savedRoom  `json:"rooms"`
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

// saveLocked copies the state into its saved form.
func (t *Tracker) saveLocked(now time.Time) *savedState {
	s := &savedState{Version: stateVersion, Written: now, Account: t.owner, WidestMS: t.widest.Milliseconds(),
		Rooms: make([]savedRoom, 0, len(t.rooms))}
	for _, w := range t.windows {
		s.Windows = append(s.Windows, w.Name)
	}
	if w := t.webhook; w.id != "" {
		s.Webhook = &savedWebhook{ID: w.id, Secret: w.secret, TargetURL: w.targetURL}
	}
	if f := t.org; f != nil {
		s.Events = &savedEvents{Since: f.since, Top: f.top, GapFrom: f.gapFrom, GapTo: f.gapTo, GapBacklog: f.gapBacklog}
	}
	senders := map[uint32]int{}
	for id, st := range t.rooms {
		r := st.room
		sr := savedRoom{ID: id, Title: r.Title, Type: r.Type, TeamID: r.TeamID, IsLocked: r.IsLocked,
			LastActivity: r.LastActivity, Created: r.Created,
			Watched: st.watched, ReadActivity: st.readActivity, Newest: st.newest, NewestIDs: st.newestIDs,
			Total: st.total, Refreshed: st.refreshed, Pending: st.pending, Uncovered: st.uncovered, NoMessages: st.noMessages, Absent: st.absent,
			Members: st.members, MembersAt: st.membersAt, MembersActivity: st.membersActivity,
			Evented: st.evented, Undescribed: !st.described, DescribeFailed: st.describeFailed,
			At: make([]int64, len(st.history)), IDs: make([]uint32, len(st.history)), Senders: make([]int, len(st.history))}
		for _, g := range st.gaps {
			sr.Gaps = append(sr.Gaps, savedGap{BeforeID: g.beforeID, Before: g.before, StopAtID: g.stopAtID,
				Until: g.until, Backlog: g.backlog, Failures: g.failures})
		}
		prev := int64(0)
		for i, m := range st.history {
			n, ok := senders[m.sender]
			if !ok {
				n = len(s.Senders)
				senders[m.sender] = n
				s.Senders = append(s.Senders, t.people.ids[m.sender])
			}
			sr.At[i], sr.IDs[i], sr.Senders[i] = m.at-prev, m.id, n
			prev = m.at
		}
		s.Rooms = append(s.Rooms, sr)
	}
	return s
}

// encodeState writes s as JSON, one room at a time, so that writing the
// state of 10,000 rooms does not hold a second copy of it in memory. The
// result is what json.Marshal(s) gives (TestEncodeStateIsMarshal).
func encodeState(w io.Writer, s *savedState) error {
	head, err := json.Marshal(struct {
		*savedState
		Rooms []savedRoom `json:"rooms,omitempty"`
	}{savedState: s})
	if err != nil {
		return err
	}
	// head ends with "}": re-open it for the rooms.
	bw := bufio.NewWriter(w)
	bw.Write(head[:len(head)-1])
	bw.WriteString(`,"rooms":[`)
	for i := range s.Rooms {
		if i > 0 {
			bw.WriteByte(',')
		}
		b, err := json.Marshal(&s.Rooms[i])
		if err != nil {
			return err
		}
		bw.Write(b)
	}
	bw.WriteString("]}")
	return bw.Flush()
}

// decodeState reads and checks a state file's content, one room at a time.
// Anything it does not accept is an error: the caller sets the file aside.
func decodeState(r io.Reader) (*savedState, error) {
	var s savedState
	dec := json.NewDecoder(r)
	if err := decodeObject(dec, func(key string) error {
		switch key {
		case "rooms":
			return decodeArray(dec, func() error {
				var room savedRoom
				if err := dec.Decode(&room); err != nil {
					return err
				}
				s.Rooms = append(s.Rooms, room)
				return nil
			})
		case "version":
			return dec.Decode(&s.Version)
		case "written":
			return dec.Decode(&s.Written)
		case "account":
			return dec.Decode(&s.Account)
		case "widest_ms":
			return dec.Decode(&s.WidestMS)
		case "windows":
			return dec.Decode(&s.Windows)
		case "senders":
			return dec.Decode(&s.Senders)
		case "webhook":
			return dec.Decode(&s.Webhook)
		case "events":
			return dec.Decode(&s.Events)
		}
		var skip json.RawMessage
		return dec.Decode(&skip)
	}); err != nil {
		return nil, fmt.Errorf("not a state file: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("not a state file: data after the end")
	}
	if s.Version != stateVersion {
		return nil, fmt.Errorf("format version %d, want %d", s.Version, stateVersion)
	}
	if s.Account == "" {
		return nil, errors.New("no account")
	}
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
		case len(r.Gaps) > maxGaps:
			return nil, fmt.Errorf("room %s: %d gaps, at most %d", r.ID, len(r.Gaps), maxGaps)
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

// restoreLocked takes over a saved state of this account. Rooms the filters
// no longer keep leave; windows narrower than before are pruned at the next
// refresh, and when the widest window grew, each room gets a backlog gap for
// the part of it that the saved messages do not reach.
func (t *Tracker) restoreLocked(s *savedState) {
	savedWidest := time.Duration(s.WidestMS) * time.Millisecond
	now := t.now()
	// The saved messages reach back to reach: when the widest window grew,
	// or the file was written while the clock ran ahead, the windows start
	// before it and the rest is read again.
	var reach time.Time
	if r := s.Written.Add(-savedWidest); r.After(now.Add(-t.widest)) {
		reach = r
	}
	clear(t.rooms)
	if w := s.Webhook; w != nil {
		t.webhook = webhookState{id: w.ID, secret: w.Secret, targetURL: w.TargetURL}
	}
	if f := t.org; f != nil && s.Events != nil {
		e := s.Events
		f.since, f.top, f.gapFrom, f.gapTo, f.gapBacklog = e.Since, e.Top, e.GapFrom, e.GapTo, e.GapBacklog
		// Written while the clock ran ahead: messages from now on count,
		// and the events are read again from the window's start.
		f.since = earliest(f.since, now)
		if f.top.After(now) {
			f.top = time.Time{}
		}
		if !reach.IsZero() && !f.top.IsZero() {
			// The widest window grew: read its older part again, as backlog.
			f.addGap(s.Written.Add(-t.widest), reach.Add(time.Millisecond), true)
		}
	}
	for _, sr := range s.Rooms {
		room := webex.Room{ID: sr.ID, Title: sr.Title, Type: sr.Type, TeamID: sr.TeamID, IsLocked: sr.IsLocked,
			LastActivity: sr.LastActivity, Created: sr.Created}
		if !t.filter.Keep(room) {
			continue
		}
		st := &roomState{room: room, watched: sr.Watched, readActivity: sr.ReadActivity, newest: sr.Newest,
			newestIDs: sr.NewestIDs, total: sr.Total, refreshed: sr.Refreshed, pending: sr.Pending, uncovered: sr.Uncovered,
			noMessages: sr.NoMessages, absent: sr.Absent,
			members: sr.Members, membersAt: sr.MembersAt, membersActivity: sr.MembersActivity,
			described: !sr.Undescribed, describeFailed: sr.DescribeFailed,
			// Only the events feed keeps rooms the listing does not have.
			evented: sr.Evented && t.org != nil,
			history: make(history, len(sr.At))}
		at := int64(0)
		for i := range sr.At {
			at += sr.At[i]
			st.history[i] = msg{at: at, id: sr.IDs[i], sender: t.intern(s.Senders[sr.Senders[i]])}
		}
		for _, g := range sr.Gaps {
			st.gaps = append(st.gaps, &gap{beforeID: g.BeforeID, before: g.Before, stopAtID: g.StopAtID,
				until: g.Until, backlog: g.Backlog, failures: g.Failures})
		}
		if !reach.IsZero() && st.watched && !st.noMessages {
			// Messages created at or before reach are missing (until
			// the gap is read, the room's counts are not shown).
			st.gaps = append([]*gap{{before: reach.Add(time.Millisecond), backlog: true}}, st.gaps...)
			if len(st.gaps) > maxGaps {
				st.gaps = st.gaps[:maxGaps]
			}
		}
		st.clampFuture(now)
		st.updateRead()
		t.rooms[sr.ID] = st
	}
	level.Info(t.logger).Log("msg", "Resuming from the state file", "file", t.statePath, "rooms", len(t.rooms), "written", s.Written.UTC().Format(time.RFC3339))
}

// clampFuture brings a restored room's times that lie ahead of now (the
// file was written while the clock ran ahead, or it was stepped back) to
// what they can be: the newest message is the newest the windows hold up
// to now (known by time only), the read and member times are forgotten so
// the room is read again. Left as they were, the next reads would stop at
// a future time and count nothing until the clock caught up.
func (st *roomState) clampFuture(now time.Time) {
	if st.newest.After(now) {
		st.newest, st.newestIDs = st.history.newestAt(now), nil
	}
	if st.readActivity.After(now) {
		st.readActivity = st.newest
	}
	if st.refreshed.After(now) {
		st.refreshed = time.Time{}
	}
	if st.membersAt.After(now) {
		st.membersAt = time.Time{}
	}
	if st.describeFailed.After(now) {
		st.describeFailed = time.Time{}
	}
}

// LoadState reads the state file, if one is configured and exists, before
// the first scrape. Its content waits until the account is known (see
// adoptLocked). A file that cannot be decoded is renamed to PATH.corrupt
// with a warning and the exporter starts cold: it never refuses to start.
func (t *Tracker) LoadState() {
	if t.statePath == "" {
		return
	}
	f, err := os.Open(t.statePath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		level.Info(t.logger).Log("msg", "No state file yet; starting cold", "file", t.statePath)
		return
	case err != nil:
		level.Warn(t.logger).Log("msg", "Cannot read the state file; starting cold", "file", t.statePath, "err", err)
		return
	}
	s, err := decodeState(bufio.NewReader(f))
	f.Close()
	if err != nil {
		aside := t.statePath + ".corrupt"
		if rerr := os.Rename(t.statePath, aside); rerr != nil {
			level.Warn(t.logger).Log("msg", "State file unusable, and it could not be set aside; starting cold", "file", t.statePath, "err", err, "rename_err", rerr)
			return
		}
		level.Warn(t.logger).Log("msg", "State file unusable; set aside, starting cold", "file", t.statePath, "moved_to", aside, "err", err)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.restored = s
	if t.owner != "" { // the account is known already
		t.adoptLocked(t.owner)
	}
}

// saveIfDue writes the state file when StateInterval has passed since the
// last attempt.
func (t *Tracker) saveIfDue(now time.Time) {
	if t.statePath == "" {
		return
	}
	t.mu.Lock()
	due := now.Sub(t.stateAttempt) >= t.stateInterval
	t.mu.Unlock()
	if due {
		t.SaveState() //nolint:errcheck // logged and counted by SaveState
	}
}

// SaveState writes the state file now (after a refresh, and at shutdown).
// Failures are logged and counted in webex_state_write_failures_total. A
// state that belongs to no account yet is not written: it would replace a
// restored file that is still waiting to be adopted.
func (t *Tracker) SaveState() error {
	if t.statePath == "" {
		return nil
	}
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	t.mu.Lock()
	now := t.now()
	t.stateAttempt = now
	if t.owner == "" {
		t.mu.Unlock()
		return nil
	}
	s := t.saveLocked(now)
	t.mu.Unlock()

	var size int64
	err := writeFileAtomic(t.statePath, 0o600, func(w io.Writer) error {
		cw := &countingWriter{w: w}
		err := encodeState(cw, s)
		size = cw.n
		return err
	})
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		t.stateFailures++
		level.Error(t.logger).Log("msg", "Writing the state file failed", "file", t.statePath, "err", err)
		return err
	}
	t.stateWritten = now
	level.Debug(t.logger).Log("msg", "State file written", "file", t.statePath, "rooms", len(s.Rooms), "bytes", size)
	return nil
}

// writeFileAtomic replaces path with what write writes, so that a crash at
// any point leaves the old file or the new one: a temporary file in the
// same directory, synced, renamed over path, and the directory synced.
func writeFileAtomic(path string, perm fs.FileMode, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if err = write(f); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// decodeObject walks a JSON object, calling field for each key with the
// decoder before the key's value.
func decodeObject(dec *json.Decoder, field func(key string) error) error {
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok {
			return fmt.Errorf("key %v", tok)
		}
		if err := field(key); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
	}
	return expectDelim(dec, '}')
}

// decodeArray walks a JSON array, calling elem before each element.
func decodeArray(dec *json.Decoder, elem func() error) error {
	if err := expectDelim(dec, '['); err != nil {
		return err
	}
	for dec.More() {
		if err := elem(); err != nil {
			return err
		}
	}
	return expectDelim(dec, ']')
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("want %q, got %v", want, tok)
	}
	return nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// StateMetrics are the state file's metrics, for the exporter's own registry.
type StateMetrics struct {
	t                 *Tracker
	written, failures *prometheus.Desc
}

// NewStateMetrics describes t's state file; it emits nothing when the state
// file is off.
func NewStateMetrics(t *Tracker) *StateMetrics {
	return &StateMetrics{t: t,
		written:  prometheus.NewDesc(namespace+"_state_last_write_timestamp_seconds", "When the state file (--state.file) was last written successfully, Unix time; absent until then.", nil, nil),
		failures: prometheus.NewDesc(namespace+"_state_write_failures_total", "Failed writes of the state file (--state.file).", nil, nil),
	}
}

var _ prometheus.Collector = (*StateMetrics)(nil)

// Describe implements prometheus.Collector.
func (m *StateMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.written
	ch <- m.failures
}

// Collect implements prometheus.Collector.
func (m *StateMetrics) Collect(ch chan<- prometheus.Metric) {
	if m.t.statePath == "" {
		return
	}
	m.t.mu.Lock()
	written, failures := m.t.stateWritten, m.t.stateFailures
	m.t.mu.Unlock()
	if !written.IsZero() {
		ch <- prometheus.MustNewConstMetric(m.written, prometheus.GaugeValue, unix(written))
	}
	ch <- prometheus.MustNewConstMetric(m.failures, prometheus.CounterValue, float64(failures))
}
