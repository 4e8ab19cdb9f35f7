package pgstore_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/apilogtest"
	"github.com/apilog/apilog/pgstore"
	"github.com/apilog/apilog/pgstore/pgstoretest"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

// partitionWidth is the span of time one partition holds (2^46 ns).
const partitionWidth = time.Duration(1 << 46)

// TestRetention appends rows over ten partitions' worth of time, then
// moves the clock on and lets the maintainer drop the partitions older
// than MaxAge: the rows of each partition wholly older go, every other row
// stays, and the totals (from the counts the drop also adjusts) agree with
// the rows left. Another instance, which still believes the dropped
// partitions exist, can then append to one.
func TestRetention(t *testing.T) {
	ctx := context.Background()
	url, schema := pgstoretest.Schema(t)
	start := time.Unix(0, 25_000<<46).UTC() // a partition's first instant, in 2020
	var now atomic.Int64
	now.Store(start.UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	s, err := pgstore.Open(ctx, url, &pgstore.Options{Schema: schema, MaxAge: 4 * partitionWidth, MaintainInterval: 20 * time.Millisecond, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other, err := pgstore.Open(ctx, url, &pgstore.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	gen := apilogtest.NewSynthetic(1, "acct_a", 5, start)
	all := gen.Entries(100)
	for i := range all {
		all[i].Time = start.Add(time.Duration(i) * partitionWidth / 10)
	}
	if err := other.Append(ctx, all); err != nil {
		t.Fatal(err)
	}
	// Ten partitions after the start, rows before the start of partition 6
	// are older than 4 partitions, and the partitions that end by then (0
	// to 5) go: rows 0 to 59.
	now.Store(start.Add(10 * partitionWidth).UnixNano())
	want := all[60:]
	q := apilog.Query{Account: all[0].Account, PageSize: apilog.MaxPageSize, Now: clock()}
	check := func(want []apilog.Entry) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		var p apilog.Page
		for {
			var err error
			if p, err = s.Query(ctx, q); err != nil {
				t.Fatal(err)
			}
			if p.TotalRows == len(want) || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		ref, err := q.Apply(apilogtest.Join(want, nil, q.Now))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(apilogtest.RowIDs(ref.Rows), apilogtest.RowIDs(p.Rows)); diff != "" || p.TotalRows != ref.TotalRows {
			t.Fatalf("%d rows, want %d (-want +got IDs):\n%s", p.TotalRows, ref.TotalRows, diff)
		}
	}
	check(want)
	if err := s.Close(); err != nil { // no more drops
		t.Fatal(err)
	}
	late := gen.Entries(1)
	late[0].Time = start
	if err := other.Append(ctx, late); err != nil {
		t.Fatalf("appending to a partition another instance dropped: %v", err)
	}
	s = other
	check(append(late, want...))
}

// TestPartitionsAhead checks that Open creates the partitions of the next
// two periods, so that an Append at the turn of a partition never waits
// for one.
func TestPartitionsAhead(t *testing.T) {
	url, schema := pgstoretest.Schema(t)
	ctx := context.Background()
	at := time.Unix(0, 25_000<<46+1)
	s, err := pgstore.Open(ctx, url, &pgstore.Options{Schema: schema, Clock: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "+
		"WHERE i.inhparent = ($1 || '.entries')::regclass ORDER BY 1", pgx.Identifier{schema}.Sanitize())
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"entries_25000", "entries_25001", "entries_25002"}, got); diff != "" {
		t.Errorf("partitions (-want +got):\n%s", diff)
	}
}
