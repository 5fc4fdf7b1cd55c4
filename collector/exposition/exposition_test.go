package exposition

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestAppendFloat: numbers are written as expfmt writes them.
func TestAppendFloat(t *testing.T) {
	for _, v := range []float64{0, 1, -1, 2, -2, 10, 999999, 1e6, 1234567, -999999, -1e6, 0.5, -0.25, 1e-7,
		1732449481.123, 1 << 40, 1e21, math.MaxInt64, math.Copysign(0, -1), math.NaN(), math.Inf(1), math.Inf(-1)} {
		var want string
		switch {
		case v == 1, v == 0, v == -1:
			want = strconv.FormatFloat(v+0, 'g', -1, 64) // expfmt writes -0 as 0
		case math.IsNaN(v):
			want = "NaN"
		case math.IsInf(v, 1):
			want = "+Inf"
		case math.IsInf(v, -1):
			want = "-Inf"
		default:
			want = strconv.FormatFloat(v, 'g', -1, 64)
		}
		if got := string(AppendFloat(nil, v)); got != want {
			t.Errorf("AppendFloat(%v) = %s, want %s", v, got, want)
		}
	}
	// Whole milliseconds (appendMillis) across its range and past it, and
	// differences of two, as ages are.
	r := rand.New(rand.NewPCG(1, 2))
	var vs []float64
	for _, ms := range []int64{1, 9, 10, 11, 99, 100, 999, 1000, 1001, 1010, 1100, 999999999, 1e9, 1e9 + 1, 1e12 - 1, 1e12,
		1732449481123, 1732449481000, 1732449480000, 1 << 43, 1<<43 - 1, 8589934591999, 8589934592000, 8589934592001, 1e16} {
		vs = append(vs, float64(ms)/1e3, -float64(ms)/1e3)
	}
	for range 200000 {
		scale := int64(1) << r.IntN(44)
		a, b := r.Int64N(scale)+1, r.Int64N(scale)+1
		vs = append(vs, float64(a)/1e3, -float64(a)/1e3, float64(a)/1e3-float64(b)/1e3, float64(a)/1e3+0.0001)
	}
	for _, v := range vs {
		checkAppendFloat(t, v)
	}
}

// FuzzAppendFloat: AppendFloat writes any number as strconv does.
func FuzzAppendFloat(f *testing.F) {
	for _, ms := range []int64{1, 1000, 1732449481123, -1732449481123, 123456789} {
		f.Add(ms, int64(0))
	}
	f.Fuzz(func(t *testing.T, a, b int64) {
		checkAppendFloat(t, float64(a)/1e3)
		checkAppendFloat(t, float64(a)/1e3-float64(b)/1e3)
		checkAppendFloat(t, math.Float64frombits(uint64(a)))
	})
}

func checkAppendFloat(t *testing.T, v float64) {
	if v == math.Trunc(v) && math.Abs(v) < 1e6 || math.IsNaN(v) || math.IsInf(v, 0) {
		return // written as the cases above say
	}
	if got, want := string(AppendFloat(nil, v)), strconv.FormatFloat(v, 'g', -1, 64); got != want {
		t.Fatalf("AppendFloat(%v) = %s, want %s", v, got, want)
	}
}
