// Package statefile keeps a state across restarts in one file, without
// knowing what the state holds: a header (the format's version, when it was
// written, the account the state belongs to) and named sections whose
// bodies its owner encodes and decodes. A section is one JSON value (a
// feed's cursor, say) or a list of records written and read one at a time,
// so that neither a write nor a load holds the whole file in memory.
//
// The file is one JSON object (readable with jq):
//
//	{"version":1,"written":"…","account":"…","SECTION":VALUE,…,"LIST":[RECORD,…],…}
//
// Format 1 is what the exporter wrote before this package existed: its
// sections are the same top-level keys, so those files load unchanged.
//
// A File writes atomically (internal/atomicfile: a crash leaves the old file
// or the new one), through a symbolic link, and removes the temporary files
// an interrupted write left. A file it cannot read (torn, garbled, another
// version, or content its owner refuses) is set aside as PATH.corrupt with a
// warning: the exporter starts cold, it never refuses to start.
package statefile

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// Version is the file format's version. A file of another version is set
// aside. Sections may gain fields without a new version (readers ignore
// fields they do not know); a change old readers would misread needs one.
const Version = 1

// Header is what every state file says of itself.
type Header struct {
	Version int       `json:"version"` // Encode sets it
	Written time.Time `json:"written"`
	Account string    `json:"account"` // the id of the account the state belongs to
}

// ErrNoAccount is returned for a state that belongs to no account (the
// account was never learned): it is not written, and a file without one
// does not load.
var ErrNoAccount = errors.New("the state belongs to no account yet")

// header's keys are no section's name.
var header = []string{"version", "written", "account"}

// Writer writes a state file's sections, after its header.
type Writer struct {
	bw   *bufio.Writer
	seen map[string]bool
}

// Value writes a section holding the JSON encoding of v.
func (w *Writer) Value(name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := w.key(name); err != nil {
		return err
	}
	_, err = w.bw.Write(b)
	return err
}

// List writes a section holding a list of records: each calls add with one
// record, encoded and written at once, so the records need never be all in
// memory together.
func (w *Writer) List(name string, each func(add func(record any) error) error) error {
	if err := w.key(name); err != nil {
		return err
	}
	w.bw.WriteByte('[')
	n := 0
	err := each(func(record any) error {
		b, err := json.Marshal(record)
		if err != nil {
			return fmt.Errorf("%s[%d]: %w", name, n, err)
		}
		if n > 0 {
			w.bw.WriteByte(',')
		}
		n++
		_, err = w.bw.Write(b)
		return err
	})
	if err != nil {
		return err
	}
	return w.bw.WriteByte(']')
}

func (w *Writer) key(name string) error {
	if slices.Contains(header, name) || w.seen[name] {
		return fmt.Errorf("section %q: a header key or written twice", name)
	}
	w.seen[name] = true
	k, _ := json.Marshal(name)
	w.bw.WriteByte(',')
	w.bw.Write(k)
	return w.bw.WriteByte(':')
}

// Encode writes a state file's content: h (of this Version), then the
// sections body writes.
func Encode(out io.Writer, h Header, body func(*Writer) error) error {
	if h.Account == "" {
		return ErrNoAccount
	}
	h.Version = Version
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	w := &Writer{bw: bufio.NewWriter(out), seen: map[string]bool{}}
	w.bw.Write(b[:len(b)-1]) // re-opened for the sections
	if err := body(w); err != nil {
		return err
	}
	w.bw.WriteByte('}')
	return w.bw.Flush()
}

// Body is one section's body (or one record of a list) while it is read.
// A body its reader leaves alone is skipped.
type Body struct {
	dec  *json.Decoder
	used bool
}

// Decode decodes the body into v, as json.Unmarshal does.
func (b *Body) Decode(v any) error {
	if b.used {
		return errors.New("body read twice")
	}
	b.used = true
	return b.dec.Decode(v)
}

// Each reads a list's records one at a time: record gets each in turn.
func (b *Body) Each(record func(*Body) error) error {
	if b.used {
		return errors.New("body read twice")
	}
	b.used = true
	if err := expectDelim(b.dec, '['); err != nil {
		return err
	}
	for i := 0; b.dec.More(); i++ {
		if err := within(b.dec, record); err != nil {
			return fmt.Errorf("record %d: %w", i, err)
		}
	}
	return expectDelim(b.dec, ']')
}

// within hands the value at the decoder to read, and skips it if read did not.
func within(dec *json.Decoder, read func(*Body) error) error {
	b := &Body{dec: dec}
	if err := read(b); err != nil {
		return err
	}
	if !b.used {
		var skip json.RawMessage
		return dec.Decode(&skip)
	}
	return nil
}

// Decode reads a state file's content: section gets each section by name,
// in the file's order, and returns an error for one it does not accept; it
// may leave a section it does not know alone. Decode checks the header:
// another version or no account is an error, and so is anything after the
// end.
func Decode(r io.Reader, section func(name string, b *Body) error) (Header, error) {
	var h Header
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return h, fmt.Errorf("not a state file: %w", err)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return h, fmt.Errorf("not a state file: %w", err)
		}
		name, ok := tok.(string)
		if !ok {
			return h, fmt.Errorf("not a state file: key %v", tok)
		}
		switch name {
		case "version":
			err = dec.Decode(&h.Version)
		case "written":
			err = dec.Decode(&h.Written)
		case "account":
			err = dec.Decode(&h.Account)
		default:
			err = within(dec, func(b *Body) error { return section(name, b) })
		}
		if err != nil {
			return h, fmt.Errorf("%s: %w", name, err)
		}
		if name == "version" && h.Version != Version {
			return h, fmt.Errorf("format version %d, want %d", h.Version, Version)
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return h, fmt.Errorf("not a state file: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return h, errors.New("not a state file: data after the end")
	}
	switch {
	case h.Version != Version:
		return h, fmt.Errorf("format version %d, want %d", h.Version, Version)
	case h.Account == "":
		return h, ErrNoAccount
	}
	return h, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("want %q, got %v", want, tok)
	}
	return nil
}
