package statefile

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

type cursor struct {
	Since time.Time `json:"since"`
}

type record struct {
	ID string `json:"id"`
	N  int    `json:"n,omitempty"`
}

// sample writes a header, a value section and a list of records.
func sample(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	err := Encode(&buf, Header{Written: t0, Account: "acct"}, func(w *Writer) error {
		if err := w.Value("cursor", cursor{Since: t0}); err != nil {
			return err
		}
		if err := w.List("rooms", func(add func(any) error) error {
			for i := range 3 {
				if err := add(record{ID: string(rune('a' + i)), N: i}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
		return w.List("empty", func(func(any) error) error { return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestEncodeIsOneObject: what Encode writes is the JSON object of the
// header's keys and the sections, as json.Marshal writes it.
func TestEncodeIsOneObject(t *testing.T) {
	got := sample(t)
	want, _ := json.Marshal(map[string]any{
		"version": Version, "written": t0, "account": "acct",
		"cursor": cursor{Since: t0},
		"rooms":  []record{{ID: "a"}, {ID: "b", N: 1}, {ID: "c", N: 2}},
		"empty":  []record{},
	})
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, got)
	}
	json.Unmarshal(want, &w) //nolint:errcheck // just marshalled
	if !reflect.DeepEqual(g, w) {
		t.Errorf("Encode wrote\n%s\nwant the same as\n%s", got, want)
	}
	if !strings.HasPrefix(string(got), `{"version":1,"written":"2026-11-24T12:00:00Z","account":"acct",`) {
		t.Errorf("the header does not come first: %.80s", got)
	}
}

// TestDecodeSections: Decode hands each section to its reader by name and
// in order, a list one record at a time, and skips what the reader leaves
// alone (a section or record of a later version).
func TestDecodeSections(t *testing.T) {
	var names []string
	var c cursor
	var recs []record
	h, err := Decode(bytes.NewReader(sample(t)), func(name string, b *Body) error {
		names = append(names, name)
		switch name {
		case "cursor":
			return b.Decode(&c)
		case "rooms":
			i := 0
			return b.Each(func(b *Body) error {
				var r record
				if i++; i == 2 {
					return nil // left alone: skipped
				}
				if err := b.Decode(&r); err != nil {
					return err
				}
				recs = append(recs, r)
				return nil
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if h != (Header{Version: 1, Written: t0, Account: "acct"}) {
		t.Errorf("header %+v", h)
	}
	if !reflect.DeepEqual(names, []string{"cursor", "rooms", "empty"}) {
		t.Errorf("sections %v", names)
	}
	if !c.Since.Equal(t0) || !reflect.DeepEqual(recs, []record{{ID: "a"}, {ID: "c", N: 2}}) {
		t.Errorf("cursor %v, records %v", c, recs)
	}
}

// TestDecodeRefuses: what is not a state file of this version with an
// account, or what a section's reader refuses, is an error that names it.
func TestDecodeRefuses(t *testing.T) {
	refuse := errors.New("refused")
	for _, c := range []struct {
		name, file, want string
	}{
		{"truncated", `{"version":1,"account":"a","rooms":[{"id":"a"`, "rooms"},
		{"not an object", `[1]`, "not a state file"},
		{"garbage", "\x00 not json", "not a state file"},
		{"after the end", `{"version":1,"account":"a"} {}`, "after the end"},
		{"other version", `{"version":2,"account":"a"}`, "format version 2"},
		{"version last", `{"account":"a","x":1,"version":3}`, "format version 3"},
		{"no version", `{"account":"a"}`, "format version 0"},
		{"no account", `{"version":1}`, ErrNoAccount.Error()},
		{"refused section", `{"version":1,"account":"a","bad":{}}`, "bad: refused"},
		{"refused record", `{"version":1,"account":"a","list":[{},{"bad":1}]}`, "list: record 1: refused"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(c.file), func(name string, b *Body) error {
				switch name {
				case "bad":
					return refuse
				case "list":
					return b.Each(func(b *Body) error {
						var m map[string]int
						if err := b.Decode(&m); err != nil {
							return err
						}
						if m["bad"] != 0 {
							return refuse
						}
						return nil
					})
				}
				return nil
			})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Decode = %v; want an error with %q", err, c.want)
			}
		})
	}
}

// TestEncodeRefuses: no account, a section named like a header key or
// written twice, and a body's own error stop the write.
func TestEncodeRefuses(t *testing.T) {
	if err := Encode(&bytes.Buffer{}, Header{Written: t0}, func(*Writer) error { return nil }); !errors.Is(err, ErrNoAccount) {
		t.Errorf("Encode without an account = %v; want ErrNoAccount", err)
	}
	for _, body := range []func(*Writer) error{
		func(w *Writer) error { return w.Value("account", "other") },
		func(w *Writer) error { w.Value("x", 1); return w.Value("x", 2) }, //nolint:errcheck // the second fails
		func(w *Writer) error {
			return w.List("l", func(add func(any) error) error { return add(func() {}) })
		},
	} {
		if err := Encode(&bytes.Buffer{}, Header{Account: "a"}, body); err == nil {
			t.Error("Encode succeeded")
		}
	}
}
