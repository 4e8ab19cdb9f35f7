package sqlitestore

import (
	"fmt"
	"math"

	"github.com/apilog/apilog"
)

// SchemaVersion is the version of the schema this package writes: the
// number of the last file in migrations/. A database with a newer version is
// refused rather than downgraded.
const SchemaVersion = 6

// The indexes that queries name in INDEXED BY, as the migrations create
// them (0001_init.sql, 0002_duration_last_id.sql, 0003_time_all.sql,
// 0005_status_in_indexes.sql, 0006_request_id.sql).
const (
	idxTime    = "entries_time" // (account, ts)
	idxTimeAll = "entries_ts"   // (ts): every account's rows

	idxStatus   = "entries_status"   // (account, status, ts >> 30)
	idxKey      = "entries_key"      // (key, ts >> 30, status)
	idxMethod   = "entries_method"   // (method, ts >> 30, status)
	idxEndpoint = "entries_endpoint" // (endpoint, ts >> 30, status)
	idxError    = "entries_error"    // (error, ts >> 30, status)
	idxIP       = "entries_ip"       // (ip, ts >> 30, status)
	idxDuration = "entries_duration" // (account, durationGroup, ts, duration, status)

	idxRequestID = "entries_request_id" // (request_id, account)
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
// (few of them: keys, methods, endpoints, status codes, duration groups),
// each value's rows off an index that ends in the time; or by scanning one
// index in the column's order (times, which are nearly unique).
type access int

const (
	walkValues access = iota + 1
	scanIndex
)

// durationGroup is the leading value of the duration index: the number of
// decimal digits of the duration and its first digit. It must be written as
// the migration writes it for SQLite to use the index.
const durationGroup = "(length(duration) * 10 + substr(duration, 1, 1))"

// durationGroups returns the values of durationGroup that the durations
// from lo to hi take, ascending: d digits and a first digit f are the
// durations from f·10^(d-1) to (f+1)·10^(d-1) - 1.
func durationGroups(lo, hi int64) []int64 {
	var out []int64
	for d, p := int64(1), int64(1); d <= 19; d, p = d+1, p*10 {
		for f := int64(min(d-1, 1)); f <= 9; f++ {
			first, last := f*p, int64(math.MaxInt64)
			if f+1 <= math.MaxInt64/p {
				last = (f+1)*p - 1
			}
			if first <= hi && last >= lo {
				out = append(out, d*10+f)
			}
		}
	}
	return out
}

// sortColumn is a column of apilog.Columns as this schema sorts it.
type sortColumn struct {
	col    string // the entries column
	index  string
	access access
	// group is, for a number column walked by value, the SQL of the value
	// its index leads with: the column itself, or a coarser one
	// (durationGroup) whose rows are sorted by the column within.
	group string
}

// numberColumns are the KindNumber columns; the text columns are sorted by
// their textFields entry and the API column by its key slots.
var numberColumns = map[apilog.Column]sortColumn{
	apilog.ColumnStatus:   {"status", idxStatus, walkValues, "status"},
	apilog.ColumnDuration: {"duration", idxDuration, walkValues, durationGroup},
	apilog.ColumnTime:     {"ts", idxTime, scanIndex, ""},
}

// sortColumnOf returns how c is sorted, or an error for a column this
// schema has no index for, so that a column added to apilog's table is
// refused rather than sorted wrong (TestSortColumns checks every one).
func sortColumnOf(c apilog.Column) (sortColumn, error) {
	switch c.Kind() {
	case apilog.KindKey:
		return sortColumn{"key", idxKey, walkValues, ""}, nil
	case apilog.KindText:
		if f, ok := textFields[c.Field()]; ok {
			return sortColumn{f.col, f.index, walkValues, ""}, nil
		}
	case apilog.KindNumber:
		if sc, ok := numberColumns[c]; ok {
			return sc, nil
		}
	}
	return sortColumn{}, fmt.Errorf("column %q has no index in this schema", c)
}
