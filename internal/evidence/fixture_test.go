package evidence

import (
	"cmp"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/store"
)

// now is the clock of every test here.
var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func days(n int) time.Time { return now.Add(-time.Duration(n) * 24 * time.Hour) }

const policyYAML = `tiers:
  - name: critical
    match: { tags: { env: [prod] } }
    min_recovery_days: 35
default_tier: standard
owner_tags: [owner]
exemptions:
  - table: "scratch-*"
    reason: rebuilt nightly from S3
    owner: data-platform
    expires: 2027-03-31
  - table: "tmp-*"
    reason: migration leftovers
    owner: analytics
    expires: 2026-10-31
`

func testPolicy(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Parse("pitrguard.yaml", []byte(policyYAML))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// tbl is one table as an audit recorded it.
type tbl struct {
	account, name, owner, tier, verdict, pitr string
	region                                    string // "" is us-east-1
	reasons                                   []string
	exemption                                 *store.FactsExemption
	cost                                      float64
}

func (x tbl) record(t *testing.T) store.TableRecord {
	t.Helper()
	region := cmp.Or(x.region, "us-east-1")
	f := store.Facts{Account: x.account, Region: region, Name: x.name, ARN: "arn:aws:dynamodb:" + region + ":" + x.account + ":table/" + x.name,
		Status: "ACTIVE", DescribeKnown: true, TagsKnown: true, Tags: map[string]string{"owner": x.owner}, Tier: x.tier, Critical: x.tier == "critical",
		Owner: x.owner, Verdict: x.verdict, Reasons: x.reasons, Notes: []string{}, Exemption: x.exemption, PITR: store.FactsPITR{Status: x.pitr},
		PITRMonthlyCostUSD: x.cost, Replicas: []store.FactsReplica{}, ReadErrors: []store.FactsError{}}
	if f.Reasons == nil {
		f.Reasons = []string{}
	}
	raw, v, err := f.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return store.TableRecord{Account: x.account, Region: region, Name: x.name, ARN: f.ARN, Verdict: x.verdict, Tier: x.tier,
		Owner: x.owner, PITRStatus: x.pitr, Facts: raw, FactsVersion: v}
}

const (
	acctA = "111111111111"
	acctB = "222222222222"
)

var (
	events   = tbl{account: acctA, name: "events", owner: "analytics", tier: "standard", verdict: "NON_COMPLIANT", pitr: "DISABLED", reasons: []string{"pitr_disabled"}, cost: 1.5}
	ledger   = tbl{account: acctB, name: "ledger", owner: "payments", tier: "critical", verdict: "COMPLIANT", pitr: "ENABLED", cost: 4}
	usersNC  = tbl{account: acctA, name: "users", owner: "identity", tier: "critical", verdict: "NON_COMPLIANT", pitr: "DISABLED", reasons: []string{"pitr_disabled"}, cost: 2}
	usersOK  = tbl{account: acctA, name: "users", owner: "identity", tier: "critical", verdict: "COMPLIANT", pitr: "ENABLED", cost: 2}
	usersUNK = tbl{account: acctA, name: "users", owner: "identity", tier: "critical", verdict: "UNKNOWN", pitr: "UNKNOWN", reasons: []string{"access_denied"}, cost: 2}
	scratch  = tbl{account: acctB, name: "scratch-1", owner: "data-platform", tier: "standard", verdict: "EXEMPT", pitr: "DISABLED",
		exemption: &store.FactsExemption{Pattern: "scratch-*", Reason: "rebuilt nightly from S3", Owner: "data-platform", Expires: "2027-03-31"}}
	tmpOld = tbl{account: acctB, name: "tmp-old", owner: "analytics", tier: "standard", verdict: "NON_COMPLIANT", pitr: "DISABLED",
		reasons: []string{"pitr_disabled", "exemption_expired"}, exemption: &store.FactsExemption{Pattern: "tmp-*", Reason: "migration leftovers", Owner: "analytics", Expires: "2026-10-31", Expired: true}}
)

// summaryOf is what an audit stores as its summary: counts of the tables,
// plus extra fields given as is (spend, AWS Backup).
func summaryOf(tables []tbl, extra map[string]any) map[string]any {
	var c, nc, ex, unk, gap int
	var pitrCost, gapCost float64
	type tier struct{ tables, c, nc, unk int }
	byTier := map[string]*tier{}
	for _, x := range tables {
		tr := byTier[x.tier]
		if tr == nil {
			tr = &tier{}
			byTier[x.tier] = tr
		}
		tr.tables++
		switch x.verdict {
		case "COMPLIANT":
			c++
			tr.c++
		case "NON_COMPLIANT":
			nc++
			tr.nc++
			gapCost += x.cost
			if x.tier == "critical" {
				gap++
			}
		case "UNKNOWN":
			unk++
			tr.unk++
		case "EXEMPT":
			ex++
		}
		if x.pitr == "ENABLED" {
			pitrCost += x.cost
		}
	}
	rate := func(c, nc, u int) float64 {
		if c+nc+u == 0 {
			return 1
		}
		return float64(c) / float64(c+nc+u)
	}
	tiers := map[string]any{}
	for name, tr := range byTier {
		tiers[name] = map[string]any{"tables": tr.tables, "compliant": tr.c, "non_compliant": tr.nc, "unknown": tr.unk, "compliance_rate": rate(tr.c, tr.nc, tr.unk)}
	}
	s := map[string]any{"tables": len(tables), "compliant": c, "non_compliant": nc, "exempt": ex, "unknown": unk, "skipped": 0,
		"compliance_rate": rate(c, nc, unk), "by_tier": tiers, "snapshot_gap_tables": gap, "gap_monthly_cost_usd": gapCost,
		"pitr_monthly_cost_usd": pitrCost, "coverage_complete": true}
	for k, v := range extra {
		s[k] = v
	}
	return s
}

func addAudit(t *testing.T, db store.Store, at time.Time, extra map[string]any, errs []map[string]string, tables ...tbl) int64 {
	t.Helper()
	ctx := context.Background()
	id, err := db.StartRun(ctx, store.RunStart{Kind: "audit", Caller: "arn:aws:iam::111111111111:user/auditor", Args: "pitrguard audit --org", StartedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	recs := make([]store.TableRecord, 0, len(tables))
	for _, x := range tables {
		recs = append(recs, x.record(t))
	}
	if err := db.AddTables(ctx, id, recs); err != nil {
		t.Fatal(err)
	}
	sum := summaryOf(tables, extra)
	coverage := errs == nil
	if errs == nil {
		errs = []map[string]string{}
	} else {
		sum["coverage_complete"] = false
	}
	info := map[string]any{"status": "completed", "caller": "arn:aws:iam::111111111111:user/auditor", "policy": "pitrguard.yaml", "prices": "built-in",
		"accounts": 2, "account_regions": 2, "api_calls": map[string]int{}, "throttles": 0, "duration_seconds": 1.5}
	if err := db.EndRun(ctx, id, store.RunEnd{Status: "completed", Coverage: coverage, Summary: sum, Errors: errs, Info: info, Finished: at.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	return id
}

func addDrill(t *testing.T, db store.Store, at time.Time, table string, restore float64, result string) {
	t.Helper()
	ctx := context.Background()
	id, err := db.BeginRun(ctx, "drill", "arn:aws:iam::111111111111:user/sre", "pitrguard drill", at)
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := json.Marshal(map[string]any{"checks": []map[string]any{{"name": "item_count", "ok": result == "passed", "detail": "120 items, source 120"},
		{"name": "sample", "ok": true, "detail": "20 of 20 sampled items equal"}}})
	rp := at.Add(-time.Hour)
	if err := db.AddDrill(ctx, store.Drill{RunID: id, StartedAt: at, Account: acctB, Region: "us-east-1", Table: table, ScratchTable: "pitrguard-drill-" + table + "-x",
		RestorePoint: &rp, RestoreSeconds: restore, TotalSeconds: restore + 30, SizeBytes: 1 << 20, Result: result, Cleanup: "deleted", Evidence: ev}); err != nil {
		t.Fatal(err)
	}
	if err := db.FinishRun(ctx, id, "completed", true, map[string]int{"drilled": 1}, []string{}, at.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
}

// fixture is a history with audits before and in the period, drills in and
// out of it, an enable, a restore, a handled event and a guardrails check.
func fixture(t *testing.T) store.Store {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	addAudit(t, db, days(100), nil, nil, events, ledger)                  // before the period
	addAudit(t, db, days(30), nil, nil, events, ledger, usersNC, scratch) // events open since here
	addAudit(t, db, days(15), nil, nil, events, ledger, usersOK, scratch) // users compliant
	addAudit(t, db, days(1), map[string]any{"spend_month": "2026-10", "dynamodb_spend_usd": 200.0, "pitr_spend_usd": 30.0, "backup_spend_usd": 10.0,
		"resilience_cost_share": 0.2, "backup_required_tables": 2, "backup_covered_tables": 1, "backup_required_uncovered": 1, "backup_monthly_cost_usd": 3.25},
		[]map[string]string{{"account": "333333333333", "region": "eu-west-1", "table": "", "code": "AccessDenied", "reason": "access_denied", "message": "cannot assume the audit role"}},
		events, ledger, usersUNK, scratch, tmpOld)
	addDrill(t, db, days(120), "ledger", 999, "passed") // outside the period
	addDrill(t, db, days(10), "ledger", 100, "passed")
	addDrill(t, db, days(5), "ledger", 320, "passed")
	addDrill(t, db, days(4), "users", 50, "failed")

	enable, err := db.BeginRun(ctx, "enable", "arn:aws:iam::111111111111:user/sre", "pitrguard enable --apply", days(2))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AddJournal(ctx, store.JournalEntry{RunID: enable, At: days(2), Caller: "arn:aws:iam::111111111111:user/sre", Account: acctA, Region: "us-east-1",
		Table: "users", Action: "enable_pitr", Before: json.RawMessage(`{"enabled":false,"days":0}`), After: json.RawMessage(`{"enabled":true,"days":35}`), Result: "applied"}); err != nil {
		t.Fatal(err)
	}
	_ = db.FinishRun(ctx, enable, "completed", true, map[string]int{"applied": 1}, []string{}, days(2))
	restore, _ := db.BeginRun(ctx, "restore", "arn:aws:iam::111111111111:user/sre", "pitrguard restore", days(3))
	_ = db.FinishRun(ctx, restore, "completed", true, map[string]any{"source": map[string]string{"account": acctB, "region": "us-east-1", "table": "ledger"},
		"target": map[string]string{"table": "ledger-restored", "region": "us-east-1"}, "restore_point": days(3).Add(-time.Hour), "duration_seconds": 95.5, "status": "active"}, []string{}, days(3))
	if err := db.AddEventAction(ctx, store.EventAction{EventID: "ev-1", At: days(6), EventName: "UpdateContinuousBackups", Actor: "arn:aws:iam::222222222222:user/dev",
		Account: acctB, Region: "us-east-1", Table: "ledger", Action: "enable_pitr", Result: "applied", Before: json.RawMessage(`{"enabled":false}`), After: json.RawMessage(`{"enabled":true,"days":35}`)}); err != nil {
		t.Fatal(err)
	}
	g, _ := db.BeginRun(ctx, "guardrails", "arn:aws:iam::111111111111:user/auditor", "pitrguard guardrails check", days(1))
	_ = db.AddGuardrailChecks(ctx, g, []store.GuardrailCheck{{Account: acctA, Management: true, Prevent: "not_applicable", Detect: "yes", Correct: "no", Trail: "yes"},
		{Account: acctB, Prevent: "yes", Detect: "yes", Correct: "yes", Trail: "yes"}})
	_ = db.FinishRun(ctx, g, "completed", true, map[string]any{"accounts": 2, "fully_guarded": 1, "coverage": 0.5, "prevent": 1, "detect": 2, "correct": 1, "trail": 2, "unknown": 0, "coverage_complete": true}, []string{}, days(1))
	return db
}

func build(t *testing.T, db store.Store) *Report {
	t.Helper()
	r, err := Build(context.Background(), db, Options{Now: now, Since: 90 * 24 * time.Hour, SinceText: "90d", Policy: testPolicy(t)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}
