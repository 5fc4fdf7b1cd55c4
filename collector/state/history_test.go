package state

import (
	"fmt"
	"testing"
	"time"
	"unsafe"
)

func TestHistoryCountAndPrune(t *testing.T) {
	var h history
	const a, b, c, d = 0, 1, 2, 3 // senders
	for _, m := range []msg{{at: 100, sender: a}, {at: 300, sender: b}, {at: 200, sender: a}, {at: 300, sender: c}, {at: 50, sender: d}} {
		h = h.insert(m)
	}
	for i := 1; i < len(h); i++ {
		if h[i-1].at > h[i].at {
			t.Fatalf("history out of order: %v", h)
		}
	}
	seen := &senderSeen{}
	// Messages created strictly after the cutoff count.
	for _, c := range []struct {
		cutoff            int64
		messages, senders int
	}{{0, 5, 4}, {50, 4, 3}, {100, 3, 3}, {200, 2, 2}, {300, 0, 0}} {
		m, s := h.count(c.cutoff, seen)
		if m != c.messages || s != c.senders {
			t.Errorf("count(%d) = %d messages, %d senders; want %d, %d", c.cutoff, m, s, c.messages, c.senders)
		}
	}
	// Counts in a row share the stamps; one whose generation wraps to 0
	// clears them rather than take an old stamp for its own.
	seen = &senderSeen{stamp: make([]uint32, 4), gen: ^uint32(0)}
	for range 3 {
		if m, s := h.count(50, seen); m != 4 || s != 3 {
			t.Errorf("count(50) at generation %d = %d messages, %d senders; want 4, 3", seen.gen, m, s)
		}
	}
	h = h.prune(100)
	if len(h) != 3 || h[0].at != 200 {
		t.Errorf("prune(100) left %v, want the messages at 200 and 300", h)
	}
}

// TestHistoryGrowth: a history grows by about a quarter at a time, not
// twice as append would: 200,000 messages are kept in about 3.2 MB.
func TestHistoryGrowth(t *testing.T) {
	var h history
	for i := range 1000 {
		h = h.insert(msg{at: int64(i)})
		if cap(h) > len(h)+len(h)/4+4 {
			t.Fatalf("%d messages in a history of capacity %d", len(h), cap(h))
		}
	}
	for i, m := range h {
		if m.at != int64(i) {
			t.Fatalf("message %d at %d", i, m.at)
		}
	}
}

// TestMsgSize: a message in the windows stays 16 bytes (200,000 of them at
// 10,000 rooms).
func TestMsgSize(t *testing.T) {
	if n := unsafe.Sizeof(msg{}); n != 16 {
		t.Errorf("a msg takes %d bytes, want 16", n)
	}
}

// TestSenderTable: the same id is one index, another id another.
func TestSenderTable(t *testing.T) {
	var s senderTable
	page := []byte("person-a person-b")
	a := s.intern(string(page[:8]))
	b := s.intern("person-b")
	if a2 := s.intern("person-a"); a2 != a || a == b || s.len() != 2 {
		t.Fatalf("intern: a=%d again %d, b=%d, len %d", a, a2, b, s.len())
	}
	if s.ids[a] != "person-a" || s.ids[b] != "person-b" {
		t.Fatalf("ids %q", s.ids)
	}
}

// BenchmarkIngestFirstRead: a busy room's first read (20,000 messages, as
// a read returns them, newest first) goes into the windows in linear time.
//
//	go test -run '^$' -bench IngestFirstRead ./collector/state/
func BenchmarkIngestFirstRead(b *testing.B) {
	windows := []Window{{"1h", time.Hour}, {"24h", 24 * time.Hour}}
	msgs := make([]Message, 20000)
	for i := range msgs {
		msgs[i] = Message{ID: fmt.Sprint("m", i), PersonID: fmt.Sprint("p", i%50), Created: t0.Add(-time.Duration(i) * 4 * time.Second)}
	}
	for b.Loop() {
		s := New(Config{Windows: windows})
		s.mu.Lock()
		if n := s.ingest(&roomState{}, msgs, origin{}, t0); n != len(msgs) {
			b.Fatalf("%d ingested", n)
		}
		s.mu.Unlock()
	}
}
