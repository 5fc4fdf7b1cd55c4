package collector

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"github.com/klauspost/compress/flate"
	"hash/crc32"
	"hash/maphash"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// The exposition of a snapshot in the Prometheus text format (version
// 0.0.4), written straight from the snapshot: the same bytes client_golang
// would write for the Collector's metrics (exposition_test.go proves it),
// without building a hundred thousand const metrics per scrape.
//
// The room families (webex_messages_recent, webex_room_*, webex_rooms*) are
// rendered once per snapshot and shared by every scrape it answers; the few
// lines that differ between such scrapes (webex_up, webex_scrape_collector_*,
// webex_token_expiry_timestamp_seconds) are written per scrape. Families come
// in name order, samples in label order, as client_golang sorts them.

// rendering is a snapshot's room families, made at most once and kept only
// compressed, with the CRC-32 and length of the text: as DEFLATE blocks that
// end byte-aligned and not final, so that they can open a gzip member.
//
// Kept compressed because a rendering lives as long as its snapshot and
// two are alive during a refresh: at 10,000 rooms the text is 14 MiB and
// the compressed form 3-4 MiB. Compressing the whole text is most of a warm
// refresh's CPU, and most of it does not change from one refresh to the
// next: the text is cut into segments (one family of a block of rooms) and
// each is compressed on its own, by a fresh compressor, so that a segment
// whose text the last rendering had is taken from it as it was compressed.
// What changes every refresh (ages) or where a room moved is compressed
// again. Prometheus always takes gzip, served as it is; a client that does
// not pays the decompression.
type rendering struct {
	count *atomic.Int64     // renders made, for tests
	cache *segmentCache     // the segments of the last rendering; nil: none
	help  map[string]string // HELP by metric name (the tracker's descs, built once)
	once  sync.Once
	parts [][]byte // the segments' DEFLATE blocks, in order
	crc   uint32
	n     int
}

// segmentCache holds the compressed segments of the latest rendering, by
// their text, for the next one. A segment is found by a 64-bit hash and the
// length of its text: two texts of the same length colliding within one
// rendering's few thousand segments is a chance of about 2^-40.
type segmentCache struct {
	mu   sync.Mutex
	seed maphash.Seed
	last map[segmentKey][]byte
	zw   *flate.Writer // the compressor, while no rendering uses it
}

type segmentKey struct {
	sum uint64
	n   int
}

// take returns the last rendering's segments, the hash seed, and the
// compressor if no other rendering has it (nil: make one).
func (c *segmentCache) take() (map[segmentKey][]byte, maphash.Seed, *flate.Writer) {
	if c == nil {
		return nil, maphash.MakeSeed(), nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == nil {
		c.seed = maphash.MakeSeed()
	}
	zw := c.zw
	c.zw = nil
	return c.last, c.seed, zw
}

// put keeps a rendering's segments for the next one (and lets go of the
// ones it did not use), and the compressor.
func (c *segmentCache) put(segs map[segmentKey][]byte, zw *flate.Writer) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last = segs
	if zw != nil {
		c.zw = zw
	}
}

// DirectRooms says how direct (1:1) rooms are exported.
type DirectRooms string

const (
	// DirectPerRoom: like group rooms, each in the per-room families.
	DirectPerRoom DirectRooms = "per-room"
	// DirectAggregate: only in the totals by room type (webex_rooms,
	// webex_rooms_active, webex_messages_recent); the per-room families
	// carry group rooms only.
	DirectAggregate DirectRooms = "aggregate"
)

// rooms returns the rendering, rendering the room families on first use.
func (s *Snapshot) rooms() *rendering {
	r := s.render
	r.once.Do(func() {
		r.count.Add(1)
		last, seed, zw := r.cache.take()
		next := make(map[segmentKey][]byte, len(last))
		var z bytes.Buffer
		writeRooms(s, r.help, seed, func(text []byte) {
			r.crc = crc32.Update(r.crc, crc32.IEEETable, text)
			r.n += len(text)
			k := segmentKey{maphash.Bytes(seed, text), len(text)}
			seg, ok := next[k]
			if !ok {
				seg, ok = last[k]
			}
			if !ok {
				z.Reset()
				if zw == nil {
					zw, _ = flate.NewWriter(&z, flate.BestSpeed) // the level is valid
				} else {
					zw.Reset(&z)
				}
				zw.Write(text) //nolint:errcheck // into memory
				zw.Flush()     //nolint:errcheck // a sync flush: ends byte-aligned, not final
				seg = bytes.Clone(z.Bytes())
			}
			next[k] = seg
			r.parts = append(r.parts, seg)
		})
		r.cache.put(next, zw)
	})
	return r
}

