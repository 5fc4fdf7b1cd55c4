package collector

import (
	"sync"
	"time"

	"github.com/go-kit/log"
	"golang.org/x/sync/singleflight"

	"github.com/webex-exporter/webex_exporter/collector/state"
	"github.com/webex-exporter/webex_exporter/collector/statefile"
	"github.com/webex-exporter/webex_exporter/webex"
)

// Config tunes a Tracker.
type Config struct {
	Windows     []Window         // from ParseWindows; required
	Concurrency int              // API calls in flight at once (default 4)
	Filter      Filter           // which rooms are watched (zero: all)
	Now         func() time.Time // the clock (default time.Now); tests move it
	Logger      log.Logger       // default: discard
	// Memberships turns on member counts, read when a room's lastActivity
	// moves or MembershipsRefresh has passed (default 1h).
	Memberships        bool
	MembershipsRefresh time.Duration
	// HideTitles leaves titles out of webex_room_info (1:1 room titles are
	// people's names).
	HideTitles bool
	// DirectRooms: direct rooms in the per-room families or only in the
	// totals (default DirectPerRoom).
	DirectRooms DirectRooms
	// TokenExpiry, if set, tells when the access token expires (zero: unknown).
	TokenExpiry func() time.Time
	// StateFile, if set, is where the state is kept across restarts: read by
	// LoadState, written after a refresh at most every StateInterval
	// (default 1m) and by SaveState.
	StateFile     string
	StateInterval time.Duration
	// MinInterval: refreshes start at least this far apart on the clock
	// (zero: no minimum); a scrape in between gets the last snapshot.
	MinInterval time.Duration
	// Scope: the account's rooms (ScopeMember, the default) or the whole
	// organisation's through the Events API (ScopeOrg; the Source must then
	// be an EventSource too, as *webex.Client is).
	Scope Scope
}

// Filter chooses the rooms the exporter watches (state.Filter).
type Filter = state.Filter

// NewFilter builds a Filter (state.NewFilter).
func NewFilter(types, teamIDs, roomIDs []string, include, exclude string) (Filter, error) {
	return state.NewFilter(types, teamIDs, roomIDs, include, exclude)
}

// Scope says which rooms the tracker watches, and so which feed fills it.
type Scope string

const (
	// ScopeMember: the rooms the account belongs to, through the poll
	// feed (poll.go: the listing and reads of the rooms that moved).
	ScopeMember Scope = "member"
	// ScopeOrg: every room of the organisation, through the events feed
	// (events.go: the Events API, for a compliance officer's token).
	ScopeOrg Scope = "org"
)

// Tracker keeps the state between scrapes and refreshes it incrementally:
// each refresh lists the rooms (all pages) and runs the scope's feeds,
// which report what they learn into the state (package state) as facts;
// the refresh ends with a snapshot. Concurrent scrapes share one refresh.
type Tracker struct {
	src         Source
	workers     int
	filter      Filter // for the listing's query; the state applies it
	directRooms DirectRooms
	tokenExpiry func() time.Time
	now         func() time.Time
	logger      log.Logger
	state       *state.State // the one state; locks by itself

	mu      sync.Mutex    // guards the fields below
	up      bool          // whether the last refresh listed the rooms
	fl      flights       // the refresh under way, the last snapshot
	account *webex.Person // from /people/me; nil until known, and again after a 401
	// accountGen is the token generation the account was learned with: a
	// new token (a swapped token file) may be another account's.
	accountGen uint64
	// restored is a state file's content waiting for the account to be
	// known, to be adopted or discarded (see adoptLocked).
	restored *savedState
	feeds    []feed // run in this order by each refresh (refresh.go); set before the first
	// stateAttempt: the last attempt to write the state file (t.now).
	stateAttempt time.Time

	learning singleflight.Group // the /people/me call under way, if any

	// The state file (see statefile.go); nil when off.
	stateFile     *statefile.File
	stateInterval time.Duration
	writeMu       sync.Mutex // one write at a time

	org     *eventsFeed   // the events feed (and its cursor), in ScopeOrg; nil otherwise
	webhook webhookCursor // the push feed's cursor (push.go), carried also while push is off

	onWait func() // tests: called when a scrape starts waiting for another's refresh
}

// NewTracker returns a tracker with empty state.
func NewTracker(src Source, cfg Config) *Tracker {
	t := &Tracker{
		src:         src,
		workers:     cfg.Concurrency,
		filter:      cfg.Filter,
		directRooms: cfg.DirectRooms,
		tokenExpiry: cfg.TokenExpiry,
		now:         cfg.Now,
		logger:      cfg.Logger,
		fl:          flights{minInterval: cfg.MinInterval, descs: newDescs()},
		state: state.New(state.Config{Windows: cfg.Windows, Filter: cfg.Filter, Members: cfg.Memberships,
			MembersEvery: cfg.MembershipsRefresh, HideTitles: cfg.HideTitles, Events: cfg.Scope == ScopeOrg}),

		stateInterval: cfg.StateInterval,
	}
	if t.stateInterval <= 0 {
		t.stateInterval = time.Minute
	}
	if t.workers <= 0 {
		t.workers = 4
	}
	if t.now == nil {
		t.now = time.Now
	}
	if t.logger == nil {
		t.logger = log.NewNopLogger()
	}
	if cfg.StateFile != "" {
		t.stateFile = statefile.New(cfg.StateFile, t.logger)
	}
	// The feeds, in the order a refresh runs them (refresh.go); NewPush
	// adds the push feed.
	switch cfg.Scope {
	case ScopeOrg:
		es, _ := src.(EventSource)
		t.org = &eventsFeed{src: es, state: t.state, logger: t.logger, workers: t.workers}
		t.feeds = []feed{t.org}
	default:
		t.feeds = []feed{&pollFeed{src: src, state: t.state, logger: t.logger, workers: t.workers}}
	}
	if cfg.Memberships {
		t.feeds = append(t.feeds, &membersFeed{src: src, state: t.state, logger: t.logger, workers: t.workers})
	}
	return t
}

// unrunPhases are the phases of a refresh, all failed: what a scrape shows
// when its refresh did not get to run them.
// Called with t.mu held.
func (t *Tracker) unrunPhases() []Phase {
	phases := []Phase{{Name: "rooms"}}
	for _, f := range t.feeds {
		for _, name := range f.phases() {
			phases = append(phases, Phase{Name: name})
		}
	}
	return phases
}
