package apilog_test

import (
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apilog/apilog"
)

func TestParsePage(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int
	}{
		{"", 1},
		{"1", 1},
		{"25", 25},
		{"1000000", 1000000},
	} {
		if got, err := apilog.ParsePage(tt.in); err != nil || got != tt.want {
			t.Errorf("ParsePage(%q) = %d, %v; want %d, nil", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"0", "-1", "abc", "1.5", "+5", "1e3", " 1", "1 ", "99999999999999999999", "0x10"} {
		got, err := apilog.ParsePage(in)
		if err == nil {
			t.Errorf("ParsePage(%q) = %d, want an error", in, got)
			continue
		}
		if !errors.Is(err, apilog.ErrBadQuery) {
			t.Errorf("ParsePage(%q) error %q does not wrap ErrBadQuery", in, err)
		}
		if want := strconv.Quote(in); !strings.Contains(err.Error(), want) {
			t.Errorf("ParsePage(%q) error %q does not name %s", in, err, want)
		}
	}
}

func TestParsePageSize(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int
	}{
		{"", apilog.DefaultPageSize},
		{"", 500},
		{"1", 1},
		{"500", 500},
		{"10000", 10000},
	} {
		if got, err := apilog.ParsePageSize(tt.in); err != nil || got != tt.want {
			t.Errorf("ParsePageSize(%q) = %d, %v; want %d, nil", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"10001", "0", "-1", "abc", "2.5", "99999999999999999999"} {
		got, err := apilog.ParsePageSize(in)
		if err == nil {
			t.Errorf("ParsePageSize(%q) = %d, want an error", in, got)
			continue
		}
		if !errors.Is(err, apilog.ErrBadQuery) {
			t.Errorf("ParsePageSize(%q) error %q does not wrap ErrBadQuery", in, err)
		}
		if want := strconv.Quote(in); !strings.Contains(err.Error(), want) {
			t.Errorf("ParsePageSize(%q) error %q does not name %s", in, err, want)
		}
	}
}

func TestPageCount(t *testing.T) {
	for _, tt := range []struct{ total, size, want int }{
		{0, 500, 1},
		{-1, 500, 1},
		{1, 500, 1},
		{499, 500, 1},
		{500, 500, 1},
		{501, 500, 2},
		{1000, 500, 2},
		{1001, 500, 3},
		{12345, 500, 25},
		{1001, 1, 1001},
		{10, 0, 1},
		{math.MaxInt, 1, math.MaxInt},
		{math.MaxInt, 10000, math.MaxInt/10000 + 1},
	} {
		if got := apilog.PageCount(tt.total, tt.size); got != tt.want {
			t.Errorf("PageCount(%d, %d) = %d, want %d", tt.total, tt.size, got, tt.want)
		}
	}
}

func TestWindow(t *testing.T) {
	for _, tt := range []struct{ number, size, offset, limit int }{
		{1, 500, 0, 500},
		{2, 500, 500, 500},
		{3, 500, 1000, 500},
		{25, 500, 12000, 500},
		{3, 25, 50, 25},
		{0, 500, 0, 500},
		{-1, 500, 0, 500},
		{1, 0, 0, 0},
		{1, -5, 0, 0},
		{math.MaxInt, 500, math.MaxInt - 500, 500},
		{math.MaxInt, 1, math.MaxInt - 1, 1},
		{math.MaxInt, apilog.MaxPageSize, math.MaxInt - apilog.MaxPageSize, apilog.MaxPageSize},
		// The last page number that does not saturate, and the first that does.
		{(math.MaxInt-500)/500 + 1, 500, (math.MaxInt - 500) / 500 * 500, 500},
		{(math.MaxInt-500)/500 + 2, 500, math.MaxInt - 500, 500},
	} {
		off, lim := apilog.Window(tt.number, tt.size)
		if off != tt.offset || lim != tt.limit {
			t.Errorf("Window(%d, %d) = %d, %d; want %d, %d", tt.number, tt.size, off, lim, tt.offset, tt.limit)
		}
	}
	// Offsets never go down as the page number grows, and offset+limit never
	// overflows.
	for _, size := range []int{1, 7, 500, apilog.MaxPageSize} {
		numbers := []int{1, 2, 1 << 20, 1 << 40, math.MaxInt - 1, math.MaxInt}
		for d := range 3 {
			if n := math.MaxInt/size + d; n > 0 { // no wrap around for size 1
				numbers = append(numbers, n)
			}
		}
		slices.Sort(numbers)
		prev := -1
		for _, n := range numbers {
			off, lim := apilog.Window(n, size)
			if off < prev {
				t.Errorf("Window(%d, %d) offset %d is below the previous page's %d", n, size, off, prev)
			}
			if off < 0 || lim != size || off > math.MaxInt-lim {
				t.Errorf("Window(%d, %d) = %d, %d: overflows", n, size, off, lim)
			}
			prev = off
		}
		if off, _ := apilog.Window(math.MaxInt, size); off < 1<<53 {
			t.Errorf("Window(MaxInt, %d) offset %d is within a realistic total", size, off)
		}
	}
}

func TestPageText(t *testing.T) {
	rows := func(n int) []apilog.Row { return make([]apilog.Row, n) }
	tests := []struct {
		name      string
		page      apilog.Page
		rangeText string
		pageText  string
	}{
		{"first page", apilog.Page{Rows: rows(500), Number: 1, Size: 500, TotalRows: 12345, TotalPages: 25}, "1–500 of 12,345", "Page 1 of 25"},
		{"third page", apilog.Page{Rows: rows(500), Number: 3, Size: 500, TotalRows: 12345, TotalPages: 25}, "1,001–1,500 of 12,345", "Page 3 of 25"},
		{"last page", apilog.Page{Rows: rows(345), Number: 25, Size: 500, TotalRows: 12345, TotalPages: 25}, "12,001–12,345 of 12,345", "Page 25 of 25"},
		{"one row", apilog.Page{Rows: rows(1), Number: 1, Size: 500, TotalRows: 1, TotalPages: 1}, "1–1 of 1", "Page 1 of 1"},
		{"empty", apilog.Page{Number: 1, Size: 500, TotalPages: 1}, "0 of 0", "Page 1 of 1"},
		{"zero page", apilog.Page{}, "0 of 0", "Page 0 of 0"},
		{"past the last page", apilog.Page{Number: 26, Size: 500, TotalRows: 12345, TotalPages: 25}, "0 of 12,345", "Page 26 of 25"},
		{"far past the last page", apilog.Page{Number: math.MaxInt, Size: 500, TotalRows: 12345, TotalPages: 25}, "0 of 12,345", "Page " + apilog.FormatCount(math.MaxInt) + " of 25"},
		{"big numbers", apilog.Page{Rows: rows(10), Number: 1001, Size: 10, TotalRows: 1234567, TotalPages: 123457}, "10,001–10,010 of 1,234,567", "Page 1,001 of 123,457"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.page.RangeText(); got != tt.rangeText {
				t.Errorf("RangeText() = %q, want %q", got, tt.rangeText)
			}
			if got := tt.page.PageText(); got != tt.pageText {
				t.Errorf("PageText() = %q, want %q", got, tt.pageText)
			}
		})
	}
}

func TestFormatCount(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{
		{0, "0"},
		{7, "7"},
		{999, "999"},
		{1000, "1,000"},
		{9999, "9,999"},
		{12345, "12,345"},
		{123456, "123,456"},
		{1234567, "1,234,567"},
		{-1, "-1"},
		{-999, "-999"},
		{-1000, "-1,000"},
		{-1234, "-1,234"},
		{-123456, "-123,456"},
	}
	if strconv.IntSize == 64 {
		tests = append(tests,
			struct {
				n    int
				want string
			}{math.MaxInt64, "9,223,372,036,854,775,807"},
			struct {
				n    int
				want string
			}{math.MinInt64, "-9,223,372,036,854,775,808"},
		)
	}
	for _, tt := range tests {
		if got := apilog.FormatCount(tt.n); got != tt.want {
			t.Errorf("FormatCount(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestQueryNormalize(t *testing.T) {
	from := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		q    apilog.Query
		want apilog.Query
	}{
		{"defaults", apilog.Query{Account: "a"},
			apilog.Query{Account: "a", Sort: apilog.DefaultSort, Page: 1, PageSize: apilog.DefaultPageSize}},
		{"all accounts", apilog.Query{AllAccounts: true},
			apilog.Query{AllAccounts: true, Sort: apilog.DefaultSort, Page: 1, PageSize: 500}},
		{"kept", apilog.Query{Account: "a", Page: 7, PageSize: 25, Sort: apilog.Sort{Column: apilog.ColumnStatus, Dir: apilog.Desc}},
			apilog.Query{Account: "a", Page: 7, PageSize: 25, Sort: apilog.Sort{Column: apilog.ColumnStatus, Dir: apilog.Desc}}},
		{"sort direction default", apilog.Query{Account: "a", Sort: apilog.Sort{Column: apilog.ColumnAPI}},
			apilog.Query{Account: "a", Page: 1, PageSize: 500, Sort: apilog.Sort{Column: apilog.ColumnAPI, Dir: apilog.Asc}}},
		{"max page size", apilog.Query{Account: "a", PageSize: apilog.MaxPageSize},
			apilog.Query{Account: "a", Page: 1, PageSize: 10000, Sort: apilog.DefaultSort}},
		{"empty time range", apilog.Query{Account: "a", From: from, To: from},
			apilog.Query{Account: "a", From: from, To: from, Page: 1, PageSize: 500, Sort: apilog.DefaultSort}},
		{"every class", apilog.Query{Account: "a", StatusClasses: []apilog.StatusClass{apilog.StatusOther, apilog.StatusServerError}},
			apilog.Query{Account: "a", StatusClasses: []apilog.StatusClass{apilog.StatusOther, apilog.StatusServerError}, Page: 1, PageSize: 500, Sort: apilog.DefaultSort}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.q.Normalize()
			if err != nil {
				t.Fatalf("Normalize() error: %v", err)
			}
			if got.Account != tt.want.Account || got.AllAccounts != tt.want.AllAccounts ||
				got.Sort != tt.want.Sort || got.Page != tt.want.Page || got.PageSize != tt.want.PageSize ||
				!got.From.Equal(tt.want.From) || !got.To.Equal(tt.want.To) || !got.Now.IsZero() ||
				!slices.Equal(got.StatusClasses, tt.want.StatusClasses) {
				t.Errorf("Normalize() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestQueryNormalizeErrors(t *testing.T) {
	from := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		q     apilog.Query
		param apilog.Param
		want  string
	}{
		{"no scope", apilog.Query{}, apilog.ParamAccount, "no account"},
		{"two scopes", apilog.Query{Account: "acct_7", AllAccounts: true}, apilog.ParamAccount, `"acct_7"`},
		{"negative page", apilog.Query{Account: "a", Page: -1}, apilog.ParamPage, "-1"},
		{"negative page size", apilog.Query{Account: "a", PageSize: -1}, apilog.ParamPageSize, "-1"},
		{"page size too big", apilog.Query{Account: "a", PageSize: 10001}, apilog.ParamPageSize, "10001"},
		{"negative row-ID bound", apilog.Query{Account: "a", MaxID: -5}, apilog.ParamMaxID, "-5"},
		{"backwards range", apilog.Query{Account: "a", From: from, To: from.Add(-time.Second)}, apilog.ParamTo, "2024-12-31T23:59:59Z"},
		{"bad class", apilog.Query{Account: "a", StatusClasses: []apilog.StatusClass{apilog.StatusSuccess, 5}}, apilog.ParamStatus, "status class 5"},
		{"negative class", apilog.Query{Account: "a", StatusClasses: []apilog.StatusClass{-1}}, apilog.ParamStatus, "status class -1"},
		{"too many methods", apilog.Query{Account: "a", Methods: make([]string, 1001)}, apilog.ParamMethod, "1001 methods"},
		{"bad sort column", apilog.Query{Account: "a", Sort: apilog.Sort{Column: "secret"}}, apilog.ParamSort, `"secret"`},
		{"bad sort direction", apilog.Query{Account: "a", Sort: apilog.Sort{Dir: "up"}}, apilog.ParamDir, `"up"`},
		{"hand-made search", apilog.Query{Account: "a", Search: apilog.Search{Terms: []apilog.Term{{Text: "NOT FOLDED"}}}}, apilog.ParamSearch, "not folded"},
		{"hand-made backwards duration", apilog.Query{Account: "a", Search: apilog.Search{Terms: []apilog.Term{{Field: apilog.FieldDuration, DurationMin: 2, DurationMax: 1}}}}, apilog.ParamSearch, "duration range 2ns-1ns is empty or negative"},
		{"hand-made negative duration", apilog.Query{Account: "a", Search: apilog.Search{Terms: []apilog.Term{{Field: apilog.FieldDuration, DurationMin: -1, DurationMax: 1}}}}, apilog.ParamSearch, "empty or negative"},
		{"hand-made request ID term without one", apilog.Query{Account: "a", Search: apilog.Search{Terms: []apilog.Term{{Field: apilog.FieldRequestID, Text: "x"}}}}, apilog.ParamSearch, "request ID term needs Exact"},
		{"hand-made request ID term with text", apilog.Query{Account: "a", Search: apilog.Search{Terms: []apilog.Term{{Field: apilog.FieldRequestID, Text: "x", Exact: "x"}}}}, apilog.ParamSearch, "no Text"},
		{"hand-made plain term, exact text of another", apilog.Query{Account: "a", Search: apilog.Search{Terms: []apilog.Term{{Text: "x", Exact: "Y"}}}}, apilog.ParamSearch, `"Y" does not fold to its text "x"`},
		{"hand-made key term with exact text", apilog.Query{Account: "a", Search: apilog.Search{Terms: []apilog.Term{{Field: apilog.FieldKey, Text: "x", Exact: "X"}}}}, apilog.ParamSearch, "a key: term has no exact text"},
		{"hand-made status term with exact text", apilog.Query{Account: "a", Search: apilog.Search{Terms: []apilog.Term{{Field: apilog.FieldStatus, StatusMin: 400, StatusMax: 499, Exact: "4xx"}}}}, apilog.ParamSearch, "a status: term has no exact text"},
		{"hand-made duration term with exact text", apilog.Query{Account: "a", Search: apilog.Search{Terms: []apilog.Term{{Field: apilog.FieldDuration, DurationMin: 1, DurationMax: 2, Exact: ">1s"}}}}, apilog.ParamSearch, "a duration: term has no exact text"},
		{"hand-made unknown field", apilog.Query{Account: "a", Search: apilog.Search{Terms: []apilog.Term{{Field: apilog.FieldRequestID + 1, Text: "x"}}}}, apilog.ParamSearch, "unknown field 9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.q.Normalize()
			if err == nil {
				t.Fatalf("Normalize() = nil error, want one containing %q", tt.want)
			}
			var qe *apilog.QueryError
			if !errors.As(err, &qe) || !errors.Is(err, apilog.ErrBadQuery) {
				t.Fatalf("Normalize() error %#v is not a *QueryError wrapping ErrBadQuery", err)
			}
			if qe.Param != tt.param || !strings.Contains(qe.Message, tt.want) {
				t.Errorf("Normalize() error about %q: %q; want one about %q containing %q", qe.Param, qe.Message, tt.param, tt.want)
			}
			if _, err := tt.q.Apply(nil); !errors.As(err, &qe) {
				t.Errorf("Apply() error = %v, want a *QueryError", err)
			}
		})
	}
}

func TestQueryApply(t *testing.T) {
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	row := func(id int64, account string, status int, minute int) apilog.Row {
		return apilog.Row{Entry: apilog.Entry{
			ID: id, Account: account, Method: "GET", Endpoint: "/v1/x",
			Status: status, Time: base.Add(time.Duration(minute) * time.Minute),
		}}
	}
	rows := []apilog.Row{
		row(1, "a", 200, 1),
		row(2, "a", 404, 2),
		row(3, "b", 500, 3), // another tenant
		row(4, "a", 500, 4),
		row(5, "a", 201, 5),
		row(6, "a", 404, 6),
		row(7, "a", 302, 7),
	}
	orig := slices.Clone(rows)
	ids := func(rs []apilog.Row) []int64 {
		var out []int64
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	tests := []struct {
		name       string
		q          apilog.Query
		want       []int64
		number     int
		size       int
		totalRows  int
		totalPages int
	}{
		{"default: newest first, scoped", apilog.Query{Account: "a"}, []int64{7, 6, 5, 4, 2, 1}, 1, 500, 6, 1},
		{"all accounts", apilog.Query{AllAccounts: true}, []int64{7, 6, 5, 4, 3, 2, 1}, 1, 500, 7, 1},
		{"status ascending, ties newest first", apilog.Query{Account: "a", Sort: apilog.Sort{Column: apilog.ColumnStatus}},
			[]int64{1, 5, 7, 6, 2, 4}, 1, 500, 6, 1},
		{"second page of two", apilog.Query{Account: "a", Sort: apilog.Sort{Column: apilog.ColumnStatus}, Page: 2, PageSize: 2},
			[]int64{7, 6}, 2, 2, 6, 3},
		{"last partial page", apilog.Query{Account: "a", Page: 2, PageSize: 4}, []int64{2, 1}, 2, 4, 6, 2},
		{"page past the end", apilog.Query{Account: "a", Page: 4, PageSize: 2}, nil, 4, 2, 6, 3},
		{"huge page", apilog.Query{Account: "a", Page: math.MaxInt, PageSize: 2}, nil, math.MaxInt, 2, 6, 3},
		{"filter and sort", apilog.Query{Account: "a",
			StatusClasses: []apilog.StatusClass{apilog.StatusClientError, apilog.StatusServerError},
			Sort:          apilog.Sort{Column: apilog.ColumnTime, Dir: apilog.Asc}}, []int64{2, 4, 6}, 1, 500, 3, 1},
		{"time range", apilog.Query{Account: "a", From: base.Add(2 * time.Minute), To: base.Add(6 * time.Minute)}, []int64{5, 4, 2}, 1, 500, 3, 1},
		{"search", apilog.Query{Account: "a", Search: mustParseSearch(t, "-status:2xx -status:3xx")}, []int64{6, 4, 2}, 1, 500, 3, 1},
		{"no match", apilog.Query{Account: "c"}, nil, 1, 500, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.q.Apply(rows)
			if err != nil {
				t.Fatalf("Apply() error: %v", err)
			}
			if got := ids(p.Rows); !slices.Equal(got, tt.want) {
				t.Errorf("Apply() rows = %v, want %v", got, tt.want)
			}
			if p.Number != tt.number || p.Size != tt.size || p.TotalRows != tt.totalRows || p.TotalPages != tt.totalPages {
				t.Errorf("Apply() page %d, size %d, %d rows, %d pages; want %d, %d, %d, %d",
					p.Number, p.Size, p.TotalRows, p.TotalPages, tt.number, tt.size, tt.totalRows, tt.totalPages)
			}
			if !slices.EqualFunc(rows, orig, func(a, b apilog.Row) bool { return a.ID == b.ID }) {
				t.Errorf("Apply() reordered its input: %v", ids(rows))
			}
		})
	}
}

func mustParseSearch(t testing.TB, s string) apilog.Search {
	t.Helper()
	q, err := apilog.ParseSearch(s, fakeHasher{})
	if err != nil {
		t.Fatalf("ParseSearch(%q): %v", s, err)
	}
	return q
}