// finalEmptyBlock is a final, empty DEFLATE block (fixed codes): it ends
// the rendering's stream for reading it back.
var finalEmptyBlock = []byte{3, 0}

// WriteText writes one scrape's answer in the text format: the room
// families shared by every scrape of this snapshot, own (the exporter's own
// metrics, already encoded), and this scrape's status families. With gz it
// writes one gzip member that opens with the shared part as compressed
// once; otherwise the shared part is decompressed as it is written.
func (s *Snapshot) WriteText(w io.Writer, own []byte, gz bool) error {
	r := s.rooms()
	status := appendStatus(nil, s, r.help)
	ew := &errWriter{w: w}
	if !gz {
		rs := make([]io.Reader, 0, len(r.parts)+1)
		for _, p := range r.parts {
			rs = append(rs, bytes.NewReader(p))
		}
		fr := flate.NewReader(io.MultiReader(append(rs, bytes.NewReader(finalEmptyBlock))...))
		if _, err := io.Copy(ew, fr); err != nil && ew.err == nil {
			return fmt.Errorf("reading back the rendering: %w", err)
		}
		ew.Write(own)
		ew.Write(status)
		return ew.err
	}
	// RFC 1952: header, DEFLATE blocks, CRC-32 and length of the whole.
	// The shared part ends on a byte boundary, where this scrape's part
	// follows as stored (uncompressed) blocks, the last one final: a few
	// kilobytes, not worth a compressor's megabyte of state per scrape.
	// With the shared part first, its CRC is where the rest's continues from.
	ew.Write([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255})
	for _, p := range r.parts {
		ew.Write(p)
	}
	ew.Write(storedBlocks(own, status))
	crc := crc32.Update(r.crc, crc32.IEEETable, own)
	crc = crc32.Update(crc, crc32.IEEETable, status)
	ew.Write(binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, crc),
		uint32(r.n+len(own)+len(status))))
	return ew.err
}

// storedBlocks returns the parts as DEFLATE stored blocks (RFC 1951 3.2.4),
// starting on a byte boundary, the last one final.
func storedBlocks(parts ...[]byte) []byte {
	data := slices.Concat(parts...)
	out := make([]byte, 0, len(data)+5*(len(data)/0xffff+1))
	for {
		n := min(len(data), 0xffff)
		final := byte(0)
		if n == len(data) {
			final = 1
		}
		out = append(out, final, byte(n), byte(n>>8), ^byte(n), ^byte(n>>8))
		out, data = append(out, data[:n]...), data[n:]
		if final == 1 {
			return out
		}
	}
}

// errWriter keeps the first error and counts what was written.
type errWriter struct {
	w   io.Writer
	n   int
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	var n int
	n, e.err = e.w.Write(p)
	e.n += n
	return n, e.err
}

// blockRooms is how many rooms a block has on average. A block ends before
// a room whose id hashes (with the cache's seed) to a multiple of it, so
// that a room that comes or goes changes its own block only.
const blockRooms = 32

