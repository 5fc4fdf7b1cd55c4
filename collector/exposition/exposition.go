// Package exposition writes metric families in the Prometheus text format
// (version 0.0.4), the same bytes client_golang's expfmt writes for them,
// and keeps a large part of it compressed as DEFLATE segments that a
// scrape's gzip answer sends as they are.
//
// It knows families, label values and numbers, nothing of what they
// mean: the caller gives families in name order and, within a family,
// samples in label order, as client_golang sorts them.
package exposition

import (
	"math"
	"slices"
	"strconv"
	"strings"
)

// Type is a family's TYPE.
type Type string

const (
	Gauge   Type = "gauge"
	Counter Type = "counter"
)

// Family is a metric family: built once, its HELP and TYPE lines and its
// samples' label names written out then.
type Family struct {
	Name   string
	Help   string
	Type   Type
	Labels []string // label names, in the order Sample takes their values

	header []byte   // # HELP and # TYPE lines
	prefix [][]byte // before each label's value: name{label=" or ",label="
	sorted []int    // the labels' indexes in name order, as the text writes them
	key    int      // the label whose value decides where segments end; -1: none
	every  uint64   // how many samples a segment has on average, with a key
	stable bool     // its segments compressed for size (Stable)
}

// NewFamily returns the family. Label names must be valid and distinct.
func NewFamily(name, help string, typ Type, labels ...string) *Family {
	f := &Family{Name: name, Help: help, Type: typ, Labels: labels, key: -1}
	f.header = appendEscaped([]byte("# HELP "+name+" "), help, false)
	f.header = append(f.header, "\n# TYPE "+name+" "+string(typ)+"\n"...)
	f.sorted = make([]int, len(labels))
	for i := range f.sorted {
		f.sorted[i] = i
	}
	slices.SortFunc(f.sorted, func(a, b int) int { return strings.Compare(labels[a], labels[b]) })
	for i, l := range f.sorted {
		sep := `",`
		if i == 0 {
			sep = "{"
		}
		f.prefix = append(f.prefix, []byte(sep+labels[l]+`="`))
	}
	if len(f.prefix) > 0 {
		f.prefix[0] = append([]byte(name), f.prefix[0]...)
	}
	return f
}

// SegmentBy makes the value of label decide where the family's segments
// end in a Builder: before a sample whose value hashes to a multiple of
// every, so that segments have every samples on average and a value that
// comes or goes changes its own segment only. It returns f.
func (f *Family) SegmentBy(label string, every int) *Family {
	f.key = slices.Index(f.Labels, label)
	if f.key < 0 || every < 1 {
		panic("exposition: " + f.Name + " has no label " + label + " or segments of no sample")
	}
	f.every = uint64(every)
	return f
}

// Stable marks the family as one whose samples rarely change: a Builder
// compresses its segments for size (klauspost's StatelessDeflate), as each
// is compressed once and kept for many renderings; other families' segments
// are compressed for speed (the line encoder, lines.go), as they are
// compressed again whenever a sample changes. It returns f.
func (f *Family) Stable() *Family {
	f.stable = true
	return f
}

// Text appends families in the text format, uncompressed.
type Text struct {
	b       []byte
	f       *Family
	started bool
}

// Family starts the next family; its HELP and TYPE lines are written with
// its first sample, so a family without samples is left out.
func (t *Text) Family(f *Family) { t.f, t.started = f, false }

// Sample appends one sample of the current family, its label values in the
// family's Labels order.
func (t *Text) Sample(v float64, values ...string) {
	f := t.f
	if !t.started {
		t.started = true
		t.b = append(t.b, f.header...)
	}
	t.b = f.appendSample(t.b, v, values)
}

// appendSample appends one sample's line.
func (f *Family) appendSample(b []byte, v float64, values []string) []byte {
	if len(values) != len(f.Labels) {
		panic("exposition: " + f.Name + ": " + strconv.Itoa(len(values)) + " label values for " + strconv.Itoa(len(f.Labels)) + " labels")
	}
	if len(values) == 0 {
		b = append(b, f.Name...)
	} else {
		for i, l := range f.sorted {
			b = append(b, f.prefix[i]...)
			b = appendEscaped(b, values[l], true)
		}
		b = append(b, `"}`...)
	}
	b = append(b, ' ')
	b = AppendFloat(b, v)
	return append(b, '\n')
}

// Labels is how many label values the current family's samples take.
func (t *Text) Labels() int { return len(t.f.Labels) }

// Bytes is what was appended.
func (t *Text) Bytes() []byte { return t.b }

// appendEscaped escapes as the text format wants: backslash and newline
// always, double quotes in label values.
func appendEscaped(b []byte, s string, quote bool) []byte {
	if !needsEscape(s, quote) {
		return append(b, s...)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b = append(b, `\\`...)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '"' && quote:
			b = append(b, `\"`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// needsEscape reports whether appendEscaped would change s.
func needsEscape(s string, quote bool) bool {
	return strings.IndexByte(s, '\\') >= 0 || strings.IndexByte(s, '\n') >= 0 || quote && strings.IndexByte(s, '"') >= 0
}

// AppendFloat formats v as expfmt does.
func AppendFloat(b []byte, v float64) []byte {
	switch {
	case v == 1:
		return append(b, '1')
	case v == 0:
		return append(b, '0')
	case v == -1:
		return append(b, "-1"...)
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, +1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	case v == math.Trunc(v) && math.Abs(v) < 1e6:
		// What 'g' writes for an integer below 1e6 (it turns to an
		// exponent from 1e6 up), without its shortest-digits search.
		return strconv.AppendInt(b, int64(v), 10)
	}
	if out, ok := appendMillis(b, v); ok {
		return out
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// appendMillis writes v as strconv's shortest 'g' does when v is a whole
// number of milliseconds (every timestamp the exporter shows, and most
// ages) between 0.001 and 2^33 seconds (year 2242) either side of 0; ok is
// false for any other v. Such a v is the double nearest its decimal
// digits (IEEE division rounds correctly), and no shorter decimal is as
// near: two decimals 0.001 apart cannot both lie within half a unit in
// the last place of v (at most 2^-20 there). So those digits, less
// trailing zeros, are the shortest, in the form of 'g': %e from 1e6 up, %f
// below. Proved equal to strconv by TestAppendFloat and FuzzAppendFloat.
func appendMillis(b []byte, v float64) (_ []byte, ok bool) {
	a := math.Abs(v)
	if !(a >= 1e-3 && a < 1<<33) {
		return b, false
	}
	ms := math.Round(a * 1000)
	if ms/1000 != a {
		return b, false
	}
	var buf [20]byte
	d := strconv.AppendInt(buf[:0], int64(ms), 10)
	dp := len(d) - 3 // a is 0.d × 10^dp
	for len(d) > 1 && d[len(d)-1] == '0' {
		d = d[:len(d)-1]
	}
	if v < 0 {
		b = append(b, '-')
	}
	if exp := dp - 1; exp >= 6 {
		b = append(b, d[0])
		if len(d) > 1 {
			b = append(append(b, '.'), d[1:]...)
		}
		return append(b, 'e', '+', byte('0'+exp/10), byte('0'+exp%10)), true
	}
	if dp <= 0 {
		b = append(b, '0')
	} else {
		for i := range dp {
			if i < len(d) {
				b = append(b, d[i])
			} else {
				b = append(b, '0')
			}
		}
	}
	if len(d) > dp {
		b = append(b, '.')
		for i := dp; i < len(d); i++ {
			if i < 0 {
				b = append(b, '0')
			} else {
				b = append(b, d[i])
			}
		}
	}
	return b, true
}
