package apilog

import "time"

// KeyStatus is the current state of an API key, shown as an icon beside the
// key's name on every row it made.
type KeyStatus int

// The key statuses of the reference Logs page. The zero value, KeyUnknown, is
// the status of a row whose key the store does not know.
const (
	KeyUnknown KeyStatus = iota
	KeyActive            // active and never rotated
	KeyRotated           // rotated; the replacement key is active
	KeyExpired           // ExpiresAt has passed
	KeyRevoked           // revoked or inactive
)

var keyStatuses = [...]struct{ name, label, icon, color, meaning string }{
	KeyUnknown: {"unknown", "Unknown key", "", "", "No key was sent, or the key no longer exists"},
	KeyActive:  {"active", "Active", "key", "default", "Key is active and has never been rotated"},
	KeyRotated: {"rotated", "Rotated", "rotate", "indigo", "Key has been rotated (the replacement key is active)"},
	KeyExpired: {"expired", "Expired", "clock", "red", "Key has expired (expires_at has passed)"},
	KeyRevoked: {"revoked", "Revoked or inactive", "signal", "pink", "Key is revoked or inactive"},
}

func (s KeyStatus) info() int {
	if s < 0 || int(s) >= len(keyStatuses) {
		return 0
	}
	return int(s)
}

// String returns the status's stable machine name: "active", "rotated",
// "expired", "revoked" or "unknown". Exports and JSON use it.
func (s KeyStatus) String() string { return keyStatuses[s.info()].name }

// Label returns the accessible name of the status icon, e.g. "Revoked or inactive".
func (s KeyStatus) Label() string { return keyStatuses[s.info()].label }

// Icon returns the name of the status icon: "key", "rotate", "clock",
// "signal", or "" for KeyUnknown, which has none.
func (s KeyStatus) Icon() string { return keyStatuses[s.info()].icon }

// Color returns the icon's color name: "default", "indigo", "red", "pink",
// or "" for KeyUnknown.
func (s KeyStatus) Color() string { return keyStatuses[s.info()].color }

// Meaning returns the one-line explanation the reference page gives.
func (s KeyStatus) Meaning() string { return keyStatuses[s.info()].meaning }

// MarshalText encodes the status as its String.
func (s KeyStatus) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Status classifies k at the instant now. When several states hold, revoked
// or inactive wins over expired, which wins over rotated. A key is expired
// from ExpiresAt on (now >= ExpiresAt, the RFC 7519 "exp" rule); RevokedAt and
// RotatedAt likewise count from their instant, so a clock set before them sees
// the key as it was then.
func (k Key) Status(now time.Time) KeyStatus {
	s, _ := k.State(now)
	return s
}

// State returns k's status at now, as [Key.Status] does, and the instant
// the key entered it: RevokedAt, ExpiresAt, RotatedAt, or CreatedAt for an
// active key. It is zero when that is not known: an inactive key that was
// not revoked, a key without a CreatedAt.
func (k Key) State(now time.Time) (KeyStatus, time.Time) {
	reached := func(t time.Time) bool { return !t.IsZero() && !now.Before(t) }
	switch {
	case reached(k.RevokedAt):
		return KeyRevoked, k.RevokedAt
	case k.Inactive:
		return KeyRevoked, time.Time{}
	case reached(k.ExpiresAt):
		return KeyExpired, k.ExpiresAt
	case reached(k.RotatedAt):
		return KeyRotated, k.RotatedAt
	default:
		return KeyActive, k.CreatedAt
	}
}