// writeRooms writes the room families of s as segments to out: one family
// of one block of rooms at a time, the families after them in one more.
func writeRooms(s *Snapshot, help map[string]string, seed maphash.Seed, out func(text []byte)) {
	f := &family{help: help, out: out}
	now := float64(s.Time.UnixMilli()) / 1e3
	// Windows in label order.
	order := make([]int, len(s.Windows))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int { return strings.Compare(s.Windows[i].Name, s.Windows[j].Name) })
	messages := func(r *RoomSnapshot) bool { return !r.NoMessages && r.Read }

	// The totals by room type, of every room whatever the mode.
	types := map[string]*typeTotals{"group": {}, "direct": {}}
	for i := range s.Rooms {
		r := &s.Rooms[i]
		t := types[r.Room.Type]
		if t == nil {
			t = &typeTotals{}
			types[r.Room.Type] = t
		}
		t.rooms++
		if !messages(r) {
			continue
		}
		if t.active == nil {
			t.active, t.messages = make([]int, len(s.Windows)), make([]int, len(s.Windows))
		}
		for w, c := range r.Counts {
			if !c.Known {
				continue // a window with messages no read covered is in no total
			}
			t.messages[w] += int(c.Messages)
			if c.Messages > 0 {
				t.active[w]++
			}
		}
	}
	typeNames := slices.Sorted(maps.Keys(types))
	totals := func(name string, v func(t *typeTotals) []int) {
		f.start(name, "gauge")
		for _, typ := range typeNames {
			vs := v(types[typ])
			for _, w := range order {
				n := 0
				if vs != nil {
					n = vs[w]
				}
				f.sample(float64(n), "room_type", typ, "window", s.Windows[w].Name)
			}
		}
	}
	totals("webex_messages_recent", func(t *typeTotals) []int { return t.messages })
	f.cut()

	// The rooms of the per-room families, cut into blocks. Each room's room_id label, {room_id="...", is its id as it is
	// unless the id needs escapes (written out once, then).
	type room struct {
		*RoomSnapshot
		id []byte // {room_id=" and the id escaped, if it needs escapes
	}
	rooms := make([]room, 0, len(s.Rooms))
	var blocks []int // where each block starts in rooms
	for i := range s.Rooms {
		r := &s.Rooms[i]
		if s.DirectRooms == DirectAggregate && r.Room.Type == "direct" {
			continue
		}
		if len(rooms) == 0 || maphash.String(seed, r.Room.ID)%blockRooms == 0 {
			blocks = append(blocks, len(rooms))
		}
		var id []byte
		if needsEscape(r.Room.ID, true) {
			id = appendEscaped([]byte(`{room_id="`), r.Room.ID, true)
		}
		rooms = append(rooms, room{r, id})
	}
	blocks = append(blocks, len(rooms))
	windowLabels := make([][]byte, len(s.Windows)) // ,window="..."}
	for w, win := range s.Windows {
		windowLabels[w] = append(appendEscaped([]byte(`",window="`), win.Name, true), `"}`...)
	}
	quoteBrace := []byte(`"}`)
	perBlock := func(sample func(r room)) {
		for b := 0; b+1 < len(blocks); b++ {
			for _, r := range rooms[blocks[b]:blocks[b+1]] {
				sample(r)
			}
			f.cut()
		}
	}
	each := func(name, typ string, sample func(r room)) {
		f.start(name, typ)
		perBlock(sample)
	}
	each("webex_room_created_timestamp_seconds", "gauge", func(r room) {
		if !r.Room.Created.IsZero() {
			f.roomSample(unix(r.Room.Created), r.Room.ID, r.id, quoteBrace)
		}
	})
	f.start("webex_room_info", "gauge")
	for _, locked := range []bool{false, true} { // is_locked sorts first
		perBlock(func(r room) {
			if room := &r.Room; room.IsLocked == locked {
				f.sample(1, "is_locked", strconv.FormatBool(locked), "room_id", room.ID, "room_type", room.Type,
					"team_id", room.TeamID, "title", room.Title)
			}
		})
	}
	each("webex_room_last_activity_age_seconds", "gauge", func(r room) {
		if !r.Room.LastActivity.IsZero() {
			f.roomSample(now-unix(r.Room.LastActivity), r.Room.ID, r.id, quoteBrace)
		}
	})
	each("webex_room_last_activity_timestamp_seconds", "gauge", func(r room) {
		if !r.Room.LastActivity.IsZero() {
			f.roomSample(unix(r.Room.LastActivity), r.Room.ID, r.id, quoteBrace)
		}
	})
	each("webex_room_last_message_timestamp_seconds", "gauge", func(r room) {
		if messages(r.RoomSnapshot) && !r.LastMessage.IsZero() {
			f.roomSample(unix(r.LastMessage), r.Room.ID, r.id, quoteBrace)
		}
	})
	each("webex_room_last_refresh_timestamp_seconds", "gauge", func(r room) {
		if !r.Refreshed.IsZero() {
			f.roomSample(unix(r.Refreshed), r.Room.ID, r.id, quoteBrace)
		}
	})
	each("webex_room_members", "gauge", func(r room) {
		if r.Members >= 0 {
			f.roomSample(float64(r.Members), r.Room.ID, r.id, quoteBrace)
		}
	})
	each("webex_room_messages_total", "counter", func(r room) {
		if messages(r.RoomSnapshot) {
			f.roomSample(float64(r.Total), r.Room.ID, r.id, quoteBrace)
		}
	})
	each("webex_room_recent_messages", "gauge", func(r room) {
		if messages(r.RoomSnapshot) {
			for _, w := range order {
				if !r.Counts[w].Known {
					continue
				}
				f.roomSample(float64(r.Counts[w].Messages), r.Room.ID, r.id, windowLabels[w])
			}
		}
	})
	each("webex_room_recent_senders", "gauge", func(r room) {
		if messages(r.RoomSnapshot) {
			for _, w := range order {
				if !r.Counts[w].Known {
					continue
				}
				f.roomSample(float64(r.Counts[w].Senders), r.Room.ID, r.id, windowLabels[w])
			}
		}
	})
	f.start("webex_rooms", "gauge")
	for _, typ := range typeNames {
		f.sample(float64(types[typ].rooms), "room_type", typ)
	}
	totals("webex_rooms_active", func(t *typeTotals) []int { return t.active })
	f.start("webex_rooms_pending", "gauge")
	f.sample(float64(s.Pending))
	f.cut()
}

