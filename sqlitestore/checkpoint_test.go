package sqlitestore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apilog/apilog"
)

// TestCheckpointCutsPinningQuery runs a search that never ends while
// ingest goes on: once the WAL passes walCut (or half way to it, after a
// round that failed) the checkpointer stops the search (an error wrapping
// apilog.ErrTimeout), the WAL restarts, and it never grows past 64 MB.
func TestCheckpointCutsPinningQuery(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "w.db")
	s, err := Open(path, &Options{QueryTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.searchHook = endless
	search, err := apilog.ParseSearch("flux", nil)
	if err != nil {
		t.Fatal(err)
	}
	result := make(chan error, 1)
	go func() {
		_, err := s.Query(ctx, apilog.Query{Account: "a", Search: search})
		result <- err
	}()
	time.Sleep(100 * time.Millisecond) // the search holds its snapshot

	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var walMax int64
	wal := func() int64 {
		st, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		walMax = max(walMax, st.Size())
		return st.Size()
	}
	appendBatch := func(b int) {
		batch := make([]apilog.Entry, 1000)
		for i := range batch {
			batch[i] = apilog.Entry{Account: "a", Method: "GET", Status: 200, IPHash: fmt.Sprint("ip", (b*1000+i)*7919%50000),
				Endpoint: fmt.Sprint("/v1/x/", i%40), Time: t0.Add(time.Duration(b*1000+i) * time.Millisecond)}
		}
		if err := s.Append(ctx, batch); err != nil {
			t.Fatal(err)
		}
		wal()
	}
	b := 0
	var searchErr error
	for cut := false; !cut; b++ {
		if b == 300 {
			t.Fatalf("300,000 rows appended, WAL %d bytes at most, and the search still runs", walMax)
		}
		appendBatch(b)
		select {
		case searchErr = <-result:
			cut = true
		default:
		}
	}
	if !errors.Is(searchErr, apilog.ErrTimeout) || !errors.Is(searchErr, errCut) {
		t.Errorf("the search pinning the WAL ended with %v, want errCut wrapping apilog.ErrTimeout", searchErr)
	}
	if walMax < (walCut+walCheckpoint)/2 {
		t.Errorf("the search was stopped with the WAL at %d bytes at most, before a round could fail past %d", walMax, (walCut+walCheckpoint)/2)
	}
	// The WAL starts over: the file goes back to its limit.
	for end := b + 100; wal() > walCheckpoint; b++ {
		if b == end {
			t.Fatalf("100,000 rows after the cut, the WAL is still %d bytes", wal())
		}
		appendBatch(b)
		time.Sleep(10 * time.Millisecond) // let the checkpointer run
	}
	if walMax > 64<<20 {
		t.Errorf("the WAL reached %d bytes, over 64 MB", walMax)
	}
}
