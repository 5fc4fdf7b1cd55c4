package webextest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// OrgConfig describes an organisation to generate. Zero fields take the
// documented defaults.
type OrgConfig struct {
	Seed   int64     // generation is deterministic for a given config
	Rooms  int       // number of rooms the account belongs to
	People int       // people who post in group rooms (default 50); also the first direct-room partners
	Now    time.Time // reference time; all times are <= Now (default time.Now())
	// History is how far back active rooms' messages go (default 48h).
	History time.Duration
	// ActiveFraction of the rooms have messages inside History (default
	// 0.2; negative for none). Fractions are rounded to whole rooms.
	ActiveFraction float64
	// MaxMessagesPerRoom: each active room gets uniform 1..Max messages
	// inside History (default 30).
	MaxMessagesPerRoom int
	DirectFraction     float64 // fraction of direct (1:1) rooms (default 0.3; negative for none)
	Teams              int     // teams ~30% of group rooms belong to (default 5; negative for none)
	KMSFailures        int     // rooms whose title fails to decrypt (default 0)
	// QuietRooms group rooms are titled "Quiet ..." and inactive; Simulate
	// never posts to them (for the demo; default 0).
	QuietRooms int
	// MeType is the account's type: "person" (default), "bot" or "appuser".
	MeType string
	// OtherRooms is the number of the organisation's rooms the account does
	// not belong to (default 0): only a compliance officer sees them, through
	// /events and /rooms/{id}. They are generated after the account's rooms,
	// so adding them does not change those.
	OtherRooms int
}

func (c OrgConfig) withDefaults() OrgConfig {
	if c.People <= 0 {
		c.People = 50
	}
	if c.Now.IsZero() {
		c.Now = time.Now()
	}
	c.Now = wireTime(c.Now)
	if c.History <= 0 {
		c.History = 48 * time.Hour
	}
	if c.ActiveFraction == 0 {
		c.ActiveFraction = 0.2
	}
	if c.MaxMessagesPerRoom <= 0 {
		c.MaxMessagesPerRoom = 30
	}
	if c.DirectFraction == 0 {
		c.DirectFraction = 0.3
	}
	if c.Teams == 0 {
		c.Teams = 5
	}
	if c.MeType == "" {
		c.MeType = "person"
	}
	c.Rooms = max(c.Rooms, 0)
	c.OtherRooms = max(c.OtherRooms, 0)
	c.ActiveFraction = min(max(c.ActiveFraction, 0), 1)
	c.DirectFraction = min(max(c.DirectFraction, 0), 1)
	c.Teams = max(c.Teams, 0)
	return c
}

var (
	firstNames = []string{"Alice", "Bruno", "Chloe", "Dmitri", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jonas",
		"Kavya", "Liam", "Mei", "Noah", "Olga", "Pedro", "Quinn", "Rosa", "Sven", "Tara"}
	lastNames = []string{"Andersen", "Baker", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Horvat", "Ivanova", "Jensen",
		"Kowalski", "Lopez", "Moreau", "Nakamura", "Okafor", "Petrov", "Rossi", "Schmidt", "Tanaka", "Weber"}
	roomTopics = []string{"Team sync", "Design review", "Incident room", "Release train", "Sales EMEA", "Support escalations",
		"Project Unicorn", "Ops on-call", "Marketing", "Hiring", "Architecture", "Customer success", "Budget", "Security"}
	teamNames = []string{"Build Squad", "Platform", "Field Sales", "Research", "Operations", "Finance", "Legal", "Design"}
	phrases   = []string{"Hello everyone", "Can you take a look?", "Done, thanks!", "Meeting moved to 3pm",
		"Deploy finished", "I'll follow up tomorrow", "+1", "See the attached plan", "Who owns this?", "Fixed in the last build"}
)

// generator holds the state of one GenerateOrg run.
type generator struct {
	cfg     OrgConfig
	r       *rand.Rand
	org     *Org
	posters []int          // indexes into org.People of group-room posters
	byID    map[string]int // org.People index by id
	groups  int            // group rooms generated so far (their titles are numbered)
}

