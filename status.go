package apilog

import (
	"strings"
)

// StatusClass is the range an HTTP status code falls in, which decides its
// color on the page.
type StatusClass int

// The status classes. The zero value, StatusOther, holds 0, 1xx and 600 up.
const (
	StatusOther       StatusClass = iota // gray
	StatusSuccess                        // 200–299, green
	StatusRedirect                       // 300–399, blue
	StatusClientError                    // 400–499, amber
	StatusServerError                    // 500–599, red
)

var statusClasses = [...]struct{ name, short, color, meaning string }{
	StatusOther:       {"other", "other", "gray", "Other"},
	StatusSuccess:     {"success", "2xx", "green", "Success"},
	StatusRedirect:    {"redirect", "3xx", "blue", "Redirect"},
	StatusClientError: {"client_error", "4xx", "amber", "Client error"},
	StatusServerError: {"server_error", "5xx", "red", "Server error"},
}

// ClassOf returns the class of an HTTP status code.
func ClassOf(code int) StatusClass {
	switch {
	case code >= 200 && code <= 299:
		return StatusSuccess
	case code >= 300 && code <= 399:
		return StatusRedirect
	case code >= 400 && code <= 499:
		return StatusClientError
	case code >= 500 && code <= 599:
		return StatusServerError
	}
	return StatusOther
}

func (c StatusClass) info() int {
	if c < 0 || int(c) >= len(statusClasses) {
		return 0
	}
	return int(c)
}

// String returns the class's stable machine name: "success", "redirect",
// "client_error", "server_error" or "other".
func (c StatusClass) String() string { return statusClasses[c.info()].name }

// Short returns the name used in URLs and filter chips: "2xx", "3xx", "4xx",
// "5xx" or "other".
func (c StatusClass) Short() string { return statusClasses[c.info()].short }

// Color returns the badge color: "green", "blue", "amber", "red" or "gray".
func (c StatusClass) Color() string { return statusClasses[c.info()].color }

// Meaning returns the text equivalent of the color, e.g. "Client error".
func (c StatusClass) Meaning() string { return statusClasses[c.info()].meaning }

// MarshalText encodes the class as its String.
func (c StatusClass) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// ParseStatusClass parses a class as written in a URL: its Short form ("4xx")
// or its String ("client_error"), in any case. The error is a [*QueryError].
func ParseStatusClass(s string) (StatusClass, error) {
	for i, c := range statusClasses {
		if strings.EqualFold(s, c.short) || strings.EqualFold(s, c.name) {
			return StatusClass(i), nil
		}
	}
	return 0, badQuery(ParamStatus, "%q is not a status class: want 2xx, 3xx, 4xx, 5xx or other", s)
}
