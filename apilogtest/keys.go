package apilogtest

import (
	"slices"
	"testing"
	"time"

	"github.com/apilog/apilog"
)

const day = 24 * time.Hour

// The keys of acctMain, one per status and the combinations that test the
// precedence revoked/inactive > expired > rotated > active.
var (
	keyActive   = apilog.Key{ID: "key_prod", Account: acctMain, Name: "production-api", Prefix: "bye_AB12", CreatedAt: t0.Add(-90 * day)}
	keyRotated  = apilog.Key{ID: "key_old", Account: acctMain, Name: "staging-api", Prefix: "bye_CD34", CreatedAt: t0.Add(-90 * day), RotatedAt: t0.Add(-10 * day)}
	keyNew      = apilog.Key{ID: "key_new", Account: acctMain, Name: "staging-api", Prefix: "bye_EF56", CreatedAt: t0.Add(-10 * day)}
	keyExpired  = apilog.Key{ID: "key_exp", Account: acctMain, Name: "batch-jobs", Prefix: "bye_GH78", ExpiresAt: t0.Add(10 * day)}
	keyRevoked  = apilog.Key{ID: "key_rev", Account: acctMain, Name: "Leaked-Key", Prefix: "bye_IJ90", RevokedAt: t0.Add(1 * day)}
	keyInactive = apilog.Key{ID: "key_off", Account: acctMain, Name: "paused", Prefix: "bye_KL12", Inactive: true}
	keyAll      = apilog.Key{ID: "key_all", Account: acctMain, Name: "everything", Prefix: "bye_MN34",
		RotatedAt: t0.Add(-3 * day), ExpiresAt: t0.Add(-2 * day), RevokedAt: t0.Add(-1 * day)}
	keyExpRot = apilog.Key{ID: "key_exprot", Account: acctMain, Name: "expired-rotated", Prefix: "bye_OP56",
		RotatedAt: t0.Add(-3 * day), ExpiresAt: t0.Add(-2 * day)}
	keyInactiveExpired = apilog.Key{ID: "key_offexp", Account: acctMain, Name: "off-and-expired", Prefix: "bye_QR78",
		Inactive: true, ExpiresAt: t0.Add(-2 * day)}
	keyLater = apilog.Key{ID: "key_later", Account: acctMain, Name: "expires-later", Prefix: "bye_ST90", ExpiresAt: now.Add(time.Hour)}

	// keyOther has keyActive's ID in another account.
	keyOther = apilog.Key{ID: "key_prod", Account: acctOther, Name: "other-tenant-secret-name", Prefix: "oth_ZZ99"}
)

func testKeyStatus(t *testing.T, f *fixture) {
	f.key(keyActive, keyRotated, keyNew, keyExpired, keyRevoked, keyInactive, keyAll, keyExpRot, keyInactiveExpired, keyLater, keyOther)
	tests := []struct {
		key   apilog.Key
		want  apilog.KeyStatus
		icon  string
		since time.Time // Row.KeySince
	}{
		{keyActive, apilog.KeyActive, "key", keyActive.CreatedAt},
		{keyRotated, apilog.KeyRotated, "rotate", keyRotated.RotatedAt},
		{keyNew, apilog.KeyActive, "key", keyNew.CreatedAt},
		{keyExpired, apilog.KeyExpired, "clock", keyExpired.ExpiresAt},
		{keyRevoked, apilog.KeyRevoked, "signal", keyRevoked.RevokedAt},
		{keyInactive, apilog.KeyRevoked, "signal", time.Time{}},
		{keyAll, apilog.KeyRevoked, "signal", keyAll.RevokedAt},
		{keyExpRot, apilog.KeyExpired, "clock", keyExpRot.ExpiresAt},
		{keyInactiveExpired, apilog.KeyRevoked, "signal", time.Time{}},
		{keyLater, apilog.KeyActive, "key", time.Time{}},
	}
	for i, tt := range tests {
		e := entry(tt.key.ID, i)
		e.KeyID = tt.key.ID
		f.add(e)
	}
	rows := f.query(inMain(apilog.Query{PageSize: 100})).Rows
	byReq := map[string]apilog.Row{}
	for _, r := range rows {
		byReq[r.RequestID] = r
	}
	for _, tt := range tests {
		r, ok := byReq[tt.key.ID]
		switch {
		case !ok:
			t.Errorf("row of key %s is missing", tt.key.ID)
		case r.KeyStatus != tt.want || r.KeyStatus.Icon() != tt.icon:
			t.Errorf("key %s: status %v (icon %q), want %v (icon %q)", tt.key.ID, r.KeyStatus, r.KeyStatus.Icon(), tt.want, tt.icon)
		case r.KeyName != tt.key.Name || r.KeyPrefix != tt.key.Prefix:
			t.Errorf("key %s: name %q prefix %q, want %q %q", tt.key.ID, r.KeyName, r.KeyPrefix, tt.key.Name, tt.key.Prefix)
		}
		if !r.KeySince.Equal(tt.since) {
			t.Errorf("key %s: in its state since %v, want %v", tt.key.ID, r.KeySince, tt.since)
		}
	}
}

