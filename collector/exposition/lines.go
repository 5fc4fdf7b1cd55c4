package exposition

import (
	"cmp"
	"slices"
)

// lineEncoder compresses text made of lines that each share a head (and
// often a tail) with the line before, as a family's samples do: one DEFLATE
// block (RFC 1951) with Huffman codes of its own, in which each line is a
// back-reference to the head it shares with the line before (the metric
// name and the label values' common start), its own bytes as literals, and
// a back-reference to the tail it shares (`"} 1764590400.123` of a time
// every room has). It ends byte-aligned and not final, as a sync flush
// does, so that it can be a segment.
//
// It finds only what a line shares with the line before, at a cost of a
// few nanoseconds a byte, where a general compressor searches its window
// for every byte: it is for families whose text is new at every rendering
// (Volatile). TestLineEncoder proves that compress/flate reads it back.
type lineEncoder struct {
	text  []byte      // the lines, one after the other
	lines []lineMatch // and what each shares with the one before
	lit   [286]uint32 // how often each literal and length symbol is used
	dist  [30]uint32  // and each distance symbol
	out   []byte
	bits  uint64
	nbits uint

	litCodes, distCodes []uint16 // while finishing
	litLens, distLens   []uint8
}

// lineMatch is a line's length and the lengths of the head and the tail it
// shares with the line before (0: written as literals).
type lineMatch struct {
	n          uint32
	head, tail uint16
}

// DEFLATE's back-references: 3 to 258 bytes, at most 32 KiB back.
const (
	minMatch    = 3
	maxMatch    = 258
	maxDistance = 1 << 15
)

// The length and distance codes' bases and extra bits (RFC 1951 3.2.5).
var (
	lenSym   [maxMatch + 1]uint16 // symbol of each length
	lenBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049,
		3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
)

func init() {
	for i := len(lenBase) - 1; i >= 0; i-- {
		for l := int(lenBase[i]); l < int(lenBase[i])+1<<lenExtra[i] && l <= maxMatch; l++ {
			if lenSym[l] == 0 {
				lenSym[l] = uint16(257 + i)
			}
		}
	}
}

// reset starts a block.
func (e *lineEncoder) reset() {
	e.text, e.lines, e.out, e.bits, e.nbits = e.text[:0], e.lines[:0], e.out[:0], 0, 0
	clear(e.lit[:])
	clear(e.dist[:])
}

func (e *lineEncoder) write(v uint64, n uint) {
	e.bits |= v << e.nbits
	e.nbits += n
	if e.nbits >= 32 {
		e.out = append(e.out, byte(e.bits), byte(e.bits>>8), byte(e.bits>>16), byte(e.bits>>24))
		e.bits >>= 32
		e.nbits -= 32
	}
}

func (e *lineEncoder) literals(b []byte) {
	for _, c := range b {
		e.write(uint64(e.litCodes[c]), uint(e.litLens[c]))
	}
}

func (e *lineEncoder) match(length, distance int) {
	s := lenSym[length]
	e.write(uint64(e.litCodes[s]), uint(e.litLens[s]))
	if x := lenExtra[s-257]; x > 0 {
		e.write(uint64(length-int(lenBase[s-257])), uint(x))
	}
	d := distCode(distance)
	e.write(uint64(e.distCodes[d]), uint(e.distLens[d]))
	if x := distExtra[d]; x > 0 {
		e.write(uint64(distance-int(distBase[d])), uint(x))
	}
}

func distCode(distance int) int {
	d := 0
	for int(distBase[d])+1<<distExtra[d] <= distance {
		d++
	}
	return d
}

// line adds one line (or any text: a line is what the next one is
// compared with).
func (e *lineEncoder) line(line []byte) {
	m := lineMatch{n: uint32(len(line))}
	if k := len(e.lines); k > 0 && len(line) <= maxDistance && int(e.lines[k-1].n) <= maxDistance {
		prev := e.text[len(e.text)-int(e.lines[k-1].n):]
		head := 0
		for head < len(line) && head < len(prev) && head < maxMatch && line[head] == prev[head] {
			head++
		}
		if head < minMatch {
			head = 0
		}
		// The tail: at the same distance from the end in both, so that
		// the reference is len(line) back.
		tail := 0
		for tail < len(line)-head && tail < len(prev) && tail < maxMatch && line[len(line)-1-tail] == prev[len(prev)-1-tail] {
			tail++
		}
		if tail < minMatch {
			tail = 0
		}
		m.head, m.tail = uint16(head), uint16(tail)
		if head > 0 {
			e.lit[lenSym[head]]++
			e.dist[distCode(len(prev))]++
		}
		if tail > 0 {
			e.lit[lenSym[tail]]++
			e.dist[distCode(len(line))]++
		}
	}
	for _, c := range line[m.head : len(line)-int(m.tail)] {
		e.lit[c]++
	}
	e.text = append(e.text, line...)
	e.lines = append(e.lines, m)
}

