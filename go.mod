module github.com/apilog/apilog

go 1.25
