package apilog

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"net/http"
	"net/netip"
	"strings"
	"sync"
)

// MinIPHashSecret is the length in bytes of the shortest secret
// [NewIPHasher] accepts.
const MinIPHashSecret = 16

// HMACHasher hashes client addresses with HMAC-SHA-256 under a secret the
// host keeps: the [IPHasher] to use. Without the secret the hashes cannot
// be reversed by trying every address, which takes minutes for all of IPv4
// when the hash is unkeyed.
//
// The secret is never stored with the rows. Keep it with the host's other
// secrets and reuse it across restarts: one address hashes the same way
// only under the same secret, so a new secret makes the old rows' hashes
// unmatchable by a search for the address (ip:203.0.113.7), and a
// customer's old and new rows from one address look unrelated. Rotate it
// only on purpose, e.g. to unlink old logs.
//
// Generate one with
//
//	head -c 32 /dev/urandom | base64
//
// or crypto/rand in Go, and decode it before passing it to NewIPHasher.
//
// An HMACHasher is safe for concurrent use.
type HMACHasher struct {
	pool sync.Pool // of *hmacState

	// cache holds recent hashes, since an API's requests mostly come from
	// addresses it saw a moment ago and the HMAC is most of the cost of
	// recording a request. Direct-mapped: a collision costs a recompute.
	cache [ipCacheSlots]ipCacheSlot
}

const ipCacheBits = 11
const ipCacheSlots = 1 << ipCacheBits

type ipCacheSlot struct {
	mu   sync.Mutex
	addr netip.Addr
	hash string
}

func cacheSlot(addr netip.Addr) int {
	b := addr.As16()
	x := binary.LittleEndian.Uint64(b[:8]) ^ binary.LittleEndian.Uint64(b[8:])
	return int(x * 0x9e3779b97f4a7c15 >> (64 - ipCacheBits))
}

type hmacState struct {
	mac hash.Hash
	in  [16]byte // the address, here so that it does not escape on its own
	sum [sha256.Size]byte
}

// NewIPHasher returns a hasher keyed with secret, which must be at least
// [MinIPHashSecret] bytes of random data. NewIPHasher copies secret.
func NewIPHasher(secret []byte) (*HMACHasher, error) {
	if len(secret) < MinIPHashSecret {
		return nil, fmt.Errorf("apilog: IP hash secret is %d bytes, want at least %d random bytes", len(secret), MinIPHashSecret)
	}
	key := append([]byte(nil), secret...)
	h := &HMACHasher{}
	h.pool.New = func() any { return &hmacState{mac: hmac.New(sha256.New, key)} }
	return h, nil
}

// HashIP implements [IPHasher]: the hex-encoded HMAC-SHA-256 of the
// address's 4 or 16 bytes, after IPv4-mapped IPv6 is unmapped and the zone
// dropped. The invalid Addr hashes to "".
func (h *HMACHasher) HashIP(addr netip.Addr) string {
	if !addr.IsValid() {
		return ""
	}
	if h.pool.New == nil {
		panic("apilog: an HMACHasher must be made by NewIPHasher")
	}
	addr = canonicalAddr(addr)
	slot := &h.cache[cacheSlot(addr)]
	slot.mu.Lock()
	if slot.hash != "" && slot.addr == addr {
		sum := slot.hash
		slot.mu.Unlock()
		return sum
	}
	slot.mu.Unlock()

	st := h.pool.Get().(*hmacState)
	st.mac.Reset()
	ip := addrBytes(addr)
	st.in = ip.b
	st.mac.Write(st.in[:ip.n])
	sum := st.mac.Sum(st.sum[:0])
	var out [2 * sha256.Size]byte
	hex.Encode(out[:], sum)
	h.pool.Put(st)
	sumHex := string(out[:])
	slot.mu.Lock()
	slot.addr, slot.hash = addr, sumHex
	slot.mu.Unlock()
	return sumHex
}

// UnsafeUnkeyedHasher hashes addresses with plain SHA-256 and no secret.
// Anyone with the rows can reverse its hashes by hashing every IPv4
// address, in minutes on a laptop and in under a second on a GPU. It exists
// for hashes that must match another system's unkeyed ones; use
// [NewIPHasher] otherwise.
type UnsafeUnkeyedHasher struct{}

// HashIP implements [IPHasher]: the hex-encoded SHA-256 of the address's
// 4 or 16 canonical bytes. The invalid Addr hashes to "".
func (UnsafeUnkeyedHasher) HashIP(addr netip.Addr) string {
	if !addr.IsValid() {
		return ""
	}
	ip := addrBytes(addr)
	sum := sha256.Sum256(ip.b[:ip.n])
	return hex.EncodeToString(sum[:])
}

// ipBytes is an address's canonical bytes without a heap allocation.
type ipBytes struct {
	b [16]byte
	n int
}

func addrBytes(addr netip.Addr) ipBytes {
	addr = addr.Unmap()
	if addr.Is4() {
		var ip ipBytes
		a4 := addr.As4()
		ip.n = copy(ip.b[:], a4[:])
		return ip
	}
	return ipBytes{b: addr.As16(), n: 16}
}

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

func canonicalAddr(a netip.Addr) netip.Addr { return a.Unmap().WithZone("") }

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
