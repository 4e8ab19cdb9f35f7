package sqlitestore

import (
	"fmt"

	"github.com/apilog/apilog"
)

// SchemaVersion is the version of the schema this package writes: the
// number of the last file in migrations/. A database with a newer version is
// refused rather than downgraded.
const SchemaVersion = 2

// The indexes that queries name in INDEXED BY, as the migrations create
// them (0001_init.sql, 0002_duration_last_id.sql).
const (
	idxTime     = "entries_time"     // (account, ts)
	idxStatus   = "entries_status"   // (account, status, ts >> 30)
	idxKey      = "entries_key"      // (key, ts >> 30)
	idxMethod   = "entries_method"   // (method, ts >> 30)
	idxEndpoint = "entries_endpoint" // (endpoint, ts >> 30)
	idxError    = "entries_error"    // (error, ts >> 30)
	idxIP       = "entries_ip"       // (ip, ts >> 30)
	idxDuration = "entries_duration" // (account, duration, ts)
)

// Kinds of interned values in the strs table.
const (
	kindMethod   = 1
	kindEndpoint = 2
	kindError    = 3
	kindIP       = 4
)

// textFields are the interned fields of an entry: their column in entries,
// their kind in strs, and the index that leads with the column.
var textFields = map[apilog.Field]struct {
	col   string
	kind  int64
	index string
}{
	apilog.FieldMethod:   {"method", kindMethod, idxMethod},
	apilog.FieldEndpoint: {"endpoint", kindEndpoint, idxEndpoint},
	apilog.FieldError:    {"error", kindError, idxError},
	apilog.FieldIP:       {"ip", kindIP, idxIP},
}

// How a column's rows are read in order: by walking its distinct values
// (few of them: keys, methods, endpoints, status codes...), each value's
// rows off an index that ends in the time; or by scanning one index in the
// column's order (times and durations, which are nearly unique).
type access int

const (
	walkValues access = iota + 1
	scanIndex
)

// sortColumn is a column of apilog.Columns as this schema sorts it.
type sortColumn struct {
	col    string // the entries column
	index  string
	access access
}

// sortColumns has a row for every column of apilog.Columns; a column
// without one is refused by Query with an error rather than sorted wrong
// (TestSortColumns checks the table is complete).
var sortColumns = map[apilog.Column]sortColumn{
	apilog.ColumnAPI:      {"key", idxKey, walkValues},
	apilog.ColumnMethod:   {"method", idxMethod, walkValues},
	apilog.ColumnEndpoint: {"endpoint", idxEndpoint, walkValues},
	apilog.ColumnStatus:   {"status", idxStatus, walkValues},
	apilog.ColumnError:    {"error", idxError, walkValues},
	apilog.ColumnIP:       {"ip", idxIP, walkValues},
	apilog.ColumnDuration: {"duration", idxDuration, scanIndex},
	apilog.ColumnTime:     {"ts", idxTime, scanIndex},
}

// sortColumnOf returns how c is sorted, or an error for a column this
// schema has no index for.
func sortColumnOf(c apilog.Column) (sortColumn, error) {
	sc, ok := sortColumns[c]
	if !ok {
		return sortColumn{}, fmt.Errorf("column %q has no index in this schema", c)
	}
	return sc, nil
}