// GenerateOrg builds an organisation deterministically from cfg.Seed.
//
// Active rooms have 1..MaxMessagesPerRoom messages in [Now-History, Now]
// and LastActivity equal to their newest message. Other rooms have
// LastActivity in [Now-30d, Now-History) and about half of them a few older
// messages, the newest at LastActivity. Group rooms have unique readable
// titles; direct rooms are titled with the other person's display name and
// each has a different other person (extra people are generated when
// People is too small). About 10% of group messages mention Me and 10% are
// thread replies.
func GenerateOrg(cfg OrgConfig) *Org {
	cfg = cfg.withDefaults()
	g := &generator{
		cfg:  cfg,
		r:    rand.New(rand.NewPCG(uint64(cfg.Seed), 0x77656265787465)),
		byID: map[string]int{},
		org: &Org{
			Messages:    map[string][]Message{},
			Memberships: map[string][]string{},
		},
	}
	g.org.ID = g.id("ORGANIZATION")
	g.org.Me = Person{ID: g.id("PEOPLE"), Email: "exporter@example.com", DisplayName: "Exporter Account", Type: cfg.MeType}
	if cfg.MeType == "bot" {
		g.org.Me.Email, g.org.Me.DisplayName = "exporter@webex.bot", "Exporter Bot"
	}
	for range cfg.People {
		g.posters = append(g.posters, g.newPerson())
	}
	for i := range cfg.Teams {
		name := teamNames[i%len(teamNames)]
		if i >= len(teamNames) {
			name = fmt.Sprintf("%s %d", name, i/len(teamNames)+1)
		}
		g.org.Teams = append(g.org.Teams, Team{ID: g.id("TEAM"), Name: name, Created: g.before(cfg.Now, 3*365*24*time.Hour)})
	}
	g.rooms(cfg.Rooms, true)
	g.rooms(cfg.OtherRooms, false)
	return g.org
}

func (g *generator) id(kind string) string { return webexID(kind, uuidOf(g.r.Uint64(), g.r.Uint64())) }

// newPerson appends a person with a unique name and returns its index.
func (g *generator) newPerson() int {
	i := len(g.org.People)
	first, last := firstNames[i%len(firstNames)], lastNames[(i/len(firstNames))%len(lastNames)]
	name, email := first+" "+last, strings.ToLower(first+"."+last)
	if n := i / (len(firstNames) * len(lastNames)); n > 0 {
		name, email = fmt.Sprintf("%s %d", name, n+1), fmt.Sprintf("%s%d", email, n+1)
	}
	p := Person{ID: g.id("PEOPLE"), Email: email + "@example.com", DisplayName: name, Type: "person"}
	g.org.People = append(g.org.People, p)
	g.byID[p.ID] = i
	return i
}

// before returns a time in (t-span, t], truncated to milliseconds.
func (g *generator) before(t time.Time, span time.Duration) time.Time {
	if span <= 0 {
		return t
	}
	return wireTime(t.Add(-time.Duration(g.r.Int64N(int64(span)))))
}

// pick returns n rooms indexes out of total, as a set.
func (g *generator) pick(total, n int, from []int) map[int]bool {
	if from == nil {
		from = make([]int, total)
		for i := range from {
			from[i] = i
		}
	}
	g.r.Shuffle(len(from), func(i, j int) { from[i], from[j] = from[j], from[i] })
	set := make(map[int]bool, n)
	for _, i := range from[:min(n, len(from))] {
		set[i] = true
	}
	return set
}

