package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// GroupState is a crash group's triage state.
type GroupState string

// Group states.
const (
	GroupNew           GroupState = "new"
	GroupInvestigating GroupState = "investigating"
	GroupFixed         GroupState = "fixed" // in GroupStatus.FixedIn
	GroupIgnored       GroupState = "ignored"
)

// ParseGroupState reads a state name.
func ParseGroupState(s string) (GroupState, error) {
	switch g := GroupState(s); g {
	case GroupNew, GroupInvestigating, GroupFixed, GroupIgnored:
		return g, nil
	}
	return "", fmt.Errorf("%w: status %q is not new, investigating, fixed or ignored", ErrBadRequest, s)
}

// GroupStatus is a signature's triage: its state, the version that fixed
// it, a bug link, who owns it and a note. RegressedIn is set when a crash
// came in a version at or past RegressedFrom, the version it was marked
// fixed in; it stays until the group is set fixed or ignored again.
type GroupStatus struct {
	Signature     string
	State         GroupState
	FixedIn       string
	BugURL        string
	Assignee      string // a user's name, or none
	Note          string
	RegressedFrom string
	RegressedIn   string
	RegressedAt   time.Time
	UpdatedAt     time.Time
	UpdatedBy     string
}

// AlertKind is what an alert reports.
type AlertKind string

// Alert kinds; a webhook subscribes to some.
const (
	AlertNew        AlertKind = "new"        // a signature seen for the first time
	AlertRegression AlertKind = "regression" // a group fixed in a version crashed in that version or a later one
	AlertThreshold  AlertKind = "threshold"  // a signature reached the webhook's crashes per hour
)

// ParseAlertKinds reads "new,regression".
func ParseAlertKinds(s string) ([]AlertKind, error) {
	var out []AlertKind
	for _, p := range strings.Split(s, ",") {
		switch k := AlertKind(strings.TrimSpace(p)); k {
		case AlertNew, AlertRegression, AlertThreshold:
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
		default:
			return nil, fmt.Errorf("%w: event %q is not new, regression or threshold", ErrBadRequest, p)
		}
	}
	return out, nil
}

// WebhookFormat is a webhook's payload.
type WebhookFormat string

// Payload formats.
const (
	FormatJSON  WebhookFormat = "json"  // the alert's fields
	FormatSlack WebhookFormat = "slack" // {"text": ...}, which Slack, Mattermost and Teams workflows take
)

// Webhook is where alerts go.
type Webhook struct {
	ID        int64
	URL       string
	Format    WebhookFormat
	Events    []AlertKind
	Threshold int // crashes per hour, for AlertThreshold
	CreatedAt time.Time
	CreatedBy string
}

// Alert is one event.
type Alert struct {
	ID        int64
	Kind      AlertKind
	Signature string
	DumpID    string // the dump that raised it
	Version   string
	Detail    string
	CreatedAt time.Time
}

// Delivery is one alert to one webhook.
type Delivery struct {
	ID       int64
	Webhook  Webhook
	Alert    Alert
	State    string // pending, sent or failed
	Attempts int
	NextAt   time.Time
	Log      []DeliveryAttempt // newest last, for the admin page
}

// DeliveryAttempt is one try.
type DeliveryAttempt struct {
	At         time.Time
	StatusCode int // 0: no answer
	Error      string
	Duration   time.Duration
}

// NewWebhook checks and describes a webhook to add.
func NewWebhook(rawURL, format, events string, threshold int, by string) (Webhook, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(rawURL) > 2000 {
		return Webhook{}, fmt.Errorf("%w: webhook URL %q is not an http(s) URL", ErrBadRequest, rawURL)
	}
	w := Webhook{URL: rawURL, Format: WebhookFormat(format), Threshold: threshold, CreatedBy: by}
	if w.Format == "" {
		w.Format = FormatJSON
		if strings.Contains(u.Host, "hooks.slack.com") {
			w.Format = FormatSlack
		}
	}
	if w.Format != FormatJSON && w.Format != FormatSlack {
		return w, fmt.Errorf("%w: format %q is not json or slack", ErrBadRequest, format)
	}
	if w.Events, err = ParseAlertKinds(events); err != nil {
		return w, err
	}
	if slices.Contains(w.Events, AlertThreshold) && (threshold < 1 || threshold > 1_000_000) {
		return w, fmt.Errorf("%w: the threshold event needs --threshold N crashes per hour (1 or more)", ErrBadRequest)
	}
	return w, nil
}

