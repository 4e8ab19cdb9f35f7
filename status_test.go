package apilog_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/apilog/apilog"
)

func TestClassOf(t *testing.T) {
	tests := []struct {
		code int
		want apilog.StatusClass
	}{
		{-1, apilog.StatusOther},
		{0, apilog.StatusOther},
		{99, apilog.StatusOther},
		{100, apilog.StatusOther},
		{199, apilog.StatusOther},
		{200, apilog.StatusSuccess},
		{204, apilog.StatusSuccess},
		{299, apilog.StatusSuccess},
		{300, apilog.StatusRedirect},
		{399, apilog.StatusRedirect},
		{400, apilog.StatusClientError},
		{499, apilog.StatusClientError},
		{500, apilog.StatusServerError},
		{599, apilog.StatusServerError},
		{600, apilog.StatusOther},
		{999, apilog.StatusOther},
		{1000, apilog.StatusOther},
	}
	for _, tt := range tests {
		if got := apilog.ClassOf(tt.code); got != tt.want {
			t.Errorf("ClassOf(%d) = %v, want %v", tt.code, got, tt.want)
		}
	}
}

func TestStatusClassPresentation(t *testing.T) {
	tests := []struct {
		c                           apilog.StatusClass
		name, short, color, meaning string
	}{
		{apilog.StatusOther, "other", "other", "gray", "Other"},
		{apilog.StatusSuccess, "success", "2xx", "green", "Success"},
		{apilog.StatusRedirect, "redirect", "3xx", "blue", "Redirect"},
		{apilog.StatusClientError, "client_error", "4xx", "amber", "Client error"},
		{apilog.StatusServerError, "server_error", "5xx", "red", "Server error"},
		// Out of range: shown as other, no panic.
		{apilog.StatusClass(5), "other", "other", "gray", "Other"},
		{apilog.StatusClass(-1), "other", "other", "gray", "Other"},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.name {
			t.Errorf("StatusClass(%d).String() = %q, want %q", int(tt.c), got, tt.name)
		}
		if got := tt.c.Short(); got != tt.short {
			t.Errorf("StatusClass(%d).Short() = %q, want %q", int(tt.c), got, tt.short)
		}
		if got := tt.c.Color(); got != tt.color {
			t.Errorf("StatusClass(%d).Color() = %q, want %q", int(tt.c), got, tt.color)
		}
		if got := tt.c.Meaning(); got != tt.meaning {
			t.Errorf("StatusClass(%d).Meaning() = %q, want %q", int(tt.c), got, tt.meaning)
		}
		if text, err := tt.c.MarshalText(); err != nil || string(text) != tt.name {
			t.Errorf("StatusClass(%d).MarshalText() = %q, %v; want %q, nil", int(tt.c), text, err, tt.name)
		}
	}
}

func TestParseStatusClass(t *testing.T) {
	tests := []struct {
		in   string
		want apilog.StatusClass
	}{
		{"2xx", apilog.StatusSuccess},
		{"success", apilog.StatusSuccess},
		{"3xx", apilog.StatusRedirect},
		{"Redirect", apilog.StatusRedirect},
		{"4xx", apilog.StatusClientError},
		{"4XX", apilog.StatusClientError},
		{"client_error", apilog.StatusClientError},
		{"CLIENT_ERROR", apilog.StatusClientError},
		{"5xx", apilog.StatusServerError},
		{"server_error", apilog.StatusServerError},
		{"other", apilog.StatusOther},
		{"OTHER", apilog.StatusOther},
	}
	for _, tt := range tests {
		got, err := apilog.ParseStatusClass(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseStatusClass(%q) = %v, %v; want %v, nil", tt.in, got, err, tt.want)
		}
	}
	// Every class parses from its own Short and String.
	for c := apilog.StatusOther; c <= apilog.StatusServerError; c++ {
		for _, s := range []string{c.Short(), c.String()} {
			if got, err := apilog.ParseStatusClass(s); err != nil || got != c {
				t.Errorf("ParseStatusClass(%q) = %v, %v; want %v, nil", s, got, err, c)
			}
		}
	}
	for _, in := range []string{"", "6xx", "1xx", "xx", "4", "400", "4xx ", " 4xx", "client error", "clienterror", "gray"} {
		got, err := apilog.ParseStatusClass(in)
		if err == nil {
			t.Errorf("ParseStatusClass(%q) = %v, want an error", in, got)
			continue
		}
		if !errors.Is(err, apilog.ErrBadQuery) {
			t.Errorf("ParseStatusClass(%q) error %q does not wrap ErrBadQuery", in, err)
		}
		if want := `"` + in + `"`; !strings.Contains(err.Error(), want) {
			t.Errorf("ParseStatusClass(%q) error %q does not name %s", in, err, want)
		}
	}
}