// rooms generates n rooms: the account's (member) or others of the
// organisation, in which the account is no member, never posts and is never
// mentioned; their direct rooms join a new person and a poster and have no
// title (there is no "other person" to name them after).
func (g *generator) rooms(n int, member bool) {
	cfg := g.cfg
	direct := g.pick(n, int(math.Round(float64(n)*cfg.DirectFraction)), nil)
	active := g.pick(n, int(math.Round(float64(n)*cfg.ActiveFraction)), nil)
	var quiet, kms map[int]bool
	if member {
		var quietCandidates []int
		for i := range n {
			if !direct[i] && !active[i] {
				quietCandidates = append(quietCandidates, i)
			}
		}
		quiet = g.pick(n, cfg.QuietRooms, quietCandidates)
		kms = g.pick(n, cfg.KMSFailures, nil)
	}

	directs := 0
	for i := range n {
		room := Room{ID: g.id("ROOM"), KMSFailure: kms[i]}
		me := g.org.Me.ID
		var members []string // Me excluded
		switch {
		case !member && direct[i]:
			room.Type = "direct"
			a, b := g.org.People[g.newPerson()], g.org.People[g.posters[g.r.IntN(len(g.posters))]]
			members = []string{a.ID, b.ID}
			room.CreatorID = members[g.r.IntN(2)]
		case !member:
			room.Type = "group"
			room.Title = fmt.Sprintf("%s %d", roomTopics[g.groups%len(roomTopics)], g.groups/len(roomTopics)+1)
			g.groups++
			members = g.groupMembers()
			room.CreatorID = members[g.r.IntN(len(members))]
			if len(g.org.Teams) > 0 && g.r.IntN(10) < 3 {
				room.TeamID = g.org.Teams[g.r.IntN(len(g.org.Teams))].ID
			}
		case direct[i]:
			room.Type = "direct"
			var other int
			if directs < len(g.posters) {
				other = g.posters[directs]
			} else {
				other = g.newPerson()
			}
			directs++
			p := g.org.People[other]
			room.Title, members = p.DisplayName, []string{p.ID}
			room.CreatorID = me
			if g.r.IntN(2) == 0 {
				room.CreatorID = p.ID
			}
		default:
			room.Type = "group"
			room.Title = fmt.Sprintf("%s %d", roomTopics[g.groups%len(roomTopics)], g.groups/len(roomTopics)+1)
			if quiet[i] {
				room.Title = "Quiet " + room.Title
			}
			g.groups++
			members = g.groupMembers()
			room.CreatorID = me
			if len(members) > 0 && g.r.IntN(4) != 0 {
				room.CreatorID = members[g.r.IntN(len(members))]
			}
			room.IsLocked = g.r.IntN(10) == 0
			if len(g.org.Teams) > 0 && g.r.IntN(10) < 3 {
				room.TeamID = g.org.Teams[g.r.IntN(len(g.org.Teams))].ID
			}
		}
		if member {
			g.org.Memberships[room.ID] = append([]string{me}, members...)
		} else {
			g.org.Memberships[room.ID] = members
		}

		var times []time.Time
		if active[i] {
			k := 1 + g.r.IntN(cfg.MaxMessagesPerRoom)
			for range k {
				times = append(times, g.before(cfg.Now, cfg.History))
			}
			slices.SortFunc(times, time.Time.Compare)
			room.LastActivity = times[len(times)-1]
		} else {
			span := 30*24*time.Hour - cfg.History - time.Millisecond
			if span <= 0 {
				span = 24 * time.Hour
			}
			room.LastActivity = g.before(cfg.Now.Add(-cfg.History-time.Millisecond), span)
			if !quiet[i] && g.r.IntN(2) == 0 {
				k := 1 + g.r.IntN(3)
				times = append(times, room.LastActivity)
				for range k - 1 {
					times = append(times, g.before(room.LastActivity, 30*24*time.Hour))
				}
				slices.SortFunc(times, time.Time.Compare)
			}
		}
		first := room.LastActivity
		if len(times) > 0 {
			first = times[0]
		}
		room.Created = g.before(first, 400*24*time.Hour)
		if member {
			g.org.Rooms = append(g.org.Rooms, room)
		} else {
			g.org.OtherRooms = append(g.org.OtherRooms, room)
		}
		if len(times) > 0 {
			g.org.Messages[room.ID] = g.messages(room, members, times, member)
		}
	}
}

// groupMembers returns 2..8 distinct posters (fewer if there are fewer).
func (g *generator) groupMembers() []string {
	k := min(2+g.r.IntN(7), len(g.posters))
	seen := make(map[int]bool, k)
	out := make([]string, 0, k)
	for len(out) < k {
		p := g.posters[g.r.IntN(len(g.posters))]
		if !seen[p] {
			seen[p] = true
			out = append(out, g.org.People[p].ID)
		}
	}
	return out
}

func (g *generator) messages(room Room, members []string, times []time.Time, member bool) []Message {
	msgs := make([]Message, 0, len(times))
	var topLevel []int
	for _, t := range times {
		author := g.org.Me
		if !member {
			author = g.org.People[g.byID[members[g.r.IntN(len(members))]]]
		} else if len(members) > 0 && g.r.IntN(10) != 0 {
			author = g.org.People[g.byID[members[g.r.IntN(len(members))]]]
		}
		m := Message{
			ID:          g.id("MESSAGE"),
			RoomID:      room.ID,
			RoomType:    room.Type,
			PersonID:    author.ID,
			PersonEmail: author.Email,
			Text:        phrases[g.r.IntN(len(phrases))],
			Created:     t,
		}
		if member && room.Type == "group" && author.ID != g.org.Me.ID && g.r.IntN(10) == 0 {
			m.MentionedPeople = []string{g.org.Me.ID}
		}
		if len(topLevel) > 0 && g.r.IntN(10) == 0 {
			m.ParentID = msgs[topLevel[g.r.IntN(len(topLevel))]].ID
		} else {
			topLevel = append(topLevel, len(msgs))
		}
		msgs = append(msgs, m)
	}
	return msgs
}
