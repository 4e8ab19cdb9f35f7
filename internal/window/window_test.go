package window

import (
	"math/rand/v2"
	"testing"
)

func TestSelect(t *testing.T) {
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
				xs = xs[:n:n]
				for i, j := 0, n-1; i < j; i, j = i+1, j-1 {
					xs[i], xs[j] = xs[j], xs[i]
				}
			}
			off := rng.IntN(n + 1)
			end := off + rng.IntN(n-off+1)
			Select(xs, off, end, func(a, b uint32) int { return int(a) - int(b) })
			for i := off; i < end; i++ {
				if xs[i] != uint32(i) {
					t.Fatalf("n=%d window [%d,%d): xs[%d] = %d", n, off, end, i, xs[i])
				}
			}
		}
	}
}
