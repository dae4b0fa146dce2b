package cli

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/testaws"
)

// configItem is one AWS::DynamoDB::Table row as SelectAggregateResourceConfig
// returns it for inventory.ConfigQuery (nested JSON in a string).
type configItem struct {
	account, region, name, pitr string // pitr "" = no supplementary field
	tags                        map[string]string
	age                         time.Duration
}

func (c configItem) row() string {
	m := map[string]any{
		"accountId": c.account, "awsRegion": c.region, "resourceId": c.name, "resourceName": c.name,
		"configuration":                map[string]any{"tableStatus": "ACTIVE"},
		"configurationItemCaptureTime": fixedNow.Add(-c.age).Format("2006-01-02T15:04:05.000Z"),
	}
	tags := []map[string]string{}
	for k, v := range c.tags {
		tags = append(tags, map[string]string{"key": k, "value": v, "tag": k + "=" + v})
	}
	m["tags"] = tags
	if c.pitr != "" {
		m["supplementaryConfiguration"] = map[string]any{"ContinuousBackupsDescription": map[string]any{
			"continuousBackupsStatus":        "ENABLED",
			"pointInTimeRecoveryDescription": map[string]any{"pointInTimeRecoveryStatus": c.pitr}}}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// configFake answers SelectAggregateResourceConfig through the proxy (moto
// does not implement it), pageSize rows per call, and records the requests.
type configFake struct {
	mu       sync.Mutex
	rows     []string
	pageSize int
	requests []map[string]any
}

func (f *configFake) respond(req map[string]any) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, req)
	start := 0
	if tok, ok := req["NextToken"].(string); ok {
		start, _ = strconv.Atoi(strings.TrimPrefix(tok, "page-"))
	}
	end := min(start+f.pageSize, len(f.rows))
	out := map[string]any{"Results": f.rows[start:end], "QueryInfo": map[string]any{"SelectFields": []any{}}}
	if end < len(f.rows) {
		out["NextToken"] = "page-" + strconv.Itoa(end)
	}
	return out
}

