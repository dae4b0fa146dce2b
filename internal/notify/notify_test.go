package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pitrguard/pitrguard/internal/config"
)

var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func msg(kind Kind, owner, table string) Message {
	m := New(kind, now)
	m.Account, m.Region, m.Table, m.Owner, m.Tier = "111111111111", "us-east-1", table, owner, "critical"
	m.ARN = "arn:aws:dynamodb:us-east-1:111111111111:table/" + table
	m.Message = string(kind) + " on " + table
	m.State = "DISABLED"
	return m
}

type recorder struct {
	mu     sync.Mutex
	bodies [][]byte
	heads  []http.Header
	// statuses are answered in turn (then 200); retryAfter goes with 429s.
	statuses   []int
	retryAfter string
}

func (r *recorder) server(t *testing.T) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, body)
		r.heads = append(r.heads, req.Header.Clone())
		status := http.StatusOK
		if len(r.statuses) > 0 {
			status, r.statuses = r.statuses[0], r.statuses[1:]
		}
		r.mu.Unlock()
		if status == http.StatusTooManyRequests && r.retryAfter != "" {
			w.Header().Set("Retry-After", r.retryAfter)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(s.Close)
	return s
}

type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return nil
}

func notifyCfg(channels ...config.Channel) *config.Notify {
	n := &config.Notify{Channels: channels, Default: config.StringList{channels[0].Name}}
	return n
}

