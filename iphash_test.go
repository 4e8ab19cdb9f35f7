package apilog_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/apilog/apilog"
)

func TestHMACHasher(t *testing.T) {
	if _, err := apilog.NewIPHasher(make([]byte, 15)); err == nil || !strings.Contains(err.Error(), "15 bytes") {
		t.Errorf("NewIPHasher(15 bytes) = %v, want an error naming the length", err)
	}
	secret := append([]byte(nil), testSecret...)
	h, err := apilog.NewIPHasher(secret)
	if err != nil {
		t.Fatal(err)
	}
	secret[0] ^= 1 // NewIPHasher keeps its own copy
	mac := hmac.New(sha256.New, testSecret)
	mac.Write([]byte{203, 0, 113, 7})
	want := hex.EncodeToString(mac.Sum(nil))
	for _, addr := range []string{"203.0.113.7", "::ffff:203.0.113.7"} {
		if got := h.HashIP(netip.MustParseAddr(addr)); got != want {
			t.Errorf("HashIP(%s) = %s, want HMAC-SHA-256 of the 4 bytes %s", addr, got, want)
		}
	}
	v6 := netip.MustParseAddr("2001:db8::1")
	mac.Reset()
	b := v6.As16()
	mac.Write(b[:])
	if got, want := h.HashIP(v6.WithZone("eth0")), hex.EncodeToString(mac.Sum(nil)); got != want {
		t.Errorf("HashIP(IPv6 with zone) = %s, want %s", got, want)
	}
	other, _ := apilog.NewIPHasher([]byte("another secret, 16+ bytes"))
	if other.HashIP(netip.MustParseAddr("203.0.113.7")) == want {
		t.Error("two secrets give one hash")
	}
	func() {
		defer func() {
			if v := recover(); v == nil || !strings.Contains(fmt.Sprint(v), "NewIPHasher") {
				t.Errorf("a zero HMACHasher: panic %v, want one that says to use NewIPHasher", v)
			}
		}()
		new(apilog.HMACHasher).HashIP(netip.MustParseAddr("203.0.113.7"))
	}()
	if got := h.HashIP(netip.Addr{}); got != "" {
		t.Errorf("HashIP(invalid) = %q, want empty", got)
	}
	sum := sha256.Sum256([]byte{203, 0, 113, 7})
	if got := (apilog.UnsafeUnkeyedHasher{}).HashIP(netip.MustParseAddr("::ffff:203.0.113.7")); got != hex.EncodeToString(sum[:]) {
		t.Errorf("UnsafeUnkeyedHasher = %s, want plain SHA-256", got)
	}
}

func TestHMACHasherConcurrent(t *testing.T) {
	h := testHasher(t)
	want := h.HashIP(netip.MustParseAddr("198.51.100.1"))
	done := make(chan bool)
	for range 8 {
		go func() {
			ok := true
			for range 1000 {
				ok = ok && h.HashIP(netip.MustParseAddr("198.51.100.1")) == want
			}
			done <- ok
		}()
	}
	for range 8 {
		if !<-done {
			t.Error("concurrent HashIP gave another hash")
		}
	}
}
