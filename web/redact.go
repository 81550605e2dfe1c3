package web

import (
	"regexp"
	"sync"

	"github.com/dumptriage/dumptriage/analyzer/report"
)

// serverPath matches an absolute file path (Unix, drive letter or UNC)
// that starts a word; URLs do not match, their slashes follow a colon.
var serverPath = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(^|[\s("'=])(?:/|[A-Za-z]:\\|\\\\)(?:[^\s:;,'"()]*[/\\])?([^\s:;,'"()/\\]+)`)
})

// redactPaths keeps only the last element of absolute paths in s: where
// the server keeps symbols and images is none of a report reader's business.
func redactPaths(s string) string {
	if s == "" {
		return s
	}
	return serverPath().ReplaceAllString(s, "${1}…/${2}")
}

// redactReport removes server paths from what the report says about
// symbol and image lookups. The paths recorded in the dump (the crashed
// machine's) stay.
func redactReport(rep *report.Report) {
	for i := range rep.Modules {
		m := &rep.Modules[i]
		for _, fs := range []*report.FileStatus{m.Image, m.Symbols} {
			if fs != nil {
				fs.Source, fs.Why = redactPaths(fs.Source), redactPaths(fs.Why)
			}
		}
	}
}
