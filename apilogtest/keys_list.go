package apilogtest

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apilog/apilog"
	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// testKeyList checks apilog.KeyLister: an account's keys as UpsertKey last
// stored them, by name then ID in byte order, never another tenant's, never
// a deleted key or one that rows refer to but UpsertKey never stored; the
// limit; the times as stored; and, at its end, an ended context and a
// closed store.
func testKeyList(t *testing.T, f *fixture) {
	kl, ok := f.s.(apilog.KeyLister)
	if !ok {
		t.Skip("the store does not implement apilog.KeyLister")
	}
	keys := func(account string, limit int) []apilog.Key {
		t.Helper()
		got, err := kl.Keys(ctx, account, limit)
		if err != nil {
			t.Fatalf("Keys(%q, %d): %v", account, limit, err)
		}
		return got
	}
	ids := func(keys []apilog.Key) []string {
		out := make([]string, len(keys))
		for i, k := range keys {
			out[i] = k.Account + "/" + k.ID
		}
		return out
	}
	// want is the reference: the fixture's keys of account, by name then
	// ID, the first limit.
	want := func(account string, limit int) []apilog.Key {
		var out []apilog.Key
		for _, k := range f.keys {
			if k.Account == account {
				out = append(out, k)
			}
		}
		slices.SortFunc(out, func(a, b apilog.Key) int {
			return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID))
		})
		return out[:min(max(limit, 0), len(out))]
	}
	// check compares Keys with the reference, every field, times by
	// instant (cmp uses time.Time.Equal), and with the order it spells out.
	check := func(account string, limit int, wantIDs ...string) {
		t.Helper()
		got, ref := keys(account, limit), want(account, limit)
		if diff := gocmp.Diff(ref, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("Keys(%q, %d) differs from the keys as last stored (-want +got):\n%s", account, limit, diff)
		}
		if g := ids(got); !slices.Equal(g, wantIDs) {
			t.Errorf("Keys(%q, %d) = %q, want %q", account, limit, g, wantIDs)
		}
	}

	// Times that are not UTC, with nanoseconds, and past the year 2262
	// (UnixNano's end): an instant is kept exactly.
	zone := time.FixedZone("UTC+05:30", 5*3600+30*60)
	timed := apilog.Key{ID: "key_timed", Account: acctMain, Name: "timed", Prefix: "bye_TT00",
		CreatedAt: time.Date(2025, 3, 4, 5, 6, 7, 123456789, zone),
		RotatedAt: time.Date(2026, 1, 2, 3, 4, 5, 1, time.UTC),
		RevokedAt: time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC),
		ExpiresAt: time.Date(3000, 1, 1, 0, 0, 0, 7, zone),
	}
	// Names and IDs that a case-insensitive order would put elsewhere: in
	// byte order keyRevoked's "Leaked-Key" comes before "api…", and "key_Z"
	// before "key_a", upserted after it, so that insertion order shows too.
	sameA := apilog.Key{ID: "key_a", Account: acctMain, Name: "same-name", Prefix: "bye_SA00"}
	sameZ := apilog.Key{ID: "key_Z", Account: acctMain, Name: "same-name", Prefix: "bye_SZ00", Inactive: true}
	f.key(keyActive, keyRotated, keyNew, keyExpired, keyRevoked, keyInactive, timed, sameA, sameZ)

	// acctOther shares key IDs with acctMain under other names; one of
	// them has no name, which sorts first.
	otherOld := apilog.Key{ID: "key_old", Account: acctOther, Name: "", Prefix: "oth_AA00"}
	otherExp := apilog.Key{ID: keyExpired.ID, Account: acctOther, Name: "zz-other", Prefix: "oth_BB00", CreatedAt: t0}
	f.key(keyOther, otherOld, otherExp)

	// Rows that refer to keys UpsertKey never stored: no key, an unknown
	// key in acctMain, and an account that only has rows.
	noKey := entry("no-key", 1)
	noKey.KeyID = ""
	unknown := entry("unknown", 2)
	unknown.KeyID = "key_never_stored"
	rowsOnly := entry("rows-only", 3)
	rowsOnly.Account, rowsOnly.KeyID = "acct_rows_only", "key_prod"
	used := entry("used", 4)
	used.KeyID = keyRotated.ID
	expired := entry("expired", 5)
	expired.KeyID = keyExpired.ID
	f.add(entry("prod", 0), noKey, unknown, rowsOnly, used, expired)

	// The latest version wins: a rename with a rotation, a rotation of a
	// key rows use, and a key deleted then stored again.
	renamed := keyActive
	renamed.Name, renamed.RotatedAt = "api-renamed", t0.Add(-day)
	rotated := keyRotated
	rotated.Prefix, rotated.RotatedAt, rotated.Inactive = "bye_CD35", t0.Add(-2*day), true
	f.key(renamed, rotated)
	f.deleteKey(acctMain, keyInactive.ID)
	back := keyInactive
	back.Name, back.Inactive = "paused-again", false
	f.key(back)
	// A deleted key is not listed, though rows refer to it; the same ID
	// in acctOther stays.
	f.deleteKey(acctMain, keyExpired.ID)

	main := []string{
		acctMain + "/key_rev",   // "Leaked-Key"
		acctMain + "/key_prod",  // "api-renamed"
		acctMain + "/key_off",   // "paused-again"
		acctMain + "/key_Z",     // "same-name"
		acctMain + "/key_a",     // "same-name"
		acctMain + "/key_new",   // "staging-api"
		acctMain + "/key_old",   // "staging-api"
		acctMain + "/key_timed", // "timed"
	}
	check(acctMain, 100, main...)
	check(acctMain, len(main), main...)
	check(acctMain, 1, main[:1]...)
	check(acctMain, 3, main[:3]...)
	check(acctMain, 0)
	check(acctMain, -1)
	check(acctOther, 100, acctOther+"/key_old", acctOther+"/key_prod", acctOther+"/key_exp")
	check(acctOther, 2, acctOther+"/key_old", acctOther+"/key_prod")
	check("acct_rows_only", 100)
	check("acct_nobody", 100)
	check("", 100)

	// The times, checked on their own so that a failure names them.
	for _, k := range keys(acctMain, 100) {
		if k.ID != timed.ID {
			continue
		}
		for _, tt := range []struct {
			name      string
			got, want time.Time
		}{
			{"CreatedAt", k.CreatedAt, timed.CreatedAt},
			{"RotatedAt", k.RotatedAt, timed.RotatedAt},
			{"RevokedAt", k.RevokedAt, timed.RevokedAt},
			{"ExpiresAt", k.ExpiresAt, timed.ExpiresAt},
		} {
			if !tt.got.Equal(tt.want) {
				t.Errorf("key %s: %s %v, want %v", k.ID, tt.name, tt.got, tt.want)
			}
		}
	}

	// A store that lists keys still joins them to rows as before.
	f.query(inMain(apilog.Query{PageSize: 100}))

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := kl.Keys(canceled, acctMain, 100); !errors.Is(err, context.Canceled) {
		t.Errorf("Keys with a canceled context: %v, want context.Canceled", err)
	}
	if err := f.s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := kl.Keys(ctx, acctMain, 100); !errors.Is(err, apilog.ErrClosed) {
		t.Errorf("Keys after Close: %v, want ErrClosed", err)
	}
}
