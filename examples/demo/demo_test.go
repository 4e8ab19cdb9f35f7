package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestDemo builds and starts the demo binary on a free port, checks that the
// Logs page's JSON has rows of all four key statuses and all four status
// classes, stops it with SIGINT, and starts it again on the same database.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "demo")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	db := filepath.Join(dir, "demo.db")

	start := func() (*exec.Cmd, string, *output, chan struct{}) {
		cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-db", db, "-rate", "50", "-prefill", "5000")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		lines := &output{}
		sc := bufio.NewScanner(stdout)
		url := make(chan string, 1)
		done := make(chan struct{}) // the output is read to its end
		go func() {
			defer close(done)
			for sc.Scan() {
				lines.add(sc.Text())
				if u, ok := strings.CutPrefix(sc.Text(), "Logs page: "); ok {
					url <- u
				}
			}
		}()
		select {
		case u := <-url:
			return cmd, u, lines, done
		case <-time.After(60 * time.Second):
			t.Fatalf("the demo printed no URL in 60 s:\n%s", lines)
		}
		return nil, "", nil, nil
	}
	type page struct {
		TotalRows int `json:"total_rows"`
		Rows      []struct {
			StatusClass string                  `json:"status_class"`
			Key         struct{ Status string } `json:"key"`
		} `json:"rows"`
	}
	get := func(url string) page {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var p page
		if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %d (%v)", url, resp.StatusCode, err)
		}
		return p
	}

	cmd, url, out, done := start()
	p := get(url + "api/logs")
	var keyStatuses, classes []string
	for _, r := range p.Rows {
		keyStatuses = append(keyStatuses, r.Key.Status)
		classes = append(classes, r.StatusClass)
	}
	for _, want := range []string{"active", "rotated", "expired", "revoked"} {
		if !slices.Contains(keyStatuses, want) {
			t.Errorf("no %s key on the first page", want)
		}
	}
	for _, want := range []string{"2xx", "3xx", "4xx", "5xx"} {
		if !slices.Contains(classes, want) {
			t.Errorf("no %s row on the first page", want)
		}
	}
	other := get(url + "api/logs?as=acct_pixelforge")
	if other.TotalRows == 0 || other.TotalRows == p.TotalRows {
		t.Errorf("the second tenant has %d rows, the first %d: want its own rows", other.TotalRows, p.TotalRows)
	}

	time.Sleep(300 * time.Millisecond) // some live traffic
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	<-done
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the demo ended with %v after SIGINT:\n%s", err, out)
	}
	if !strings.Contains(out.String(), " 0 dropped, 0 failed") {
		t.Errorf("shutdown did not write everything:\n%s", out)
	}

	// A second start reuses the database: no new history, the rows remain.
	_, url, out, _ = start()
	again := get(url + "api/logs")
	if again.TotalRows < p.TotalRows || strings.Contains(out.String(), "of history") {
		t.Errorf("second start: %d rows (first had %d); output:\n%s", again.TotalRows, p.TotalRows, out)
	}
}

// output is the demo's standard output so far, read while it is written.
type output struct {
	mu sync.Mutex
	b  strings.Builder
}

func (o *output) add(line string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.b.WriteString(line + "\n")
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}
