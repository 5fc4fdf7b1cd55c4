package exposition

import (
	"hash/crc32"
	"math/rand/v2"
	"testing"
)

// TestCRCCombine: the CRC of two texts combined from theirs is the CRC of
// the two one after the other, at every length from 0 up to past 64 KiB.
func TestCRCCombine(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	text := make([]byte, 1<<17)
	for i := range text {
		text[i] = byte(r.Uint32())
	}
	lengths := []int{0, 1, 2, 3, 7, 8, 9, 255, 256, 4095, 65535, 65536, 1<<17 - 1}
	for range 300 {
		lengths = append(lengths, r.IntN(len(text)))
	}
	for _, n1 := range lengths[:20] {
		for _, n2 := range lengths {
			if n1+n2 > len(text) {
				continue
			}
			a, b := text[:n1], text[n1:n1+n2]
			want := crc32.ChecksumIEEE(text[:n1+n2])
			if got := crcCombine(crc32.ChecksumIEEE(a), crc32.ChecksumIEEE(b), crcShift(len(b))); got != want {
				t.Fatalf("combined CRC of %d and %d bytes = %08x, want %08x", n1, n2, got, want)
			}
		}
	}
}
