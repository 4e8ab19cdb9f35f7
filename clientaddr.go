package apilog

import (
	"net/http"
	"net/netip"
	"strings"
)

// maxForwardedLen bounds the forwarding header a proxy may send. Proxies'
// own limits on one header line are around 8 KB; a longer one did not come
// through a proxy we trust.
const maxForwardedLen = 8 << 10

// ClientAddr returns the address of the client that sent r, canonical
// (IPv4-mapped IPv6 unmapped, no zone, no port), or the invalid Addr when
// r.RemoteAddr cannot be parsed.
//
// It is the direct peer, r.RemoteAddr, unless the peer is inside one of the
// trusted prefixes: only then is the forwarding header read, and the
// address taken is the rightmost one in it that is not itself a trusted
// proxy (every proxy appends the address it received from, so everything
// left of that was written by the client and may be forged). When every
// address in the header is a trusted proxy, the leftmost is the client.
//
// header names the one header the trusted proxies set; it defaults to
// X-Forwarded-For. "Forwarded" is parsed as RFC 7239 (its for= parameters);
// any other header, such as X-Real-IP, as a comma-separated list of
// addresses, each optionally with a port. Read only the header your proxies
// overwrite or append to: a header they pass through unchanged is the
// client's to forge. A missing or oversized (over 8 KB) header, or an
// unparsable, "unknown" or obfuscated hop right of the client's, gives the
// peer; note that a client can pad the header past 8 KB to be recorded as
// the proxy. Prefixes may be IPv4 or IPv6, IPv4-mapped ones included.
func ClientAddr(r *http.Request, trusted []netip.Prefix, header string) netip.Addr {
	peer := parsePeer(r.RemoteAddr)
	if !peer.IsValid() || !inPrefixes(peer, trusted) {
		return peer
	}
	if header == "" {
		header = "X-Forwarded-For"
	}
	header = http.CanonicalHeaderKey(header)
	values := r.Header[header]
	size := 0
	for _, v := range values {
		size += len(v)
	}
	if size == 0 || size > maxForwardedLen {
		return peer
	}
	forwarded := header == "Forwarded"
	var hops []string
	if forwarded {
		hops = forwardedElements(values)
	} else {
		for _, v := range values {
			hops = append(hops, strings.Split(v, ",")...)
		}
	}
	// Right to left: what is left of the first untrusted hop was written by
	// the client, so whether it parses does not matter.
	var addr netip.Addr
	for i := len(hops) - 1; i >= 0; i-- {
		hop, ok := hops[i], true
		if forwarded {
			hop, ok = forwardedFor(hop)
		}
		var a netip.Addr
		if ok {
			a, ok = parseHop(hop)
		}
		if !ok {
			return peer
		}
		addr = a
		if !inPrefixes(a, trusted) {
			break
		}
	}
	return addr
}

func inPrefixes(addr netip.Addr, prefixes []netip.Prefix) bool {
	for _, p := range prefixes {
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			// ::ffff:10.0.0.0/104 means 10.0.0.0/8, and the address is unmapped.
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// parsePeer parses a RemoteAddr, which net/http sets to "ip:port" but a
// host's test or another server may set to a bare address.
func parsePeer(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return canonicalAddr(ap.Addr())
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return canonicalAddr(a)
	}
	return netip.Addr{}
}

// parseHop parses one address of a forwarding header: "203.0.113.7",
// "203.0.113.7:4711", "2001:db8::1", "[2001:db8::1]" or
// "[2001:db8::1]:4711", with spaces around it.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.Trim(s, " \t")
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 || !validPort(s[end+1:]) {
			return netip.Addr{}, false
		}
		s = s[1:end]
	} else if i := strings.IndexByte(s, ':'); i >= 0 && strings.Count(s, ":") == 1 {
		if !validPort(s[i:]) {
			return netip.Addr{}, false
		}
		s = s[:i]
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return canonicalAddr(a), true
}

// validPort reports whether s is empty or ":" and 1 to 5 digits.
func validPort(s string) bool {
	if s == "" {
		return true
	}
	if len(s) < 2 || len(s) > 6 || s[0] != ':' {
		return false
	}
	for _, c := range []byte(s[1:]) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// forwardedElements splits RFC 7239 Forwarded header values into their
// elements, at the commas outside quoted strings.
func forwardedElements(values []string) []string {
	var elements []string
	for _, v := range values {
		start, quoted := 0, false
		for i := 0; i < len(v); i++ {
			switch {
			case quoted && v[i] == '\\':
				i++
			case v[i] == '"':
				quoted = !quoted
			case !quoted && v[i] == ',':
				elements = append(elements, v[start:i])
				start = i + 1
			}
		}
		elements = append(elements, v[start:])
	}
	return elements
}

// forwardedFor returns the for= node of one Forwarded element. It reports
// false when the element is malformed or has no for= parameter, or two.
func forwardedFor(element string) (string, bool) {
	var (
		node  string
		found bool
	)
	v := element
	for i := 0; ; {
		// One pair: token "=" (token / quoted-string), or an empty pair.
		i = skipSpace(v, i)
		start := i
		for i < len(v) && isToken(v[i]) {
			i++
		}
		name := v[start:i]
		if name != "" {
			if i >= len(v) || v[i] != '=' {
				return "", false
			}
			i++
			var val string
			if i < len(v) && v[i] == '"' {
				var b strings.Builder
				for i++; ; i++ {
					if i >= len(v) {
						return "", false // unterminated quoted-string
					}
					if v[i] == '\\' && i+1 < len(v) {
						i++
					} else if v[i] == '"' {
						i++
						break
					}
					b.WriteByte(v[i])
				}
				val = b.String()
			} else {
				start := i
				for i < len(v) && isToken(v[i]) {
					i++
				}
				val = v[start:i]
			}
			if strings.EqualFold(name, "for") {
				if found {
					return "", false
				}
				node, found = val, true
			}
		}
		i = skipSpace(v, i)
		if i >= len(v) {
			return node, found
		}
		if v[i] != ';' {
			return "", false
		}
		i++
	}
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// isToken reports whether c is a tchar of RFC 9110.
func isToken(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
