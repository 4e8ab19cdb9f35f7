package apilog

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Search and the API column's sort are case-insensitive by Unicode simple
// case folding: every rune is replaced by one representative of its case
// orbit (the runes unicode.SimpleFold cycles through), lower case where the
// orbit has one. So "K", "k" and the Kelvin sign "K" are equal, and so are
// "ſ", "s" and "S". Folding maps one rune to one rune, so a folded string has
// the same number of runes; it never expands "ß" to "ss" (full folding).
//
// Backends that cannot call Go at query time store Fold of the searchable
// text, or fold in their own code, so they agree with the memory store.

// asciiFold lower-cases ASCII letters; other bytes map to themselves.
var asciiFold = func() (t [utf8.RuneSelf]byte) {
	for i := range t {
		t[i] = byte(unicode.ToLower(rune(i)))
	}
	return t
}()

// foldRune returns the representative of r's case orbit.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		return rune(asciiFold[r])
	}
	// The smallest rune of the orbit identifies it; its lower case, when
	// that is in the orbit, is the representative, so orbits that hold ASCII
	// letters fold to them. (U+0130 İ is alone in its orbit: its lower case
	// "i" is not, so it stays İ.)
	lo := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		lo = min(lo, f)
	}
	lower := unicode.ToLower(lo)
	if lower == r {
		return r
	}
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f == lower {
			return lower
		}
	}
	return lo
}

// Fold returns s case-folded as search and sorting compare it. Invalid UTF-8
// bytes become U+FFFD.
func Fold(s string) string {
	unchanged := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf {
			unchanged = false
			break
		} else if asciiFold[c] != c {
			unchanged = false
		}
	}
	if unchanged {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		b.WriteRune(foldRune(r))
	}
	return b.String()
}

// ContainsFold reports whether Fold(s) contains needle, which must already be
// folded. It does not allocate.
func ContainsFold(s, needle string) bool {
	if needle == "" {
		return true
	}
	n0 := needle[0]
	if n0 < utf8.RuneSelf && isASCII(needle) {
		// Fast path: an ASCII needle can only match ASCII runes of s, and
		// those fold through the table.
		last := len(s) - len(needle)
	next:
		for i := 0; i <= last; i++ {
			if asciiFold[s[i]&0x7f] != n0 || s[i] >= utf8.RuneSelf {
				continue
			}
			for j := 1; j < len(needle); j++ {
				c := s[i+j]
				if c >= utf8.RuneSelf || asciiFold[c] != needle[j] {
					continue next
				}
			}
			return true
		}
		if isASCII(s) {
			return false
		}
		// Non-ASCII runes such as the Kelvin sign fold to ASCII letters.
	}
	for i := 0; i < len(s); {
		if hasFoldPrefix(s[i:], needle) {
			return true
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return false
}

// hasFoldPrefix reports whether Fold(s) starts with the folded needle.
func hasFoldPrefix(s, needle string) bool {
	for _, nr := range needle {
		if s == "" {
			return false
		}
		r, size := utf8.DecodeRuneInString(s)
		if foldRune(r) != nr {
			return false
		}
		s = s[size:]
	}
	return true
}

// CompareFold compares Fold(a) and Fold(b) in code point order, without
// allocating. It is the order of the API column.
func CompareFold(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra < utf8.RuneSelf && rb < utf8.RuneSelf {
			ra, rb = rune(asciiFold[ra]), rune(asciiFold[rb])
		} else {
			ra, rb = foldRune(ra), foldRune(rb)
		}
		if ra != rb {
			if ra < rb {
				return -1
			}
			return 1
		}
		a, b = a[na:], b[nb:]
	}
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return -1
	}
	return 1
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
