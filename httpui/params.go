package httpui

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apilog/apilog"
)

// ranges are the preset time ranges of the filter, by their URL value.
// They are relative to the moment a view is read (see view.AsOf).
var ranges = []struct {
	value, label string
	span         time.Duration
}{
	{"1h", "Last hour", time.Hour},
	{"24h", "Last 24 hours", 24 * time.Hour},
	{"7d", "Last 7 days", 7 * 24 * time.Hour},
}

// The page's own URL parameters, besides those of apilog.Param: they name
// the part of a view a [*apilog.QueryError] from parseView is about.
const (
	paramRange apilog.Param = "range" // a preset time range, or custom
	paramAsOf  apilog.Param = "asof"  // the moment a relative range ends
	paramID    apilog.Param = "id"    // a selection, for exports
	paramSlow  apilog.Param = "slow"  // the Slow quick filter: 1 or absent
	paramLive  apilog.Param = "live"  // new rows shown as they come: 1 or absent
	paramSince apilog.Param = "since" // a live page's bound: answer only if rows came after it
	paramRow   apilog.Param = "row"   // the row whose detail panel is open: its ID
	paramAt    apilog.Param = "at"    // and its time, which finds it on the time index of every store
)

// slowOver is the Slow quick filter's bound: it adds the search term
// duration:>1s.
const slowOver = time.Second

// view is the state of the page as its URL holds it.
type view struct {
	Q        string
	Slow     bool     // only requests slower than slowOver
	Live     bool     // new rows shown as they are recorded (the script polls)
	Since    int64    // the API's since: answer only if a row came after this ID
	Statuses []string // "2xx" …, in the order of apilog's classes
	Methods  []string
	Keys     []string
	Range    string    // a preset of ranges, "custom" or ""
	From, To time.Time // for "custom"; zero is open
	Sort     apilog.Sort
	Page     int
	IDs      []int64 // a selection, for exports

	// Row and RowAt are the row whose detail panel is open (a permalink):
	// its ID and its time. The time finds the row on every store's time
	// index; the ID tells it from the rows of the same instant.
	Row   int64
	RowAt time.Time

	// MaxID pins the view's rows (Query.MaxID): the links to the other
	// pages of a view, and its exports, carry the first page's bound, so
	// rows that arrive meanwhile neither push rows from one page onto the
	// next (a repeat) nor past the one being read (a skip). 0 is none: the
	// newest rows.
	MaxID int64
	// AsOf anchors a relative range ("Last hour") to the moment the view's
	// first page was read, so its page 2 and its exports cover the same
	// hour. It bounds no rows: MaxID does, by row ID, which neither a
	// clock running ahead nor a row recorded late can get wrong.
	AsOf time.Time

	at     time.Time     // the moment the view is read at: AsOf, or now
	search apilog.Search // Q, parsed (by Handler.parse)
}

// relative reports whether the view's time range is relative to the moment
// it is read at.
func (w view) relative() bool {
	for _, r := range ranges {
		if w.Range == r.value {
			return true
		}
	}
	return false
}

// flag reads a switch of the view: 1, or absent (empty is absent).
func flag(v url.Values, p apilog.Param) (bool, error) {
	switch vals := slices.DeleteFunc(slices.Clone(v[string(p)]), func(s string) bool { return s == "" }); {
	case len(vals) == 0:
		return false, nil
	case len(vals) == 1 && vals[0] == "1":
		return true, nil
	default:
		return false, badParam(p, "%q: want 1, once, or no %s parameter", strings.Join(vals, ","), p)
	}
}

// badParam returns the *apilog.QueryError about param that parseView
// answers a bad value with.
func badParam(param apilog.Param, format string, args ...any) error {
	return &apilog.QueryError{Param: param, Message: fmt.Sprintf(format, args...)}
}

