// Package apilog is the model and the rules of an API request log: one row per
// request made with an API key, the key's current status, the status code's
// class, and how a Logs page searches, sorts, pages and exports those rows.
//
// The rules are defined once here and every [Store] follows them; package
// apilogtest checks that a Store does. This package imports only the standard
// library: the SQLite store, the recorder's dependencies and the web UI live in
// their own packages.
package apilog

import (
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// Key is an API key as the Logs page shows it. The secret itself is never
// part of a Key: only its ID, a human name and the short public prefix.
//
// Keys are identified by Account and ID together, so one tenant's key can never
// be joined to another tenant's rows, whatever IDs the host chooses.
type Key struct {
	ID      string // the host's identifier for the key; required
	Account string // the tenant that owns the key; required
	Name    string // human name, e.g. "production-api"
	Prefix  string // the public start of the secret, e.g. "bye_AB12"

	// Inactive marks a key the host disabled without revoking it. The zero
	// value is an active key.
	Inactive bool

	CreatedAt time.Time
	RotatedAt time.Time // zero: never rotated; set when a replacement key was issued
	RevokedAt time.Time // zero: not revoked
	ExpiresAt time.Time // zero: never expires
}

// Entry is one API request, as recorded.
type Entry struct {
	// ID is assigned by the store: unique and increasing in insertion order.
	// Append ignores the ID it is given.
	ID int64

	Account   string // the tenant the request belongs to; required
	KeyID     string // the Key.ID the request used; empty when it carried no valid key
	RequestID string
	Method    string // e.g. "POST"; required
	Endpoint  string // the path only, never the query string
	Status    int    // the HTTP status code, 0 to 999
	ErrorCode string // e.g. "BSE4006"; empty on success
	IPHash    string // the hashed client IP, never the raw address

	Time     time.Time     // request start; stores keep nanoseconds and return UTC
	Duration time.Duration // time to the end of the response; never negative
}

// Row is an Entry joined with its key's current state at query time: a key
// revoked today shows as revoked on last month's rows.
//
// A Row whose key the store does not know (no key was sent, or the key was
// deleted) has an empty KeyName and KeyPrefix and KeyStatus [KeyUnknown]; it
// sorts as an empty name.
type Row struct {
	Entry
	KeyName   string
	KeyPrefix string
	KeyStatus KeyStatus
	// KeySince is when the key entered KeyStatus (see [Key.State]): when
	// it was revoked, expired or rotated, or created; zero when not known.
	KeySince time.Time
}

// Limits on what a store accepts. They keep one bad caller from filling
// memory and keep a row readable on one line of the page.
const (
	MaxEndpointLen = 4096 // bytes; the recorder cuts paths at 2,048
	MaxFieldLen    = 256  // bytes, for every other text field
	MaxStatus      = 999
)

// minTime and maxTime bound Entry.Time to what int64 nanoseconds since the
// Unix epoch can hold, the representation stores index and sort on.
var (
	minTime = time.Unix(0, 0)
	maxTime = time.Unix(0, 1<<63-1)
)

// Validate reports whether e can be stored. The error wraps [ErrBadEntry] and
// names the field that is wrong.
func (e Entry) Validate() error {
	bad := func(field, why string) error {
		return fmt.Errorf("%w: %s %s", ErrBadEntry, field, why)
	}
	switch {
	case e.Account == "":
		return bad("account", "is empty")
	case e.Method == "":
		return bad("method", "is empty")
	case e.Status < 0 || e.Status > MaxStatus:
		return bad("status", strconv.Itoa(e.Status)+" is outside 0 to 999")
	case e.Time.IsZero():
		return bad("time", "is zero")
	case e.Time.Before(minTime) || e.Time.After(maxTime):
		return bad("time", e.Time.UTC().Format(time.RFC3339)+" is outside 1970 to 2262")
	case e.Duration < 0:
		return bad("duration", "is negative")
	case len(e.Endpoint) > MaxEndpointLen:
		return bad("endpoint", fmt.Sprintf("is %d bytes, over %d", len(e.Endpoint), MaxEndpointLen))
	}
	for _, f := range [...]struct{ name, v string }{
		{"account", e.Account}, {"key id", e.KeyID}, {"request id", e.RequestID},
		{"method", e.Method}, {"error code", e.ErrorCode}, {"ip hash", e.IPHash},
	} {
		if len(f.v) > MaxFieldLen {
			return bad(f.name, fmt.Sprintf("is %d bytes, over %d", len(f.v), MaxFieldLen))
		}
		if !utf8.ValidString(f.v) {
			return bad(f.name, "is not valid UTF-8")
		}
	}
	if !utf8.ValidString(e.Endpoint) {
		return bad("endpoint", "is not valid UTF-8")
	}
	return nil
}

// Validate reports whether k can be stored. The error wraps [ErrBadEntry] and
// names the field that is wrong.
func (k Key) Validate() error {
	for _, f := range [...]struct{ name, v string }{
		{"id", k.ID}, {"account", k.Account}, {"name", k.Name}, {"prefix", k.Prefix},
	} {
		switch {
		case f.v == "" && (f.name == "id" || f.name == "account"):
			return fmt.Errorf("%w: key %s is empty", ErrBadEntry, f.name)
		case len(f.v) > MaxFieldLen:
			return fmt.Errorf("%w: key %s is %d bytes, over %d", ErrBadEntry, f.name, len(f.v), MaxFieldLen)
		case !utf8.ValidString(f.v):
			return fmt.Errorf("%w: key %s is not valid UTF-8", ErrBadEntry, f.name)
		}
	}
	return nil
}

// Clean returns k with its name and prefix cleaned as [Middleware] cleans
// the text it records: no character in them can hide or reorder text on a
// page (a right-to-left override, a zero-width space), and each fits
// MaxFieldLen. Every store's UpsertKey stores a valid key cleaned.
func (k Key) Clean() Key {
	k.Name, k.Prefix = cleanText(k.Name, MaxFieldLen), cleanText(k.Prefix, MaxFieldLen)
	return k
}

// JoinKey returns the Row for e as seen at now, given the current state of its
// key; k is nil when the store does not know the key. A key of another account
// or with another ID is treated as unknown, so a store's join bug cannot show
// one tenant's key names on another's rows.
func JoinKey(e Entry, k *Key, now time.Time) Row {
	r := Row{Entry: e}
	if k != nil && k.Account == e.Account && k.ID == e.KeyID && e.KeyID != "" {
		r.KeyName, r.KeyPrefix = k.Name, k.Prefix
		r.KeyStatus, r.KeySince = k.State(now)
	}
	return r
}
