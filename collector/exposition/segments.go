package exposition

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"hash/maphash"
	"io"
	"math"
	"slices"
	"sync"
	"unsafe"

	"github.com/klauspost/compress/flate"
)

// Rendering is text kept only compressed, with its CRC-32 and length: as
// DEFLATE blocks that end byte-aligned and not final, so that they can open
// a gzip member (WriteTo).
//
// Kept compressed because a rendering of many families can be large and
// long-lived (14 MiB of text for 10,000 rooms, 3-4 MiB compressed). Most
// of it does not change from one rendering to the next: the text is cut
// into segments and each is compressed on its own (back-references only
// within it), so that a segment whose samples the last rendering (of the
// same Cache) had is taken from it as it was compressed, its text not even
// written.
type Rendering struct {
	parts [][]byte // the segments' DEFLATE blocks, in order
	crc   uint32
	n     int
}

// Segments returns the rendering's segments, each a DEFLATE stream of its
// own but for its end (Inflate reads one).
func (r *Rendering) Segments() [][]byte { return r.parts }

// segment is one compressed segment, with what the rendering's CRC and
// length need of its text.
type segment struct {
	z     []byte // DEFLATE blocks, byte-aligned, not final
	crc   uint32 // of the text
	shift uint32 // crcShift(n)
	n     int    // length of the text
}

// Cache holds the compressed segments of the latest rendering made with
// it, by their samples, for the next one. The zero Cache is ready to use.
type Cache struct {
	mu   sync.Mutex
	seed maphash.Seed
	last map[segmentKey]*segment
	// The buffers of the last rendering, while no other uses them: kept
	// rather than grown again at every rendering.
	spare *scratch
}

// scratch is what a Builder works in.
type scratch struct {
	z     bytes.Buffer // a segment compressed by StatelessDeflate
	lines lineEncoder
	lz    []byte // or by the line encoder
	enc   []byte // the segment's samples, encoded
	text  []byte // the segment's text
}

// segmentKey is what a segment's text is made of: its family, whether it
// opens the family (with the HELP and TYPE lines), and a 64-bit hash and
// the length of its samples' encoding (their label values and values).
// Two segments of the same family and encoded length colliding within one
// rendering's few thousand segments is a chance of about 2^-40.
type segmentKey struct {
	f    *Family
	head bool
	sum  uint64
	n    int
}

