package apilog_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/apilog/apilog"
)

func TestFold(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"abc", "abc"},
		{"ABC", "abc"},
		{"MiXeD 123_-/:", "mixed 123_-/:"},
		{"ÄPFEL", "äpfel"},
		{"äpfel", "äpfel"},
		{"Straße", "straße"}, // simple folding never expands ß
		{"STRASSE", "strasse"},
		{"ẞ", "ß"},
		{"\u212A", "k"},              // Kelvin sign
		{"İ", "İ"},                   // alone in its orbit: not "i"
		{"\u212B", "å"},              // Angstrom sign
		{"ſ", "s"},                   // long s
		{"ΣΑΣ ς σ", "σασ σ σ"},       // sigma orbit
		{"ǅ Ǆ ǆ", "ǆ ǆ ǆ"},           // title case
		{"ÉCOLE", "école"},           // precomposed
		{"E\u0301", "e\u0301"},       // decomposed stays decomposed
		{"\xff", "\uFFFD"},           // invalid byte
		{"a\xffB", "a\uFFFDb"},       // invalid byte among ASCII
		{"\xe2\x84", "\uFFFD\uFFFD"}, // truncated rune: one U+FFFD per byte
		{"日本語", "日本語"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := apilog.Fold(tt.in); got != tt.want {
				t.Errorf("Fold(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestFoldRunes checks the folding rule for every rune: Fold is idempotent,
// keeps the rune count, maps runes of one case orbit to the same rune, and
// that rune is in the orbit.
func TestFoldRunes(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		f := apilog.Fold(string(r))
		fr, size := utf8.DecodeRuneInString(f)
		if size != len(f) {
			t.Errorf("Fold(%U) = %q, want one rune", r, f)
			continue
		}
		if got := apilog.Fold(f); got != f {
			t.Errorf("Fold(Fold(%U)) = %q, want %q", r, got, f)
		}
		inOrbit := fr == r
		for g := unicode.SimpleFold(r); g != r; g = unicode.SimpleFold(g) {
			inOrbit = inOrbit || fr == g
			if got := apilog.Fold(string(g)); got != f {
				t.Errorf("Fold(%U) = %q but Fold(%U) = %q; both are in one orbit", r, f, g, got)
			}
		}
		if !inOrbit {
			t.Errorf("Fold(%U) = %U, which is not in its case orbit", r, fr)
		}
	}
}

func TestContainsFold(t *testing.T) {
	tests := []struct {
		s, needle string // needle is folded by the test
		want      bool
	}{
		{"", "", true},
		{"abc", "", true},
		{"", "a", false},
		{"abc", "abc", true},
		{"Hello World", "WORLD", true},
		{"Hello World", "o w", true},
		{"Hello World", "worlds", false},
		{"abc", "abcd", false},
		{"xxABC", "abc", true},
		{"ABCxx", "abc", true},
		{"abab", "bab", true},
		{"aab", "ab", true},
		{"Straße", "SS", false},
		{"STRASSE", "ß", false},
		{"Straße", "STRAẞE", true},
		{"\u212Aelvin", "kelvin", true}, // ASCII needle, non-ASCII text
		{"\u212Aelvin", "KEL", true},
		{"kelvin", "\u212A", true},
		{"ſecret", "secret", true},
		{"SECRET", "ſ", true},
		{"Äpfel", "äp", true},
		{"äpfel", "ÄP", true},
		{"résumé", "SUM", true},
		{"résumé", "ésu", true},
		{"résumé", "esu", false},
		{"a\xffb", "\uFFFD", true},
		{"a\xffb", "\xff", true},
		{"a\xffB", "b", true}, // ASCII needle after an invalid byte
		{"ab", "\uFFFD", false},
		{"é", "\xa9", false}, // a continuation byte is not a rune of "é"
		{"日本語", "本", true},
		{"日本語", "語日", false},
	}
	for _, tt := range tests {
		t.Run(tt.s+"/"+tt.needle, func(t *testing.T) {
			n := apilog.Fold(tt.needle)
			if got := apilog.ContainsFold(tt.s, n); got != tt.want {
				t.Errorf("ContainsFold(%q, %q) = %v, want %v", tt.s, n, got, tt.want)
			}
		})
	}
}

func TestContainsFoldAllocs(t *testing.T) {
	s := "Production-API \u212Aelvin /v1/flux-pro/generate"
	n := apilog.Fold("KELVIN /V1")
	if allocs := testing.AllocsPerRun(100, func() { apilog.ContainsFold(s, n) }); allocs != 0 {
		t.Errorf("ContainsFold allocates %v times per call, want 0", allocs)
	}
	if allocs := testing.AllocsPerRun(100, func() { apilog.CompareFold(s, n) }); allocs != 0 {
		t.Errorf("CompareFold allocates %v times per call, want 0", allocs)
	}
}

func TestCompareFold(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "a", -1},
		{"a", "", 1},
		{"abc", "ABC", 0},
		{"abc", "abd", -1},
		{"ABD", "abc", 1},
		{"B", "a", 1}, // byte order would put "B" first
		{"apple", "Zebra", -1},
		{"ab", "abc", -1},
		{"ABC", "ab", 1},
		{"Ä", "ä", 0},
		{"ä", "b", 1},
		{"ß", "SS", 1}, // not equal under simple folding
		{"ß", "ẞ", 0},
		{"\u212A", "k", 0},
		{"\u212AEY", "key", 0},
		{"ſ", "S", 0},
		{"ſa", "sb", -1},
		{"a\xff", "a\uFFFD", 0},
		{"\xff", "z", 1},
		{"\xff", "\uFFFE", -1},
		{"z\xff", "Z\xfe", 0},
	}
	for _, tt := range tests {
		t.Run(tt.a+"/"+tt.b, func(t *testing.T) {
			if got := apilog.CompareFold(tt.a, tt.b); got != tt.want {
				t.Errorf("CompareFold(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
			if got := apilog.CompareFold(tt.b, tt.a); got != -tt.want {
				t.Errorf("CompareFold(%q, %q) = %d, want %d", tt.b, tt.a, got, -tt.want)
			}
		})
	}
}

// foldSamples are strings that stress folding: ASCII, case orbits with more
// than two runes, runes that fold to ASCII, invalid UTF-8.
var foldSamples = []string{
	"", "a", "A", "k", "K", "\u212A", "s", "S", "ſ", "ß", "ẞ", "SS", "ss",
	"ä", "Ä", "é", "E\u0301", "σ", "ς", "Σ", "ǅ", "ǆ", "İ", "i", "ı", "I",
	"\xff", "\uFFFD", "\xe2\x84", "\xe2\x84\xaa", "日本", "-", ":", " ",
	"Production-API", "production", "\u212Aelvin", "KELVIN", "Straße", "STRASSE",
	"/v1/ÉCOLE/straße", "bye_AB12", "bye_ſ01", "a\xffB", "ab", "aB\u212A",
}

func TestFoldProperties(t *testing.T) {
	sign := func(c int) int { return min(max(c, -1), 1) }
	for _, s := range foldSamples {
		for _, n := range foldSamples {
			fn := apilog.Fold(n)
			if got, want := apilog.ContainsFold(s, fn), strings.Contains(apilog.Fold(s), fn); got != want {
				t.Errorf("ContainsFold(%q, Fold(%q)) = %v, strings.Contains(Fold, Fold) = %v", s, n, got, want)
			}
			if got, want := apilog.CompareFold(s, n), sign(strings.Compare(apilog.Fold(s), apilog.Fold(n))); got != want {
				t.Errorf("CompareFold(%q, %q) = %d, want sign of Compare(Fold, Fold) = %d", s, n, got, want)
			}
		}
	}
}

func FuzzContainsFold(f *testing.F) {
	for _, s := range foldSamples {
		for _, n := range []string{"", "k", "\u212A", "ß", "\xff", "ſecret", "bye_"} {
			f.Add(s, n)
		}
	}
	sign := func(c int) int { return min(max(c, -1), 1) }
	f.Fuzz(func(t *testing.T, s, n string) {
		fs, fn := apilog.Fold(s), apilog.Fold(n)
		if got, want := apilog.ContainsFold(s, fn), strings.Contains(fs, fn); got != want {
			t.Errorf("ContainsFold(%q, Fold(%q)=%q) = %v, strings.Contains(%q, %q) = %v", s, n, fn, got, fs, fn, want)
		}
		if got, want := apilog.CompareFold(s, n), sign(strings.Compare(fs, fn)); got != want {
			t.Errorf("CompareFold(%q, %q) = %d, want sign of strings.Compare(%q, %q) = %d", s, n, got, fs, fn, want)
		}
		if got := apilog.Fold(fs); got != fs {
			t.Errorf("Fold(Fold(%q)) = %q, want %q", s, got, fs)
		}
		if got, want := utf8.RuneCountInString(fs), utf8.RuneCountInString(s); got != want {
			t.Errorf("Fold(%q) has %d runes, want %d", s, got, want)
		}
	})
}