func TestWebhookSignedPayloadAndRetryAfter(t *testing.T) {
	rec := &recorder{statuses: []int{429, 429}, retryAfter: "7"}
	srv := rec.server(t)
	sl := &sleeps{}
	cfg := notifyCfg(config.Channel{Name: "secops", Type: "webhook", URL: srv.URL, Secret: "${env:HOOK}"})
	senders, errs := Build(context.Background(), cfg, Deps{Getenv: func(k string) string { return map[string]string{"HOOK": "k3y"}[k] }, Sleep: sl.sleep})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	r := NewRouter(cfg, senders, nil, func() time.Time { return now })
	ds := r.Send(context.Background(), []Message{msg(PITRDisabled, "payments", "orders")})
	if len(ds) != 1 || ds[0].Result != "sent" {
		t.Fatalf("deliveries %+v, want one sent", ds)
	}
	if len(rec.bodies) != 3 || !slices.Equal(sl.d, []time.Duration{7 * time.Second, 7 * time.Second}) {
		t.Fatalf("%d POSTs, sleeps %v; want 3 POSTs honouring Retry-After: 7 twice", len(rec.bodies), sl.d)
	}
	body := rec.bodies[2]
	if got := rec.heads[2].Get(SignatureHeader); got != Sign("k3y", body) || !strings.HasPrefix(got, "sha256=") {
		t.Errorf("signature %q does not verify", got)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	if m["schema_version"] != float64(1) || m["kind"] != "pitr_disabled" || m["table"] != "orders" || m["owner"] != "payments" || m["time"] != "2026-11-24T12:00:00Z" {
		t.Errorf("payload %v", m)
	}
	if _, ok := m["State"]; ok {
		t.Errorf("internal dedup state leaked into the payload")
	}
}

func TestRoutingGroupingDedupAndIsolation(t *testing.T) {
	good, bad, slack := &recorder{}, &recorder{statuses: slices.Repeat([]int{500}, 100)}, &recorder{}
	gs, bs, ss := good.server(t), bad.server(t), slack.server(t)
	cfg := &config.Notify{
		Channels: []config.Channel{
			{Name: "secops", Type: "webhook", URL: gs.URL},
			{Name: "broken", Type: "webhook", URL: bs.URL},
			{Name: "payments", Type: "slack", URL: "${env:SLACK}"},
		},
		Routes:  []config.Route{{Owners: config.StringList{"payments"}, Channels: config.StringList{"payments", "broken"}}},
		Default: config.StringList{"secops"},
	}
	sl := &sleeps{}
	senders, errs := Build(context.Background(), cfg, Deps{Getenv: func(string) string { return ss.URL }, Sleep: sl.sleep})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	r := NewRouter(cfg, senders, &MemoryDedup{}, func() time.Time { return now })
	msgs := []Message{msg(PITRDisabled, "payments", "orders"), msg(PITRDisabled, "payments", "ledger"),
		msg(PITRDisabled, "", "tmp"), msg(PITRDisabled, "unrouted", "x"), msg(TableDeleted, "payments", "old")}
	ds := r.Send(context.Background(), msgs)
	type row struct {
		ch, owner, kind, result string
		n                       int
	}
	var got []row
	for _, d := range ds {
		got = append(got, row{d.Channel, d.Owner, string(d.Kind), d.Result, len(d.Tables)})
	}
	want := []row{
		{"broken", "payments", "pitr_disabled", "failed", 2}, {"broken", "payments", "table_deleted", "failed", 1},
		{"payments", "payments", "pitr_disabled", "sent", 2}, {"payments", "payments", "table_deleted", "sent", 1},
		{"secops", "", "pitr_disabled", "sent", 1}, {"secops", "unrouted", "pitr_disabled", "sent", 1},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("deliveries\n got %v\nwant %v", got, want)
	}
	if len(slack.bodies) != 2 || !slices.ContainsFunc(slack.bodies, func(b []byte) bool {
		return strings.Contains(string(b), `"text":"pitrguard: 2 tables (payments): pitr disabled\n• pitr_disabled on ledger\n• pitr_disabled on orders"`)
	}) {
		t.Errorf("slack got %d messages: %s", len(slack.bodies), slack.bodies)
	}
	// Grouped webhook envelope lists the tables.
	var env map[string]any
	_ = json.Unmarshal(good.bodies[0], &env)
	if env["kind"] != "pitr_disabled" {
		t.Errorf("webhook body %v", env)
	}
	// The same (table, kind, state) again within the window: nothing is sent
	// where it went through; the failed channel is tried again.
	before := len(slack.bodies) + len(good.bodies)
	ds = r.Send(context.Background(), msgs[:1])
	var results []string
	for _, d := range ds {
		results = append(results, d.Channel+":"+d.Result)
	}
	if !slices.Equal(results, []string{"broken:failed", "payments:deduplicated"}) || len(slack.bodies)+len(good.bodies) != before {
		t.Errorf("second send %v (posts %d → %d); want payments deduplicated, broken retried", results, before, len(slack.bodies)+len(good.bodies))
	}
	// A new state (a second disable later) is not deduplicated.
	m2 := msgs[0]
	m2.State = "DISABLED@later"
	if ds := r.Send(context.Background(), []Message{m2}); ds[1].Result != "sent" {
		t.Errorf("a new state was deduplicated: %+v", ds)
	}
}

func TestBuildReportsUnresolvedSecrets(t *testing.T) {
	cfg := &config.Notify{Channels: []config.Channel{
		{Name: "a", Type: "slack", URL: "${env:MISSING}"},
		{Name: "b", Type: "webhook", URL: "https://example.com/x"},
	}, Default: config.StringList{"a", "b"}}
	senders, errs := Build(context.Background(), cfg, Deps{Getenv: func(string) string { return "" }})
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "environment variable MISSING is not set") {
		t.Fatalf("errors %v", errs)
	}
	if _, ok := senders["a"]; ok || senders["b"] == nil {
		t.Fatalf("senders %v: a must be left out, b kept", senders)
	}
	r := NewRouter(cfg, senders, nil, nil)
	ds := r.DryRun(context.Background(), []Message{msg(Regression, "", "t")})
	if len(ds) != 2 || ds[0].Result != "dry_run" || ds[1].Result != "dry_run" {
		t.Errorf("dry run %+v", ds)
	}
}

func TestRetryAfterForms(t *testing.T) {
	if d := retryAfter("3", time.Second); d != 3*time.Second {
		t.Errorf("seconds: %v", d)
	}
	if d := retryAfter("9999", time.Second); d != maxRetryAfter {
		t.Errorf("cap: %v", d)
	}
	if d := retryAfter("soon", 2*time.Second); d != 2*time.Second {
		t.Errorf("garbage: %v", d)
	}
	if d := retryAfter(time.Now().Add(10*time.Second).UTC().Format(http.TimeFormat), time.Second); d < 8*time.Second || d > 10*time.Second {
		t.Errorf("HTTP date: %v", d)
	}
}
