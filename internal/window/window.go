// Package window finds a page of rows in an unsorted result without
// sorting all of it: quickselect to the page's edges, then a sort of the
// page alone.
package window

import (
	"math/rand/v2"
	"slices"
)

// Select reorders xs so that xs[off:end] holds, in order, the elements
// that sorting all of xs by cmp would put there. cmp must not tie two
// distinct elements (stores break ties by row ID).
func Select[T any](xs []T, off, end int, cmp func(a, b T) int) {
	Nth(xs, off, cmp)
	Nth(xs[off:], end-off, cmp)
	slices.SortFunc(xs[off:end], cmp)
}

// Nth partially sorts xs so that every element before index k comes
// before every element from k on, in linear time on average.
func Nth[T any](xs []T, k int, cmp func(a, b T) int) {
	lo, hi := 0, len(xs) // the boundary k lies within xs[lo:hi]
	for hi-lo > 32 {
		// A random pivot: rows arrive close to time order, which would
		// make a fixed choice quadratic.
		pivot := xs[lo+rand.IntN(hi-lo)]
		i, j := lo, hi-1
		for i <= j {
			for cmp(xs[i], pivot) < 0 {
				i++
			}
			for cmp(xs[j], pivot) > 0 {
				j--
			}
			if i <= j {
				xs[i], xs[j] = xs[j], xs[i]
				i, j = i+1, j-1
			}
		}
		// Now xs[lo:j+1] <= pivot <= xs[i:hi], and xs[j+1:i] == pivot.
		switch {
		case k <= j:
			hi = j + 1
		case k >= i:
			lo = i
		default:
			return
		}
	}
	slices.SortFunc(xs[lo:hi], cmp)
}
