package state

import (
	"hash/fnv"
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
	i, _ := slices.BinarySearchFunc(h, cutoff+1, func(m msg, at int64) int { return cmpInt(m.at, at) })
	return len(h) - i, seen.distinct(h[i:])
}

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
