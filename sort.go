package apilog

import (
	"cmp"
	"math"
	"strconv"
	"strings"
	"time"
)

// Column is a sortable column of the Logs page, by the name URLs and APIs use.
type Column string

// The sortable columns. Each is one row of the column table below, which
// gives its label, default direction and order.
const (
	ColumnAPI      Column = "api"      // key name, case-insensitive (see Fold), then key prefix
	ColumnMethod   Column = "method"   // alphabetical: DELETE, GET, POST, PUT
	ColumnEndpoint Column = "endpoint" // alphabetical by path, byte order
	ColumnStatus   Column = "status"   // numeric
	ColumnError    Column = "error"    // alphabetical; rows without a code come last both ways
	ColumnIP       Column = "ip"       // alphabetical by hash
	ColumnDuration Column = "duration" // numeric, in nanoseconds; slowest first by default
	ColumnTime     Column = "time"     // chronological; newest first by default
)

// ColumnKind says how a column's values are kept and ordered, so that a
// store can serve every column of a kind with one piece of code.
type ColumnKind int

// The column kinds.
const (
	// KindKey is the API column: the key's current name compared with
	// [CompareFold], then its prefix in byte order (see [CompareKeys]).
	// Stores order key slots by a rank computed in Go rather than by a
	// database collation.
	KindKey ColumnKind = iota + 1
	// KindText is a text field of the entry (its Column.Field), in byte
	// order.
	KindText
	// KindNumber is an integer field of the entry (status, duration, time).
	KindNumber
)

// columns is the column table: one row per column, in page order. Every
// fact about a column the rest of the module needs derives from it:
// Columns, the names a URL may use, labels, default directions, the order
// of Sort.Compare.
var columns = [...]struct {
	name    Column
	label   string    // the page's header
	dir     Direction // the direction of a first click
	kind    ColumnKind
	field   Field               // the search field of a KindText column
	compare func(a, b *Row) int // ascending, without the tie breakers
	empty   func(r *Row) bool   // if set, rows with an empty value come last in both directions
	text    func(r *Row) string // the value as a plain cell shows it
}{
	{name: ColumnAPI, label: "API", dir: Asc, kind: KindKey, field: FieldKey,
		compare: func(a, b *Row) int { return CompareKeys(a.KeyName, a.KeyPrefix, b.KeyName, b.KeyPrefix) },
		text:    func(r *Row) string { return r.KeyName }},
	{name: ColumnMethod, label: "Method", dir: Asc, kind: KindText, field: FieldMethod,
		compare: func(a, b *Row) int { return strings.Compare(a.Method, b.Method) },
		text:    func(r *Row) string { return r.Method }},
	{name: ColumnEndpoint, label: "Endpoint", dir: Asc, kind: KindText, field: FieldEndpoint,
		compare: func(a, b *Row) int { return strings.Compare(a.Endpoint, b.Endpoint) },
		text:    func(r *Row) string { return r.Endpoint }},
	{name: ColumnStatus, label: "Status", dir: Asc, kind: KindNumber, field: FieldStatus,
		compare: func(a, b *Row) int { return cmp.Compare(a.Status, b.Status) },
		text:    func(r *Row) string { return strconv.Itoa(r.Status) }},
	{name: ColumnError, label: "Error code", dir: Asc, kind: KindText, field: FieldError,
		compare: func(a, b *Row) int { return strings.Compare(a.ErrorCode, b.ErrorCode) },
		empty:   func(r *Row) bool { return r.ErrorCode == "" },
		text:    func(r *Row) string { return r.ErrorCode }},
	{name: ColumnIP, label: "IP hash", dir: Asc, kind: KindText, field: FieldIP,
		compare: func(a, b *Row) int { return strings.Compare(a.IPHash, b.IPHash) },
		text:    func(r *Row) string { return r.IPHash }},
	{name: ColumnDuration, label: "Duration", dir: Desc, kind: KindNumber,
		compare: func(a, b *Row) int { return cmp.Compare(a.Duration, b.Duration) },
		text:    func(r *Row) string { return FormatDuration(r.Duration) }},
	{name: ColumnTime, label: "Timestamp", dir: Desc, kind: KindNumber,
		compare: func(a, b *Row) int { return a.Time.Compare(b.Time) },
		text:    func(r *Row) string { return r.Time.UTC().Format(time.RFC3339Nano) }},
}

// Columns lists the sortable columns in page order. It is a copy of the
// column table: changing it changes no rule of this package (a Logs page
// takes its own copy when it is made).
var Columns = func() []Column {
	out := make([]Column, len(columns))
	for i, c := range columns {
		out[i] = c.name
	}
	return out
}()

// index returns c's row of the column table, or -1.
func (c Column) index() int {
	if i, ok := columnIndex[c]; ok {
		return i
	}
	return -1
}

var columnIndex = func() map[Column]int {
	m := make(map[Column]int, len(columns))
	for i, c := range columns {
		m[c.name] = i
	}
	return m
}()

// Valid reports whether c is one of Columns.
func (c Column) Valid() bool { return c.index() >= 0 }

// Label returns the column's header on the page, e.g. "Error code"; "" for
// an unknown column.
func (c Column) Label() string {
	if i := c.index(); i >= 0 {
		return columns[i].label
	}
	return ""
}

