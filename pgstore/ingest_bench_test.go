package pgstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/apilogtest"
	"github.com/apilog/apilog/pgstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The ingest benchmarks write batches of 1,000 synthetic rows into a new
// schema, one writer, and report rows/s and the schema's size per row.
// BenchmarkCopyFromRaw is the baseline the issue sets: the same rows,
// interned beforehand, copied straight into the same tables and indexes.
// Run them with a fixed count, so that both write the same rows and the
// size is of a known number of them, and compare figures of the same run:
//
//	go test ./pgstore -run '^$' -bench 'Append|CopyFromRaw' -benchtime 300x
//
// (-benchtime 1000x for the size at a million rows.)

// ingestBatch is the batch size.
const ingestBatch = 1000

// ingestClock places the store's "now" at the start of the synthetic
// rows, so that Open creates their partitions ahead (as the maintainer
// does in production) and neither benchmark times a CREATE TABLE.
func ingestClock() time.Time { return apilogtest.BenchStart }

// ingestData returns the generator's keys and n batches of its rows.
func ingestData(n int) ([]apilog.Key, [][]apilog.Entry) {
	g := apilogtest.NewSynthetic(1, apilogtest.BenchAccount, 200, apilogtest.BenchStart)
	batches := make([][]apilog.Entry, n)
	for i := range batches {
		batches[i] = g.Entries(ingestBatch)
	}
	return g.Keys, batches
}

// checkpoint flushes the server's dirty pages, so that a run does not
// start by paying for the previous one's writes.
func checkpoint(b *testing.B, pool *pgxpool.Pool) {
	b.Helper()
	if _, err := pool.Exec(context.Background(), "CHECKPOINT"); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkAppend(b *testing.B) {
	ctx := context.Background()
	url, schema := newSchema(b)
	s, err := pgstore.Open(ctx, url, &pgstore.Options{Schema: schema, Clock: ingestClock})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	keys, batches := ingestData(b.N)
	for _, k := range keys {
		if err := s.UpsertKey(ctx, k); err != nil {
			b.Fatal(err)
		}
	}
	pool := openPool(b)
	checkpoint(b, pool)
	b.ResetTimer()
	for i := range b.N {
		if err := s.Append(ctx, batches[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportIngest(b, pool, schema)
}

func BenchmarkCopyFromRaw(b *testing.B) {
	ctx := context.Background()
	url, schema := newSchema(b)
	// Open creates the schema, its indexes and the rows' partitions.
	s, err := pgstore.Open(ctx, url, &pgstore.Options{Schema: schema, Clock: ingestClock})
	if err != nil {
		b.Fatal(err)
	}
	s.Close()
	keys, batches := ingestData(b.N)
	pool := openPool(b)

	// Intern in Go, as Append's cache does, and store the small tables'
	// rows before the timer, so that the size per row counts them too.
	const account = 1
	slots := map[string]int64{}
	strs := map[[2]string]int64{}
	var keyRows, strRows [][]any
	slot := func(keyID string) int64 {
		id, ok := slots[keyID]
		if !ok {
			id = int64(len(slots) + 1)
			slots[keyID] = id
			keyRows = append(keyRows, []any{id, account, []byte(keyID)})
		}
		return id
	}
	str := func(kind int16, v string) int64 {
		k := [2]string{string(rune('0' + kind)), v}
		id, ok := strs[k]
		if !ok {
			id = int64(len(strs) + 1)
			strs[k] = id
			strRows = append(strRows, []any{id, account, kind, []byte(v)})
		}
		return id
	}
	for _, k := range keys {
		slot(k.ID)
	}
	rows := make([][][]any, b.N)
	id := int64(0)
	for i, batch := range batches {
		rows[i] = make([][]any, len(batch))
		for j, e := range batch {
			id++
			rows[i][j] = []any{id, e.Time.UnixNano(), int64(e.Duration), int32(account), int32(slot(e.KeyID)),
				int32(str(1, e.Method)), int32(str(2, e.Endpoint)), int32(str(3, e.ErrorCode)), int32(str(4, e.IPHash)),
				int16(e.Status), []byte(e.RequestID)}
		}
	}
	sch := func(table string) pgx.Identifier { return pgx.Identifier{schema, table} }
	if _, err := pool.Exec(ctx, "INSERT INTO "+sch("accounts").Sanitize()+" (id, name) VALUES ($1, $2)", account, []byte(apilogtest.BenchAccount)); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.CopyFrom(ctx, sch("keys"), []string{"id", "account", "key_id"}, pgx.CopyFromRows(keyRows)); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.CopyFrom(ctx, sch("strs"), []string{"id", "account", "kind", "value"}, pgx.CopyFromRows(strRows)); err != nil {
		b.Fatal(err)
	}
	columns := []string{"id", "ts", "duration", "account", "key", "method", "endpoint", "error", "ip", "status", "request_id"}
	checkpoint(b, pool)
	b.ResetTimer()
	for i := range b.N {
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			_, err := tx.CopyFrom(ctx, sch("entries"), columns, pgx.CopyFromRows(rows[i]))
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportIngest(b, pool, schema)
}

// reportIngest reports the rows/s of the timed loop and the schema's size
// per row: every table with its indexes and TOAST (the partitions of
// entries and the small tables) and the sequence, as
// pg_total_relation_size counts them. It logs the heap's and each index's
// share, summed over the partitions.
func reportIngest(b *testing.B, pool *pgxpool.Pool, schema string) {
	b.Helper()
	ctx := context.Background()
	n := b.N * ingestBatch
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
	var total int64
	if err := pool.QueryRow(ctx, `SELECT sum(pg_total_relation_size(c.oid))::int8 FROM pg_class c
		JOIN pg_namespace ns ON ns.oid = c.relnamespace WHERE ns.nspname = $1 AND c.relkind IN ('r', 'S')`, schema).Scan(&total); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(total)/float64(n), "B/row")
	rows, err := pool.Query(ctx, `SELECT p.relname::text, sum(pg_relation_size(i.inhrelid))::int8 FROM pg_inherits i
		JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace ns ON ns.oid = p.relnamespace
		WHERE ns.nspname = $1 AND p.relkind IN ('p', 'I') GROUP BY 1 ORDER BY 2 DESC`, schema)
	if err != nil {
		b.Fatal(err)
	}
	var parts []string
	var name string
	var size int64
	if _, err := pgx.ForEachRow(rows, []any{&name, &size}, func() error {
		if name == "entries" {
			name = "heap"
		}
		parts = append(parts, fmt.Sprintf("%s %.1f", name, float64(size)/float64(n)))
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d rows, %.1f B/row: %s", n, float64(total)/float64(n), strings.Join(parts, ", "))
}
