package apilog

import (
	"cmp"
	"fmt"
	"strings"
)

// Column is a sortable column of the Logs page, by the name URLs and APIs use.
type Column string

// The sortable columns.
const (
	ColumnAPI      Column = "api"      // key name, case-insensitive (see Fold), then key prefix
	ColumnMethod   Column = "method"   // alphabetical: DELETE, GET, POST, PUT
	ColumnEndpoint Column = "endpoint" // alphabetical by path, byte order
	ColumnStatus   Column = "status"   // numeric
	ColumnError    Column = "error"    // alphabetical; rows without a code come last both ways
	ColumnIP       Column = "ip"       // alphabetical by hash
	ColumnTime     Column = "time"     // chronological
)

// Columns lists the sortable columns in page order. It is a copy: changing
// it changes nothing.
var Columns = []Column{ColumnAPI, ColumnMethod, ColumnEndpoint, ColumnStatus, ColumnError, ColumnIP, ColumnTime}

// Direction is a sort direction.
type Direction string

// The sort directions. The empty Direction is the column's default:
// descending for time (newest first), ascending for the others.
const (
	Asc  Direction = "asc"
	Desc Direction = "desc"
)

// Sort is the order of a query's rows. The zero value is [DefaultSort].
//
// Ties on the column are broken by time descending, then ID descending, so
// every order is total and pages never overlap or skip a row.
type Sort struct {
	Column Column
	Dir    Direction
}

// DefaultSort is newest first.
var DefaultSort = Sort{Column: ColumnTime, Dir: Desc}

// ParseSort parses a column name and a direction ("asc", "desc" or empty for
// the column's default) as they come from a URL. An empty column is the
// default sort. Errors wrap [ErrBadQuery] and name the bad value.
func ParseSort(column, dir string) (Sort, error) {
	return Sort{Column: Column(column), Dir: Direction(dir)}.Normalize()
}

// Normalize returns s with the defaults filled in, or an error wrapping
// [ErrBadQuery] that names an unknown column or direction.
func (s Sort) Normalize() (Sort, error) {
	if s.Column == "" {
		s.Column = ColumnTime
	}
	switch s.Column {
	case ColumnAPI, ColumnMethod, ColumnEndpoint, ColumnStatus, ColumnError, ColumnIP, ColumnTime:
	default:
		return Sort{}, fmt.Errorf("%w: sort column %q: want one of api, method, endpoint, status, error, ip, time", ErrBadQuery, string(s.Column))
	}
	switch s.Dir {
	case "":
		s.Dir = Asc
		if s.Column == ColumnTime {
			s.Dir = Desc
		}
	case Asc, Desc:
	default:
		return Sort{}, fmt.Errorf("%w: sort direction %q: want asc or desc", ErrBadQuery, string(s.Dir))
	}
	return s, nil
}

// Compare orders a before b (-1), after it (+1), or reports the same row
// (0, only when both have the same ID). s must be normalized.
func (s Sort) Compare(a, b *Row) int {
	var c int
	switch s.Column {
	case ColumnAPI:
		c = s.Directed(CompareKeys(a.KeyName, a.KeyPrefix, b.KeyName, b.KeyPrefix))
	case ColumnMethod:
		c = s.CompareText(a.Method, b.Method)
	case ColumnEndpoint:
		c = s.CompareText(a.Endpoint, b.Endpoint)
	case ColumnStatus:
		c = s.Directed(cmp.Compare(a.Status, b.Status))
	case ColumnError:
		c = s.CompareText(a.ErrorCode, b.ErrorCode)
	case ColumnIP:
		c = s.CompareText(a.IPHash, b.IPHash)
	case ColumnTime:
		c = s.Directed(a.Time.Compare(b.Time))
	}
	if c != 0 {
		return c
	}
	return TieBreak(a.Time.UnixNano(), a.ID, b.Time.UnixNano(), b.ID)
}

// CompareText compares two values of the sort's text column (method,
// endpoint, error code or IP hash) in the sort's direction, without the tie
// breakers. For the error column an empty code comes after any code in both
// directions.
func (s Sort) CompareText(a, b string) int {
	if s.Column == ColumnError && (a == "") != (b == "") {
		if a == "" {
			return 1
		}
		return -1
	}
	return s.Directed(strings.Compare(a, b))
}

// CompareKeys is the ascending order of the API column: key name compared
// with [CompareFold], then key prefix in byte order. An unknown key has an
// empty name and prefix.
func CompareKeys(nameA, prefixA, nameB, prefixB string) int {
	if c := CompareFold(nameA, nameB); c != 0 {
		return c
	}
	return strings.Compare(prefixA, prefixB)
}

// TieBreak orders rows the column left tied: time descending (as Unix
// nanoseconds), then ID descending.
func TieBreak(timeA, idA, timeB, idB int64) int {
	if c := cmp.Compare(timeB, timeA); c != 0 {
		return c
	}
	return cmp.Compare(idB, idA)
}

// Directed applies the sort's direction to c, an ascending comparison of
// the column's values, for backends that compare values themselves.
func (s Sort) Directed(c int) int {
	if s.Dir == Desc {
		return -c
	}
	return c
}
