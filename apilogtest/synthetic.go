package apilogtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/apilog/apilog"
)

// Synthetic generates realistic keys and entries for benchmarks, loaders
// and demos: keys in all four states, about 40 endpoints of an image
// generation API, a status mix with 4xx and 5xx answers and BSE-style error
// codes, about 50,000 distinct client IP hashes, and increasing times. The
// same seed gives the same data.
type Synthetic struct {
	Account string
	Keys    []apilog.Key
	// UniquePaths puts a resource ID into some paths (/v1/generate/image/img_…),
	// as real APIs do, so endpoints have many distinct values.
	UniquePaths bool

	rng  *rand.Rand
	ips  []string
	next time.Time
}

// NewSynthetic returns a generator of nkeys keys for account whose entries
// start at start and go forward about 20 ms apart.
func NewSynthetic(seed uint64, account string, nkeys int, start time.Time) *Synthetic {
	s := &Synthetic{Account: account, rng: rand.New(rand.NewPCG(seed, 0x5eed)), next: start}
	names := []string{"production-api", "staging-api", "batch-jobs", "mobile-app", "web-frontend", "ci-runner", "partner-sync", "analytics"}
	for i := range nkeys {
		k := apilog.Key{
			ID:        fmt.Sprintf("key_%s_%04d", account, i),
			Account:   account,
			Name:      fmt.Sprintf("%s-%d", names[i%len(names)], i/len(names)),
			Prefix:    fmt.Sprintf("bye_%04X", s.rng.IntN(1<<16)),
			CreatedAt: start.Add(-90 * 24 * time.Hour),
		}
		switch i % 10 { // 60% active, 20% rotated, 10% expired, 10% revoked
		case 6, 7:
			k.RotatedAt = start.Add(-24 * time.Hour)
		case 8:
			k.ExpiresAt = start.Add(-time.Hour)
		case 9:
			k.RevokedAt = start.Add(-time.Hour)
		}
		s.Keys = append(s.Keys, k)
	}
	s.ips = make([]string, 50000)
	for i := range s.ips {
		sum := sha256.Sum256(fmt.Appendf(nil, "synthetic-ip-%d-%d", seed, i))
		s.ips[i] = hex.EncodeToString(sum[:])
	}
	return s
}

var syntheticRoutes = func() (routes []struct{ method, path string }) {
	models := []string{"flux-pro", "flux-dev", "flux-schnell", "sdxl", "sd3-medium", "kandinsky", "playground-v2", "dalle-3"}
	for _, m := range models {
		routes = append(routes,
			struct{ method, path string }{"POST", "/v1/generate/image/" + m},
			struct{ method, path string }{"GET", "/v1/models/" + m})
	}
	for _, p := range []string{"/v1/models", "/v1/account", "/v1/usage", "/v1/keys", "/v1/webhooks", "/v1/files", "/v1/jobs", "/v1/billing/invoices"} {
		routes = append(routes, struct{ method, path string }{"GET", p})
	}
	for _, p := range []string{"/v1/keys/key_1", "/v1/webhooks/wh_1", "/v1/files/file_1", "/v1/jobs/job_1"} {
		routes = append(routes, struct{ method, path string }{"DELETE", p}, struct{ method, path string }{"PUT", p})
	}
	routes = append(routes, struct{ method, path string }{"POST", "/v1/upscale"}, struct{ method, path string }{"POST", "/v1/edit/inpaint"},
		struct{ method, path string }{"GET", "/v1/generate/image/status"}, struct{ method, path string }{"GET", "/v1/docs"})
	return routes
}()

var syntheticErrors = map[int][]string{
	400: {"BSE4000", "BSE4006", "BSE4010"}, 401: {"BSE4001", "BSE4002"}, 403: {"BSE4031"},
	404: {"BSE4040"}, 422: {"BSE4220", "BSE4221"}, 429: {"BSE4290"},
	500: {"BSE5000"}, 502: {"BSE5020"}, 503: {"BSE5030"},
}

// Entries returns the next n entries.
func (s *Synthetic) Entries(n int) []apilog.Entry {
	out := make([]apilog.Entry, n)
	for i := range out {
		r := syntheticRoutes[s.rng.IntN(len(syntheticRoutes))]
		e := apilog.Entry{
			Account:   s.Account,
			RequestID: fmt.Sprintf("req_%016x", s.rng.Uint64()),
			Method:    r.method,
			Endpoint:  r.path,
			Status:    200,
			IPHash:    s.ips[s.rng.IntN(len(s.ips))],
			Time:      s.next,
			Duration:  time.Duration(5+s.rng.IntN(3000)) * time.Millisecond,
		}
		if s.UniquePaths && r.method == "POST" {
			e.Endpoint = fmt.Sprintf("%s/img_%08x", r.path, s.rng.Uint32())
		}
		if s.rng.IntN(50) > 0 { // 2% carry no valid key
			e.KeyID = s.Keys[s.rng.IntN(len(s.Keys))].ID
		}
		switch x := s.rng.IntN(100); {
		case x < 3:
			e.Status = 302
		case x < 15:
			e.Status = []int{400, 401, 403, 404, 422, 429}[s.rng.IntN(6)]
		case x < 18:
			e.Status = []int{500, 502, 503}[s.rng.IntN(3)]
		case x < 25:
			e.Status = 201
		}
		if codes := syntheticErrors[e.Status]; codes != nil {
			e.ErrorCode = codes[s.rng.IntN(len(codes))]
		}
		out[i] = e
		s.next = s.next.Add(time.Duration(1+s.rng.IntN(40)) * time.Millisecond)
	}
	return out
}

// The benchmark data set that FillBench writes.
const BenchAccount = "acct_bench"

// WorstSearch is the most expensive valid search of the benchmark data:
// 24 one-letter terms, each of which matches most IP hashes and endpoints,
// and a row must match all of them.
const WorstSearch = "a b c d e f 0 1 2 3 4 5 6 7 8 9 o p s t r u l n"

// BenchStart is where the benchmark data's times begin.
var BenchStart = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)

// FillBench writes the benchmark data set to s: n rows of BenchAccount from
// 200 keys, and a tenth as many of "acct_other" from 20 keys, mixed as
// they would arrive, in batches of 1,000. Benchmarks of every store and of
// the page use it, so their figures are of the same rows.
func FillBench(ctx context.Context, s apilog.Store, n int) error {
	main := NewSynthetic(1, BenchAccount, 200, BenchStart)
	other := NewSynthetic(2, "acct_other", 20, BenchStart)
	for _, g := range []*Synthetic{main, other} {
		for _, k := range g.Keys {
			if err := s.UpsertKey(ctx, k); err != nil {
				return err
			}
		}
	}
	for i := 0; i < n; i += 1000 {
		batch := main.Entries(min(1000, n-i))
		if i%10_000 == 0 {
			batch = append(batch, other.Entries(1000)...)
		}
		if err := s.Append(ctx, batch); err != nil {
			return err
		}
	}
	return nil
}
