package store

import (
	"context"
	"fmt"
	"strings"
)

// Search on the dashboard: a text filter matches the distinct values the
// crash_groups table already counts (a few thousand keys at most), and the
// crashes are then read by an indexed IN over the keys that matched, so no
// query scans the crashes table with LIKE.

// MatchMode says how a text filter compares with a value.
type MatchMode int

const (
	Substring MatchMode = iota // anywhere in the value, ignoring case
	Prefix                     // at its start, ignoring case
	Exact                      // the whole value (modules and processes ignoring case)
)

// Match is one text filter.
type Match struct {
	Text string
	Mode MatchMode
}

func (m Match) String() string {
	switch m.Mode {
	case Prefix:
		return "^" + m.Text
	case Exact:
		return "=" + m.Text
	}
	return m.Text
}

// Field is a searchable crash field.
type Field string

const (
	FieldSignature Field = "signature"
	FieldProcess   Field = "process"
	FieldModule    Field = "module" // faulting module
	FieldProduct   Field = "product"
	FieldVersion   Field = "version" // the reporter's version, else the process's
)

// SearchFields are the text filters every list page and API route takes.
var SearchFields = []Field{FieldSignature, FieldProcess, FieldModule, FieldProduct, FieldVersion}

// fieldDims maps a field to its crash_groups dimension, crashes column and
// (key, at) index.
var fieldDims = map[Field]struct{ dim, col, index string }{
	FieldSignature: {DimSignature, "signature", "crashes_by_signature"},
	FieldProcess:   {DimProcess, "process_name", "crashes_by_process"},
	FieldModule:    {DimModule, "module", "crashes_by_module"},
	FieldProduct:   {DimProduct, "product", "crashes_by_product"},
	FieldVersion:   {DimVersion, "version", "crashes_by_version"},
}

// FieldMatch is a text filter on one field.
type FieldMatch struct {
	Field Field
	Match
}

// maxMatchKeys bounds the keys a filter expands to; past it the filter is
// applied as LIKE to rows another index or the time order already selects.
const maxMatchKeys = 500

// matched is a filter resolved to keys with their crash count.
type matched struct {
	FieldMatch
	keys  []string
	total int
	broad bool // more than maxMatchKeys keys: filter by pattern
}

// likePattern is m as a LIKE pattern over lower-cased values (ESCAPE '\').
func (m Match) likePattern() string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	p := r.Replace(strings.ToLower(m.Text))
	if m.Mode == Prefix {
		return p + "%"
	}
	return "%" + p + "%"
}

// resolve finds the keys of fm's dimension that match.
func (s *SQLite) resolve(ctx context.Context, fm FieldMatch) (matched, error) {
	fd, ok := fieldDims[fm.Field]
	if !ok {
		return matched{}, fmt.Errorf("%w: no search on %q", ErrBadRequest, fm.Field)
	}
	if err := checkSearch(fm.Text); err != nil {
		return matched{}, err
	}
	out := matched{FieldMatch: fm}
	var rows interface {
		Next() bool
		Scan(...any) error
		Close() error
		Err() error
	}
	var err error
	switch {
	case fm.Mode == Exact && fm.Field == FieldModule:
		rows, err = s.r.QueryContext(ctx, `SELECT key, n FROM crash_groups WHERE dim = ? AND key = ?`, fd.dim,
			strings.ToLower(fm.Text))
	case fm.Mode == Exact && fm.Field != FieldProcess:
		rows, err = s.r.QueryContext(ctx, `SELECT key, n FROM crash_groups WHERE dim = ? AND key = ?`, fd.dim, fm.Text)
	case fm.Mode == Exact:
		rows, err = s.r.QueryContext(ctx, `SELECT key, n FROM crash_groups WHERE dim = ? AND lower(key) = ?`, fd.dim,
			strings.ToLower(fm.Text))
	default:
		rows, err = s.r.QueryContext(ctx, `SELECT key, n FROM crash_groups WHERE dim = ? AND lower(key) LIKE ? ESCAPE '\'
			ORDER BY n DESC LIMIT ?`, fd.dim, fm.likePattern(), maxMatchKeys+1)
	}
	if err != nil {
		return out, err
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return out, err
		}
		out.keys = append(out.keys, k)
		out.total += n
	}
	if len(out.keys) > maxMatchKeys {
		out.broad, out.keys = true, nil
	}
	return out, rows.Err()
}

// cond is the WHERE condition of m on the crashes alias c.
func (m matched) cond() (string, []any) {
	col := "c." + fieldDims[m.Field].col
	if m.broad {
		return `lower(` + col + `) LIKE ? ESCAPE '\'`, []any{m.likePattern()}
	}
	args := make([]any, len(m.keys))
	for i, k := range m.keys {
		args[i] = k
	}
	if m.Field == FieldProcess {
		// crashes_by_process is in NOCASE order.
		col += ` COLLATE NOCASE`
	}
	return col + ` IN (` + strings.TrimSuffix(strings.Repeat("?, ", len(m.keys)), ", ") + `)`, args
}

// resolveAll resolves every filter; none is false when one matches no key.
func (s *SQLite) resolveAll(ctx context.Context, fms []FieldMatch) (ms []matched, none bool, err error) {
	for _, fm := range fms {
		m, err := s.resolve(ctx, fm)
		if err != nil {
			return nil, false, err
		}
		if !m.broad && len(m.keys) == 0 {
			return nil, true, nil
		}
		ms = append(ms, m)
	}
	return ms, false, nil
}
