package apilog

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"net/netip"
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

func canonicalAddr(a netip.Addr) netip.Addr { return a.Unmap().WithZone("") }
