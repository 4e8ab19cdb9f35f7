package apilog

import (
	"math"
	"strconv"
)

// Page sizes. The reference Logs page shows 500 rows per page; a host may
// choose any size from 1 to MaxPageSize.
const (
	DefaultPageSize = 500
	MaxPageSize     = 10000
)

// Page is one page of a query's result.
type Page struct {
	Rows       []Row
	Number     int // 1-based; may be past the last page, with no rows
	Size       int // rows per page
	TotalRows  int // rows that match the query, on all pages
	TotalPages int // at least 1: no rows is one empty page

	// MaxID is the row-ID bound the page was read at: the query's MaxID,
	// or, without one, the highest ID of the rows in the query's scope (its
	// account's, or every account's) when the store read the page; 0 when
	// there were none. Rows recorded later have higher IDs, so passing it
	// as Query.MaxID reads the next pages of the same rows. It is the
	// scope's and not the store's, which would tell a tenant how many
	// requests the others make.
	MaxID int64
}

// ParsePage parses a 1-based page number as it comes from a URL. Empty is
// page 1. Errors are a [*QueryError] that names the bad value.
func ParsePage(s string) (int, error) {
	if s == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || s[0] == '+' {
		return 0, badQuery(ParamPage, "%q: want a whole number from 1", s)
	}
	return n, nil
}

// ParsePageSize parses a page size as it comes from a URL or a setting.
// Empty is DefaultPageSize. Errors are a [*QueryError] that names the bad
// value.
func ParsePageSize(s string) (int, error) {
	if s == "" {
		return DefaultPageSize, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxPageSize || s[0] == '+' {
		return 0, badQuery(ParamPageSize, "%q: want a whole number from 1 to %d", s, MaxPageSize)
	}
	return n, nil
}

// PageCount returns the number of pages total rows fill at size rows per
// page; no rows is one empty page.
func PageCount(total, size int) int {
	if total <= 0 || size <= 0 {
		return 1
	}
	return (total-1)/size + 1
}

// Window returns the offset of the first row of page number (1-based) at
// size rows per page, and the row limit. The offset saturates instead of
// overflowing, so a huge page number is simply past the last row.
func Window(number, size int) (offset, limit int) {
	if number < 1 || size < 1 {
		return 0, max(size, 0)
	}
	if number-1 > (math.MaxInt-size)/size {
		return math.MaxInt - size, size
	}
	return (number - 1) * size, size
}

// RangeText describes the rows on the page, "1,001–1,500 of 12,345", as
// the page footer shows it; an empty page is "0 of 12,345".
func (p Page) RangeText() string {
	if len(p.Rows) == 0 {
		return "0 of " + FormatCount(p.TotalRows)
	}
	first, _ := Window(p.Number, p.Size)
	return FormatCount(first+1) + "–" + FormatCount(first+len(p.Rows)) + " of " + FormatCount(p.TotalRows)
}

// PageText describes the page's position, "Page 3 of 25".
func (p Page) PageText() string {
	return "Page " + FormatCount(p.Number) + " of " + FormatCount(p.TotalPages)
}

// FormatCount writes n in decimal with a comma between groups of three
// digits, "12,345", as the page shows counts.
func FormatCount(n int) string {
	s := strconv.Itoa(n)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3+1)
	if neg {
		out = append(out, '-')
	}
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
