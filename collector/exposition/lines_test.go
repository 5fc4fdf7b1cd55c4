package exposition

import (
	"bytes"
	"compress/flate"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestLineEncoder: what lineEncoder writes is a DEFLATE stream that
// compress/flate reads back as the lines given, whatever they share with the
// line before: heads and tails short and long (past 258 bytes), lines
// longer than the window (32 KiB), empty ones, bytes of every value.
func TestLineEncoder(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	word := func(n int, abc string) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = abc[r.IntN(len(abc))]
		}
		return string(b)
	}
	var all []byte
	for i := range 256 {
		all = append(all, byte(i))
	}
	cases := [][]string{
		{},
		{""},
		{"a"},
		{"abc\n", "abc\n", "abd\n", "ab\n", "xabc\n"},
		{strings.Repeat("x", 300) + "\n", strings.Repeat("x", 300) + "\n", strings.Repeat("x", 600) + "y\n"},
		{strings.Repeat("z", maxDistance+10), strings.Repeat("z", maxDistance+10), "zzzz", strings.Repeat("z", maxDistance)},
		{string(all), string(all[1:]), string(all)},
	}
	// Symbols at Fibonacci frequencies: a Huffman code for them is deeper
	// than DEFLATE's 15 bits, so the encoder must flatten it.
	var fib []byte
	for k, a, b := 0, 1, 1; k < 24; k, a, b = k+1, b, a+b {
		fib = append(fib, bytes.Repeat([]byte{byte('A' + k)}, a)...)
	}
	cases = append(cases, []string{string(fib)})
	if lens := huffmanLengths(fibFreq(24), 15); slices.Max(lens) > 15 {
		t.Errorf("code lengths up to %d bits", slices.Max(lens))
	}
	for range 20 {
		var lines []string
		head := word(r.IntN(80), "webex_room{}=\"")
		tail := `"} ` + word(r.IntN(20), "0123456789.e+") + "\n"
		for range r.IntN(2000) {
			switch r.IntN(4) {
			case 0:
				lines = append(lines, word(r.IntN(300), string(all)))
			case 1:
				tail = `"} ` + word(r.IntN(20), "0123456789.") + "\n"
				fallthrough
			default:
				lines = append(lines, head+word(r.IntN(60), "ABCDEFabcdef012345")+tail)
			}
		}
		cases = append(cases, lines)
	}
	for i, lines := range cases {
		var e lineEncoder
		e.reset()
		var want []byte
		for _, l := range lines {
			e.line([]byte(l))
			want = append(want, l...)
		}
		z := e.finish()
		got, err := io.ReadAll(flate.NewReader(io.MultiReader(bytes.NewReader(z), bytes.NewReader(finalEmptyBlock))))
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("case %d: read back %d bytes, want %d", i, len(got), len(want))
		}
		if len(lines) > 100 && len(z) > len(want) {
			t.Errorf("case %d: %d bytes of %d", i, len(z), len(want))
		}
	}
}

func fibFreq(n int) []uint32 {
	f := make([]uint32, n)
	for k, a, b := 0, uint32(1), uint32(1); k < n; k, a, b = k+1, b, a+b {
		f[k] = a
	}
	return f
}
