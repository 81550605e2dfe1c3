package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Attachment is a file a crash reporter sent beside the dump (a log).
type Attachment struct {
	ID          int64
	Field       string // multipart field name
	FileName    string
	ContentType string
	Size        int64 // as uploaded
	Truncated   bool  // Data holds only the first bytes
	Data        []byte
}

// Annotation keys that name the product and its version, in order of
// precedence. Electron sends its own name in prod/ver and the app's in
// _productName/_version; Sentry's release is "product@version".
var (
	productKeys = []string{"_productName", "prod", "ProductName"}
	versionKeys = []string{"_version", "ver", "Version"}
)

// ProductVersion derives the product and version a dump is filed under
// from its annotations: the reporter's product and version fields, then
// the Sentry release, then the Sentry project for the product.
func ProductVersion(ann map[string]string) (product, version string) {
	first := func(keys []string) string {
		for _, k := range keys {
			if v := strings.TrimSpace(ann[k]); v != "" {
				return v
			}
		}
		return ""
	}
	product, version = first(productKeys), first(versionKeys)
	if rel := strings.TrimSpace(ann["release"]); rel != "" {
		p, v, ok := strings.Cut(rel, "@")
		if !ok {
			p, v = "", rel
		}
		if product == "" {
			product = p
		}
		if version == "" {
			version = v
		}
	}
	if product == "" {
		product = strings.TrimSpace(ann["sentry.project"])
	}
	return clip(product, 200), clip(version, 200)
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// addAnnotations stores a dump's annotations and attachments; a key the
// dump already has keeps its first value (duplicate uploads add, never
// overwrite), and an attachment it already has, same name and bytes, is
// not added again.
func (s *SQLite) addAnnotations(ctx context.Context, tx *sql.Tx, id int64, ann map[string]string, atts []Attachment) error {
	keys := make([]string, 0, len(ann))
	for k := range ann {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, err := s.exec(ctx, tx, `INSERT OR IGNORE INTO annotations (dump_id, key, value) VALUES (?, ?, ?)`,
			id, k, ann[k]); err != nil {
			return err
		}
	}
	for _, a := range atts {
		// A crash reporter that retries sends the same files again.
		var n int
		if err := s.queryRow(ctx, tx, `SELECT count(*) FROM attachments WHERE dump_id = ? AND file_name = ? AND size = ? AND data = ?`,
			id, a.FileName, a.Size, a.Data).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		if _, err := s.exec(ctx, tx, `INSERT INTO attachments (dump_id, field, file_name, content_type, size, truncated, data)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, id, a.Field, a.FileName, a.ContentType, a.Size, a.Truncated, a.Data); err != nil {
			return err
		}
	}
	return nil
}

// Annotations returns a dump's annotations.
func (s *SQLite) Annotations(ctx context.Context, uid string) (_ map[string]string, err error) {
	defer wrap(&err, "Annotations(%s)", uid)
	rows, err := s.r.QueryContext(ctx, `SELECT n.key, n.value FROM annotations n JOIN dumps d ON d.id = n.dump_id
		WHERE d.uid = ?`, uid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, rows.Err()
}

// Attachments lists a dump's attachments without their data.
func (s *SQLite) Attachments(ctx context.Context, uid string) (_ []Attachment, err error) {
	defer wrap(&err, "Attachments(%s)", uid)
	rows, err := s.r.QueryContext(ctx, `SELECT t.id, t.field, t.file_name, t.content_type, t.size, t.truncated
		FROM attachments t JOIN dumps d ON d.id = t.dump_id WHERE d.uid = ? ORDER BY t.id`, uid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Attachment
	for rows.Next() {
		var a Attachment
		if err := rows.Scan(&a.ID, &a.Field, &a.FileName, &a.ContentType, &a.Size, &a.Truncated); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Attachment returns one attachment of a dump with its data.
func (s *SQLite) Attachment(ctx context.Context, uid string, id int64) (a Attachment, err error) {
	defer wrap(&err, "Attachment(%s, %d)", uid, id)
	err = s.r.QueryRowContext(ctx, `SELECT t.id, t.field, t.file_name, t.content_type, t.size, t.truncated, t.data
		FROM attachments t JOIN dumps d ON d.id = t.dump_id WHERE d.uid = ? AND t.id = ?`, uid, id).
		Scan(&a.ID, &a.Field, &a.FileName, &a.ContentType, &a.Size, &a.Truncated, &a.Data)
	if err == sql.ErrNoRows {
		return a, ErrNotFound
	}
	return a, err
}

// ReporterLogNames are the attachments that hold a crash reporter's own
// record of the crash, in order of preference: Unreal's crash context
// (its CallStack and PCallStack), Unity's error.log, Player.log and
// output_log.txt. The analyzer holds their stack against its own.
var ReporterLogNames = []string{"crashcontext.runtime-xml", "error.log", "player.log", "output_log.txt"}

// ReporterLog returns the data of the dump's attachment that holds its
// crash reporter's log (see ReporterLogNames), or nil.
func (s *SQLite) ReporterLog(ctx context.Context, sha256 string) (_ []byte, err error) {
	defer wrap(&err, "ReporterLog(%s)", sha256)
	rows, err := s.r.QueryContext(ctx, `SELECT t.file_name, t.data FROM attachments t JOIN dumps d ON d.id = t.dump_id
		WHERE d.sha256 = ? AND lower(t.file_name) IN (?, ?, ?, ?) ORDER BY t.id`,
		sha256, ReporterLogNames[0], ReporterLogNames[1], ReporterLogNames[2], ReporterLogNames[3])
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	best, rank := []byte(nil), len(ReporterLogNames)
	for rows.Next() {
		var name string
		var data []byte
		if err := rows.Scan(&name, &data); err != nil {
			return nil, err
		}
		if i := slices.Index(ReporterLogNames, strings.ToLower(name)); i >= 0 && i < rank {
			best, rank = data, i
		}
	}
	return best, rows.Err()
}

// annotated is implemented by indexes that keep annotations.
type annotated interface {
	Annotations(ctx context.Context, uid string) (map[string]string, error)
	Attachments(ctx context.Context, uid string) ([]Attachment, error)
	Attachment(ctx context.Context, uid string, id int64) (Attachment, error)
	ReporterLog(ctx context.Context, sha256 string) ([]byte, error)
}

func (s *Store) annotated() (annotated, error) {
	a, ok := s.Index.(annotated)
	if !ok {
		return nil, fmt.Errorf("the index keeps no annotations")
	}
	return a, nil
}

// Annotations returns a dump's annotations (empty when it has none).
func (s *Store) Annotations(ctx context.Context, id string) (map[string]string, error) {
	a, err := s.annotated()
	if err != nil {
		return nil, err
	}
	return a.Annotations(ctx, id)
}

// Attachments lists a dump's attachments without their data.
func (s *Store) Attachments(ctx context.Context, id string) ([]Attachment, error) {
	a, err := s.annotated()
	if err != nil {
		return nil, err
	}
	return a.Attachments(ctx, id)
}

// Attachment returns one attachment with its data.
func (s *Store) Attachment(ctx context.Context, id string, att int64) (Attachment, error) {
	a, err := s.annotated()
	if err != nil {
		return Attachment{}, err
	}
	return a.Attachment(ctx, id, att)
}

// ReporterLog returns the crash reporter's log attached to the dump with
// this sha256, or nil (see ReporterLogNames).
func (s *Store) ReporterLog(ctx context.Context, sha256 string) ([]byte, error) {
	a, err := s.annotated()
	if err != nil {
		return nil, err
	}
	return a.ReporterLog(ctx, sha256)
}
