package collector

import (
	"io"
	"sync"
	"sync/atomic"

	"github.com/webex-exporter/webex_exporter/collector/exposition"
)

// A scrape's answer: the exposition of a snapshot in the Prometheus text
// format, written from what emitRooms and emitStatus emit (emit.go): the
// same bytes client_golang writes for the Collector's metrics
// (exposition_test.go proves it), without building a hundred thousand
// const metrics per scrape.
//
// The room families (webex_messages_recent, webex_room_*, webex_rooms*) are
// rendered once per snapshot, kept compressed (exposition.Rendering) and
// shared by every scrape it answers; the few lines that differ between such
// scrapes (webex_up, webex_scrape_collector_*,
// webex_token_expiry_timestamp_seconds) are written per scrape.

// rendering is a snapshot's room families, made at most once.
type rendering struct {
	count *atomic.Int64     // renders made, for tests
	cache *exposition.Cache // the segments of the last rendering; nil: none
	d     *descs
	once  sync.Once
	r     *exposition.Rendering
	done  atomic.Bool // r is made
}

// newRendering returns a snapshot's rendering, to be made on first use,
// taking what it can from the tracker's last.
func (fl *flights) newRendering() *rendering {
	return &rendering{count: &fl.renders, cache: &fl.segments, d: fl.descs}
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
func (s *Snapshot) rooms() *exposition.Rendering {
	r := s.render
	r.once.Do(func() {
		r.count.Add(1)
		b := exposition.NewBuilder(r.cache)
		emitRooms(s, r.d, (*builderSink)(b))
		r.r = b.Rendering()
		r.done.Store(true)
	})
	return r.r
}

// WriteText writes one scrape's answer in the text format: the room
// families shared by every scrape of this snapshot, own (the exporter's own
// metrics, already encoded), and this scrape's status families. With gz it
// writes one gzip member that opens with the shared part as compressed
// once; otherwise the shared part is decompressed as it is written.
func (s *Snapshot) WriteText(w io.Writer, own []byte, gz bool) error {
	r := s.rooms()
	var status exposition.Text
	emitStatus(s, s.render.d, (*textSink)(&status))
	return r.WriteTo(w, gz, own, status.Bytes())
}

// builderSink and textSink write what a snapshot emits as text: into a
// rendering, or as it is.
type (
	builderSink exposition.Builder
	textSink    exposition.Text
)

func (b *builderSink) family(f *exposition.Family) { (*exposition.Builder)(b).Family(f) }
func (b *builderSink) sample(v float64, l labels) {
	(*exposition.Builder)(b).Sample(v, l[:(*exposition.Builder)(b).Labels()]...)
}
func (t *textSink) family(f *exposition.Family) { (*exposition.Text)(t).Family(f) }
func (t *textSink) sample(v float64, l labels) {
	(*exposition.Text)(t).Sample(v, l[:(*exposition.Text)(t).Labels()]...)
}
