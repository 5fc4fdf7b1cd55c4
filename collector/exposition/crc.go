package exposition

// The CRC-32 (IEEE, as gzip's) of two texts one after the other, from
// their own: a rendering's segments taken from the last one are not
// written out again, so their text is not there to checksum. This is
// zlib's crc32_combine (multiplication modulo the CRC polynomial), which
// Go's hash/crc32 does not export; TestCRCCombine proves it equal to the
// checksum of the concatenation.

const crcPoly = 0xedb88320 // IEEE, reflected

// crcMul returns a×b modulo the CRC polynomial (reflected bit order); a
// must not be 0.
func crcMul(a, b uint32) uint32 {
	m, p := uint32(1)<<31, uint32(0)
	for {
		if a&m != 0 {
			p ^= b
			if a&(m-1) == 0 {
				return p
			}
		}
		m >>= 1
		if b&1 != 0 {
			b = b>>1 ^ crcPoly
		} else {
			b >>= 1
		}
	}
}

// crcX2n[k] is x^(2^k) modulo the polynomial.
var crcX2n = func() (t [32]uint32) {
	p := uint32(1) << 30 // x^1
	t[0] = p
	for k := 1; k < 32; k++ {
		p = crcMul(p, p)
		t[k] = p
	}
	return t
}()

// crcShift returns x^(8n) modulo the polynomial: what crcCombine
// multiplies the first CRC by to move it past n bytes.
func crcShift(n int) uint32 {
	p := uint32(1) << 31 // x^0
	for k := 3; n != 0; n, k = n>>1, k+1 {
		if n&1 != 0 {
			p = crcMul(crcX2n[k&31], p)
		}
	}
	return p
}

// crcCombine returns the CRC of a text whose first part has crc1 and whose
// second part, n bytes long with shift = crcShift(n), has crc2.
func crcCombine(crc1, crc2, shift uint32) uint32 { return crcMul(shift, crc1) ^ crc2 }
