package sqlitestore_test

import (
	"path/filepath"
	"testing"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/apilogtest"
	"github.com/apilog/apilog/sqlitestore"
)

func TestConformance(t *testing.T) {
	apilogtest.TestStore(t, func(t *testing.T) apilog.Store {
		s, err := sqlitestore.Open(filepath.Join(t.TempDir(), "logs.db"), nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
