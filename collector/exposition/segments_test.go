package exposition

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"testing"
)

// writeCounter counts the writes it is given.
type writeCounter struct {
	bytes.Buffer
	writes int
}

func (w *writeCounter) Write(p []byte) (int, error) {
	w.writes++
	return w.Buffer.Write(p)
}

// TestWriteToWritesInLargeChunks: a rendering of many segments reaches its
// writer (a scrape's connection) in writes of 64 KiB, not one per
// segment, and reads back as its text, with or without gzip.
func TestWriteToWritesInLargeChunks(t *testing.T) {
	f := NewFamily("room_value", "A value.", Gauge, "room_id").SegmentBy("room_id", 4)
	b := NewBuilder(nil)
	b.Family(f)
	var want Text
	want.Family(f)
	for i := range 20000 {
		id := fmt.Sprintf("room-%08d", i)
		b.Sample(float64(i), id)
		want.Sample(float64(i), id)
	}
	r := b.Rendering()
	tail := []byte("tail 1\n")
	if len(r.Segments()) < 1000 {
		t.Fatalf("%d segments: want many small ones for this test", len(r.Segments()))
	}
	for _, gz := range []bool{true, false} {
		var w writeCounter
		if err := r.WriteTo(&w, gz, tail); err != nil {
			t.Fatal(err)
		}
		if most := w.Len()/(64<<10) + 1; w.writes > most {
			t.Errorf("gzip=%v: %d bytes in %d writes, want at most %d", gz, w.Len(), w.writes, most)
		}
		got := w.Bytes()
		if gz {
			zr, err := gzip.NewReader(&w.Buffer)
			if err != nil {
				t.Fatal(err)
			}
			if got, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		if want := append(want.Bytes(), tail...); !bytes.Equal(got, want) {
			t.Errorf("gzip=%v: the text read back differs from the rendering's (%d bytes, want %d)", gz, len(got), len(want))
		}
	}
}