// take returns the last rendering's segments, the hash seed, and the
// scratch if no other rendering has it.
func (c *Cache) take() (map[segmentKey]*segment, maphash.Seed, *scratch) {
	if c == nil {
		return nil, maphash.MakeSeed(), &scratch{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == nil {
		c.seed = maphash.MakeSeed()
	}
	s := c.spare
	c.spare = nil
	if s == nil {
		s = &scratch{}
	}
	return c.last, c.seed, s
}

// put keeps a rendering's segments for the next one (and lets go of the
// ones it did not use), and the scratch.
func (c *Cache) put(segs map[segmentKey]*segment, s *scratch) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last, c.spare = segs, s
}

// Builder writes a Rendering. A segment ends at each family's start and,
// in a family with a segment key (SegmentBy), before a sample whose key
// hashes (with the cache's seed) to a multiple of its segment size.
//
// The samples of a segment are kept encoded (label values and value, as
// they came) until it ends; its text is written only if the last
// rendering had no segment of the same samples, and compressed (for size
// or speed: Family.Stable).
type Builder struct {
	cache      *Cache
	last, next map[segmentKey]*segment
	seed       maphash.Seed
	*scratch

	f       *Family
	head    bool // the segment opens its family
	samples int  // in the segment
	r       Rendering
}

// NewBuilder starts a rendering that takes what it can from the last one
// made with c (nil: none).
func NewBuilder(c *Cache) *Builder {
	b := &Builder{cache: c}
	b.last, b.seed, b.scratch = c.take()
	b.next = make(map[segmentKey]*segment, len(b.last))
	return b
}

// Family starts the next family; its HELP and TYPE lines are written with
// its first sample, so a family without samples is left out.
func (b *Builder) Family(f *Family) {
	b.cut()
	b.f, b.head = f, true
}

// Labels is how many label values the current family's samples take.
func (b *Builder) Labels() int { return len(b.f.Labels) }

// Sample appends one sample of the current family, its label values in the
// family's Labels order.
func (b *Builder) Sample(v float64, values ...string) {
	f := b.f
	if len(values) != len(f.Labels) {
		f.appendSample(nil, v, values) // panics
	}
	if f.key >= 0 && b.samples > 0 && maphash.String(b.seed, values[f.key])%f.every == 0 {
		b.cut()
	}
	b.samples++
	for _, s := range values {
		b.enc = binary.AppendUvarint(b.enc, uint64(len(s)))
		b.enc = append(b.enc, s...)
	}
	b.enc = binary.LittleEndian.AppendUint64(b.enc, math.Float64bits(v))
}

// Rendering ends the rendering and returns it; the Builder is done.
func (b *Builder) Rendering() *Rendering {
	b.cut()
	b.cache.put(b.next, b.scratch)
	b.last, b.next, b.scratch = nil, nil, nil
	return &b.r
}

// cut ends the segment begun since the last cut, if it has samples.
func (b *Builder) cut() {
	if b.samples == 0 {
		return
	}
	k := segmentKey{f: b.f, head: b.head, sum: maphash.Bytes(b.seed, b.enc), n: len(b.enc)}
	seg := b.next[k]
	if seg == nil {
		seg = b.last[k]
	}
	if seg == nil {
		seg = b.compress(b.decode())
	}
	b.next[k] = seg
	b.r.crc = crcCombine(b.r.crc, seg.crc, seg.shift)
	b.r.n += seg.n
	b.r.parts = append(b.r.parts, seg.z)
	b.head, b.samples, b.enc, b.text = false, 0, b.enc[:0], b.text[:0]
}

// decode writes the text of the segment's encoded samples.
func (b *Builder) decode() []byte {
	f, text, enc := b.f, b.text[:0], b.enc
	if b.head {
		text = append(text, f.header...)
	}
	var values [8]string
	vs := values[:0]
	if len(f.Labels) > len(values) {
		vs = make([]string, 0, len(f.Labels))
	}
	for len(enc) > 0 {
		vs = vs[:0]
		for range f.Labels {
			n, w := binary.Uvarint(enc)
			// A view of the encoding, used only while it stands still.
			vs = append(vs, unsafe.String(unsafe.SliceData(enc[w:]), n))
			enc = enc[w+int(n):]
		}
		text = f.appendSample(text, math.Float64frombits(binary.LittleEndian.Uint64(enc)), vs)
		enc = enc[8:]
	}
	b.text = text
	return text
}

// compress returns text as a segment.
func (b *Builder) compress(text []byte) *segment {
	var z []byte
	if b.f.stable {
		b.z.Reset()
		// Stateless: no compressor's megabyte of state kept between
		// renderings; it ends with a sync flush, byte-aligned and not final.
		flate.StatelessDeflate(&b.z, text, false, nil) //nolint:errcheck // into memory
		z = b.z.Bytes()
	} else {
		b.lz = b.lines.encode(b.lz[:0], text)
		z = b.lz
	}
	return &segment{z: bytes.Clone(z), crc: crc32.ChecksumIEEE(text), shift: crcShift(len(text)), n: len(text)}
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
	// Segments are a kilobyte or two each: written as they are, each would
	// be a write of its own to the connection (a system call).
	bw := bufio.NewWriterSize(w, writeBuffer)
	if err := r.writeTo(bw, gz, tail); err != nil {
		return err
	}
	return bw.Flush()
}

// writeBuffer is how much of a rendering goes to its writer at once.
const writeBuffer = 64 << 10

func (r *Rendering) writeTo(w io.Writer, gz bool, tail [][]byte) error {
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