// TestAuditConfigSource audits the golden estate (plus one table) live, then
// with --source config against a wire fake of the aggregator holding fresh
// items, a stale one, one without the PITR field, a deleted table, a table
// with no item, and no item at all for one member's account-region.
func TestAuditConfigSource(t *testing.T) {
	e := newEnv(t, 2)
	seedSmallOrg(t, e)
	m0, m1 := e.members[0], e.members[1]
	e.tables(t, m0, "us-east-1", testaws.TableSpec{Name: "ledger", PITR: true})
	args := []string{"audit", "--org", "--regions", "us-east-1,eu-west-1", "--config", "testdata/policy.yaml", "--format", "json", "--no-store"}

	live := e.run(t, args...)
	if live.code != ExitOK {
		t.Fatalf("live audit: exit %d\n%s", live.code, live.errOut)
	}
	la := live.audit(t)
	liveCalls := perOp(e.proxy.Counts(true))

	prod := map[string]string{"env": "prod", "owner": "payments"}
	items := []configItem{
		{account: mgmt, region: "us-east-1", name: "orders", pitr: "ENABLED", tags: prod, age: time.Hour},   // window tier → live
		{account: mgmt, region: "us-east-1", name: "payments", pitr: "ENABLED", tags: prod, age: time.Hour}, // window tier → live
		{account: mgmt, region: "us-east-1", name: "sessions", pitr: "DISABLED", tags: map[string]string{"env": "prod"}, age: time.Hour},
		{account: mgmt, region: "us-east-1", name: "tmp-import", pitr: "DISABLED", age: time.Hour},
		{account: mgmt, region: "us-east-1", name: "scratch-1", pitr: "DISABLED", tags: map[string]string{"team": "data"}, age: 2 * time.Hour},
		// legacy-audit: no item (created after the last recording) → live
		{account: mgmt, region: "us-east-1", name: "dropped-last-week", pitr: "DISABLED", age: 200 * time.Hour},                                   // deleted: ListTables does not list it
		{account: m0, region: "us-east-1", name: "inventory", pitr: "ENABLED", tags: map[string]string{"team": "warehouse"}, age: 30 * time.Hour}, // stale → live
		{account: m0, region: "us-east-1", name: "ledger", pitr: "ENABLED", age: 3 * time.Hour},
		{account: m0, region: "eu-west-1", name: "users", pitr: "ENABLED", tags: map[string]string{"tier": "business-critical"}, age: time.Hour},                 // window → live
		{account: m0, region: "eu-west-1", name: "events", pitr: "", tags: map[string]string{"tier": "business-critical", "owner": "analytics"}, age: time.Hour}, // no PITR field → live
		// m1 / eu-west-1 (catalog): no recorder → error, read live
	}
	fake := &configFake{pageSize: 3}
	for _, it := range items {
		fake.rows = append(fake.rows, it.row())
	}
	e.proxy.Clear() // count only the config audit's calls
	e.proxy.Add(&testaws.Rule{Op: "SelectAggregateResourceConfig", Respond: fake.respond})

	r := e.run(t, append(args, "--source", "config:org-agg", "--max-staleness", "24h")...)
	if r.code != ExitFailure {
		t.Fatalf("exit %d, want %d (coverage incomplete: one account-region has no recorder)\n%s", r.code, ExitFailure, r.errOut)
	}
	ca := r.audit(t)

	// The aggregator was paged through, 100 rows asked per call.
	if len(fake.requests) != 4 {
		t.Errorf("SelectAggregateResourceConfig calls = %d, want 4 (10 rows, 3 per page)", len(fake.requests))
	}
	for _, req := range fake.requests {
		if req["ConfigurationAggregatorName"] != "org-agg" || req["Limit"] != float64(100) ||
			!strings.Contains(req["Expression"].(string), "pointInTimeRecoveryDescription.pointInTimeRecoveryStatus") {
			t.Errorf("request %v", req)
		}
	}

	// Same tables and verdicts as the live audit; Config decided only where it could.
	if len(ca.Tables) != len(la.Tables) {
		t.Fatalf("config audit has %d tables, live %d", len(ca.Tables), len(la.Tables))
	}
	wantConfig := map[string]bool{"sessions": true, "tmp-import": true, "scratch-1": true, "ledger": true}
	wantReason := map[string]string{"orders": "recovery_window_required", "payments": "recovery_window_required",
		"legacy-audit": "config_no_item", "inventory": "config_stale", "users": "recovery_window_required",
		"events": "config_item_incomplete", "catalog": "config_not_recorded"}
	for i, c := range ca.Tables {
		l := la.Tables[i]
		if c.Account != l.Account || c.Region != l.Region || c.Name != l.Name {
			t.Fatalf("table %d: %s/%s/%s vs live %s/%s/%s", i, c.Account, c.Region, c.Name, l.Account, l.Region, l.Name)
		}
		if c.Verdict != l.Verdict || c.Tier != l.Tier || c.Owner != l.Owner || c.PITR.Status != l.PITR.Status || !slices.Equal(c.Reasons, l.Reasons) {
			t.Errorf("%s: config %s/%s/%s/%v, live %s/%s/%s/%v", c.Name, c.Verdict, c.Tier, c.PITR.Status, c.Reasons, l.Verdict, l.Tier, l.PITR.Status, l.Reasons)
		}
		if l.Source != model.SourceLive || l.SourceAgeSeconds != 0 || l.SourceReason != "" {
			t.Errorf("live audit %s: source %q age %v reason %q", l.Name, l.Source, l.SourceAgeSeconds, l.SourceReason)
		}
		switch {
		case wantConfig[c.Name]:
			age := 3600.0
			if c.Name == "scratch-1" {
				age = 7200
			} else if c.Name == "ledger" {
				age = 3 * 3600
			}
			if c.Source != model.SourceConfig || c.SourceAgeSeconds != age || c.SourceReason != "" {
				t.Errorf("%s: source %q age %v reason %q, want config, %v s", c.Name, c.Source, c.SourceAgeSeconds, c.SourceReason, age)
			}
			if c.PITR.RecoveryPeriodDays != nil {
				t.Errorf("%s: Config does not record the window, yet recovery_period_days = %d", c.Name, *c.PITR.RecoveryPeriodDays)
			}
		default:
			if c.Source != model.SourceLive || c.SourceAgeSeconds != 0 || c.SourceReason != wantReason[c.Name] {
				t.Errorf("%s: source %q age %v reason %q, want live, %q", c.Name, c.Source, c.SourceAgeSeconds, c.SourceReason, wantReason[c.Name])
			}
			if c.PITR.RecoveryPeriodDays == nil && c.PITR.Status == "ENABLED" {
				t.Errorf("%s: read live but no recovery window", c.Name)
			}
		}
	}
	if len(wantConfig)+len(wantReason) != len(ca.Tables) {
		t.Fatalf("test estate drifted: %d tables", len(ca.Tables))
	}

	// Live calls only for the tables Config could not decide.
	described := map[string]int{}
	for _, c := range e.proxy.Calls() {
		if c.Op == "DescribeTable" || c.Op == "DescribeContinuousBackups" || c.Op == "ListTagsOfResource" {
			described[c.Table]++
		}
	}
	for name := range wantConfig {
		if described[name] != 0 {
			t.Errorf("%s was decided by Config but read live (%d calls)", name, described[name])
		}
	}
	for name := range wantReason {
		if described[name] < 2 {
			t.Errorf("%s needed a live read, got %d per-table calls", name, described[name])
		}
	}
	// No GetResources where every listed table came from Config: none here
	// (each recorded account-region has a table read live), so count per target.
	cfgCalls := perOp(e.proxy.Counts(false))
	t.Logf("%d tables, calls per op: live %v (%.2f per table); --source config %v (%.2f per table)", len(ca.Tables),
		liveCalls, float64(liveCalls["total"])/float64(len(ca.Tables)), cfgCalls, float64(cfgCalls["total"])/float64(len(ca.Tables)))
	if cfgCalls["DescribeTable"] != len(wantReason) || liveCalls["DescribeTable"] != len(ca.Tables) {
		t.Errorf("DescribeTable calls: config %d, live %d", cfgCalls["DescribeTable"], liveCalls["DescribeTable"])
	}
	if got := e.proxy.Count("DescribeContinuousBackups"); got != len(wantReason) {
		t.Errorf("DescribeContinuousBackups calls = %d, want %d", got, len(wantReason))
	}

	assertPolicyCovers(t, e, "audit") // config:SelectAggregateResourceConfig included

	// The account-region without a recorder is an error; coverage incomplete.
	var notRecorded []model.ScanError
	for _, se := range ca.Errors {
		if se.Reason == model.ReasonConfigNotRecorded {
			notRecorded = append(notRecorded, se)
		}
	}
	if len(notRecorded) != 1 || notRecorded[0].Account != m1 || notRecorded[0].Region != "eu-west-1" || notRecorded[0].Table != "" ||
		!strings.Contains(notRecorded[0].Message, "org-agg") || !strings.Contains(notRecorded[0].Message, "1 table") {
		t.Errorf("not-recorded errors: %+v", notRecorded)
	}
	if len(ca.Errors) != 1 {
		t.Errorf("errors: %+v (empty account-regions without items are not errors)", ca.Errors)
	}
	if ca.Summary.CoverageComplete {
		t.Error("coverage_complete is true with an account-region missing from Config")
	}
	if ca.Summary.Compliant != la.Summary.Compliant || ca.Summary.NonCompliant != la.Summary.NonCompliant || ca.Summary.Exempt != la.Summary.Exempt {
		t.Errorf("summary: config %+v, live %+v", ca.Summary, la.Summary)
	}
}

