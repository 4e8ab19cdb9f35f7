package apilog_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apilog/apilog"
)

func TestParseSort(t *testing.T) {
	tests := []struct {
		column, dir string
		want        apilog.Sort
	}{
		{"", "", apilog.Sort{Column: apilog.ColumnTime, Dir: apilog.Desc}},
		{"", "asc", apilog.Sort{Column: apilog.ColumnTime, Dir: apilog.Asc}},
		{"time", "", apilog.Sort{Column: apilog.ColumnTime, Dir: apilog.Desc}},
		{"time", "asc", apilog.Sort{Column: apilog.ColumnTime, Dir: apilog.Asc}},
		{"time", "desc", apilog.Sort{Column: apilog.ColumnTime, Dir: apilog.Desc}},
		{"api", "", apilog.Sort{Column: apilog.ColumnAPI, Dir: apilog.Asc}},
		{"method", "", apilog.Sort{Column: apilog.ColumnMethod, Dir: apilog.Asc}},
		{"endpoint", "", apilog.Sort{Column: apilog.ColumnEndpoint, Dir: apilog.Asc}},
		{"status", "", apilog.Sort{Column: apilog.ColumnStatus, Dir: apilog.Asc}},
		{"status", "desc", apilog.Sort{Column: apilog.ColumnStatus, Dir: apilog.Desc}},
		{"error", "", apilog.Sort{Column: apilog.ColumnError, Dir: apilog.Asc}},
		{"ip", "desc", apilog.Sort{Column: apilog.ColumnIP, Dir: apilog.Desc}},
	}
	for _, tt := range tests {
		got, err := apilog.ParseSort(tt.column, tt.dir)
		if err != nil || got != tt.want {
			t.Errorf("ParseSort(%q, %q) = %+v, %v; want %+v, nil", tt.column, tt.dir, got, err, tt.want)
		}
	}
	if got, err := (apilog.Sort{}).Normalize(); err != nil || got != apilog.DefaultSort {
		t.Errorf("Sort{}.Normalize() = %+v, %v; want DefaultSort %+v", got, err, apilog.DefaultSort)
	}
	// Every listed column parses by its own name.
	for _, c := range apilog.Columns {
		if got, err := apilog.ParseSort(string(c), "asc"); err != nil || got.Column != c {
			t.Errorf("ParseSort(%q, asc) = %+v, %v", c, got, err)
		}
	}
}

func TestParseSortErrors(t *testing.T) {
	tests := []struct {
		column, dir string
		want        string // the bad value, quoted
	}{
		{"secret", "", `"secret"`},
		{"secret", "asc", `"secret"`},
		{"key_id", "", `"key_id"`},
		{"time", "up", `"up"`},
		{"", "up", `"up"`},
		{"status", "ascending", `"ascending"`},
	}
	for _, tt := range tests {
		got, err := apilog.ParseSort(tt.column, tt.dir)
		if err == nil {
			t.Errorf("ParseSort(%q, %q) = %+v, want an error", tt.column, tt.dir, got)
			continue
		}
		if !errors.Is(err, apilog.ErrBadQuery) {
			t.Errorf("ParseSort(%q, %q) error %q does not wrap ErrBadQuery", tt.column, tt.dir, err)
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseSort(%q, %q) error %q does not name %s", tt.column, tt.dir, err, tt.want)
		}
		if got != (apilog.Sort{}) {
			t.Errorf("ParseSort(%q, %q) = %+v with its error, want the zero Sort", tt.column, tt.dir, got)
		}
	}
}

// sortRow is a row with one column set; the others are zero. ID and time
// are set so that ties are broken predictably.
func sortRow(id int64, tm time.Time, set func(r *apilog.Row)) apilog.Row {
	r := apilog.Row{Entry: apilog.Entry{ID: id, Account: "acct_1", Method: "GET", Status: 200, Time: tm}}
	if set != nil {
		set(&r)
	}
	return r
}