func joinKinds(ks []AlertKind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ",")
}

// AddWebhook stores a webhook made by NewWebhook.
func (s *SQLite) AddWebhook(ctx context.Context, w Webhook) (_ Webhook, err error) {
	defer wrap(&err, "AddWebhook")
	w.CreatedAt = s.now().UTC().Truncate(time.Millisecond)
	err = s.w.QueryRowContext(ctx, `INSERT INTO webhooks (url, format, events, threshold, created_at, created_by)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, w.URL, string(w.Format), joinKinds(w.Events), w.Threshold,
		ms(w.CreatedAt), w.CreatedBy).Scan(&w.ID)
	return w, err
}

// RemoveWebhook deletes a webhook and its deliveries.
func (s *SQLite) RemoveWebhook(ctx context.Context, id int64) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM webhooks WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("RemoveWebhook(%d): %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("webhook %d: %w", id, ErrNotFound)
	}
	return nil
}

func scanWebhook(sc scanner, extra ...any) (Webhook, error) {
	var w Webhook
	var format, events string
	var created int64
	err := sc.Scan(append([]any{&w.ID, &w.URL, &format, &events, &w.Threshold, &created, &w.CreatedBy}, extra...)...)
	w.Format, w.CreatedAt = WebhookFormat(format), fromMS(created)
	w.Events, _ = ParseAlertKinds(events)
	return w, err
}

const webhookCols = `w.id, w.url, w.format, w.events, w.threshold, w.created_at, w.created_by`

// Webhooks lists the webhooks, oldest first.
func (s *SQLite) Webhooks(ctx context.Context) (_ []Webhook, err error) {
	defer wrap(&err, "Webhooks")
	rows, err := s.r.QueryContext(ctx, `SELECT `+webhookCols+` FROM webhooks w ORDER BY w.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Webhook
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// GroupStatus returns a signature's triage state (new when never set).
func (s *SQLite) GroupStatus(ctx context.Context, sig string) (GroupStatus, error) {
	return s.groupStatus(ctx, s.r, sig)
}

type querier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

func (s *SQLite) groupStatus(ctx context.Context, q querier, sig string) (GroupStatus, error) {
	g := GroupStatus{Signature: sig, State: GroupNew}
	var state string
	var at, regAt int64
	err := q.QueryRowContext(ctx, `SELECT status, fixed_in, bug_url, assignee, note, regressed_from, regressed_in,
		regressed_at, updated_at, updated_by FROM group_status WHERE signature = ?`, sig).Scan(&state, &g.FixedIn,
		&g.BugURL, &g.Assignee, &g.Note, &g.RegressedFrom, &g.RegressedIn, &regAt, &at, &g.UpdatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return g, nil
	}
	g.State, g.UpdatedAt = GroupState(state), fromMS(at)
	if regAt != 0 {
		g.RegressedAt = fromMS(regAt)
	}
	return g, err
}

// SetGroupStatus sets a signature's state, fixed-in version and bug link,
// leaving its assignee and note as they are.
func (s *SQLite) SetGroupStatus(ctx context.Context, g GroupStatus) (GroupStatus, error) {
	st := g.State
	return s.UpdateGroup(ctx, GroupChange{Signature: g.Signature, State: &st, FixedIn: &g.FixedIn, BugURL: &g.BugURL,
		By: g.UpdatedBy})
}

// alertInputs is what raiseAlerts reads before the analysis is stored:
// nothing the analysis changes, and reading it first keeps the rows every
// analysis updates (the rollups' totals) locked for less time.
type alertInputs struct {
	g          GroupStatus
	thresholds []int // the webhooks' hourly thresholds
}

// readAlertInputs reads the group's state and the webhooks' thresholds;
// nil when the analysis can raise nothing (no signature, ignored group).
func (s *SQLite) readAlertInputs(ctx context.Context, tx *sql.Tx, sig string) (*alertInputs, error) {
	if sig == "" {
		return nil, nil
	}
	g, err := s.groupStatus(ctx, tx, sig)
	if err != nil || g.State == GroupIgnored {
		return nil, err
	}
	in := &alertInputs{g: g}
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT threshold FROM webhooks WHERE threshold > 0
		AND ',' || events || ',' LIKE '%,threshold,%'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var t int
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		in.thresholds = append(in.thresholds, t)
	}
	return in, rows.Err()
}

// raiseAlerts runs in the transaction that stores a dump's first analysis,
// after it: a new signature, a regression of a fixed group and a signature
// reaching a webhook's hourly threshold become alerts, with a delivery to
// each webhook subscribed. Ignored groups raise nothing.
func (s *SQLite) raiseAlerts(ctx context.Context, tx *sql.Tx, dumpRow int64, sig string, in *alertInputs) error {
	if in == nil {
		return nil
	}
	g := in.g
	var version string
	var at int64
	var n sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT c.version, c.at, g.n FROM crashes c
		LEFT JOIN crash_groups g ON g.dim = 'sig' AND g.key = ? WHERE c.dump_id = ?`, sig, dumpRow).Scan(&version, &at, &n)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	if !n.Valid {
		return fmt.Errorf("signature %q has no crash_groups row", sig)
	}
	now := ms(s.now())
	raise := func(kind AlertKind, detail string, threshold int) error {
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO alerts (kind, signature, dump_id, version, detail, created_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, string(kind), sig, dumpRow, version, detail, now).Scan(&id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO deliveries (webhook_id, alert_id, next_at)
			SELECT id, ?, ? FROM webhooks WHERE ',' || events || ',' LIKE ? AND (? = 0 OR threshold = ?)`,
			id, now, "%,"+string(kind)+",%", threshold, threshold)
		return err
	}
	if n.Int64 == 1 && g.UpdatedAt.IsZero() {
		if err := raise(AlertNew, "first crash with this signature", 0); err != nil {
			return err
		}
	}
	if g.State == GroupFixed {
		// Another worker's regression or a user's change may have landed
		// since the group was read (on PostgreSQL, where writers don't
		// take turns): decide on its state now, in turn.
		if err := s.lockGroup(ctx, tx, sig); err != nil {
			return err
		}
		if g, err = s.groupStatus(ctx, tx, sig); err != nil {
			return err
		}
	}
	if g.State == GroupFixed && version != "" && CompareVersions(version, g.FixedIn) >= 0 {
		if err := raise(AlertRegression, fmt.Sprintf("marked fixed in %s, crashed in %s", g.FixedIn, version), 0); err != nil {
			return err
		}
		// The group is open again, marked regressed; later crashes do not
		// raise it again.
		if _, err := tx.ExecContext(ctx, `UPDATE group_status SET status = 'new', fixed_in = '', regressed_from = ?,
			regressed_in = ?, regressed_at = ?, updated_at = ?, updated_by = 'regression' WHERE signature = ?`,
			g.FixedIn, version, now, now, sig); err != nil {
			return err
		}
		if err := addGroupEvents(ctx, tx, sig, now, "regression", []GroupEvent{
			{Field: "regression", Old: g.FixedIn, New: version}, {Field: "status", Old: string(GroupFixed), New: string(GroupNew)},
		}); err != nil {
			return err
		}
	}
	thresholds := in.thresholds
	if len(thresholds) == 0 {
		return nil
	}
	var hour int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM crashes WHERE signature = ? AND at > ? AND at <= ?`,
		sig, at-int64(time.Hour/time.Millisecond), at).Scan(&hour); err != nil {
		return err
	}
	for _, t := range thresholds {
		if hour == t { // fires once, as the count passes the threshold
			if err := raise(AlertThreshold, fmt.Sprintf("%d crashes in the last hour", hour), t); err != nil {
				return err
			}
		}
	}
	return nil
}

// CompareVersions orders versions such as 1.10.2 and 1.9 by their numeric
// parts; non-numeric parts compare as text.
func CompareVersions(a, b string) int {
	split := func(s string) []string {
		return strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	}
	pa, pb := split(a), split(b)
	for i := 0; i < max(len(pa), len(pb)); i++ {
		var x, y string
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		nx, ex := strconv.ParseUint(x, 10, 64)
		ny, ey := strconv.ParseUint(y, 10, 64)
		switch {
		case x == y:
			continue
		case ex == nil && ey == nil:
			if nx < ny {
				return -1
			}
			return 1
		case x == "":
			return -1
		case y == "":
			return 1
		case x < y:
			return -1
		default:
			return 1
		}
	}
	return 0
}

// DueDeliveries lists pending deliveries whose time has come, oldest first.
func (s *SQLite) DueDeliveries(ctx context.Context, now time.Time, limit int) (_ []Delivery, err error) {
	defer wrap(&err, "DueDeliveries")
	return s.deliveries(ctx, `WHERE dl.state = 'pending' AND dl.next_at <= ? ORDER BY dl.next_at, dl.id LIMIT ?`,
		ms(now), limit)
}

// RecentDeliveries lists the newest deliveries with their attempts.
func (s *SQLite) RecentDeliveries(ctx context.Context, limit int) (_ []Delivery, err error) {
	defer wrap(&err, "RecentDeliveries")
	ds, err := s.deliveries(ctx, `ORDER BY dl.id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	for i := range ds {
		rows, err := s.r.QueryContext(ctx, `SELECT at, status_code, error, duration_ms FROM delivery_attempts
			WHERE delivery_id = ? ORDER BY id`, ds[i].ID)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var a DeliveryAttempt
			var at, dur int64
			if err := rows.Scan(&at, &a.StatusCode, &a.Error, &dur); err != nil {
				rows.Close()
				return nil, err
			}
			a.At, a.Duration = fromMS(at), time.Duration(dur)*time.Millisecond
			ds[i].Log = append(ds[i].Log, a)
		}
		rows.Close()
	}
	return ds, nil
}

