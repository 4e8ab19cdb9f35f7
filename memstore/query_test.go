package memstore

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/apilog/apilog/apilogtest"
)

// TestQueryPaths checks the paths the conformance suite's small fixtures do
// not reach: several chunks, times out of insertion order, pages deep
// enough for quickselect, and the early stop of time-ordered walks.
func TestQueryPaths(t *testing.T) {
	s := New(nil)
	apilogtest.FillPaths(t, s, 3*chunkSize+1234).Check(t, s)
}

func TestNth(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 2, 33, 100, 5000} {
		for range 20 {
			xs := make([]uint32, n)
			for i := range xs {
				xs[i] = uint32(i)
			}
			switch rng.IntN(3) {
			case 0:
				rng.Shuffle(n, func(i, j int) { xs[i], xs[j] = xs[j], xs[i] })
			case 1:
				slices.Reverse(xs)
			}
			off := rng.IntN(n + 1)
			end := off + rng.IntN(n-off+1)
			cmp := func(a, b uint32) int { return int(a) - int(b) }
			selectWindow(xs, off, end, cmp)
			for i := off; i < end; i++ {
				if xs[i] != uint32(i) {
					t.Fatalf("n=%d window [%d,%d): xs[%d] = %d", n, off, end, i, xs[i])
				}
			}
		}
	}
}