func TestSortCompare(t *testing.T) {
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	older, newer := base, base.Add(time.Second)
	key := func(name, prefix string) func(r *apilog.Row) {
		return func(r *apilog.Row) { r.KeyName, r.KeyPrefix = name, prefix }
	}
	method := func(m string) func(r *apilog.Row) { return func(r *apilog.Row) { r.Method = m } }
	endpoint := func(e string) func(r *apilog.Row) { return func(r *apilog.Row) { r.Endpoint = e } }
	status := func(s int) func(r *apilog.Row) { return func(r *apilog.Row) { r.Status = s } }
	errCode := func(c string) func(r *apilog.Row) { return func(r *apilog.Row) { r.ErrorCode = c } }
	ip := func(h string) func(r *apilog.Row) { return func(r *apilog.Row) { r.IPHash = h } }

	tests := []struct {
		name     string
		column   apilog.Column
		a, b     apilog.Row
		asc, dsc int // Compare(a, b) ascending and descending
	}{
		// Time: chronological.
		{"time", apilog.ColumnTime, sortRow(1, older, nil), sortRow(2, newer, nil), -1, 1},
		{"time by ns", apilog.ColumnTime, sortRow(2, older, nil), sortRow(1, older.Add(1), nil), -1, 1},
		{"time tie: higher id first both ways", apilog.ColumnTime, sortRow(2, older, nil), sortRow(1, older, nil), -1, -1},
		{"time same instant in other zone is a tie", apilog.ColumnTime,
			sortRow(1, older.In(time.FixedZone("X", 3600)), nil), sortRow(2, older, nil), 1, 1},

		// Status: numeric.
		{"status", apilog.ColumnStatus, sortRow(1, older, status(200)), sortRow(2, older, status(404)), -1, 1},
		{"status numeric not text", apilog.ColumnStatus, sortRow(1, older, status(99)), sortRow(2, older, status(100)), -1, 1},

		// Method, endpoint, IP: byte order.
		{"method", apilog.ColumnMethod, sortRow(1, older, method("DELETE")), sortRow(2, older, method("GET")), -1, 1},
		{"method POST PUT", apilog.ColumnMethod, sortRow(1, older, method("POST")), sortRow(2, older, method("PUT")), -1, 1},
		{"endpoint", apilog.ColumnEndpoint, sortRow(1, older, endpoint("/v1/a")), sortRow(2, older, endpoint("/v1/b")), -1, 1},
		{"endpoint is byte order", apilog.ColumnEndpoint, sortRow(1, older, endpoint("/v1/B")), sortRow(2, older, endpoint("/v1/a")), -1, 1},
		{"endpoint prefix first", apilog.ColumnEndpoint, sortRow(1, older, endpoint("/v1")), sortRow(2, older, endpoint("/v1/")), -1, 1},
		{"ip", apilog.ColumnIP, sortRow(1, older, ip("0a")), sortRow(2, older, ip("ff")), -1, 1},
		{"ip is byte order", apilog.ColumnIP, sortRow(1, older, ip("FF")), sortRow(2, older, ip("aa")), -1, 1},

		// Error: alphabetical, empty last in both directions.
		{"error", apilog.ColumnError, sortRow(1, older, errCode("BSE4001")), sortRow(2, older, errCode("BSE5000")), -1, 1},
		{"error empty last", apilog.ColumnError, sortRow(1, newer, errCode("")), sortRow(2, older, errCode("BSE4001")), 1, 1},
		{"error empty last, reversed", apilog.ColumnError, sortRow(1, older, errCode("ZZZ")), sortRow(2, newer, errCode("")), -1, -1},
		{"error both empty: tie", apilog.ColumnError, sortRow(1, older, nil), sortRow(2, newer, nil), 1, 1},

		// API: key name folded, then prefix in byte order.
		{"api name", apilog.ColumnAPI, sortRow(1, older, key("alpha", "")), sortRow(2, older, key("beta", "")), -1, 1},
		{"api name case-insensitive", apilog.ColumnAPI, sortRow(1, older, key("alpha", "")), sortRow(2, older, key("Beta", "")), -1, 1},
		{"api name case-insensitive, reversed", apilog.ColumnAPI, sortRow(1, older, key("Zeta", "")), sortRow(2, older, key("beta", "")), 1, -1},
		{"api same name: prefix", apilog.ColumnAPI, sortRow(1, older, key("Prod", "bye_B")), sortRow(2, older, key("prod", "bye_A")), 1, -1},
		{"api prefix is byte order", apilog.ColumnAPI, sortRow(1, older, key("prod", "bye_Z")), sortRow(2, older, key("prod", "bye_a")), -1, 1},
		{"api name before prefix", apilog.ColumnAPI, sortRow(1, older, key("a", "z")), sortRow(2, older, key("b", "a")), -1, 1},
		{"api kelvin sign equals k", apilog.ColumnAPI, sortRow(1, older, key("\u212Aey", "p2")), sortRow(2, older, key("key", "p1")), 1, -1},
		{"api unknown key first ascending", apilog.ColumnAPI, sortRow(1, older, nil), sortRow(2, older, key("a", "")), -1, 1},
		{"api unknown keys tie", apilog.ColumnAPI, sortRow(1, older, nil), sortRow(2, older, nil), 1, 1},
		{"api same key: tie", apilog.ColumnAPI, sortRow(1, newer, key("k", "p")), sortRow(2, older, key("K", "p")), -1, -1},

		// Ties on the column: time descending, then ID descending, the
		// same in both directions.
		{"tie: newer first", apilog.ColumnStatus, sortRow(1, newer, nil), sortRow(2, older, nil), -1, -1},
		{"tie: older second", apilog.ColumnMethod, sortRow(9, older, nil), sortRow(1, newer, nil), 1, 1},
		{"tie: higher id first", apilog.ColumnEndpoint, sortRow(3, older, nil), sortRow(2, older, nil), -1, -1},
		{"tie: lower id second", apilog.ColumnIP, sortRow(2, older, nil), sortRow(3, older, nil), 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range []struct {
				dir  apilog.Direction
				want int
			}{{apilog.Asc, tt.asc}, {apilog.Desc, tt.dsc}} {
				s := apilog.Sort{Column: tt.column, Dir: c.dir}
				if got := s.Compare(&tt.a, &tt.b); got != c.want {
					t.Errorf("%s %s: Compare(a, b) = %d, want %d", tt.column, c.dir, got, c.want)
				}
				if got := s.Compare(&tt.b, &tt.a); got != -c.want {
					t.Errorf("%s %s: Compare(b, a) = %d, want %d", tt.column, c.dir, got, -c.want)
				}
				if got := s.Compare(&tt.a, &tt.a); got != 0 {
					t.Errorf("%s %s: Compare(a, a) = %d, want 0", tt.column, c.dir, got)
				}
			}
		})
	}
}

