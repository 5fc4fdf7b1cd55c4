package exposition

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"slices"
)

// lineEncoder compresses a segment: text made of lines that each share
// much with the line before or the one before that, as a family's samples
// do. It writes one DEFLATE block (RFC 1951) with Huffman codes of its own,
// in which a line is at most three back-references with literals between
// them: the head it shares with the line before (the metric name, the
// start of the room ids); the end of its labels, aligned on the space
// before the value, and on into the value as far as the two start alike
// (`",window="24h"} 17645` of the same window and day); and the end of its
// value (`e+09`). Then an empty stored block, so that the segment ends
// byte-aligned and not final, as a sync flush does.
//
// Written by hand because a general compressor (klauspost's
// StatelessDeflate, compress/flate at BestSpeed) searches its window at
// every byte, which was most of a warm rendering's CPU; comparing a line
// with the two before costs a few word compares, and leaves as literals
// mostly the random part of each id, where a general compressor finds
// little more to take (it compresses a warm rendering's segments about 8%
// smaller, in 1.7 times the time). TestLineEncoderReadsBack and
// FuzzLineEncoder prove that compress/flate reads back what it writes.
type lineEncoder struct {
	matches []match     // the back-references, in order; literals between them
	lit     [286]uint32 // how often each literal and length symbol is used
	dist    [30]uint32  // and each distance symbol
}

// match is a back-reference: the n bytes at text[at:] are those d before.
type match struct {
	at   uint32
	n, d uint16
}

// match adds a back-reference.
func (e *lineEncoder) match(at, n, d int) {
	e.matches = append(e.matches, match{at: uint32(at), n: uint16(n), d: uint16(d)})
	e.lit[257+int(lenCode[n])]++
	e.dist[distCode(d)]++
}

// count counts literals.
func (e *lineEncoder) count(b []byte) {
	for _, c := range b {
		e.lit[c]++
	}
}

// DEFLATE's back-references: 3 to 258 bytes, at most 32 KiB back.
const (
	minMatch    = 3
	maxMatch    = 258
	maxDistance = 1 << 15
)

// The length and distance codes' bases and extra bits (RFC 1951 3.2.5).
var (
	lenBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049,
		3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	// lenCode is the length symbol's index (symbol less 257) of each
	// length from 3 to 258, made once.
	lenCode = func() (c [maxMatch + 1]uint8) {
		for i := len(lenBase) - 1; i >= 0; i-- {
			for l := int(lenBase[i]); l < int(lenBase[i])+1<<lenExtra[i] && l <= maxMatch; l++ {
				c[l] = uint8(i)
			}
		}
		c[maxMatch] = 28 // 258 has a symbol of its own, not 227's with 31 extra
		return c
	}()
)

// distCode returns the distance symbol of a distance from 1 to 32768.
func distCode(d int) int {
	// Two symbols per power of two from 5 on: the top bit's position and
	// the bit below it.
	if d <= 4 {
		return d - 1
	}
	n := bits.Len(uint(d-1)) - 1
	return 2*n + int((d-1)>>(n-1)&1)
}

