// Package alert delivers the alerts the store raises to webhooks: a
// Slack-compatible {"text": ...} or a generic JSON payload, POSTed with a
// timeout, retried with exponential backoff, every attempt logged.
package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/dumptriage/dumptriage/store"
)

// Outbox is what the dispatcher reads and writes.
type Outbox interface {
	DueDeliveries(ctx context.Context, now time.Time, limit int) ([]store.Delivery, error)
	RecordAttempt(ctx context.Context, id int64, a store.DeliveryAttempt, sent bool, next time.Time) error
}

// Dispatcher sends due deliveries.
type Dispatcher struct {
	Outbox Outbox
	Client *http.Client // default: 10 s timeout
	// PublicURL makes the links in payloads absolute.
	PublicURL string
	// MaxAttempts before a delivery is given up (default 8); Backoff is
	// the wait after the n-th failed attempt (default 30 s doubling, at
	// most an hour).
	MaxAttempts int
	Backoff     func(n int) time.Duration
	Log         *slog.Logger
	Now         func() time.Time
}

func (d *Dispatcher) defaults() {
	if d.Client == nil {
		d.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if d.MaxAttempts <= 0 {
		d.MaxAttempts = 8
	}
	if d.Backoff == nil {
		d.Backoff = func(n int) time.Duration { return min(30*time.Second<<min(n-1, 10), time.Hour) }
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
}

// Run sends due deliveries every interval until ctx ends.
func (d *Dispatcher) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := d.RunOnce(ctx); err != nil && ctx.Err() == nil {
			d.Log.Error("webhook deliveries", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunOnce sends the deliveries due now and returns how many it tried.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	d.defaults()
	due, err := d.Outbox.DueDeliveries(ctx, d.Now(), 50)
	if err != nil {
		return 0, err
	}
	for _, dl := range due {
		a := d.send(ctx, dl)
		sent := a.Error == "" && a.StatusCode >= 200 && a.StatusCode < 300
		var next time.Time
		n := dl.Attempts + 1
		// A 4xx other than 408 and 429 will not get better by waiting.
		permanent := a.StatusCode >= 400 && a.StatusCode < 500 && a.StatusCode != 408 && a.StatusCode != 429
		if !sent && !permanent && n < d.MaxAttempts {
			next = d.Now().Add(d.Backoff(n))
		}
		log := d.Log.With("webhook", dl.Webhook.ID, "alert", dl.Alert.ID, "kind", dl.Alert.Kind, "attempt", n,
			"status", a.StatusCode)
		switch {
		case sent:
			log.Info("webhook delivered")
		case next.IsZero():
			log.Warn("webhook delivery given up", "err", a.Error)
		default:
			log.Info("webhook delivery failed, will retry", "err", a.Error, "next", next)
		}
		if err := d.Outbox.RecordAttempt(ctx, dl.ID, a, sent, next); err != nil {
			return len(due), err
		}
	}
	return len(due), nil
}

func (d *Dispatcher) send(ctx context.Context, dl store.Delivery) store.DeliveryAttempt {
	a := store.DeliveryAttempt{At: d.Now()}
	body, err := Payload(dl.Webhook.Format, dl.Alert, d.PublicURL)
	if err != nil {
		a.Error = err.Error()
		return a
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dl.Webhook.URL, bytes.NewReader(body))
	if err != nil {
		a.Error = err.Error()
		return a
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "dumptriage-webhook/1")
	req.Header.Set("X-Dumptriage-Event", string(dl.Alert.Kind))
	start := time.Now()
	resp, err := d.Client.Do(req)
	a.Duration = time.Since(start)
	if err != nil {
		a.Error = err.Error()
		return a
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	a.StatusCode = resp.StatusCode
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		a.Error = resp.Status
	}
	return a
}

// Event is the generic JSON payload.
type Event struct {
	Event        store.AlertKind `json:"event"`
	Signature    string          `json:"signature"`
	Version      string          `json:"version,omitempty"`
	Detail       string          `json:"detail"`
	DumpID       string          `json:"dump_id,omitempty"`
	DumpURL      string          `json:"dump_url,omitempty"`
	SignatureURL string          `json:"signature_url"`
	At           time.Time       `json:"at"`
}

var titles = map[store.AlertKind]string{
	store.AlertNew:        "New crash",
	store.AlertRegression: "Regression",
	store.AlertThreshold:  "Crash spike",
}

// Payload is the body a webhook of the given format receives for an alert.
func Payload(format store.WebhookFormat, a store.Alert, publicURL string) ([]byte, error) {
	base := publicURL
	ev := Event{Event: a.Kind, Signature: a.Signature, Version: a.Version, Detail: a.Detail, DumpID: a.DumpID, At: a.CreatedAt,
		SignatureURL: base + "/signatures/" + url.PathEscape(a.Signature)}
	if a.DumpID != "" {
		ev.DumpURL = base + "/dumps/" + a.DumpID
	}
	if format == store.FormatSlack {
		text := fmt.Sprintf("*%s*: <%s|%s>", titles[a.Kind], ev.SignatureURL, slackEscape(a.Signature))
		if a.Version != "" {
			text += " in " + slackEscape(a.Version)
		}
		text += " · " + slackEscape(a.Detail)
		if ev.DumpURL != "" {
			text += fmt.Sprintf(" · <%s|report>", ev.DumpURL)
		}
		return json.Marshal(map[string]string{"text": text})
	}
	return json.Marshal(ev)
}

// slackEscape escapes what Slack's mrkdwn treats as control characters.
func slackEscape(s string) string {
	var b bytes.Buffer
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
