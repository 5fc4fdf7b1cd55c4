// Package times has what package time lacks for comparing two times.
package times

import "time"

// Earliest returns the earlier of a and b.
func Earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Latest returns the later of a and b.
func Latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