// encode appends the segment of text to dst.
func (e *lineEncoder) encode(dst, text []byte) []byte {
	e.matches = e.matches[:0]
	clear(e.lit[:])
	clear(e.dist[:])
	// The two lines before, and where their values start (the last space:
	// what comes before it is the name and labels).
	var prev, prev2 []byte
	var prevSp, prev2Sp int
	for at := 0; at < len(text); {
		n := bytes.IndexByte(text[at:], '\n') + 1
		if n == 0 {
			n = len(text) - at
		}
		line := text[at : at+n]
		sp := bytes.LastIndexByte(line, ' ')
		if sp < 0 {
			sp = n
		}
		cur := 0 // the line's bytes before cur are written
		if len(prev) > 0 && len(prev)+len(prev2)+n <= maxDistance {
			// The head it shares with the line before.
			if h := commonPrefix(line, prev); h >= minMatch {
				e.match(at, h, len(prev))
				cur = h
			}
			// The end of its labels, as far from its value as in the line
			// before or the one before that (a family's samples of one
			// room by window: each window's labels end as the room
			// before's line of that window), on into the value as far as
			// the two values start alike (times of the same day).
			if sp > cur {
				lt, d, from := commonSuffix(line[cur:sp], prev[:prevSp]), len(prev)+sp-prevSp, prev[prevSp:]
				if len(prev2) > 0 {
					if lt2 := commonSuffix(line[cur:sp], prev2[:prev2Sp]); lt2 > lt {
						lt, d, from = lt2, len(prev)+len(prev2)+sp-prev2Sp, prev2[prev2Sp:]
					}
				}
				if lt >= minMatch {
					lt = min(lt, maxMatch-1)
					v := min(commonPrefix(line[sp:], from), maxMatch-lt)
					e.count(line[cur : sp-lt])
					e.match(at+sp-lt, lt+v, d)
					cur = sp + v
				}
			}
			// The tail of its value, as far from the end as in either.
			vt, d := commonSuffix(line[cur:], prev), n
			if len(prev2) > 0 {
				if vt2 := commonSuffix(line[cur:], prev2); vt2 > vt {
					vt, d = vt2, n+len(prev)
				}
			}
			if vt >= minMatch {
				e.count(line[cur : n-vt])
				e.match(at+n-vt, vt, d)
				cur = n
			}
		}
		e.count(line[cur:])
		prev, prev2, prevSp, prev2Sp = line, prev, sp, prevSp
		at += n
	}
	e.lit[256]++ // end of block

	var litLens [286]uint8
	var distLens [30]uint8
	huffmanLengths(e.lit[:], litLens[:], 15)
	huffmanLengths(e.dist[:], distLens[:], 15)
	nlit, ndist := 286, 30
	for litLens[nlit-1] == 0 {
		nlit--
	}
	for ndist > 1 && distLens[ndist-1] == 0 {
		ndist--
	}
	// Literals cost at most 15 bits, a back-reference 48; the block's
	// header, less than 700 bytes.
	w := bitWriter{buf: slices.Grow(dst, 2*len(text)+6*len(e.matches)+1024), o: len(dst)}
	w.buf = w.buf[:cap(w.buf)]
	w.header(litLens[:nlit], distLens[:ndist])
	var litTab [286]uint32
	var distTab [30]uint32
	canonical(litLens[:], litTab[:])
	canonical(distLens[:], distTab[:])
	at := 0
	for _, m := range e.matches {
		w.literals(&litTab, text[at:m.at])
		w.match(&litTab, &distTab, int(m.n), int(m.d))
		at = int(m.at) + int(m.n)
	}
	w.literals(&litTab, text[at:])
	w.code(litTab[256])
	w.write(0, 3) // BFINAL 0, BTYPE 00: an empty stored block, byte-aligned
	for w.n > 0 {
		w.buf[w.o] = byte(w.bits)
		w.o++
		w.bits >>= 8
		w.n -= min(8, w.n)
	}
	w.buf = append(w.buf[:w.o], 0, 0, 0xff, 0xff)
	return w.buf
}

// commonPrefix is how many bytes a and b share from their start, at most
// maxMatch.
func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b), maxMatch)
	i := 0
	for ; i+8 <= n; i += 8 {
		if x := binary.LittleEndian.Uint64(a[i:]) ^ binary.LittleEndian.Uint64(b[i:]); x != 0 {
			return i + bits.TrailingZeros64(x)/8
		}
	}
	for i < n && a[i] == b[i] {
		i++
	}
	return i
}

// commonSuffix is how many bytes a and b share at their end, at most
// maxMatch.
func commonSuffix(a, b []byte) int {
	n := min(len(a), len(b), maxMatch)
	i := 0
	for ; i+8 <= n; i += 8 {
		if x := binary.LittleEndian.Uint64(a[len(a)-i-8:]) ^ binary.LittleEndian.Uint64(b[len(b)-i-8:]); x != 0 {
			return i + bits.LeadingZeros64(x)/8
		}
	}
	for i < n && a[len(a)-1-i] == b[len(b)-1-i] {
		i++
	}
	return i
}

