package httpui

import (
	"context"
	"net/http"
	"time"

	"github.com/apilog/apilog"
)

// apiVolume is the JSON of the chart above the table: the view's rows by
// time bucket and status class (apilog.CountVolume). The classes' names
// and colours come from package apilog, as the table's badges do; the
// page's script draws the bars and writes the labels in local time.
type apiVolume struct {
	Start   string     `json:"start"` // the first bucket's, RFC 3339 in UTC
	From    string     `json:"from"`  // the range counted, which the first and last buckets may pass
	To      string     `json:"to"`
	StepMS  int64      `json:"step_ms"`
	Classes []apiClass `json:"classes"`
	Counts  [][]int    `json:"counts"` // by bucket, then by class as in Classes
	Total   int        `json:"total"`
	Empty   string     `json:"empty,omitempty"` // what the chart says when it has no bars
}

type apiClass struct {
	Name  string `json:"name"`  // "2xx", as the status filter takes it
	Color string `json:"color"` // the page's colour of the class
	Label string `json:"label"` // "Success"
}

// serveVolume answers /api/volume: the chart of the view's rows (its
// search, filters, time range and pin; its sort and page do not change
// it), counted by the store within the viewer's budget like a page, in a
// request of its own so that the rows never wait for it.
func (h *Handler) serveVolume(w http.ResponseWriter, r *http.Request, viewer Viewer) {
	_, q, err := h.parse(r, viewer)
	if err != nil {
		h.queryFailed(w, r, viewer, err)
		return
	}
	var vol apilog.Volume
	err = h.within(r, viewer, func(ctx context.Context) (err error) {
		vol, err = apilog.CountVolume(ctx, h.store, q)
		return err
	})
	if err != nil {
		h.queryFailed(w, r, viewer, err)
		return
	}
	out := apiVolume{
		Start: vol.Start.UTC().Format(time.RFC3339Nano), StepMS: vol.Step.Milliseconds(), Counts: make([][]int, len(vol.Counts)),
		// To the millisecond, a script's clock, outward: a span picked
		// within them keeps every row counted.
		From: vol.From.UTC().Truncate(time.Millisecond).Format(time.RFC3339Nano),
		To:   vol.To.UTC().Add(time.Millisecond - 1).Truncate(time.Millisecond).Format(time.RFC3339Nano),
	}
	for c := range len(apilog.ClassCounts{}) {
		sc := apilog.StatusClass(c)
		out.Classes = append(out.Classes, apiClass{Name: sc.Short(), Color: sc.Color(), Label: sc.Meaning()})
	}
	for i, cc := range vol.Counts {
		out.Counts[i] = cc[:]
		out.Total += cc.Total()
	}
	if out.Total == 0 {
		out.Empty = "No requests in this range"
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, r, http.StatusOK, out)
}
