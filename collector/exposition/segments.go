package exposition

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"hash/maphash"
	"io"
	"slices"
	"sync"

	"github.com/klauspost/compress/flate"
)

// Rendering is text kept only compressed, with its CRC-32 and length: as
// DEFLATE blocks that end byte-aligned and not final, so that they can open
// a gzip member (WriteTo).
//
// Kept compressed because a rendering of many families can be large and
// long-lived (14 MiB of text for 10,000 rooms, 3-4 MiB compressed). Most
// of it does not change from one rendering to the next: the text is cut
// into segments and each is compressed on its own, by a fresh compressor,
// so that a segment whose text the last rendering (of the same Cache) had
// is taken from it as it was compressed.
type Rendering struct {
	parts [][]byte // the segments' DEFLATE blocks, in order
	crc   uint32
	n     int
}

// Segments returns the rendering's segments, each a DEFLATE stream of its
// own but for its end (Inflate reads one).
func (r *Rendering) Segments() [][]byte { return r.parts }

// Cache holds the compressed segments of the latest rendering made with
// it, by their text, for the next one. A segment is found by a 64-bit hash
// and the length of its text: two texts of the same length colliding
// within one rendering's few thousand segments is a chance of about 2^-40.
// The zero Cache is ready to use.
type Cache struct {
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
func (c *Cache) take() (map[segmentKey][]byte, maphash.Seed, *flate.Writer) {
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
func (c *Cache) put(segs map[segmentKey][]byte, zw *flate.Writer) {
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

// segmentSamples is how many samples a segment of a family with a segment
// key (SegmentBy) has on average. A segment ends before a sample whose key
// value hashes (with the cache's seed) to a multiple of it, so that a key
// that comes or goes changes its own segment only.
const segmentSamples = 32

// Builder writes a Rendering. A segment ends at each family's start and,
// in a family with a segment key, before a sample whose key hashes to a
// multiple of segmentSamples.
type Builder struct {
	text       Text
	cache      *Cache
	last, next map[segmentKey][]byte
	seed       maphash.Seed
	zw         *flate.Writer
	z          bytes.Buffer
	r          Rendering
}

// NewBuilder starts a rendering that takes what it can from the last one
// made with c (nil: none).
func NewBuilder(c *Cache) *Builder {
	b := &Builder{cache: c}
	b.last, b.seed, b.zw = c.take()
	b.next = make(map[segmentKey][]byte, len(b.last))
	return b
}

// Family starts the next family (see Text.Family).
func (b *Builder) Family(f *Family) {
	b.cut()
	b.text.Family(f)
}

// Sample appends one sample of the current family (see Text.Sample).
func (b *Builder) Sample(v float64, values ...string) {
	if k := b.text.f.key; k >= 0 && b.text.started && maphash.String(b.seed, values[k])%segmentSamples == 0 {
		b.cut()
	}
	b.text.Sample(v, values...)
}

// Labels is how many label values the current family's samples take.
func (b *Builder) Labels() int { return b.text.Labels() }

// Rendering ends the rendering and returns it; the Builder is done.
func (b *Builder) Rendering() *Rendering {
	b.cut()
	b.cache.put(b.next, b.zw)
	b.last, b.next, b.zw = nil, nil, nil
	return &b.r
}

// cut ends the segment written since the last cut, if any.
func (b *Builder) cut() {
	text := b.text.b
	if len(text) == 0 {
		return
	}
	b.text.b = text[:0]
	b.r.crc = crc32.Update(b.r.crc, crc32.IEEETable, text)
	b.r.n += len(text)
	k := segmentKey{maphash.Bytes(b.seed, text), len(text)}
	seg, ok := b.next[k]
	if !ok {
		seg, ok = b.last[k]
	}
	if !ok {
		b.z.Reset()
		if b.zw == nil {
			b.zw, _ = flate.NewWriter(&b.z, flate.BestSpeed) // the level is valid
		} else {
			b.zw.Reset(&b.z)
		}
		b.zw.Write(text) //nolint:errcheck // into memory
		b.zw.Flush()     //nolint:errcheck // a sync flush: ends byte-aligned, not final
		seg = bytes.Clone(b.z.Bytes())
	}
	b.next[k] = seg
	b.r.parts = append(b.r.parts, seg)
}

// finalEmptyBlock is a final, empty DEFLATE block (fixed codes): it ends
// the rendering's stream for reading it back.
var finalEmptyBlock = []byte{3, 0}

// Inflate returns the text of one segment.
func Inflate(segment []byte) ([]byte, error) {
	return io.ReadAll(flate.NewReader(io.MultiReader(bytes.NewReader(segment), bytes.NewReader(finalEmptyBlock))))
}

// WriteTo writes the rendering's text and then each of tail's. With gz it
// writes one gzip member that opens with the rendering as it is
// compressed; otherwise the rendering is decompressed as it is written.
func (r *Rendering) WriteTo(w io.Writer, gz bool, tail ...[]byte) error {
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
		for _, t := range tail {
			ew.Write(t)
		}
		return ew.err
	}
	// RFC 1952: header, DEFLATE blocks, CRC-32 and length of the whole.
	// The rendering ends on a byte boundary, where the tail follows as
	// stored (uncompressed) blocks, the last one final: a few kilobytes
	// per scrape, not worth a compressor's megabyte of state. With the
	// rendering first, its CRC is where the tail's continues from.
	ew.Write([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255})
	for _, p := range r.parts {
		ew.Write(p)
	}
	ew.Write(storedBlocks(tail...))
	crc, n := r.crc, r.n
	for _, t := range tail {
		crc = crc32.Update(crc, crc32.IEEETable, t)
		n += len(t)
	}
	ew.Write(binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, crc), uint32(n)))
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

// errWriter keeps the first error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	var n int
	n, e.err = e.w.Write(p)
	return n, e.err
}