func TestCompareKeys(t *testing.T) {
	tests := []struct {
		nameA, prefixA, nameB, prefixB string
		want                           int
	}{
		{"", "", "", "", 0},
		{"", "", "a", "", -1},
		{"a", "p", "A", "p", 0},
		{"a", "P", "A", "p", -1},
		{"ſ", "x", "S", "x", 0},
		{"b", "a", "a", "z", 1},
	}
	for _, tt := range tests {
		if got := apilog.CompareKeys(tt.nameA, tt.prefixA, tt.nameB, tt.prefixB); got != tt.want {
			t.Errorf("CompareKeys(%q, %q, %q, %q) = %d, want %d", tt.nameA, tt.prefixA, tt.nameB, tt.prefixB, got, tt.want)
		}
	}
}

func TestTieBreak(t *testing.T) {
	tests := []struct {
		timeA, idA, timeB, idB int64
		want                   int
	}{
		{10, 1, 10, 1, 0},
		{20, 1, 10, 2, -1}, // newer first
		{10, 2, 20, 1, 1},
		{10, 2, 10, 1, -1}, // then higher ID first
		{10, 1, 10, 2, 1},
		{-5, 1, 5, 1, 1},
	}
	for _, tt := range tests {
		if got := apilog.TieBreak(tt.timeA, tt.idA, tt.timeB, tt.idB); got != tt.want {
			t.Errorf("TieBreak(%d, %d, %d, %d) = %d, want %d", tt.timeA, tt.idA, tt.timeB, tt.idB, got, tt.want)
		}
	}
}

func TestSortTextOrder(t *testing.T) {
	errAsc := apilog.Sort{Column: apilog.ColumnError, Dir: apilog.Asc}
	errDesc := apilog.Sort{Column: apilog.ColumnError, Dir: apilog.Desc}
	ipAsc := apilog.Sort{Column: apilog.ColumnIP, Dir: apilog.Asc}
	tests := []struct {
		s    apilog.Sort
		a, b string
		want int
	}{
		{errAsc, "A", "B", -1},
		{errDesc, "A", "B", 1},
		{errAsc, "", "B", 1},
		{errDesc, "", "B", 1},
		{errAsc, "B", "", -1},
		{errDesc, "B", "", -1},
		{errAsc, "", "", 0},
		{ipAsc, "", "a", -1}, // only the error column puts empty last
		{ipAsc, "a", "a", 0},
	}
	for _, tt := range tests {
		if got := tt.s.TextOrder()(tt.a, tt.b); got != tt.want {
			t.Errorf("%+v.TextOrder()(%q, %q) = %d, want %d", tt.s, tt.a, tt.b, got, tt.want)
		}
	}
}

