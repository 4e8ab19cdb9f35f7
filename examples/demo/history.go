package main

import (
	"context"
	"math"
	mrand "math/rand/v2"
	"net/http/httptest"
	"sort"
	"time"

	"github.com/apilog/apilog"
)

// week is how far back the demo's history reaches.
const week = 7 * 24 * time.Hour

// incident is a stretch of time when the fake API's GPU pool is down:
// generations fail with 503 and incidentCode, and clients retry, so
// traffic triples. The history holds one, so that the page (a search for
// the code) and a volume chart tell a story.
type incident struct{ from, to time.Time }

// incidentCode is the error code of the incident's failures, and of
// nothing else, so that a search for it shows the incident.
const incidentCode = "BSE5031"

// during reports whether t falls in the incident.
func (in incident) during(t time.Time) bool { return !t.Before(in.from) && t.Before(in.to) }

// incidentBefore is the history's incident: 25 minutes from 14:10 local
// time, two days before now.
func incidentBefore(now time.Time) incident {
	y, m, d := now.AddDate(0, 0, -2).Date()
	from := time.Date(y, m, d, 14, 10, 0, 0, now.Location())
	return incident{from: from, to: from.Add(25 * time.Minute)}
}

// traffic is the history's relative request rate at t: a daily rhythm
// (lowest at 04:00 local time, highest at 16:00, the busiest hour about
// three times the quietest), a quieter weekend, and the retries of the
// incident.
func traffic(t time.Time, in incident) float64 {
	hour := float64(t.Hour()) + float64(t.Minute())/60
	rate := 0.3 + 0.7*(0.5-0.5*math.Cos(2*math.Pi*(hour-4)/24))
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		rate *= 0.75
	}
	if in.during(t) {
		rate *= 3
	}
	return rate
}

// schedule spreads the history's requests over the week before its end by
// the traffic rate.
type schedule struct {
	start time.Time
	n     int
	cum   []float64 // cum[i] is the traffic from start to the start of minute i
}

func newSchedule(now time.Time, n int, in incident) schedule {
	steps := int(week / time.Minute)
	s := schedule{start: now.Add(-week), n: n, cum: make([]float64, steps+1)}
	for i := range steps {
		s.cum[i+1] = s.cum[i] + traffic(s.start.Add(time.Duration(i)*time.Minute+time.Minute/2), in)
	}
	return s
}

// at returns the moment of the i-th of the n requests: the (i+u)/n
// quantile of the week's traffic, u in [0, 1). With u random, the moments
// increase with i, are irregular, and follow the rhythm exactly on
// average.
func (s schedule) at(i int, u float64) time.Time {
	steps := len(s.cum) - 1
	q := (float64(i) + u) / float64(s.n) * s.cum[steps]
	m := sort.SearchFloat64s(s.cum, q) - 1 // the minute q falls in
	m = max(0, min(m, steps-1))
	frac := (q - s.cum[m]) / (s.cum[m+1] - s.cum[m])
	return s.start.Add(time.Duration(m)*time.Minute + time.Duration(frac*float64(time.Minute)))
}

// record fills the store with n requests of the week before now, run
// through the real API and middleware in-process, each at its moment in
// the past, taking its time on a clock of its own: a key that expired three
// days ago was accepted until then, and the incident's generations fail.
func record(ctx context.Context, rec *apilog.Recorder, opts apilog.MiddlewareOptions, now time.Time, n int, seed uint64) error {
	rng := mrand.New(mrand.NewPCG(seed, 7))
	in := incidentBefore(now)
	sched := newSchedule(now, n, in)
	var at time.Time
	clk := clock{
		now:  func() time.Time { return at },
		wait: func(_ context.Context, d time.Duration) { at = at.Add(d) },
	}
	opts.Now = clk.now
	ks := keys(now)
	h := apilog.Middleware(rec, &opts)(newAPI(ks, clk, in, seed))
	for i := range n {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		at = sched.at(i, rng.Float64())
		r := nextCall(rng, ks).request("http://localhost")
		r.RemoteAddr = "127.0.0.1:40000"
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	return rec.Flush(ctx)
}
