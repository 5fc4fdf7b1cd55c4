package exposition

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// inflate reads a segment back with the standard library's decoder.
func inflate(t testing.TB, seg []byte) []byte {
	t.Helper()
	got, err := io.ReadAll(flate.NewReader(io.MultiReader(bytes.NewReader(seg), bytes.NewReader(finalEmptyBlock))))
	if err != nil {
		t.Fatalf("reading back %d bytes: %v", len(seg), err)
	}
	return got
}

func checkLineEncoder(t testing.TB, e *lineEncoder, text []byte) []byte {
	t.Helper()
	seg := e.encode([]byte("kept"), text)
	if !bytes.HasPrefix(seg, []byte("kept")) {
		t.Fatalf("encode did not append to dst")
	}
	seg = seg[4:]
	if !bytes.HasSuffix(seg, []byte{0, 0, 0xff, 0xff}) {
		t.Fatalf("the segment does not end with an empty stored block (a sync flush)")
	}
	if got := inflate(t, seg); !bytes.Equal(got, text) {
		t.Fatalf("read back %d bytes differing from the %d encoded:\n%q\nwant\n%q", len(got), len(text), got, text)
	}
	return seg
}

// TestLineEncoderReadsBack: what the line encoder writes, compress/flate
// reads back as it was, for the text families are made of and for what
// stretches it: lines longer than a match (258) or than the window (32 KiB),
// identical lines, no final newline, one byte, many symbols.
func TestLineEncoderReadsBack(t *testing.T) {
	var e lineEncoder
	r := rand.New(rand.NewPCG(1, 2))
	id := func() string { return fmt.Sprintf("Y2lzY29zcGFyazovL3VzL1JPT00v%016x", r.Uint64()) }
	var ages, windows strings.Builder
	ages.WriteString("# HELP webex_room_last_activity_age_seconds Seconds from the room's lastActivity to this scrape.\n")
	ages.WriteString("# TYPE webex_room_last_activity_age_seconds gauge\n")
	for range 512 {
		fmt.Fprintf(&ages, "webex_room_last_activity_age_seconds{room_id=%q} %g\n", id(), float64(r.IntN(1e9))/1e3)
		room := id()
		fmt.Fprintf(&windows, "webex_room_recent_messages{room_id=%q,window=\"1h\"} %d\n", room, r.IntN(3))
		fmt.Fprintf(&windows, "webex_room_recent_messages{room_id=%q,window=\"24h\"} %d\n", room, r.IntN(100))
	}
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	cases := map[string]string{
		"ages":            ages.String(),
		"windows":         windows.String(),
		"one byte":        "x",
		"no newline":      "abcabcabc\nabcabcab",
		"identical lines": strings.Repeat("same line, same line\n", 100),
		"long lines":      strings.Repeat(strings.Repeat("0123456789", 40)+"\n", 5) + strings.Repeat("y", 300) + "\n" + strings.Repeat("y", 300) + "x\n",
		"beyond window":   strings.Repeat("z", 40000) + "\n" + strings.Repeat("z", 40000) + "\nzzz\nzzz\n",
		"every byte":      string(all) + "\n" + string(all) + "\n",
		"empty lines":     "\n\n\n\n\n\n",
	}
	for name, text := range cases {
		t.Run(name, func(t *testing.T) { checkLineEncoder(t, &e, []byte(text)) })
	}
	// On a family's text it compresses nearly as a general compressor
	// does (compress/flate at BestSpeed): each line is its head and tail
	// back-references and the random part of its id.
	for _, text := range []string{ages.String(), windows.String()} {
		seg := checkLineEncoder(t, &e, []byte(text))
		var general bytes.Buffer
		fw, _ := flate.NewWriter(&general, flate.BestSpeed)
		fw.Write([]byte(text))
		fw.Flush()
		if len(seg) > general.Len()*11/10 {
			t.Errorf("%d bytes of text compressed to %d, want at most a tenth more than compress/flate's %d", len(text), len(seg), general.Len())
		}
	}
}

// FuzzLineEncoder: whatever the text, compress/flate reads back what the
// line encoder wrote.
func FuzzLineEncoder(f *testing.F) {
	f.Add([]byte("a{b=\"c\"} 1\na{b=\"d\"} 1\n"))
	f.Add([]byte("\n\n\nxyz"))
	f.Add(bytes.Repeat([]byte("abc\n"), 300))
	var e lineEncoder
	f.Fuzz(func(t *testing.T, text []byte) {
		if len(text) == 0 {
			return
		}
		checkLineEncoder(t, &e, text)
	})
}

// TestLineEncoderRandomText: texts of random lines (few or many distinct
// bytes, short or long lines, lines repeating the ones before in part)
// read back as they were.
func TestLineEncoderRandomText(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var e lineEncoder
	for range 1000 {
		alphabet := 1 + r.IntN(256)
		var text []byte
		for n := r.IntN(200); n > 0; n-- {
			start := len(text)
			for k := r.IntN(300); k > 0; k-- {
				text = append(text, byte(r.IntN(alphabet)))
			}
			if start > 0 && r.IntN(2) == 0 { // a line much like an earlier one
				from := r.IntN(start)
				text = append(text, text[from:from+r.IntN(min(start-from, 300))]...)
			}
			if r.IntN(10) > 0 {
				text = append(text, '\n')
			}
		}
		if len(text) > 0 {
			checkLineEncoder(t, &e, text)
		}
	}
}