// TestAuditConfigSourceQueryFails: an aggregator that cannot be queried makes
// every table a live read and the run's coverage incomplete, never an answer.
func TestAuditConfigSourceQueryFails(t *testing.T) {
	e := newEnv(t, 0)
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "a", PITR: true}, testaws.TableSpec{Name: "b"})
	e.proxy.Add(&testaws.Rule{Op: "SelectAggregateResourceConfig", Fault: testaws.FaultAccessDenied})
	r := e.run(t, "audit", "--regions", "us-east-1", "--format", "json", "--no-store", "--source", "config:missing")
	if r.code != ExitFailure {
		t.Fatalf("exit %d, want %d\n%s", r.code, ExitFailure, r.errOut)
	}
	a := r.audit(t)
	if len(a.Tables) != 2 || a.Summary.CoverageComplete || len(a.Errors) != 1 || a.Errors[0].Reason != model.ReasonAccessDenied ||
		!strings.Contains(a.Errors[0].Message, "aggregator missing") {
		t.Fatalf("tables %d, coverage %v, errors %+v", len(a.Tables), a.Summary.CoverageComplete, a.Errors)
	}
	for _, tr := range a.Tables {
		if tr.Source != model.SourceLive || tr.SourceReason != "config_query_failed" || tr.Verdict == model.Unknown {
			t.Errorf("%s: %s %s %s", tr.Name, tr.Source, tr.SourceReason, tr.Verdict)
		}
	}
	if v := findTable(t, a, mgmt, "us-east-1", "b").Verdict; v != model.NonCompliant {
		t.Errorf("b = %s, want NON_COMPLIANT from the live read", v)
	}
}

// TestAuditSourceFlag: a malformed --source or --max-staleness is a usage
// error before any AWS call.
func TestAuditSourceFlag(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--source", "config"}, `--source "config" is not supported; use live, or config:AGGREGATOR_NAME`},
		{[]string{"--source", "config:"}, `--source "config:" is not supported`},
		{[]string{"--source", "config:  "}, `is not supported`},
		{[]string{"--source", "aws-config:x"}, `--source "aws-config:x" is not supported`},
		{[]string{"--source", "config:agg", "--max-staleness", "0s"}, `"0s" is not a duration`},
		{[]string{"--source", "config:agg", "--max-staleness", "soon"}, `"soon" is not a duration`},
		{[]string{"--max-staleness", "6h"}, "--max-staleness applies only to --source config:AGGREGATOR_NAME"},
	} {
		r := runLocal(t, append(append([]string{"audit"}, tc.args...), "--db", filepath.Join(dir, "h.db"))...)
		if r.code != ExitUsage || !strings.Contains(r.errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, r.code, r.errOut, tc.want)
		}
	}
	for src, want := range map[string]string{"config: org-agg ": "org-agg", "live": "", "config:a:b": "a:b"} {
		if got := (&AuditOptions{Source: src}).configAggregator(); got != want {
			t.Errorf("configAggregator(%q) = %q, want %q", src, got, want)
		}
	}
}

// perOp sums proxy counters per operation, plus "total".
func perOp(counts map[testaws.CountKey]int) map[string]int {
	out := map[string]int{}
	for k, n := range counts {
		out[k.Op] += n
		out["total"] += n
	}
	return out
}
