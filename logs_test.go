package apilog_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apilog/apilog"
)

func TestJoinKey(t *testing.T) {
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	e := apilog.Entry{Account: "a", KeyID: "k", Method: "GET", Time: now}
	key := apilog.Key{ID: "k", Account: "a", Name: "prod", Prefix: "bye_1", RevokedAt: now}
	tests := []struct {
		name   string
		entry  apilog.Entry
		key    *apilog.Key
		want   string
		status apilog.KeyStatus
	}{
		{"own key", e, &key, "prod", apilog.KeyRevoked},
		{"unknown key", e, nil, "", apilog.KeyUnknown},
		{"another account's key", e, &apilog.Key{ID: "k", Account: "b", Name: "theirs"}, "", apilog.KeyUnknown},
		{"another key ID", e, &apilog.Key{ID: "k2", Account: "a", Name: "other"}, "", apilog.KeyUnknown},
		{"no key sent", apilog.Entry{Account: "a"}, &apilog.Key{Account: "a", Name: "empty id"}, "", apilog.KeyUnknown},
	}
	for _, tt := range tests {
		r := apilog.JoinKey(tt.entry, tt.key, now)
		if r.KeyName != tt.want || r.KeyStatus != tt.status {
			t.Errorf("%s: key %q %v, want %q %v", tt.name, r.KeyName, r.KeyStatus, tt.want, tt.status)
		}
	}
}

func TestEntryValidate(t *testing.T) {
	good := apilog.Entry{Account: "a", Method: "GET", Endpoint: "/v1", Status: 200, Time: time.Unix(1e9, 0)}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid entry: %v", err)
	}
	tests := []struct {
		field string
		edit  func(*apilog.Entry)
	}{
		{"account", func(e *apilog.Entry) { e.Account = "" }},
		{"method", func(e *apilog.Entry) { e.Method = "" }},
		{"status", func(e *apilog.Entry) { e.Status = 1000 }},
		{"time", func(e *apilog.Entry) { e.Time = time.Time{} }},
		{"time", func(e *apilog.Entry) { e.Time = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"duration", func(e *apilog.Entry) { e.Duration = -time.Second }},
		{"endpoint", func(e *apilog.Entry) { e.Endpoint = strings.Repeat("x", apilog.MaxEndpointLen+1) }},
		{"ip hash", func(e *apilog.Entry) { e.IPHash = "\xfe" }},
		{"request id", func(e *apilog.Entry) { e.RequestID = strings.Repeat("r", apilog.MaxFieldLen+1) }},
	}
	for _, tt := range tests {
		e := good
		tt.edit(&e)
		if err := e.Validate(); !errors.Is(err, apilog.ErrBadEntry) || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("%s: Validate() = %v, want ErrBadEntry naming %q", tt.field, err, tt.field)
		}
	}
}

func TestKeyValidate(t *testing.T) {
	for _, tt := range []struct {
		key  apilog.Key
		want string // "" for valid
	}{
		{apilog.Key{ID: "k", Account: "a"}, ""},
		{apilog.Key{Account: "a"}, "key id is empty"},
		{apilog.Key{ID: "k"}, "key account is empty"},
		{apilog.Key{ID: "k", Account: "a", Name: strings.Repeat("n", apilog.MaxFieldLen+1)}, "key name"},
		{apilog.Key{ID: "k", Account: "a", Prefix: "\xff"}, "key prefix is not valid UTF-8"},
	} {
		err := tt.key.Validate()
		if tt.want == "" && err != nil || tt.want != "" && (!errors.Is(err, apilog.ErrBadEntry) || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("Validate(%+v) = %v, want %q", tt.key, err, tt.want)
		}
	}
}