// testKeyExpiryInstant checks the RFC 7519 rule: expired from ExpiresAt on,
// not a nanosecond before; and that revocation and rotation count from
// their instant.
func testKeyExpiryInstant(t *testing.T, f *fixture) {
	f.key(keyExpired, keyRevoked, keyRotated)
	for i, k := range []apilog.Key{keyExpired, keyRevoked, keyRotated} {
		e := entry(k.ID, i)
		e.KeyID = k.ID
		f.add(e)
	}
	tests := []struct {
		key  string
		at   time.Time
		want apilog.KeyStatus
	}{
		{"key_exp", keyExpired.ExpiresAt.Add(-time.Nanosecond), apilog.KeyActive},
		{"key_exp", keyExpired.ExpiresAt, apilog.KeyExpired},
		{"key_rev", keyRevoked.RevokedAt.Add(-time.Nanosecond), apilog.KeyActive},
		{"key_rev", keyRevoked.RevokedAt, apilog.KeyRevoked},
		{"key_old", keyRotated.RotatedAt.Add(-time.Nanosecond), apilog.KeyActive},
		{"key_old", keyRotated.RotatedAt, apilog.KeyRotated},
	}
	for _, tt := range tests {
		page := f.query(inMain(apilog.Query{KeyIDs: []string{tt.key}, Now: tt.at}))
		if len(page.Rows) != 1 || page.Rows[0].KeyStatus != tt.want {
			t.Errorf("key %s at %v: rows %+v, want one row with status %v", tt.key, tt.at, page.Rows, tt.want)
		}
	}
}

// testKeyChanges checks that rows show their key's current state: a rename,
// a revocation and a deletion after the rows were written.
func testKeyChanges(t *testing.T, f *fixture) {
	f.key(keyActive)
	f.add(entry("r1", 1), entry("r2", 2))
	check := func(wantName string, wantStatus apilog.KeyStatus, searchName string, wantFound int) {
		t.Helper()
		for _, r := range f.query(inMain(apilog.Query{})).Rows {
			if r.KeyName != wantName || r.KeyStatus != wantStatus {
				t.Fatalf("row %s: key %q %v, want %q %v", r.RequestID, r.KeyName, r.KeyStatus, wantName, wantStatus)
			}
		}
		if n := len(f.ids(inMain(apilog.Query{Search: search(t, "key:"+searchName)}))); n != wantFound {
			t.Fatalf("search key:%s found %d rows, want %d", searchName, n, wantFound)
		}
	}
	check("production-api", apilog.KeyActive, "production-api", 2)

	renamed := keyActive
	renamed.Name = "renamed-api"
	f.key(renamed)
	check("renamed-api", apilog.KeyActive, "production-api", 0)
	check("renamed-api", apilog.KeyActive, "renamed-api", 2)

	revoked := renamed
	revoked.RevokedAt = t0.Add(day)
	f.key(revoked)
	check("renamed-api", apilog.KeyRevoked, "renamed", 2)

	f.deleteKey(acctMain, "key_prod")
	check("", apilog.KeyUnknown, "renamed", 0)
	if err := f.s.DeleteKey(ctx, acctMain, "never-existed"); err != nil {
		t.Errorf("DeleteKey of a missing key: %v, want nil", err)
	}
}

// testUnknownKey checks rows without a key, or with a key the store does not
// know: no name, no icon, sorted as an empty name.
func testUnknownKey(t *testing.T, f *fixture) {
	f.key(keyActive)
	noKey := entry("no-key", 1)
	noKey.KeyID = ""
	unknown := entry("unknown-key", 2)
	unknown.KeyID = "key_never_stored"
	f.add(entry("known", 0), noKey, unknown)
	rows := f.query(inMain(apilog.Query{Sort: apilog.Sort{Column: apilog.ColumnAPI, Dir: apilog.Asc}})).Rows
	if got, want := requestIDs(rows), []string{"unknown-key", "no-key", "known"}; !slices.Equal(got, want) {
		t.Errorf("API ascending: %q, want %q (unknown keys sort as an empty name)", got, want)
	}
	for _, r := range rows[:2] {
		if r.KeyName != "" || r.KeyPrefix != "" || r.KeyStatus != apilog.KeyUnknown || r.KeyStatus.Icon() != "" {
			t.Errorf("row %s: key %q %q %v, want an unknown key", r.RequestID, r.KeyName, r.KeyPrefix, r.KeyStatus)
		}
	}
}

// testKeyTextCleaned checks that a key's name and prefix are stored
// cleaned (apilog.Key.Clean): a character that would hide or reorder text
// on the page shows as U+FFFD, whatever the store.
func testKeyTextCleaned(t *testing.T, f *fixture) {
	k := keyActive
	k.Name = "prod\u202eipa\u200b-\u2066x\u00ady\ufeff\u2028z"
	k.Prefix = "bye_\u200eAB12\x7f"
	f.key(k)
	f.add(entry("r1", 1))
	rows := f.query(inMain(apilog.Query{})).Rows
	const wantName, wantPrefix = "prod\ufffdipa\ufffd-\ufffdx\ufffdy\ufffd\ufffdz", "bye_\ufffdAB12\ufffd"
	if len(rows) != 1 || rows[0].KeyName != wantName || rows[0].KeyPrefix != wantPrefix {
		t.Fatalf("rows %+v: want the key's name %q and prefix %q", rows, wantName, wantPrefix)
	}
}
