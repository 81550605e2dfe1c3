package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/dumptriage/dumptriage/store"
)

const webhookUsage = `usage:
  dumptriage webhook add URL [--events new,regression,threshold] [--threshold N] [--format slack|json] [--data DIR]
  dumptriage webhook list [--data DIR]
  dumptriage webhook remove ID [--data DIR]

events: new (a signature seen for the first time), regression (a group marked fixed in a
version crashes in it or a later one), threshold (a signature reaches N crashes per hour).
format: slack sends {"text": ...} (Slack, Mattermost, Teams workflows); json the alert's
fields. The default is slack for hooks.slack.com URLs, else json.`

// runWebhook manages alert webhooks in a data folder.
func runWebhook(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%s", webhookUsage)
	}
	fs := flag.NewFlagSet("webhook "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	data, dbURL := indexFlags(fs)
	events := fs.String("events", "new,regression", "comma list of new, regression, threshold")
	threshold := fs.Int("threshold", 0, "crashes per hour of one signature, for the threshold event")
	format := fs.String("format", "", "slack or json (default: by URL)")
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	need := map[string]int{"add": 1, "list": 0, "remove": 1}
	if n, ok := need[args[0]]; !ok || len(pos) != n {
		return fmt.Errorf("%s", webhookUsage)
	}
	ctx := context.Background()
	db, err := openIndex(ctx, *data, *dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	switch args[0] {
	case "add":
		h, err := store.NewWebhook(pos[0], *format, *events, *threshold, "cli")
		if err != nil {
			return err
		}
		if h, err = db.AddWebhook(ctx, h); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "webhook %d: %s (%s) on %s\n", h.ID, h.URL, h.Format, joinEvents(h))
	case "list":
		hs, err := db.Webhooks(ctx)
		if err != nil {
			return err
		}
		for _, h := range hs {
			fmt.Fprintf(stdout, "%d\t%s\t%s\t%s\n", h.ID, h.URL, h.Format, joinEvents(h))
		}
	case "remove":
		id, err := strconv.ParseInt(pos[0], 10, 64)
		if err != nil {
			return fmt.Errorf("webhook id %q is not a number", pos[0])
		}
		if err := db.RemoveWebhook(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "webhook %d removed\n", id)
	}
	return nil
}

func joinEvents(h store.Webhook) string {
	s := make([]string, len(h.Events))
	for i, e := range h.Events {
		s[i] = string(e)
		if e == store.AlertThreshold {
			s[i] += fmt.Sprintf(" (%d/hour)", h.Threshold)
		}
	}
	return strings.Join(s, ",")
}
