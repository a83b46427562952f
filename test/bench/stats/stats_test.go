package stats

import (
	"math"
	"testing"
	"time"
)

func TestOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []float64
		want Summary
	}{
		{"empty", nil, Summary{}},
		{"one", []float64{7}, Summary{N: 1, Min: 7, P10: 7, Median: 7, P90: 7, Max: 7}},
		{"odd, unsorted", []float64{5, 1, 3}, Summary{N: 3, Min: 1, P10: 1, Median: 3, P90: 5, Max: 5}},
		{"even: mean of the middle two", []float64{4, 1, 3, 2}, Summary{N: 4, Min: 1, P10: 1, Median: 2.5, P90: 4, Max: 4}},
		{"ten: nearest rank", []float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, Summary{N: 10, Min: 1, P10: 1, Median: 5.5, P90: 9, Max: 10}},
		{"twenty-one", seq(21), Summary{N: 21, Min: 1, P10: 3, Median: 11, P90: 19, Max: 21}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Of(tc.in); got != tc.want {
				t.Errorf("Of(%v) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func seq(n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = float64(i + 1)
	}
	return s
}

func TestOfLeavesInputAlone(t *testing.T) {
	in := []float64{3, 1, 2}
	Of(in)
	if in[0] != 3 || in[1] != 1 || in[2] != 2 {
		t.Errorf("Of sorted its input: %v", in)
	}
}

func TestMillis(t *testing.T) {
	got := Millis([]time.Duration{1500 * time.Microsecond, 2 * time.Millisecond, 500 * time.Microsecond})
	if got.Median != 1.5 || got.Min != 0.5 || got.Max != 2 {
		t.Errorf("Millis = %+v", got)
	}
}

func TestRatioAndSpread(t *testing.T) {
	if r := Ratio(10, 4); r != 2.5 {
		t.Errorf("Ratio(10, 4) = %v", r)
	}
	if r := Ratio(1, 0); !math.IsNaN(r) {
		t.Errorf("Ratio(1, 0) = %v, want NaN", r)
	}
	if got := Of([]float64{1, 2, 3}).Spread("%.1f"); got != "2.0 (1.0–3.0, n=3)" {
		t.Errorf("Spread = %q", got)
	}
	if got := (Summary{}).Spread("%.1f"); got != "—" {
		t.Errorf("empty Spread = %q", got)
	}
}