// finish writes the block: its codes, its literals and matches, the
// end-of-block code; then an empty stored block that ends byte-aligned, as
// a sync flush does. It returns out.
func (e *lineEncoder) finish() []byte {
	e.lit[256]++ // end of block
	atLeastTwo(e.lit[:])
	atLeastTwo(e.dist[:])
	litLens, distLens := huffmanLengths(e.lit[:], 15), huffmanLengths(e.dist[:], 15)
	nlit, ndist := 257, 1
	for i, l := range litLens {
		if l > 0 {
			nlit = max(nlit, i+1)
		}
	}
	for i, l := range distLens {
		if l > 0 {
			ndist = max(ndist, i+1)
		}
	}
	// The code lengths, zeros run-length coded (17: 3-10 of them, 18: 11-138).
	var cl []uint16 // symbol | extra<<8
	var clFreq [19]uint32
	lens := append(litLens[:nlit:nlit], distLens[:ndist]...)
	for i := 0; i < len(lens); {
		run := 1
		for i+run < len(lens) && lens[i+run] == 0 && lens[i] == 0 && run < 138 {
			run++
		}
		switch {
		case lens[i] != 0 || run < 3:
			cl, run = append(cl, uint16(lens[i])), 1
		case run <= 10:
			cl = append(cl, 17|uint16(run-3)<<8)
		default:
			cl = append(cl, 18|uint16(run-11)<<8)
		}
		clFreq[cl[len(cl)-1]&0xff]++
		i += run
	}
	atLeastTwo(clFreq[:])
	clLens := huffmanLengths(clFreq[:], 7)
	clOrder := [19]int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
	ncl := 19
	for ncl > 4 && clLens[clOrder[ncl-1]] == 0 {
		ncl--
	}
	e.write(2<<1, 3) // BFINAL 0, BTYPE 10: codes of its own
	e.write(uint64(nlit-257), 5)
	e.write(uint64(ndist-1), 5)
	e.write(uint64(ncl-4), 4)
	for _, s := range clOrder[:ncl] {
		e.write(uint64(clLens[s]), 3)
	}
	clCodes := canonical(clLens)
	for _, c := range cl {
		s := c & 0xff
		e.write(uint64(clCodes[s]), uint(clLens[s]))
		switch s {
		case 17:
			e.write(uint64(c>>8), 3)
		case 18:
			e.write(uint64(c>>8), 7)
		}
	}
	e.litCodes, e.distCodes, e.litLens, e.distLens = canonical(litLens), canonical(distLens), litLens, distLens
	text, prev := e.text, 0
	for _, m := range e.lines {
		line := text[:m.n]
		text = text[m.n:]
		if m.head > 0 {
			e.match(int(m.head), prev)
		}
		e.literals(line[m.head : len(line)-int(m.tail)])
		if m.tail > 0 {
			e.match(int(m.tail), len(line))
		}
		prev = len(line)
	}
	e.write(uint64(e.litCodes[256]), uint(e.litLens[256]))
	e.write(0, 3) // BFINAL 0, BTYPE 00: stored
	for e.nbits > 0 {
		e.out = append(e.out, byte(e.bits))
		e.bits >>= 8
		e.nbits -= min(8, e.nbits)
	}
	e.out = append(e.out, 0, 0, 0xff, 0xff)
	return e.out
}

// atLeastTwo makes at least two symbols of freq used: a decoder wants a
// complete code, which one symbol alone is not.
func atLeastTwo(freq []uint32) {
	used := 0
	for _, f := range freq {
		if f > 0 {
			used++
		}
	}
	for i := 0; used < 2; i++ {
		if freq[i] == 0 {
			freq[i], used = 1, used+1
		}
	}
}

// huffmanLengths returns the code length of each symbol (0: unused) of a
// Huffman code for freq, none longer than limit: should one be, the
// frequencies are flattened and the code made again.
func huffmanLengths(freq []uint32, limit uint8) []uint8 {
	type node struct {
		freq   uint64
		parent int
	}
	f := slices.Clone(freq)
	for {
		var syms []int
		for s, n := range f {
			if n > 0 {
				syms = append(syms, s)
			}
		}
		slices.SortStableFunc(syms, func(a, b int) int { return cmp.Compare(f[a], f[b]) })
		// Leaves first, in order of frequency, then the inner nodes as
		// made (their frequencies rise too): two queues.
		nodes := make([]node, len(syms), 2*len(syms)-1)
		for i, s := range syms {
			nodes[i] = node{freq: uint64(f[s]), parent: -1}
		}
		leaf, inner := 0, len(syms)
		pick := func() int {
			if leaf < len(syms) && (inner >= len(nodes) || nodes[leaf].freq <= nodes[inner].freq) {
				leaf++
				return leaf - 1
			}
			inner++
			return inner - 1
		}
		for len(nodes) < cap(nodes) {
			a, b := pick(), pick()
			nodes = append(nodes, node{freq: nodes[a].freq + nodes[b].freq, parent: -1})
			nodes[a].parent, nodes[b].parent = len(nodes)-1, len(nodes)-1
		}
		lens := make([]uint8, len(f))
		depth := make([]uint8, len(nodes))
		ok := true
		for i := len(nodes) - 2; i >= 0; i-- {
			depth[i] = depth[nodes[i].parent] + 1
		}
		for i, s := range syms {
			lens[s] = depth[i]
			ok = ok && depth[i] <= limit
		}
		if ok {
			return lens
		}
		for s, n := range f {
			if n > 0 {
				f[s] = n/2 + 1
			}
		}
	}
}

// canonical returns the canonical Huffman codes (RFC 1951 3.2.2) of the
// code lengths, bit-reversed to be written LSB first.
func canonical(lens []uint8) []uint16 {
	var count [16]uint16
	for _, l := range lens {
		if l > 0 {
			count[l]++
		}
	}
	var next [16]uint16
	code := uint16(0)
	for bits := 1; bits < 16; bits++ {
		code = (code + count[bits-1]) << 1
		next[bits] = code
	}
	codes := make([]uint16, len(lens))
	for s, l := range lens {
		if l == 0 {
			continue
		}
		c := next[l]
		next[l]++
		var r uint16
		for range l {
			r, c = r<<1|c&1, c>>1
		}
		codes[s] = r
	}
	return codes
}