// randomRows returns n rows with distinct IDs and few distinct values per
// column, so that many pairs tie on the column and on time.
func randomRows(n int, seed uint64) []apilog.Row {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	rows := make([]apilog.Row, n)
	for i := range rows {
		rows[i] = apilog.Row{
			Entry: apilog.Entry{
				ID: int64(i + 1), Account: "acct_1",
				Method:    pick("GET", "POST", "PUT", "DELETE"),
				Endpoint:  pick("/v1/a", "/v1/B", "/v1/a/b", ""),
				Status:    []int{0, 200, 201, 404, 500, 999}[r.IntN(6)],
				ErrorCode: pick("", "", "BSE4006", "BSE5000", "bse"),
				IPHash:    pick("", "0a", "ff", "FF"),
				Time:      base.Add(time.Duration(r.IntN(4)) * time.Nanosecond),
			},
		}
		rows[i].KeyName, rows[i].KeyPrefix = pick("", "alpha", "Alpha", "beta", "\u212Aey", "key", "ß", "SS"), pick("", "bye_A", "bye_a")
	}
	return rows
}

// TestSortOrderIsTotal checks, for every column and direction, that Compare
// is a strict total order on rows with distinct IDs: antisymmetric, zero
// only for the same row, and transitive, so that sorting is well defined.
func TestSortOrderIsTotal(t *testing.T) {
	rows := randomRows(40, 1)
	for _, c := range apilog.Columns {
		for _, d := range []apilog.Direction{apilog.Asc, apilog.Desc} {
			s := apilog.Sort{Column: c, Dir: d}
			t.Run(fmt.Sprintf("%s_%s", c, d), func(t *testing.T) {
				for i := range rows {
					for j := range rows {
						a, b := &rows[i], &rows[j]
						ab, ba := s.Compare(a, b), s.Compare(b, a)
						if ab != -ba {
							t.Errorf("Compare(%d, %d) = %d but Compare(%d, %d) = %d", a.ID, b.ID, ab, b.ID, a.ID, ba)
						}
						if (ab == 0) != (i == j) {
							t.Errorf("Compare(%d, %d) = %d", a.ID, b.ID, ab)
						}
						if ab < -1 || ab > 1 {
							t.Errorf("Compare(%d, %d) = %d, want -1, 0 or 1", a.ID, b.ID, ab)
						}
					}
				}
				for i := range rows {
					for j := range rows {
						for k := range rows {
							a, b, c := &rows[i], &rows[j], &rows[k]
							if s.Compare(a, b) < 0 && s.Compare(b, c) < 0 && s.Compare(a, c) >= 0 {
								t.Fatalf("not transitive: %d < %d < %d but Compare(%d, %d) = %d", a.ID, b.ID, c.ID, a.ID, c.ID, s.Compare(a, c))
							}
						}
					}
				}
				sorted := slices.Clone(rows)
				slices.SortFunc(sorted, func(a, b apilog.Row) int { return s.Compare(&a, &b) })
				for i := range sorted {
					for j := i + 1; j < len(sorted); j++ {
						if got := s.Compare(&sorted[i], &sorted[j]); got >= 0 {
							t.Fatalf("after sorting, Compare(row %d at %d, row %d at %d) = %d", sorted[i].ID, i, sorted[j].ID, j, got)
						}
					}
				}
				// Descending is ascending reversed, but for the tie breakers
				// and the empty error codes, which keep their place.
				if d == apilog.Desc {
					return
				}
				desc := apilog.Sort{Column: c, Dir: apilog.Desc}
				for i := range rows {
					for j := range rows {
						a, b := &rows[i], &rows[j]
						primaryTie := s.Compare(a, b) == apilog.TieBreak(a.Time.UnixNano(), a.ID, b.Time.UnixNano(), b.ID)
						emptyErr := c == apilog.ColumnError && (a.ErrorCode == "") != (b.ErrorCode == "")
						if !primaryTie && !emptyErr && desc.Compare(a, b) != -s.Compare(a, b) {
							t.Errorf("rows %d, %d: asc %d, desc %d", a.ID, b.ID, s.Compare(a, b), desc.Compare(a, b))
						}
					}
				}
			})
		}
	}
}