// typeTotals is what the rooms of one type add up to; active and messages
// are by window (nil while no room of the type has its messages known).
type typeTotals struct {
	rooms            int
	active, messages []int
}

// appendStatus appends the families that say how the snapshot was made.
func appendStatus(b []byte, s *Snapshot, help map[string]string) []byte {
	f := &family{b: b, help: help}
	phases := slices.SortedFunc(slices.Values(s.Phases), func(a, b Phase) int { return cmp.Compare(a.Name, b.Name) })
	f.start("webex_scrape_collector_duration_seconds", "gauge")
	for _, p := range phases {
		f.sample(p.Duration.Seconds(), "collector", p.Name)
	}
	f.start("webex_scrape_collector_success", "gauge")
	for _, p := range phases {
		f.sample(boolFloat(p.Success), "collector", p.Name)
	}
	if !s.TokenExpiry.IsZero() {
		f.start("webex_token_expiry_timestamp_seconds", "gauge")
		f.sample(unix(s.TokenExpiry))
	}
	f.start("webex_up", "gauge")
	f.sample(boolFloat(s.Up))
	return f.b
}

// family appends one metric family at a time; its HELP and TYPE lines are
// written with its first sample, so a family without samples is left out.
type family struct {
	b         []byte
	out       func([]byte) // takes b at each cut
	help      map[string]string
	name, typ string
	started   bool
}

func (f *family) start(name, typ string) { f.name, f.typ, f.started = name, typ, false }

// roomSample appends one sample of a room: its room_id label (escaped
// already if it needed escapes) and the rest of the labels, written out.
func (f *family) roomSample(v float64, id string, escaped []byte, rest []byte) {
	f.header()
	f.b = append(f.b, f.name...)
	if escaped != nil {
		f.b = append(f.b, escaped...)
	} else {
		f.b = append(f.b, `{room_id="`...)
		f.b = append(f.b, id...)
	}
	f.b = append(f.b, rest...)
	f.b = append(f.b, ' ')
	f.b = appendFloat(f.b, v)
	f.b = append(f.b, '\n')
}

// sample appends one sample; labels are name, value pairs in name order.
func (f *family) sample(v float64, labels ...string) {
	f.header()
	f.b = append(f.b, f.name...)
	for i := 0; i+1 < len(labels); i += 2 {
		if i == 0 {
			f.b = append(f.b, '{')
		} else {
			f.b = append(f.b, ',')
		}
		f.b = append(f.b, labels[i]...)
		f.b = append(f.b, `="`...)
		f.b = appendEscaped(f.b, labels[i+1], true)
		f.b = append(f.b, '"')
	}
	if len(labels) > 0 {
		f.b = append(f.b, '}')
	}
	f.b = append(f.b, ' ')
	f.b = appendFloat(f.b, v)
	f.b = append(f.b, '\n')
}