// bitWriter writes DEFLATE's bits, least significant first, into buf,
// which has room for all of them (encode's bound).
type bitWriter struct {
	buf  []byte
	o    int // bytes written
	bits uint64
	n    uint // bits in bits
}

func (w *bitWriter) write(v uint64, n uint) {
	w.bits |= v << w.n
	w.n += n
	if w.n >= 48 {
		binary.LittleEndian.PutUint64(w.buf[w.o:], w.bits)
		w.o += 6
		w.bits >>= 48
		w.n -= 48
	}
}

// code writes a Huffman code as canonical made it: its bits and, above
// them, its length.
func (w *bitWriter) code(c uint32) { w.write(uint64(c&0xffff), uint(c>>16)) }

func (w *bitWriter) literals(lit *[286]uint32, b []byte) {
	acc, n, o, buf := w.bits, w.n, w.o, w.buf
	if n >= 8 { // as write left it: whole bytes first
		binary.LittleEndian.PutUint64(buf[o:], acc)
		o, acc, n = o+int(n>>3), acc>>(n&^7), n&7
	}
	// Three codes of at most 15 bits each fit above the 7 bits a flush
	// leaves: the 8 bytes are written without a test, and the bits and
	// bytes advanced by what they held.
	for ; len(b) >= 3; b = b[3:] {
		t0, t1, t2 := lit[b[0]], lit[b[1]], lit[b[2]]
		acc |= uint64(t0&0xffff) << n
		n += uint(t0 >> 16)
		acc |= uint64(t1&0xffff) << n
		n += uint(t1 >> 16)
		acc |= uint64(t2&0xffff) << n
		n += uint(t2 >> 16)
		binary.LittleEndian.PutUint64(buf[o:], acc)
		o, acc, n = o+int(n>>3), acc>>(n&^7), n&7
	}
	for _, c := range b {
		t := lit[c]
		acc |= uint64(t&0xffff) << n
		n += uint(t >> 16)
	}
	w.bits, w.n, w.o = acc, n, o
}

func (w *bitWriter) match(lit *[286]uint32, dist *[30]uint32, length, distance int) {
	l := lenCode[length]
	w.code(lit[257+int(l)])
	if x := lenExtra[l]; x > 0 {
		w.write(uint64(length-int(lenBase[l])), uint(x))
	}
	d := distCode(distance)
	w.code(dist[d])
	if x := distExtra[d]; x > 0 {
		w.write(uint64(distance-int(distBase[d])), uint(x))
	}
}

// header writes a dynamic block's header (RFC 1951 3.2.7): the code
// lengths of its literal/length and distance codes, themselves Huffman
// coded, runs of zeros and repeats run-length coded.
func (w *bitWriter) header(litLens, distLens []uint8) {
	var lensBuf [286 + 30]uint8
	lens := append(append(lensBuf[:0], litLens...), distLens...)
	// Each entry stands for at least one length (a length and its repeats
	// for two of them).
	var clBuf [286 + 30]uint16
	cl := clBuf[:0] // symbol | extra bits' value << 8
	var clFreq [19]uint32
	for i := 0; i < len(lens); {
		run := 1
		for i+run < len(lens) && lens[i+run] == lens[i] {
			run++
		}
		switch {
		case lens[i] == 0 && run >= 11:
			run = min(run, 138)
			cl = append(cl, 18|uint16(run-11)<<8)
		case lens[i] == 0 && run >= 3:
			cl = append(cl, 17|uint16(run-3)<<8)
		case lens[i] != 0 && run >= 4:
			// The length once, then 16: the one before, 3 to 6 times.
			run = min(run, 7)
			cl = append(cl, uint16(lens[i]), 16|uint16(run-4)<<8)
			clFreq[lens[i]]++
		default:
			run = 1
			cl = append(cl, uint16(lens[i]))
		}
		clFreq[cl[len(cl)-1]&0xff]++
		i += run
	}
	var clLens [19]uint8
	huffmanLengths(clFreq[:], clLens[:], 7)
	clOrder := [19]int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
	ncl := 19
	for ncl > 4 && clLens[clOrder[ncl-1]] == 0 {
		ncl--
	}
	w.write(2<<1, 3) // BFINAL 0, BTYPE 10: codes of its own
	w.write(uint64(len(litLens)-257), 5)
	w.write(uint64(len(distLens)-1), 5)
	w.write(uint64(ncl-4), 4)
	for _, s := range clOrder[:ncl] {
		w.write(uint64(clLens[s]), 3)
	}
	var clTab [19]uint32
	canonical(clLens[:], clTab[:])
	for _, c := range cl {
		s := c & 0xff
		w.code(clTab[s])
		switch s {
		case 16:
			w.write(uint64(c>>8), 2)
		case 17:
			w.write(uint64(c>>8), 3)
		case 18:
			w.write(uint64(c>>8), 7)
		}
	}
}