// parseView reads the page state from a URL query. Every error is an
// *apilog.QueryError naming the URL parameter, its own or one that
// apilog's parsers return. Other parameters are left alone: the host may
// use some (a viewer switch, say) and links gather others.
func parseView(v url.Values) (view, error) {
	var w view
	var err error
	w.Q = v.Get("q")
	if len(w.Q) > apilog.MaxSearchLen {
		// Before the search is parsed, so that a huge one costs nothing.
		return view{}, badParam(apilog.ParamSearch, "%d bytes, over %d", len(w.Q), apilog.MaxSearchLen)
	}
	if w.Slow, err = flag(v, paramSlow); err != nil {
		return view{}, err
	}
	if w.Live, err = flag(v, paramLive); err != nil {
		return view{}, err
	}
	if since := v[string(paramSince)]; len(since) > 0 {
		s := since[0]
		if w.Since, err = strconv.ParseInt(s, 10, 64); err != nil || w.Since < 1 || s[0] == '+' || len(since) > 1 {
			return view{}, badParam(paramSince, "%q: want a row ID, a whole number from 1, once", strings.Join(since, ","))
		}
	}
	var classes []apilog.StatusClass
	for _, s := range splitList(v["status"]) {
		c, err := apilog.ParseStatusClass(s)
		if err != nil {
			return view{}, err
		}
		if !slices.Contains(classes, c) {
			classes = append(classes, c)
		}
	}
	slices.Sort(classes)
	for _, c := range classes {
		w.Statuses = append(w.Statuses, c.Short())
	}
	methods := newDistinct[string](apilog.ParamMethod, apilog.MaxFilterValues)
	for _, m := range splitList(v["method"]) {
		if len(m) > apilog.MaxFieldLen {
			return view{}, badParam(apilog.ParamMethod, "%d bytes, over %d", len(m), apilog.MaxFieldLen)
		}
		if err := methods.add(strings.ToUpper(m)); err != nil {
			return view{}, err
		}
	}
	w.Methods = methods.list
	keys := newDistinct[string](apilog.ParamKey, apilog.MaxFilterValues)
	for _, k := range v["key"] {
		if k == "" {
			continue
		}
		if err := keys.add(k); err != nil {
			return view{}, err
		}
	}
	w.Keys = keys.list
	switch w.Range = v.Get("range"); w.Range {
	case "", "custom", "1h", "24h", "7d":
	default:
		return view{}, badParam(paramRange, "%q: want 1h, 24h, 7d or custom", w.Range)
	}
	for _, b := range []struct {
		param apilog.Param
		t     *time.Time
	}{{apilog.ParamFrom, &w.From}, {apilog.ParamTo, &w.To}} {
		s := v.Get(string(b.param))
		if s == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			// A datetime-local input sends "2026-11-25T10:30" in the user's
			// zone, which the page's script turns into RFC 3339; without
			// script it is read as UTC.
			if t, err = time.Parse(localInput, s); err != nil {
				t, err = time.Parse("2006-01-02T15:04", s)
			}
			if err != nil {
				return view{}, badParam(b.param, "%q: want an RFC 3339 time such as 2026-11-25T10:30:00Z", s)
			}
		}
		*b.t = t.UTC()
		if w.Range == "" {
			w.Range = "custom"
		}
	}
	if !w.From.IsZero() && !w.To.IsZero() && !w.From.Before(w.To) {
		return view{}, badParam(apilog.ParamTo, "%s is not after from", w.To.Format(time.RFC3339))
	}
	if w.Sort, err = apilog.ParseSort(v.Get("sort"), v.Get("dir")); err != nil {
		return view{}, err
	}
	if w.Page, err = apilog.ParsePage(v.Get("page")); err != nil {
		return view{}, err
	}
	if s := v.Get(string(apilog.ParamMaxID)); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 || s[0] == '+' {
			return view{}, badParam(apilog.ParamMaxID, "%q: want a row ID, a whole number from 1", s)
		}
		w.MaxID = n
	}
	if s := v.Get(string(paramAsOf)); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return view{}, badParam(paramAsOf, "%q: want an RFC 3339 time", s)
		}
		w.AsOf = t.UTC()
	}
	ids := newDistinct[int64](paramID, apilog.DefaultPageSize)
	for _, s := range v["id"] {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id < 1 {
			return view{}, badParam(paramID, "%q: want a row ID", s)
		}
		if err := ids.add(id); err != nil {
			return view{}, badParam(paramID, "more than %d values: a selection is of one page", apilog.DefaultPageSize)
		}
	}
	w.IDs = ids.list
	if row, at := v.Get(string(paramRow)), v.Get(string(paramAt)); row != "" || at != "" {
		n, err := strconv.ParseInt(row, 10, 64)
		if err != nil || n < 1 || row[0] == '+' {
			return view{}, badParam(paramRow, "%q: want a row ID, a whole number from 1", row)
		}
		t, err := time.Parse(time.RFC3339Nano, at)
		if err != nil {
			return view{}, badParam(paramAt, "%q: want the row's time, in RFC 3339", at)
		}
		w.Row, w.RowAt = n, t.UTC()
	}
	return w, nil
}

