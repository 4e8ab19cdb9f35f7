package skipnote

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestTell checks that each note is written once, however often it is
// told: to the terminal when there is one, else to standard error.
func TestTell(t *testing.T) {
	tests := []struct {
		name     string
		terminal bool
	}{{"terminal", true}, {"no terminal", false}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tty := filepath.Join(t.TempDir(), "tty")
			if tc.terminal {
				if err := os.WriteFile(tty, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			saved, savedErr := terminal, os.Stderr
			terminal, os.Stderr, told = tty, w, map[string]bool{}
			Tell("no browser")
			Tell("no browser")
			Tell("no server")
			terminal, os.Stderr = saved, savedErr
			w.Close()
			stderr, _ := io.ReadAll(r)
			onTTY, _ := os.ReadFile(tty)

			const want = "no browser\nno server\n"
			got, other := string(stderr), string(onTTY)
			if tc.terminal {
				got, other = other, got
			}
			if got != want || other != "" {
				t.Errorf("wrote %q there and %q elsewhere, want %q there only", got, other, want)
			}
		})
	}
}
