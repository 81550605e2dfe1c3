package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestWebhookCommand(t *testing.T) {
	data := t.TempDir()
	for _, tt := range []struct {
		args    []string
		out     string
		wantErr string
	}{
		{[]string{"add", "https://hooks.slack.com/services/T/B/x", "--events", "new,regression", "--data", data}, "webhook 1: https://hooks.slack.com/services/T/B/x (slack) on new,regression", ""},
		{[]string{"add", "--data", data, "http://127.0.0.1:9/h", "--events", "threshold", "--threshold", "20"}, "webhook 2: http://127.0.0.1:9/h (json) on threshold (20/hour)", ""},
		{[]string{"add", "http://127.0.0.1:9/h", "--events", "threshold", "--data", data}, "", "--threshold N"},
		{[]string{"add", "http://127.0.0.1:9/h", "--events", "sometimes", "--data", data}, "", "not new, regression or threshold"},
		{[]string{"add", "file:///etc/passwd", "--data", data}, "", "not an http(s) URL"},
		{[]string{"list", "--data", data}, "1\thttps://hooks.slack.com/services/T/B/x\tslack\tnew,regression\n2\thttp://127.0.0.1:9/h\tjson\tthreshold (20/hour)\n", ""},
		{[]string{"remove", "1", "--data", data}, "webhook 1 removed", ""},
		{[]string{"remove", "1", "--data", data}, "", "not found"},
		{[]string{"add"}, "", "usage"},
	} {
		var out, errb bytes.Buffer
		err := runWebhook(tt.args, &out, &errb)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%v: err %v, want %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !strings.Contains(out.String(), tt.out) {
			t.Errorf("%v: %v, out %q, want %q", tt.args, err, out.String(), tt.out)
		}
	}
}
