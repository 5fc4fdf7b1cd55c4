package collector

import (
	"bytes"
	"cmp"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"hash/crc32"
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
// The room families (webex_room_*, webex_rooms, webex_rooms_pending) are
// rendered once per snapshot and shared by every scrape it answers; the few
// lines that differ between such scrapes (webex_up, webex_scrape_collector_*,
// webex_token_expiry_timestamp_seconds) are written per scrape. Families come
// in name order, samples in label order, as client_golang sorts them.

// rendering is a snapshot's room families, made at most once and kept only
// compressed: as DEFLATE blocks that end byte-aligned and not final, so that
// they can open a gzip member, with the CRC-32 and length of the text.
//
// Kept compressed because a rendering lives as long as its snapshot and
// two are alive during a refresh: at 10,000 rooms the text is 14 MiB and
// the compressed form 3 MiB. BestSpeed because the rendering is made once
// per refresh and is most of a warm refresh's CPU: at 10,000 rooms the text
// takes 16 ms to write and 80 ms to compress at BestSpeed (190 ms at the
// default level, for 6% less). Prometheus always takes gzip, served as it
// is; a client that does not pays the decompression (40 ms at 10,000 rooms).
type rendering struct {
	count *atomic.Int64 // renders made, for tests
	once  sync.Once
	z     chunks
	crc   uint32
	n     int
}

// rooms returns the rendering, rendering the room families on first use,
// a few kilobytes at a time.
func (s *Snapshot) rooms() *rendering {
	r := s.render
	r.once.Do(func() {
		r.count.Add(1)
		fw, _ := flate.NewWriter(&r.z, flate.BestSpeed) // the level is valid
		sum := crc32.NewIEEE()
		text := &errWriter{w: io.MultiWriter(fw, sum)}
		writeRooms(text, s, newDescs().help)
		fw.Flush() //nolint:errcheck // a sync flush into memory
		r.crc, r.n = sum.Sum32(), text.n
	})
	return r
}

// chunks is bytes kept in pieces of chunkSize: it grows without copying,
// and holds at most one piece more than it needs (a bytes.Buffer doubles).
type chunks [][]byte

const chunkSize = 64 << 10

func (c *chunks) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if len(*c) == 0 || len((*c)[len(*c)-1]) == chunkSize {
			*c = append(*c, make([]byte, 0, chunkSize))
		}
		last := &(*c)[len(*c)-1]
		k := min(len(p), chunkSize-len(*last))
		*last, p = append(*last, p[:k]...), p[k:]
	}
	return n, nil
}

func (c chunks) reader() io.Reader {
	rs := make([]io.Reader, len(c))
	for i, b := range c {
		rs[i] = bytes.NewReader(b)
	}
	return io.MultiReader(rs...)
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
	status := appendStatus(nil, s, newDescs().help)
	ew := &errWriter{w: w}
	if !gz {
		fr := flate.NewReader(io.MultiReader(r.z.reader(), bytes.NewReader(finalEmptyBlock)))
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
	for _, b := range r.z {
		ew.Write(b)
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

// writeRooms writes the room families of s to w, a few kilobytes at a time.
func writeRooms(w io.Writer, s *Snapshot, help map[string]string) {
	f := &family{help: help, out: w}
	defer f.flush()
	now := float64(s.Time.UnixMilli()) / 1e3
	// Windows in label order.
	order := make([]int, len(s.Windows))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int { return strings.Compare(s.Windows[i].Name, s.Windows[j].Name) })
	messages := func(r *RoomSnapshot) bool { return !r.NoMessages && r.Read }

	each := func(name, typ string, sample func(r *RoomSnapshot)) {
		f.start(name, typ)
		for i := range s.Rooms {
			sample(&s.Rooms[i])
		}
	}
	each("webex_room_created_timestamp_seconds", "gauge", func(r *RoomSnapshot) {
		if !r.Room.Created.IsZero() {
			f.sample(unix(r.Room.Created), "room_id", r.Room.ID)
		}
	})
	f.start("webex_room_info", "gauge")
	for _, locked := range []bool{false, true} { // is_locked sorts first
		for i := range s.Rooms {
			if room := &s.Rooms[i].Room; room.IsLocked == locked {
				f.sample(1, "is_locked", strconv.FormatBool(locked), "room_id", room.ID, "room_type", room.Type,
					"team_id", room.TeamID, "title", room.Title)
			}
		}
	}
	each("webex_room_last_activity_age_seconds", "gauge", func(r *RoomSnapshot) {
		if !r.Room.LastActivity.IsZero() {
			f.sample(now-unix(r.Room.LastActivity), "room_id", r.Room.ID)
		}
	})
	each("webex_room_last_activity_timestamp_seconds", "gauge", func(r *RoomSnapshot) {
		if !r.Room.LastActivity.IsZero() {
			f.sample(unix(r.Room.LastActivity), "room_id", r.Room.ID)
		}
	})
	each("webex_room_last_message_timestamp_seconds", "gauge", func(r *RoomSnapshot) {
		if messages(r) && !r.LastMessage.IsZero() {
			f.sample(unix(r.LastMessage), "room_id", r.Room.ID)
		}
	})
	each("webex_room_last_refresh_timestamp_seconds", "gauge", func(r *RoomSnapshot) {
		if !r.Refreshed.IsZero() {
			f.sample(unix(r.Refreshed), "room_id", r.Room.ID)
		}
	})
	each("webex_room_members", "gauge", func(r *RoomSnapshot) {
		if r.Members >= 0 {
			f.sample(float64(r.Members), "room_id", r.Room.ID)
		}
	})
	each("webex_room_messages_total", "counter", func(r *RoomSnapshot) {
		if messages(r) {
			f.sample(float64(r.Total), "room_id", r.Room.ID)
		}
	})
	each("webex_room_recent_messages", "gauge", func(r *RoomSnapshot) {
		if messages(r) {
			for _, w := range order {
				if !r.Counts[w].Known {
					continue
				}
				f.sample(float64(r.Counts[w].Messages), "room_id", r.Room.ID, "window", s.Windows[w].Name)
			}
		}
	})
	each("webex_room_recent_senders", "gauge", func(r *RoomSnapshot) {
		if messages(r) {
			for _, w := range order {
				if !r.Counts[w].Known {
					continue
				}
				f.sample(float64(r.Counts[w].Senders), "room_id", r.Room.ID, "window", s.Windows[w].Name)
			}
		}
	})
	byType := map[string]int{"group": 0, "direct": 0}
	for i := range s.Rooms {
		byType[s.Rooms[i].Room.Type]++
	}
	f.start("webex_rooms", "gauge")
	for _, typ := range slices.Sorted(maps.Keys(byType)) {
		f.sample(float64(byType[typ]), "room_type", typ)
	}
	f.start("webex_rooms_pending", "gauge")
	f.sample(float64(s.Pending))
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
	out       io.Writer // if set, b is written to it whenever it grows past flushAt
	help      map[string]string
	name, typ string
	started   bool
}

func (f *family) start(name, typ string) { f.name, f.typ, f.started = name, typ, false }

// sample appends one sample; labels are name, value pairs in name order.
func (f *family) sample(v float64, labels ...string) {
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
	if f.out != nil && len(f.b) >= flushAt {
		f.flush()
	}
}

const flushAt = 32 << 10

func (f *family) flush() {
	f.out.Write(f.b) //nolint:errcheck // the errWriter given keeps the error
	f.b = f.b[:0]
}

// appendEscaped escapes as the text format wants: backslash and newline
// always, double quotes in label values.
func appendEscaped(b []byte, s string, quote bool) []byte {
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
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}
