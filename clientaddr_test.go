package apilog_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/apilog/apilog"
)

var trusted = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("fd00::/8"),
}

func TestClientAddr(t *testing.T) {
	for _, tt := range []struct {
		name    string
		remote  string
		header  string   // the option; "" is X-Forwarded-For
		values  []string // values of that header
		trusted []netip.Prefix
		want    string // "" for the invalid Addr
	}{
		{name: "peer", remote: "203.0.113.7:5000", want: "203.0.113.7"},
		{name: "bare peer", remote: "203.0.113.7", want: "203.0.113.7"},
		{name: "IPv6 peer", remote: "[2001:db8::1]:443", want: "2001:db8::1"},
		{name: "IPv6 peer with zone", remote: "[fe80::1%eth0]:443", want: "fe80::1"},
		{name: "IPv4-mapped peer", remote: "[::ffff:203.0.113.7]:443", want: "203.0.113.7"},
		{name: "unparsable peer", remote: "@", want: ""},
		{name: "empty peer", remote: "", want: ""},

		{name: "untrusted by default", remote: "10.0.0.2:1", values: []string{"198.51.100.1"}, want: "10.0.0.2"},
		{name: "spoof from an untrusted peer", remote: "203.0.113.7:1", values: []string{"198.51.100.1"}, trusted: trusted, want: "203.0.113.7"},
		{name: "one trusted proxy", remote: "10.0.0.2:1", values: []string{"198.51.100.1"}, trusted: trusted, want: "198.51.100.1"},
		{name: "client forged the left part", remote: "10.0.0.2:1", values: []string{"1.1.1.1, 2.2.2.2, 198.51.100.1"}, trusted: trusted, want: "198.51.100.1"},
		{name: "proxy chain", remote: "10.0.0.2:1", values: []string{"198.51.100.1, 10.0.0.9, 10.1.1.1"}, trusted: trusted, want: "198.51.100.1"},
		{name: "all trusted", remote: "10.0.0.2:1", values: []string{"10.0.0.7, 10.0.0.9"}, trusted: trusted, want: "10.0.0.7"},
		{name: "repeated headers", remote: "10.0.0.2:1", values: []string{"1.1.1.1", "198.51.100.1, 10.0.0.9"}, trusted: trusted, want: "198.51.100.1"},
		{name: "ports and brackets", remote: "10.0.0.2:1", values: []string{"[2001:db8::9]:4711"}, trusted: trusted, want: "2001:db8::9"},
		{name: "IPv4 with port", remote: "10.0.0.2:1", values: []string{"198.51.100.1:4711"}, trusted: trusted, want: "198.51.100.1"},
		{name: "IPv6 with zone in header", remote: "10.0.0.2:1", values: []string{"fe80::9%en0"}, trusted: trusted, want: "fe80::9"},
		{name: "mapped in header", remote: "10.0.0.2:1", values: []string{"::ffff:198.51.100.1"}, trusted: trusted, want: "198.51.100.1"},
		{name: "trusted mapped peer", remote: "[::ffff:10.0.0.2]:1", values: []string{"198.51.100.1"}, trusted: trusted, want: "198.51.100.1"},
		{name: "unknown", remote: "10.0.0.2:1", values: []string{"unknown"}, trusted: trusted, want: "10.0.0.2"},
		{name: "script", remote: "10.0.0.2:1", values: []string{"<script>alert(1)</script>"}, trusted: trusted, want: "10.0.0.2"},
		{name: "empty element", remote: "10.0.0.2:1", values: []string{"198.51.100.1,"}, trusted: trusted, want: "10.0.0.2"},
		{name: "empty header", remote: "10.0.0.2:1", values: []string{""}, trusted: trusted, want: "10.0.0.2"},
		{name: "64 KB header", remote: "10.0.0.2:1", values: []string{strings.Repeat("198.51.100.1, ", 64<<10/14)}, trusted: trusted, want: "10.0.0.2"},
		{name: "bad port", remote: "10.0.0.2:1", values: []string{"198.51.100.1:http"}, trusted: trusted, want: "10.0.0.2"},
		{name: "invalid left of the client is not read", remote: "10.0.0.2:1", values: []string{"garbage, 198.51.100.1"}, trusted: trusted, want: "198.51.100.1"},

		{name: "IPv4-mapped trusted prefix", remote: "10.0.0.2:1", values: []string{"198.51.100.1"}, trusted: []netip.Prefix{netip.MustParsePrefix("::ffff:10.0.0.0/104")}, want: "198.51.100.1"},
		{name: "X-Real-IP", remote: "10.0.0.2:1", header: "X-Real-IP", values: []string{"198.51.100.1"}, trusted: trusted, want: "198.51.100.1"},
		{name: "X-Real-IP lower case option", remote: "10.0.0.2:1", header: "x-real-ip", values: []string{"198.51.100.1"}, trusted: trusted, want: "198.51.100.1"},
		{name: "X-Forwarded-For ignored when X-Real-IP is the header", remote: "10.0.0.2:1", header: "X-Real-IP", trusted: trusted, want: "10.0.0.2"},

		{name: "Forwarded", remote: "10.0.0.2:1", header: "Forwarded", values: []string{"for=198.51.100.1;proto=https;by=10.0.0.2"}, trusted: trusted, want: "198.51.100.1"},
		{name: "Forwarded list", remote: "10.0.0.2:1", header: "Forwarded", values: []string{`for=1.1.1.1, For="[2001:db8:cafe::17]:4711", for=10.0.0.3`}, trusted: trusted, want: "2001:db8:cafe::17"},
		{name: "Forwarded quoted escapes", remote: "10.0.0.2:1", header: "Forwarded", values: []string{`for="198.51.100.\1"`}, trusted: trusted, want: "198.51.100.1"},
		{name: "Forwarded unknown", remote: "10.0.0.2:1", header: "Forwarded", values: []string{"for=unknown"}, trusted: trusted, want: "10.0.0.2"},
		{name: "Forwarded obfuscated", remote: "10.0.0.2:1", header: "Forwarded", values: []string{"for=_hidden"}, trusted: trusted, want: "10.0.0.2"},
		{name: "Forwarded without for", remote: "10.0.0.2:1", header: "Forwarded", values: []string{"proto=https"}, trusted: trusted, want: "10.0.0.2"},
		{name: "Forwarded unterminated", remote: "10.0.0.2:1", header: "Forwarded", values: []string{`for="198.51.100.1`}, trusted: trusted, want: "10.0.0.2"},
		{name: "Forwarded two for", remote: "10.0.0.2:1", header: "Forwarded", values: []string{"for=1.1.1.1;for=198.51.100.1"}, trusted: trusted, want: "10.0.0.2"},
		{name: "Forwarded junk left of the client", remote: "10.0.0.2:1", header: "Forwarded", values: []string{"garbage, for=198.51.100.1"}, trusted: trusted, want: "198.51.100.1"},
		{name: "Forwarded element without for left of the client", remote: "10.0.0.2:1", header: "Forwarded", values: []string{"proto=http, for=198.51.100.1"}, trusted: trusted, want: "198.51.100.1"},
		{name: "Forwarded two for left of the client", remote: "10.0.0.2:1", header: "Forwarded", values: []string{"for=1.1.1.1;for=2.2.2.2, for=198.51.100.1"}, trusted: trusted, want: "198.51.100.1"},
		{name: "Forwarded comma in quotes", remote: "10.0.0.2:1", header: "Forwarded", values: []string{`for="a,b", for=198.51.100.1;by="x,y"`}, trusted: trusted, want: "198.51.100.1"},
		{name: "Forwarded junk", remote: "10.0.0.2:1", header: "Forwarded", values: []string{"for=198.51.100.1 junk"}, trusted: trusted, want: "10.0.0.2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			name := tt.header
			if name == "" {
				name = "X-Forwarded-For"
			}
			for _, v := range tt.values {
				r.Header.Add(name, v)
			}
			got := apilog.ClientAddr(r, tt.trusted, tt.header)
			if tt.want == "" {
				if got.IsValid() {
					t.Errorf("ClientAddr = %v, want the invalid Addr", got)
				}
				return
			}
			if got != netip.MustParseAddr(tt.want) {
				t.Errorf("ClientAddr = %v, want %v", got, tt.want)
			}
		})
	}
}

