module github.com/apilog/apilog

go 1.25

require (
	github.com/google/go-cmp v0.7.0
	github.com/mattn/go-sqlite3 v1.14.53
)