// huffmanLengths sets lens to the code length of each symbol of a Huffman
// code for freq (0: unused), none longer than limit: should one be, the
// frequencies are flattened and the code made again. At least two symbols
// get a code (a decoder wants a complete code, which one alone is not).
// At most 286 symbols.
func huffmanLengths(freq []uint32, lens []uint8, limit uint8) {
	var f [286]uint64
	used := 0
	for s, n := range freq {
		f[s] = uint64(n)
		if n > 0 {
			used++
		}
	}
	for s := 0; used < 2; s++ {
		if f[s] == 0 {
			f[s], used = 1, used+1
		}
	}
	// The leaves in order of frequency (each frequency<<9 | symbol), then
	// the inner nodes as made, whose frequencies rise too: two queues.
	var leaves [286]uint64
	var freqs, parent [2 * 286]uint64
	var depth [2 * 286]uint8
	nodes := 2*used - 1
	for {
		k := 0
		for s, n := range f[:len(freq)] {
			if n > 0 {
				leaves[k] = n<<9 | uint64(s)
				k++
			}
		}
		slices.Sort(leaves[:used])
		for i, l := range leaves[:used] {
			freqs[i] = l >> 9
		}
		leaf, inner, made := 0, used, used
		pick := func() int {
			if leaf < used && (inner >= made || freqs[leaf] <= freqs[inner]) {
				leaf++
				return leaf - 1
			}
			inner++
			return inner - 1
		}
		for made < nodes {
			a, b := pick(), pick()
			freqs[made] = freqs[a] + freqs[b]
			parent[a], parent[b] = uint64(made), uint64(made)
			made++
		}
		depth[nodes-1] = 0
		ok := true
		for i := nodes - 2; i >= 0; i-- {
			depth[i] = depth[parent[i]] + 1
		}
		clear(lens)
		for i, l := range leaves[:used] {
			lens[l&0x1ff] = depth[i]
			ok = ok && depth[i] <= limit
		}
		if ok {
			return
		}
		for s, n := range f {
			if n > 0 {
				f[s] = n/2 + 1
			}
		}
	}
}

// canonical sets tab to the canonical Huffman codes (RFC 1951 3.2.2) of
// the code lengths, each bit-reversed (DEFLATE writes them first bit
// first) with its length above it: code | length<<16.
func canonical(lens []uint8, tab []uint32) {
	var count [16]uint16
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	var next [16]uint16
	code := uint16(0)
	for n := 1; n < 16; n++ {
		code = (code + count[n-1]) << 1
		next[n] = code
	}
	for s, l := range lens {
		if l == 0 {
			tab[s] = 0
			continue
		}
		c := next[l]
		next[l]++
		tab[s] = uint32(bits.Reverse16(c)>>(16-l)) | uint32(l)<<16
	}
}
