// Package stats summarises benchmark samples: count, median, p10/p90, min
// and max, which is what docs/BENCHMARKS.md reports for every row.
package stats

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Summary describes a set of samples. Percentiles use the nearest-rank
// method, so every reported value is one that was measured.
type Summary struct {
	N                          int
	Min, P10, Median, P90, Max float64
}

// Of summarises samples; the zero Summary when there are none.
func Of(samples []float64) Summary {
	if len(samples) == 0 {
		return Summary{}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	return Summary{
		N:      len(s),
		Min:    s[0],
		P10:    rank(s, 0.10),
		Median: median(s),
		P90:    rank(s, 0.90),
		Max:    s[len(s)-1],
	}
}

// Millis summarises durations in milliseconds.
func Millis(ds []time.Duration) Summary {
	ms := make([]float64, len(ds))
	for i, d := range ds {
		ms[i] = float64(d) / float64(time.Millisecond)
	}
	return Of(ms)
}

// rank is the nearest-rank percentile p (0..1) of sorted s.
func rank(s []float64, p float64) float64 {
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// median is the middle sample, or the mean of the two middle ones.
func median(s []float64) float64 {
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Ratio is a/b, or NaN when b is zero (no measurement).
func Ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}

// Spread renders "median (p10–p90, n=N)" with the given number format.
func (s Summary) Spread(format string) string {
	if s.N == 0 {
		return "—"
	}
	f := func(v float64) string { return fmt.Sprintf(format, v) }
	return fmt.Sprintf("%s (%s–%s, n=%d)", f(s.Median), f(s.P10), f(s.P90), s.N)
}