func (s *SQLite) deliveries(ctx context.Context, tail string, args ...any) ([]Delivery, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT dl.id, dl.state, dl.attempts, dl.next_at, al.id, al.kind, al.signature,
		coalesce(d.uid, ''), al.version, al.detail, al.created_at, `+webhookCols+`
		FROM deliveries dl JOIN alerts al ON al.id = dl.alert_id JOIN webhooks w ON w.id = dl.webhook_id
		LEFT JOIN dumps d ON d.id = al.dump_id `+tail, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		var d Delivery
		var next, created int64
		var kind string
		w, err := scanWebhookAfter(rows, &d.ID, &d.State, &d.Attempts, &next, &d.Alert.ID, &kind, &d.Alert.Signature,
			&d.Alert.DumpID, &d.Alert.Version, &d.Alert.Detail, &created)
		if err != nil {
			return nil, err
		}
		d.Webhook, d.NextAt, d.Alert.Kind, d.Alert.CreatedAt = w, fromMS(next), AlertKind(kind), fromMS(created)
		out = append(out, d)
	}
	return out, rows.Err()
}

// scanWebhookAfter scans leading columns into lead, then webhookCols.
func scanWebhookAfter(sc scanner, lead ...any) (Webhook, error) {
	var w Webhook
	var format, events string
	var created int64
	err := sc.Scan(append(lead, &w.ID, &w.URL, &format, &events, &w.Threshold, &created, &w.CreatedBy)...)
	w.Format, w.CreatedAt = WebhookFormat(format), fromMS(created)
	w.Events, _ = ParseAlertKinds(events)
	return w, err
}

// RecordAttempt logs one delivery attempt. sent ends the delivery; else it
// is tried again at next, or given up when next is zero.
func (s *SQLite) RecordAttempt(ctx context.Context, id int64, a DeliveryAttempt, sent bool, next time.Time) (err error) {
	defer wrap(&err, "RecordAttempt(%d)", id)
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO delivery_attempts (delivery_id, at, status_code, error, duration_ms)
			VALUES (?, ?, ?, ?, ?)`, id, ms(a.At), a.StatusCode, clip(a.Error, 500), a.Duration.Milliseconds()); err != nil {
			return err
		}
		state, nextAt := "pending", ms(next)
		switch {
		case sent:
			state = "sent"
		case next.IsZero():
			state = "failed"
		}
		_, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = ?, attempts = attempts + 1, next_at = ? WHERE id = ?`,
			state, nextAt, id)
		return err
	})
}

// Alerts is what the alert dispatcher and admin pages need from the index.
type Alerts interface {
	AddWebhook(ctx context.Context, w Webhook) (Webhook, error)
	RemoveWebhook(ctx context.Context, id int64) error
	Webhooks(ctx context.Context) ([]Webhook, error)
	GroupStatus(ctx context.Context, sig string) (GroupStatus, error)
	SetGroupStatus(ctx context.Context, g GroupStatus) (GroupStatus, error)
	UpdateGroup(ctx context.Context, c GroupChange) (GroupStatus, error)
	GroupEvents(ctx context.Context, sig string, limit, offset int) (GroupEventPage, error)
	GroupEnds(ctx context.Context, sig string) ([]Dump, error)
	DueDeliveries(ctx context.Context, now time.Time, limit int) ([]Delivery, error)
	RecentDeliveries(ctx context.Context, limit int) ([]Delivery, error)
	RecordAttempt(ctx context.Context, id int64, a DeliveryAttempt, sent bool, next time.Time) error
}

func (s *Store) alerts() (Alerts, error) {
	a, ok := s.Index.(Alerts)
	if !ok {
		return nil, errors.New("the index keeps no alerts")
	}
	return a, nil
}

// AddWebhook stores a webhook.
func (s *Store) AddWebhook(ctx context.Context, w Webhook) (Webhook, error) {
	a, err := s.alerts()
	if err != nil {
		return w, err
	}
	return a.AddWebhook(ctx, w)
}

// RemoveWebhook deletes a webhook.
func (s *Store) RemoveWebhook(ctx context.Context, id int64) error {
	a, err := s.alerts()
	if err != nil {
		return err
	}
	return a.RemoveWebhook(ctx, id)
}

// Webhooks lists the webhooks.
func (s *Store) Webhooks(ctx context.Context) ([]Webhook, error) {
	a, err := s.alerts()
	if err != nil {
		return nil, err
	}
	return a.Webhooks(ctx)
}

// GroupStatus returns a signature's triage state.
func (s *Store) GroupStatus(ctx context.Context, sig string) (GroupStatus, error) {
	a, err := s.alerts()
	if err != nil {
		return GroupStatus{}, err
	}
	return a.GroupStatus(ctx, sig)
}

// SetGroupStatus sets a signature's triage state.
func (s *Store) SetGroupStatus(ctx context.Context, g GroupStatus) (GroupStatus, error) {
	a, err := s.alerts()
	if err != nil {
		return g, err
	}
	return a.SetGroupStatus(ctx, g)
}

// UpdateGroup changes a crash group's workflow fields and logs each change.
func (s *Store) UpdateGroup(ctx context.Context, c GroupChange) (GroupStatus, error) {
	a, err := s.alerts()
	if err != nil {
		return GroupStatus{}, err
	}
	return a.UpdateGroup(ctx, c)
}

// GroupEvents lists a crash group's changes, newest first.
func (s *Store) GroupEvents(ctx context.Context, sig string, limit, offset int) (GroupEventPage, error) {
	a, err := s.alerts()
	if err != nil {
		return GroupEventPage{}, err
	}
	return a.GroupEvents(ctx, sig, limit, offset)
}

// GroupEnds returns a crash group's newest and oldest dumps.
func (s *Store) GroupEnds(ctx context.Context, sig string) ([]Dump, error) {
	a, err := s.alerts()
	if err != nil {
		return nil, err
	}
	return a.GroupEnds(ctx, sig)
}

// RecentDeliveries lists the newest webhook deliveries with their attempts.
func (s *Store) RecentDeliveries(ctx context.Context, limit int) ([]Delivery, error) {
	a, err := s.alerts()
	if err != nil {
		return nil, err
	}
	return a.RecentDeliveries(ctx, limit)
}