// TestColumnsIsACopy: Columns is documented as a copy, so changing it does
// not change which columns ParseSort accepts.
func TestColumnsIsACopy(t *testing.T) {
	saved := slices.Clone(apilog.Columns)
	t.Cleanup(func() { copy(apilog.Columns, saved) })
	for i := range apilog.Columns {
		apilog.Columns[i] = "secret"
	}
	for _, c := range saved {
		if got, err := apilog.ParseSort(string(c), ""); err != nil || got.Column != c {
			t.Errorf("after changing Columns, ParseSort(%q) = %+v, %v", c, got, err)
		}
	}
	if _, err := apilog.ParseSort("secret", ""); err == nil {
		t.Errorf(`after changing Columns, ParseSort("secret") = nil error`)
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0 µs"},
		{420 * time.Microsecond, "420 µs"},
		{999 * time.Microsecond, "999 µs"},
		{time.Millisecond, "1 ms"},
		{87*time.Millisecond + 400*time.Microsecond, "87 ms"},
		{999*time.Millisecond + 400*time.Microsecond, "999 ms"},
		{1332 * time.Millisecond, "1.33 s"},
		{12500 * time.Millisecond, "12.5 s"},
		{125 * time.Second, "2 min 5 s"},
		{time.Hour + 2*time.Minute + 10*time.Second, "1 h 2 min"},
		{-87 * time.Millisecond, "-87 ms"},
		// Rounding picks the unit: never "1000 ms" or "60.0 s".
		{999*time.Millisecond + 600*time.Microsecond, "1.00 s"},
		{999*time.Microsecond + 600*time.Nanosecond, "1 ms"},
		{9995 * time.Millisecond, "10.0 s"},
		{59960 * time.Millisecond, "1 min 0 s"},
		{59*time.Minute + 59600*time.Millisecond, "1 h 0 min"},
		{math.MaxInt64, "2562047 h 47 min"},
		{math.MinInt64, "-2562047 h 47 min"},
	}
	for _, tt := range tests {
		if got := apilog.FormatDuration(tt.d); got != tt.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// TestColumnTable checks what every column of the table must have: a
// name that parses, a label, a default direction, a kind, and a cell text.
func TestColumnTable(t *testing.T) {
	seen := map[apilog.Column]bool{}
	r := matchRow
	for _, c := range apilog.Columns {
		if seen[c] {
			t.Errorf("column %q listed twice", c)
		}
		seen[c] = true
		if !c.Valid() || c.Label() == "" || c.Kind() == 0 {
			t.Errorf("column %q: valid %v, label %q, kind %d", c, c.Valid(), c.Label(), c.Kind())
		}
		if d := c.DefaultDir(); d != apilog.Asc && d != apilog.Desc {
			t.Errorf("column %q: default direction %q", c, d)
		}
		if got, err := apilog.ParseSort(string(c), ""); err != nil || got.Dir != c.DefaultDir() {
			t.Errorf("ParseSort(%q, \"\") = %+v, %v; want the default direction %q", c, got, err, c.DefaultDir())
		}
		if c.Kind() == apilog.KindText && c.Field() == apilog.FieldAny {
			t.Errorf("text column %q names no field", c)
		}
		if c.Text(&r) == "" {
			t.Errorf("column %q: no text for a row with every value", c)
		}
	}
	if c := apilog.Column("secret"); c.Valid() || c.Label() != "" || c.Kind() != 0 || c.Text(&r) != "" {
		t.Errorf("an unknown column is described: %v %q %d %q", c.Valid(), c.Label(), c.Kind(), c.Text(&r))
	}
	want := map[apilog.Column]string{apilog.ColumnStatus: "422", apilog.ColumnDuration: "1.50 s", apilog.ColumnAPI: "Production-API"}
	for c, w := range want {
		if got := c.Text(&r); got != w {
			t.Errorf("%s.Text = %q, want %q", c, got, w)
		}
	}
	// The error text lists every column, so it cannot fall behind the table.
	_, err := apilog.ParseSort("secret", "")
	for _, c := range apilog.Columns {
		if !strings.Contains(err.Error(), string(c)) {
			t.Errorf("the unknown-column error %q does not list %q", err, c)
		}
	}
}

// TestTextOrder checks the text order of every text column both ways,
// empties last where the column says so.
func TestTextOrder(t *testing.T) {
	for _, c := range apilog.Columns {
		if c.Kind() != apilog.KindText {
			continue
		}
		for _, dir := range []apilog.Direction{apilog.Asc, apilog.Desc} {
			order := apilog.Sort{Column: c, Dir: dir}.TextOrder()
			vals := []string{"b", "", "a", "c"}
			slices.SortFunc(vals, order)
			want := []string{"", "a", "b", "c"}
			if dir == apilog.Desc {
				want = []string{"c", "b", "a", ""}
			}
			if c.EmptyLast() {
				want = append(slices.DeleteFunc(want, func(s string) bool { return s == "" }), "")
			}
			if !slices.Equal(vals, want) {
				t.Errorf("%s %s: %q, want %q", c, dir, vals, want)
			}
		}
	}
}