// FuzzClientAddr: whatever the headers, ClientAddr does not panic and
// answers the peer or an address that is in the header.
func FuzzClientAddr(f *testing.F) {
	for _, seed := range []struct{ header, value string }{
		{"X-Forwarded-For", "198.51.100.1, 10.0.0.9"},
		{"X-Forwarded-For", "[2001:db8::9]:4711,unknown"},
		{"Forwarded", `for=1.1.1.1, For="[2001:db8:cafe::17]:4711";proto=https`},
		{"Forwarded", `for="\"`},
		{"Forwarded", `;;,for=1.2.3.4`},
		{"X-Real-IP", "fe80::1%eth0"},
	} {
		f.Add(seed.header, seed.value)
	}
	peer := netip.MustParseAddr("10.0.0.2")
	f.Fuzz(func(t *testing.T, header, value string) {
		r := &http.Request{RemoteAddr: "10.0.0.2:1", Header: http.Header{}}
		r.Header[http.CanonicalHeaderKey(header)] = []string{value}
		got := apilog.ClientAddr(r, trusted, header)
		if !got.IsValid() {
			t.Fatalf("ClientAddr = invalid for a valid peer")
		}
		if got.Zone() != "" || got.Is4In6() {
			t.Fatalf("ClientAddr = %v, not canonical", got)
		}
		// From an untrusted peer, the header is never read.
		r.RemoteAddr = "203.0.113.9:1"
		if untrusted := apilog.ClientAddr(r, trusted, header); untrusted != netip.MustParseAddr("203.0.113.9") {
			t.Fatalf("ClientAddr from an untrusted peer = %v", untrusted)
		}
		if got == peer {
			return
		}
		// Otherwise the answer is one of the header's addresses, and every
		// address right of it is a trusted proxy: the rightmost untrusted.
		plain := strings.ReplaceAll(value, `\`, "")
		if got.Is4() && !strings.Contains(plain, got.String()) {
			t.Fatalf("ClientAddr = %v, from neither the peer nor the header %q", got, value)
		}
		if !inTrusted(got) || http.CanonicalHeaderKey(header) == "Forwarded" {
			return
		}
		// A trusted answer means every hop is trusted: no untrusted IPv4
		// address may appear in a list header.
		for _, f := range strings.FieldsFunc(plain, func(c rune) bool { return strings.ContainsRune(` ,;="[]`, c) }) {
			if a, err := netip.ParseAddr(f); err == nil && a.Is4() && !inTrusted(a) {
				t.Fatalf("ClientAddr = trusted %v although %v is in the header %q", got, a, value)
			}
		}
	})
}

func inTrusted(a netip.Addr) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
