package apilog_test

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/apilog/apilog"
)

func TestKeyStatus(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	past, future := now.Add(-24*time.Hour), now.Add(time.Nanosecond)
	tests := []struct {
		name string
		key  apilog.Key
		want apilog.KeyStatus
	}{
		{"zero key is active", apilog.Key{}, apilog.KeyActive},
		{"created in the past", apilog.Key{CreatedAt: past}, apilog.KeyActive},
		{"created in the future is still active", apilog.Key{CreatedAt: future}, apilog.KeyActive},

		{"inactive", apilog.Key{Inactive: true}, apilog.KeyRevoked},
		{"revoked", apilog.Key{RevokedAt: past}, apilog.KeyRevoked},
		{"revoked at now", apilog.Key{RevokedAt: now}, apilog.KeyRevoked},
		{"revoked one ns later", apilog.Key{RevokedAt: future}, apilog.KeyActive},

		{"expired", apilog.Key{ExpiresAt: past}, apilog.KeyExpired},
		{"expires at now is expired", apilog.Key{ExpiresAt: now}, apilog.KeyExpired},
		{"expires one ns later is not", apilog.Key{ExpiresAt: future}, apilog.KeyActive},
		{"expires far in the future", apilog.Key{ExpiresAt: now.AddDate(10, 0, 0)}, apilog.KeyActive},
		{"expiry in another zone", apilog.Key{ExpiresAt: now.In(time.FixedZone("PST", -8*3600))}, apilog.KeyExpired},

		{"rotated", apilog.Key{RotatedAt: past}, apilog.KeyRotated},
		{"rotated at now", apilog.Key{RotatedAt: now}, apilog.KeyRotated},
		{"rotated one ns later", apilog.Key{RotatedAt: future}, apilog.KeyActive},

		// Precedence: revoked or inactive > expired > rotated > active.
		{"revoked beats expired and rotated", apilog.Key{RevokedAt: past, ExpiresAt: past, RotatedAt: past}, apilog.KeyRevoked},
		{"inactive beats expired", apilog.Key{Inactive: true, ExpiresAt: past}, apilog.KeyRevoked},
		{"inactive beats rotated", apilog.Key{Inactive: true, RotatedAt: past}, apilog.KeyRevoked},
		{"inactive with future revocation", apilog.Key{Inactive: true, RevokedAt: future}, apilog.KeyRevoked},
		{"expired beats rotated", apilog.Key{ExpiresAt: past, RotatedAt: past}, apilog.KeyExpired},
		{"future revocation, expired", apilog.Key{RevokedAt: future, ExpiresAt: past}, apilog.KeyExpired},
		{"future revocation, rotated", apilog.Key{RevokedAt: future, RotatedAt: past}, apilog.KeyRotated},
		{"future expiry, rotated", apilog.Key{ExpiresAt: future, RotatedAt: past}, apilog.KeyRotated},
		{"all in the future", apilog.Key{RevokedAt: future, ExpiresAt: future, RotatedAt: future}, apilog.KeyActive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.key.Status(now); got != tt.want {
				t.Errorf("Status(%s) = %v, want %v", now.Format(time.RFC3339Nano), got, tt.want)
			}
		})
	}
}

func TestKeyStatusOverTime(t *testing.T) {
	rotated := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	expires := rotated.Add(30 * 24 * time.Hour)
	revoked := expires.Add(time.Hour)
	k := apilog.Key{RotatedAt: rotated, ExpiresAt: expires, RevokedAt: revoked}
	tests := []struct {
		now  time.Time
		want apilog.KeyStatus
	}{
		{rotated.Add(-time.Nanosecond), apilog.KeyActive},
		{rotated, apilog.KeyRotated},
		{expires.Add(-time.Nanosecond), apilog.KeyRotated},
		{expires, apilog.KeyExpired},
		{revoked.Add(-time.Nanosecond), apilog.KeyExpired},
		{revoked, apilog.KeyRevoked},
		{revoked.AddDate(1, 0, 0), apilog.KeyRevoked},
	}
	for _, tt := range tests {
		if got := k.Status(tt.now); got != tt.want {
			t.Errorf("Status(%s) = %v, want %v", tt.now.Format(time.RFC3339Nano), got, tt.want)
		}
	}
}

func TestKeyStatusPresentation(t *testing.T) {
	unknown := struct{ name, label, icon, color, meaning string }{
		"unknown", "Unknown key", "", "", "No key was sent, or the key no longer exists",
	}
	tests := []struct {
		s                                 apilog.KeyStatus
		name, label, icon, color, meaning string
	}{
		{apilog.KeyUnknown, unknown.name, unknown.label, unknown.icon, unknown.color, unknown.meaning},
		{apilog.KeyActive, "active", "Active", "key", "default", "Key is active and has never been rotated"},
		{apilog.KeyRotated, "rotated", "Rotated", "rotate", "indigo", "Key has been rotated (the replacement key is active)"},
		{apilog.KeyExpired, "expired", "Expired", "clock", "red", "Key has expired (expires_at has passed)"},
		{apilog.KeyRevoked, "revoked", "Revoked or inactive", "signal", "pink", "Key is revoked or inactive"},
		// Out of range: shown as unknown, no panic.
		{apilog.KeyStatus(5), unknown.name, unknown.label, unknown.icon, unknown.color, unknown.meaning},
		{apilog.KeyStatus(-1), unknown.name, unknown.label, unknown.icon, unknown.color, unknown.meaning},
		{apilog.KeyStatus(1 << 30), unknown.name, unknown.label, unknown.icon, unknown.color, unknown.meaning},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(int(tt.s)), func(t *testing.T) {
			if got := tt.s.String(); got != tt.name {
				t.Errorf("KeyStatus(%d).String() = %q, want %q", int(tt.s), got, tt.name)
			}
			if got := tt.s.Label(); got != tt.label {
				t.Errorf("KeyStatus(%d).Label() = %q, want %q", int(tt.s), got, tt.label)
			}
			if got := tt.s.Icon(); got != tt.icon {
				t.Errorf("KeyStatus(%d).Icon() = %q, want %q", int(tt.s), got, tt.icon)
			}
			if got := tt.s.Color(); got != tt.color {
				t.Errorf("KeyStatus(%d).Color() = %q, want %q", int(tt.s), got, tt.color)
			}
			if got := tt.s.Meaning(); got != tt.meaning {
				t.Errorf("KeyStatus(%d).Meaning() = %q, want %q", int(tt.s), got, tt.meaning)
			}
			text, err := tt.s.MarshalText()
			if err != nil || string(text) != tt.name {
				t.Errorf("KeyStatus(%d).MarshalText() = %q, %v; want %q, nil", int(tt.s), text, err, tt.name)
			}
			j, err := json.Marshal(map[string]apilog.KeyStatus{"s": tt.s})
			if want := `{"s":"` + tt.name + `"}`; err != nil || string(j) != want {
				t.Errorf("json.Marshal(KeyStatus(%d)) = %s, %v; want %s", int(tt.s), j, err, want)
			}
		})
	}
}
