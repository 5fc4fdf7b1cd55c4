package webex

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"testing"
	"unicode/utf8"
)

// splitObjectCases are items splitObject must split exactly as decoding
// into a map does, or leave to that decoding.
var splitObjectCases = []string{
	`{}`,
	` { } `,
	`{"id":"a","created":"2026-11-24T12:00:00.000Z","personId":"p"}`,
	"\t{ \"id\" : \"a\" ,\n\"title\":\"x\\\"y\\\\\" , \"isLocked\" : true }\r\n",
	`{"id":"first","id":"last"}`,
	`{"ID":"upper","Id":"mixed","id":"exact"}`,
	`{"errors":{"title":{"code":"kms_failure","reason":"}{]["}},"title":"eyJhbGciOi"}`,
	`{"a":[1,{"b":[]},"]"],"n":-1.5e3,"t":true,"f":false,"z":null,"id":"x"}`,
	`{"\u0069d":"escaped name"}`,
	`{"id":"\u00e9t\u00e9","title":"caf\u00e9 \ud83d\ude00"}`,
	"{\"title\":\"bad \xff utf-8\"}",
	`{"id":"a",}`,
	`{"id":"a"`,
	`null`,
	`[{"id":"a"}]`,
	`"id"`,
	`42`,
	``,
}

// TestSplitObject: where splitObject splits an item, it finds every name and
// value a map[string]json.RawMessage holds, byte for byte (the values
// appear in BadItem reasons), and nothing else.
func TestSplitObject(t *testing.T) {
	for _, c := range splitObjectCases {
		t.Run(c, func(t *testing.T) { checkSplitObject(t, []byte(c)) })
	}
	// The plain cases take the fast path.
	for _, c := range []string{splitObjectCases[2], splitObjectCases[3], splitObjectCases[6], splitObjectCases[7]} {
		if _, ok := splitObject([]byte(c), nil); !ok {
			t.Errorf("splitObject(%s) left it to encoding/json", c)
		}
	}
}

// FuzzSplitObject: splitObject agrees with encoding/json on any input.
func FuzzSplitObject(f *testing.F) {
	for _, c := range splitObjectCases {
		f.Add([]byte(c))
	}
	f.Fuzz(checkSplitObject)
}

func checkSplitObject(t *testing.T, raw []byte) {
	o, ok := splitObject(raw, nil)
	var m map[string]json.RawMessage
	err := json.Unmarshal(raw, &m)
	if !ok {
		if bytes.Contains(raw, []byte(`\`)) || !utf8.Valid(raw) || err != nil || m == nil {
			return // left to encoding/json, rightly
		}
		t.Fatalf("splitObject(%q) left a plain object to encoding/json", raw)
	}
	if err != nil {
		t.Fatalf("splitObject(%q) split what encoding/json refuses: %v", raw, err)
	}
	names := map[string]bool{}
	for _, mem := range o {
		names[string(mem.name)] = true
	}
	if got, want := slices.Sorted(maps.Keys(names)), slices.Sorted(maps.Keys(m)); !slices.Equal(got, want) {
		t.Fatalf("splitObject(%q) names %q, encoding/json %q", raw, got, want)
	}
	for name, v := range m {
		if got := o.get(name); !bytes.Equal(got, v) {
			t.Fatalf("splitObject(%q).get(%q) = %q, encoding/json %q", raw, name, got, v)
		}
	}
}

// TestStringValue: the shortcut for plain strings decodes as encoding/json does.
func TestStringValue(t *testing.T) {
	for _, raw := range []string{`""`, `"abc"`, `"a\"b"`, `"\u00e9"`, "\"\xff\"", `"é"`, `42`, `null`, `"`, `["a"]`} {
		t.Run(raw, func(t *testing.T) {
			got, err := stringValue(json.RawMessage(raw))
			var want string
			werr := json.Unmarshal([]byte(raw), &want)
			if (err == nil) != (werr == nil) || got != want {
				t.Fatalf("stringValue(%s) = %q, %v; encoding/json %q, %v", raw, got, err, want, werr)
			}
		})
	}
}
