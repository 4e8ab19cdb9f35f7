package memstore

import (
	"context"
	"fmt"

	"github.com/apilog/apilog"
)

var _ apilog.VolumeCounter = (*Store)(nil)

// CountVolume implements apilog.VolumeCounter in one pass over the rows
// in view, under the read lock, as a query's: the chunks outside the
// buckets' time are skipped whole.
func (s *Store) CountVolume(ctx context.Context, q apilog.Query, b apilog.Buckets) ([]apilog.ClassCounts, error) {
	out, err := s.countVolume(ctx, q, b)
	if err != nil {
		return nil, fmt.Errorf("memstore: count volume: %w", err)
	}
	return out, nil
}

func (s *Store) countVolume(ctx context.Context, q apilog.Query, b apilog.Buckets) ([]apilog.ClassCounts, error) {
	if err := b.Validate(); err != nil {
		return nil, err
	}
	s.catchUp()
	s.mu.RLock()
	defer s.mu.RUnlock()
	x, err := s.prepare(ctx, &q)
	if err != nil {
		return nil, err
	}
	out := make([]apilog.ClassCounts, b.N)
	if x.None || b.N == 0 {
		return out, nil
	}
	x.From = max(x.From, b.Start.UnixNano())
	x.last = min(x.last, b.End().UnixNano()-1)
	err = s.scan(ctx, x, func(c *chunk, _ uint32, j int) {
		if i, ok := b.Index(c.time[j]); ok {
			out[i][apilog.ClassOf(int(c.status[j]))]++
		}
	})
	return out, err
}