// distinct gathers the distinct values of a list parameter in the order
// first seen, in time linear in the values, and refuses the list as soon
// as it passes its limit: a URL of 100,000 values costs no more than one
// of limit+1.
type distinct[T comparable] struct {
	param apilog.Param
	limit int
	seen  map[T]bool
	list  []T
}

func newDistinct[T comparable](param apilog.Param, limit int) *distinct[T] {
	return &distinct[T]{param: param, limit: limit, seen: map[T]bool{}}
}

func (d *distinct[T]) add(v T) error {
	if d.seen[v] {
		return nil
	}
	if len(d.list) == d.limit {
		return badParam(d.param, "more than %d values", d.limit)
	}
	d.seen[v] = true
	d.list = append(d.list, v)
	return nil
}

// Bounds on a URL's query, checked before it is parsed. The longest view
// a person makes (a 1,000-byte search, a filter of 1,000 keys, a page's
// 500 selected rows) stays well within them.
const (
	maxQueryBytes  = 64 << 10
	maxQueryParams = 2000
)

// urlError refuses a URL whose query cannot be read as a whole: too long
// (414) or malformed (400). url.ParseQuery drops what it cannot read and
// returns the rest, which would answer a narrower question than the one
// asked (a filter left out shows every row).
type urlError struct {
	status int
	msg    string
}

func (e *urlError) Error() string { return e.msg }

// parseQuery parses a URL's raw query strictly; every error is a
// *urlError.
func parseQuery(raw string) (url.Values, error) {
	if len(raw) > maxQueryBytes {
		return nil, &urlError{http.StatusRequestURITooLong, fmt.Sprintf("the URL's query is %d bytes, over %d: narrow the filters", len(raw), maxQueryBytes)}
	}
	if n := strings.Count(raw, "&") + 1; n > maxQueryParams {
		return nil, &urlError{http.StatusBadRequest, fmt.Sprintf("the URL has %d parameters, over %d", n, maxQueryParams)}
	}
	if strings.Contains(raw, ";") {
		return nil, &urlError{http.StatusBadRequest, "the URL's query has a “;”: separate parameters with “&”, and write a “;” in a value as %3B"}
	}
	v, err := url.ParseQuery(raw)
	if err != nil {
		return nil, &urlError{http.StatusBadRequest, "the URL's query cannot be read: " + err.Error()}
	}
	return v, nil
}