// DefaultDir returns the direction of a first click on the column's
// header: descending for time and duration (newest, slowest first),
// ascending for the others.
func (c Column) DefaultDir() Direction {
	if i := c.index(); i >= 0 {
		return columns[i].dir
	}
	return Asc
}

// EmptyLast reports whether rows with an empty value of the column come
// after every other row in both directions (the error code column).
func (c Column) EmptyLast() bool {
	i := c.index()
	return i >= 0 && columns[i].empty != nil
}

// Kind returns how the column's values are kept and ordered; 0 for an
// unknown column.
func (c Column) Kind() ColumnKind {
	if i := c.index(); i >= 0 {
		return columns[i].kind
	}
	return 0
}

// Field returns the search field that holds a [KindText] column's values
// (FieldMethod, FieldEndpoint, FieldError, FieldIP), FieldKey for the API
// column, FieldStatus for status, and FieldAny otherwise.
func (c Column) Field() Field {
	if i := c.index(); i >= 0 {
		return columns[i].field
	}
	return FieldAny
}

// Text returns r's value of the column as a cell shows it when it has no
// richer form: the key's name, the status code in decimal, a duration by
// [FormatDuration], a time in RFC 3339 (UTC). "" for an unknown column.
func (c Column) Text(r *Row) string {
	if i := c.index(); i >= 0 {
		return columns[i].text(r)
	}
	return ""
}

// FormatDuration writes a request's duration as the page shows it, to
// three significant digits at most: "420 µs", "87 ms", "1.33 s", "12.5 s",
// "2 min 5 s", "1 h 2 min". The value is rounded before its unit is chosen,
// so 999.6 ms is "1.00 s", not "1000 ms".
func FormatDuration(d time.Duration) string {
	if d < 0 {
		if d == math.MinInt64 {
			d++ // its negation does not fit; a nanosecond less is the same text
		}
		return "-" + FormatDuration(-d)
	}
	switch {
	case d.Round(time.Microsecond) < time.Millisecond:
		return strconv.FormatInt(d.Round(time.Microsecond).Microseconds(), 10) + " µs"
	case d.Round(time.Millisecond) < time.Second:
		return strconv.FormatInt(d.Round(time.Millisecond).Milliseconds(), 10) + " ms"
	case d.Round(10*time.Millisecond) < 10*time.Second:
		return strconv.FormatFloat(d.Round(10*time.Millisecond).Seconds(), 'f', 2, 64) + " s"
	case d.Round(100*time.Millisecond) < time.Minute:
		return strconv.FormatFloat(d.Round(100*time.Millisecond).Seconds(), 'f', 1, 64) + " s"
	case d.Round(time.Second) < time.Hour:
		d = d.Round(time.Second)
		return strconv.Itoa(int(d/time.Minute)) + " min " + strconv.Itoa(int(d%time.Minute/time.Second)) + " s"
	}
	d = d.Round(time.Minute)
	return strconv.Itoa(int(d/time.Hour)) + " h " + strconv.Itoa(int(d%time.Hour/time.Minute)) + " min"
}

// columnNames is the list of names an error about an unknown column shows.
var columnNames = func() string {
	names := make([]string, len(columns))
	for i, c := range columns {
		names[i] = string(c.name)
	}
	return strings.Join(names, ", ")
}()

// Direction is a sort direction.
type Direction string

// The sort directions. The empty Direction is the column's default (see
// [Column.DefaultDir]).
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
// default sort. Errors are a [*QueryError] naming "sort" or "dir".
func ParseSort(column, dir string) (Sort, error) {
	return Sort{Column: Column(column), Dir: Direction(dir)}.Normalize()
}

// Normalize returns s with the defaults filled in, or a [*QueryError] that
// names an unknown column or direction.
func (s Sort) Normalize() (Sort, error) {
	if s.Column == "" {
		s.Column = ColumnTime
	}
	if !s.Column.Valid() {
		return Sort{}, badQuery(ParamSort, "%q is not a column: want one of %s", string(s.Column), columnNames)
	}
	switch s.Dir {
	case "":
		s.Dir = s.Column.DefaultDir()
	case Asc, Desc:
	default:
		return Sort{}, badQuery(ParamDir, "%q is not a direction: want asc or desc", string(s.Dir))
	}
	return s, nil
}

// Compare orders a before b (-1), after it (+1), or reports the same row
// (0, only when both have the same ID). s must be normalized.
func (s Sort) Compare(a, b *Row) int {
	if i := s.Column.index(); i >= 0 {
		col := &columns[i]
		if col.empty != nil {
			if ea, eb := col.empty(a), col.empty(b); ea != eb {
				if ea {
					return 1
				}
				return -1
			}
		}
		if c := s.Directed(col.compare(a, b)); c != 0 {
			return c
		}
	}
	return TieBreak(a.Time.UnixNano(), a.ID, b.Time.UnixNano(), b.ID)
}

// TextOrder returns the order of two values of the sort's text column
// (method, endpoint, error code or IP hash) in the sort's direction, without
// the tie breakers, empties last where the column says so. The column's
// rules are looked up once, for a store that compares many values.
func (s Sort) TextOrder() func(a, b string) int {
	emptyLast, desc := s.Column.EmptyLast(), s.Dir == Desc
	return func(a, b string) int {
		if emptyLast && (a == "") != (b == "") {
			if a == "" {
				return 1
			}
			return -1
		}
		if desc {
			return strings.Compare(b, a)
		}
		return strings.Compare(a, b)
	}
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