// header appends the family's HELP and TYPE lines before its first sample.
func (f *family) header() {
	if !f.started {
		f.started = true
		f.b = append(f.b, "# HELP "...)
		f.b = append(f.b, f.name...)
		f.b = append(f.b, ' ')
		f.b = appendEscaped(f.b, f.help[f.name], false)
		f.b = append(f.b, "\n# TYPE "...)
		f.b = append(f.b, f.name...)
		f.b = append(f.b, ' ')
		f.b = append(f.b, f.typ...)
		f.b = append(f.b, '\n')
	}
}

// cut hands what was written since the last cut to out, if anything.
func (f *family) cut() {
	if len(f.b) > 0 {
		f.out(f.b)
		f.b = f.b[:0]
	}
}

// appendEscaped escapes as the text format wants: backslash and newline
// always, double quotes in label values.
func appendEscaped(b []byte, s string, quote bool) []byte {
	if !needsEscape(s, quote) {
		return append(b, s...)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b = append(b, `\\`...)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '"' && quote:
			b = append(b, `\"`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// needsEscape reports whether appendEscaped would change s.
func needsEscape(s string, quote bool) bool {
	return strings.IndexByte(s, '\\') >= 0 || strings.IndexByte(s, '\n') >= 0 || quote && strings.IndexByte(s, '"') >= 0
}

// appendFloat formats v as expfmt does.
func appendFloat(b []byte, v float64) []byte {
	switch {
	case v == 1:
		return append(b, '1')
	case v == 0:
		return append(b, '0')
	case v == -1:
		return append(b, "-1"...)
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, +1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	case v == math.Trunc(v) && math.Abs(v) < 1e6:
		// What 'g' writes for an integer below 1e6 (it turns to an
		// exponent from 1e6 up), without its shortest-digits search.
		return strconv.AppendInt(b, int64(v), 10)
	}
	if out, ok := appendMillis(b, v); ok {
		return out
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// appendMillis writes v as strconv's shortest 'g' does when v is a whole
// number of milliseconds (every timestamp the exporter shows, and most
// ages) between 0.001 and 2^33 seconds (year 2242) either side of 0; ok is
// false for any other v. Such a v is the double nearest its decimal
// digits (IEEE division rounds correctly), and no shorter decimal is as
// near: two decimals 0.001 apart cannot both lie within half a unit in
// the last place of v (at most 2^-20 there). So those digits, less
// trailing zeros, are the shortest, in the form of 'g': %e from 1e6 up, %f
// below. Proved equal to strconv by TestAppendFloat and FuzzAppendFloat.
func appendMillis(b []byte, v float64) (_ []byte, ok bool) {
	a := math.Abs(v)
	if !(a >= 1e-3 && a < 1<<33) {
		return b, false
	}
	ms := math.Round(a * 1000)
	if ms/1000 != a {
		return b, false
	}
	var buf [20]byte
	d := strconv.AppendInt(buf[:0], int64(ms), 10)
	dp := len(d) - 3 // a is 0.d × 10^dp
	for len(d) > 1 && d[len(d)-1] == '0' {
		d = d[:len(d)-1]
	}
	if v < 0 {
		b = append(b, '-')
	}
	if exp := dp - 1; exp >= 6 {
		b = append(b, d[0])
		if len(d) > 1 {
			b = append(append(b, '.'), d[1:]...)
		}
		return append(b, 'e', '+', byte('0'+exp/10), byte('0'+exp%10)), true
	}
	if dp <= 0 {
		b = append(b, '0')
	} else {
		for i := range dp {
			if i < len(d) {
				b = append(b, d[i])
			} else {
				b = append(b, '0')
			}
		}
	}
	if len(d) > dp {
		b = append(b, '.')
		for i := dp; i < len(d); i++ {
			if i < 0 {
				b = append(b, '0')
			} else {
				b = append(b, d[i])
			}
		}
	}
	return b, true
}