// splitList reads repeated and comma-separated values alike.
func splitList(values []string) []string {
	var out []string
	for _, v := range values {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// query returns the store query of the view for viewer at now.
func (w view) query(viewer Viewer, hasher apilog.IPHasher, now time.Time) (apilog.Query, error) {
	search, err := apilog.ParseSearch(w.Q, hasher)
	if err != nil {
		return apilog.Query{}, err
	}
	if w.Slow {
		if len(search.Terms) >= apilog.MaxSearchTerms {
			return apilog.Query{}, badParam(apilog.ParamSearch, "%d terms: with the Slow filter, which is one more, the most is %d", len(search.Terms), apilog.MaxSearchTerms-1)
		}
		search.Terms = append(slices.Clip(search.Terms), apilog.Term{Field: apilog.FieldDuration, DurationMin: slowOver + 1, DurationMax: math.MaxInt64})
	}
	q := apilog.Query{
		Account:     viewer.Account,
		AllAccounts: viewer.AllAccounts,
		Search:      search,
		Methods:     w.Methods,
		KeyIDs:      w.Keys,
		Sort:        w.Sort,
		Page:        w.Page,
		PageSize:    apilog.DefaultPageSize,
		Now:         now,
		From:        w.From,
		To:          w.To,
		MaxID:       w.MaxID,
	}
	for _, r := range ranges {
		if w.Range == r.value {
			q.From, q.To = now.Add(-r.span), time.Time{}
		}
	}
	for _, s := range w.Statuses {
		c, _ := apilog.ParseStatusClass(s)
		q.StatusClasses = append(q.StatusClasses, c)
	}
	return q, nil
}

// values returns the URL query of the view, without the selection and
// without the pin (max_id, asof): a link with these values is a new view,
// of the newest rows. Changes are applied by set (a nil value deletes the
// key).
func (w view) values(set map[string][]string) url.Values {
	v := url.Values{}
	if w.Q != "" {
		v.Set("q", w.Q)
	}
	if w.Slow {
		v.Set(string(paramSlow), "1")
	}
	if w.Live {
		v.Set(string(paramLive), "1")
	}
	if len(w.Statuses) > 0 {
		v["status"] = w.Statuses
	}
	if len(w.Methods) > 0 {
		v["method"] = w.Methods
	}
	if len(w.Keys) > 0 {
		v["key"] = w.Keys
	}
	if w.Range != "" {
		v.Set("range", w.Range)
	}
	if w.Range == "custom" {
		if !w.From.IsZero() {
			v.Set("from", w.From.Format(time.RFC3339Nano))
		}
		if !w.To.IsZero() {
			v.Set("to", w.To.Format(time.RFC3339Nano))
		}
	}
	if w.Sort != apilog.DefaultSort {
		v.Set("sort", string(w.Sort.Column))
		v.Set("dir", string(w.Sort.Dir))
	}
	if w.Page > 1 {
		v.Set("page", strconv.Itoa(w.Page))
	}
	for k, val := range set {
		if val == nil {
			v.Del(k)
		} else {
			v[k] = val
		}
	}
	return v
}

// pinned returns the pin the view's URL carries (max_id, asof) as given:
// a link from a pinned page keeps it, one from an unpinned page adds none.
func (w view) pinned() url.Values {
	v := url.Values{}
	if w.MaxID > 0 {
		v.Set(string(apilog.ParamMaxID), strconv.FormatInt(w.MaxID, 10))
	}
	if !w.AsOf.IsZero() {
		v.Set(string(paramAsOf), w.AsOf.Format(time.RFC3339Nano))
	}
	return v
}

// pinParams are the URL parameters of a view's pin (see view.pin).
var pinParams = [...]string{string(apilog.ParamMaxID), string(paramAsOf)}

// pin returns the parameters that pin the rows of page p of the view, which
// the links to its other pages (page 1 included) and its exports carry:
// max_id, the row-ID bound p was read at, and, for a relative range only,
// asof, the moment the range ends at. A link without them (a sort, a
// filter, Clear) starts a new view of the newest rows.
func (w view) pin(p apilog.Page) url.Values {
	v := url.Values{}
	if p.MaxID > 0 {
		v.Set(string(apilog.ParamMaxID), strconv.FormatInt(p.MaxID, 10))
	}
	if w.relative() && !w.at.IsZero() {
		v.Set(string(paramAsOf), w.at.UTC().Format(time.RFC3339Nano))
	}
	return v
}
