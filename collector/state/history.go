package state

import (
	"hash/fnv"
	"math"
	"slices"
	"strings"
	"time"
)

// msg is what the windows need of a message: when, who, and enough of its
// id to tell it from another message created in the same millisecond. 16
// bytes: 200,000 messages take 3.2 MB.
type msg struct {
	at     int64  // creation time, Unix milliseconds
	id     uint32 // hashID of the message id
	sender uint32 // the person id's index in the tracker's senderTable
}

// senderTable interns the person ids of senders: a message refers to its
// sender by index, in 4 bytes rather than a string's 16. The zero value is
// an empty table.
type senderTable struct {
	ids   []string
	index map[string]uint32
}

func (s *senderTable) intern(id string) uint32 {
	if i, ok := s.index[id]; ok {
		return i
	}
	if s.index == nil {
		s.index = map[string]uint32{}
	}
	id = strings.Clone(id) // do not pin the decoded page
	i := uint32(len(s.ids))
	s.ids = append(s.ids, id)
	s.index[id] = i
	return i
}

func (s *senderTable) len() int { return len(s.ids) }

// hashID is a message id in 4 bytes. Two messages are the same when both
// their creation times and hashes are equal: a collision needs two ids
// created in the same millisecond of one room.
func hashID(id string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(id))
	return h.Sum32()
}

// has reports whether the history holds the message created at at with id.
func (h history) has(at int64, id uint32) bool {
	i, _ := slices.BinarySearchFunc(h, at, func(m msg, at int64) int { return cmpInt(m.at, at) })
	for ; i < len(h) && h[i].at == at; i++ {
		if h[i].id == id {
			return true
		}
	}
	return false
}

// history is a room's messages within the widest window, oldest first.
type history []msg

// insert adds m keeping the order (new messages usually go at the end).
// A full history grows by a quarter, not twice as append would.
func (h history) insert(m msg) history {
	if len(h) == cap(h) {
		h = append(make(history, 0, len(h)+len(h)/4+4), h...)
	}
	i := len(h)
	for i > 0 && h[i-1].at > m.at {
		i--
	}
	return slices.Insert(h, i, m)
}

// prune drops messages created at or before cutoff (Unix ms).
func (h history) prune(cutoff int64) history {
	if len(h) == 0 || h[0].at > cutoff { // nothing to drop (most refreshes): no search
		return h
	}
	i, _ := slices.BinarySearchFunc(h, cutoff+1, func(m msg, at int64) int { return cmpInt(m.at, at) })
	if i == 0 {
		return h
	}
	return slices.Delete(h, 0, i)
}

// newestAt returns the creation time of the newest message created at or
// before t (zero if none).
func (h history) newestAt(t time.Time) time.Time {
	i, _ := slices.BinarySearchFunc(h, t.UnixMilli()+1, func(m msg, at int64) int { return cmpInt(m.at, at) })
	if i == 0 {
		return time.Time{}
	}
	return time.UnixMilli(h[i-1].at).UTC()
}

// count returns the messages created after cutoff (Unix ms) and their
// distinct senders, marked in seen.
func (h history) count(cutoff int64, seen *senderSeen) (messages, senders int) {
	i := h.after(cutoff)
	return len(h) - i, seen.distinct(h[i:])
}

// after returns the index of the first message created after cutoff (Unix ms).
func (h history) after(cutoff int64) int {
	i, _ := slices.BinarySearchFunc(h, cutoff+1, func(m msg, at int64) int { return cmpInt(m.at, at) })
	return i
}

// counted is one window's count (history.count) kept in a roomState: it
// holds for every cutoff from from (included) to until (excluded), the
// creation times of the messages on either side of the window's start,
// for as long as the history does not change (roomState.count).
type counted struct {
	from, until       int64
	messages, senders int32
}

// count returns window i's messages created after cutoff (Unix ms) and
// their distinct senders (of n windows), from st.counted while it holds
// for cutoff: a warm snapshot reads no history of a room that did not
// change, only the counts of those whose window lost or gained a message.
func (st *roomState) count(i, n int, cutoff int64, seen *senderSeen) (messages, senders int32) {
	if len(st.history) == 0 {
		return 0, 0 // most rooms: nothing to keep
	}
	if len(st.counted) != n {
		// The zero counted holds for no cutoff (from == until).
		st.counted = slices.Grow(st.counted[:0], n)[:n]
		clear(st.counted)
	}
	c := &st.counted[i]
	if c.from <= cutoff && cutoff < c.until {
		return c.messages, c.senders
	}
	h := st.history
	j := h.after(cutoff)
	*c = counted{from: math.MinInt64, until: math.MaxInt64, messages: int32(len(h) - j), senders: int32(seen.distinct(h[j:]))}
	if j > 0 {
		c.from = h[j-1].at
	}
	if j < len(h) {
		c.until = h[j].at
	}
	return c.messages, c.senders
}

// insert adds m to the room's history; prune drops the messages created
// at or before cutoff (Unix ms). Every change to st.history goes through
// them or historyChanged, which forgets the counts made from it.
func (st *roomState) insert(m msg) {
	st.history = st.history.insert(m)
	st.historyChanged()
}

func (st *roomState) prune(cutoff int64) {
	if h := st.history.prune(cutoff); len(h) != len(st.history) {
		st.history = h
		st.historyChanged()
	}
}

func (st *roomState) historyChanged() { st.counted = st.counted[:0] }

// senderSeen counts distinct senders: stamp holds, for each sender index
// of the senderTable, the last count that met it, so that a count clears
// nothing (a map cleared per room and window cost a tenth of a snapshot).
type senderSeen struct {
	stamp []uint32 // by sender index; grows to the largest index met
	gen   uint32   // the count under way
}

// distinct returns the number of distinct senders of ms.
func (s *senderSeen) distinct(ms []msg) int {
	s.gen++
	if s.gen == 0 { // wrapped: older stamps could be taken for this count's
		clear(s.stamp)
		s.gen = 1
	}
	n := 0
	for _, m := range ms {
		if int(m.sender) >= len(s.stamp) {
			s.stamp = append(s.stamp, make([]uint32, int(m.sender)+1-len(s.stamp))...)
		}
		if s.stamp[m.sender] != s.gen {
			s.stamp[m.sender] = s.gen
			n++
		}
	}
	return n
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
