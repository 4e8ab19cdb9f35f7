package timecount_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/apilog/apilog/timecount"
)

// rows is a Source over times in memory, its counts made by Levels.Add.
type rows struct {
	levels timecount.Levels
	ts     []int64
	counts map[timecount.Key]int64
}

func newRows(levels timecount.Levels, ts []int64) *rows {
	r := &rows{levels: levels, ts: ts, counts: map[timecount.Key]int64{}}
	for _, t := range ts {
		levels.Add(r.counts, 1, t, 1)
	}
	return r
}

func (r *rows) Buckets(_ context.Context, level, lo, hi int64) ([]timecount.Bucket, error) {
	var out []timecount.Bucket
	for k, n := range r.counts {
		if k.Level == level && k.Bucket >= lo && k.Bucket <= hi && n > 0 {
			out = append(out, timecount.Bucket{Bucket: k.Bucket, N: n})
		}
	}
	slices.SortFunc(out, func(a, b timecount.Bucket) int { return int(a.Bucket - b.Bucket) })
	return out, nil
}

func (r *rows) CountRows(_ context.Context, lo, hi int64) (int, error) {
	n := 0
	for _, t := range r.ts {
		if t >= lo && t <= hi {
			n++
		}
	}
	return n, nil
}

// TestReader checks AtLeast, Between and Seek against counting and
// sorting the rows, on times spread over a few buckets of every level and
// bunched in some.
func TestReader(t *testing.T) {
	ctx := context.Background()
	levels := timecount.Levels{30, 24, 18}
	rng := rand.New(rand.NewPCG(1, 2))
	var ts []int64
	base := int64(5) << 30
	for range 3000 {
		switch rng.IntN(3) {
		case 0:
			ts = append(ts, base+rng.Int64N(3<<30)) // over three top buckets
		case 1:
			ts = append(ts, base+(1<<30)+rng.Int64N(1<<18)) // one bottom bucket
		default:
			ts = append(ts, base+rng.Int64N(1<<24))
		}
	}
	src := newRows(levels, ts)
	sorted := slices.Sorted(slices.Values(ts))
	atLeast := func(x int64) int {
		i, _ := slices.BinarySearch(sorted, max(x, 0))
		return len(sorted) - i
	}
	probes := []int64{0, 1, base, base + 1, base + (1 << 30), base + (1 << 30) + 5, base + 3<<30, 1<<62 + 7}
	for range 200 {
		probes = append(probes, sorted[rng.IntN(len(sorted))], base+rng.Int64N(4<<30))
	}
	for _, x := range probes {
		r := &timecount.Reader{Levels: levels, Source: src}
		if got, err := r.AtLeast(ctx, x); err != nil || got != atLeast(x) {
			t.Fatalf("AtLeast(%d) = %d, %v; want %d", x, got, err, atLeast(x))
		}
		to := x + rng.Int64N(1<<28)
		if got, err := r.Between(ctx, x, to, false); err != nil || got != atLeast(x)-atLeast(to) {
			t.Fatalf("Between(%d, %d) = %d, %v; want %d", x, to, got, err, atLeast(x)-atLeast(to))
		}
	}
	last := levels[len(levels)-1]
	for _, desc := range []bool{false, true} {
		order := slices.Clone(sorted)
		if desc {
			slices.Reverse(order)
		}
		r := &timecount.Reader{Levels: levels, Source: src}
		for _, rank := range []int{0, 1, 999, 1000, 2500, len(order) - 1} {
			b, before, err := r.Seek(ctx, rank, desc)
			if err != nil {
				t.Fatal(err)
			}
			if b != order[rank]>>last {
				t.Fatalf("Seek(%d, desc %v): bucket %d, want %d", rank, desc, b, order[rank]>>last)
			}
			first := slices.IndexFunc(order, func(t int64) bool { return t>>last == b })
			if before != first {
				t.Fatalf("Seek(%d, desc %v): %d rows before the bucket, want %d", rank, desc, before, first)
			}
		}
		if _, _, err := r.Seek(ctx, len(order), desc); err != timecount.ErrMismatch {
			t.Errorf("Seek past the last row: %v, want ErrMismatch", err)
		}
	}
	for _, desc := range []bool{false, true} {
		order := slices.Clone(sorted)
		if desc {
			slices.Reverse(order)
		}
		for range 50 {
			from, to := base+rng.Int64N(2<<30), base+(2<<30)+rng.Int64N(1<<30)
			var in []int // the ranks in order of the rows in [from, to)
			for i, t := range order {
				if t >= from && t < to {
					in = append(in, i)
				}
			}
			for _, open := range [][2]bool{{false, false}, {true, false}, {false, true}} {
				want := in
				if open[0] || open[1] {
					want = nil
					for i, t := range order {
						if (open[0] || t >= from) && (open[1] || t < to) {
							want = append(want, i)
						}
					}
				}
				if len(want) == 0 {
					continue
				}
				off := rng.IntN(len(want))
				r := &timecount.Reader{Levels: levels, Source: src}
				got, err := r.Rank(ctx, off, desc, from, to, open[0], open[1])
				if err != nil || got != want[off] {
					t.Fatalf("Rank(%d, desc %v, [%d, %d) open %v) = %d, %v; want %d", off, desc, from, to, open, got, err, want[off])
				}
			}
		}
	}
}

// TestStep checks Step against sorting the rows within the bound, on rows
// with repeated times, for bounds that leave out none, a few and many.
func TestStep(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var rows []timecount.Row
	for id := int64(1); id <= 500; id++ {
		rows = append(rows, timecount.Row{ID: id, Time: rng.Int64N(200)})
	}
	for _, desc := range []bool{false, true} {
		order := timecount.Order(desc)
		all := slices.SortedFunc(slices.Values(rows), order)
		for _, bound := range []int64{500, 490, 300, 1} {
			var past, within []timecount.Row
			for _, r := range all {
				if r.ID > bound {
					past = append(past, r)
				} else {
					within = append(within, r)
				}
			}
			for _, w := range [][2]int{{0, 10}, {5, 50}, {100, 1000}, {len(within) - 3, 10}} {
				off, limit := max(w[0], 0), w[1]
				window := all[min(off, len(all)):min(off+limit+len(past), len(all))]
				got := timecount.Step(window, func(r timecount.Row) timecount.Row { return r }, slices.Clone(past), bound, off, limit, desc)
				want := within[min(off, len(within)):min(off+limit, len(within))]
				if !slices.Equal(got, want) {
					t.Fatalf("Step(desc %v, bound %d, off %d, limit %d): %d rows %v..., want %d", desc, bound, off, limit, len(got), got[:min(3, len(got))], len(want))
				}
			}
		}
	}
}
