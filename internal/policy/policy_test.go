package policy

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/model"
)

var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

const policyYAML = `
tiers:
  - name: critical
    match: { tags: { env: [prod, production] } }
    require_pitr: true
    min_recovery_days: 35
  - name: business-critical
    match: { tags: { tier: business-critical } }
    min_recovery_days: 14
  - name: ephemeral
    match: { names: ["tmp-*", "*-cache"] }
    require_pitr: false
  - name: eu-data
    match: { regions: ["eu-*"], accounts: ["222222222222"] }
    min_recovery_days: 7
default_tier: standard
owner_tags: [owner, team]
exemptions:
  - table: "arn:aws:dynamodb:*:111111111111:table/scratch-*"
    reason: rebuilt nightly from S3
    owner: data-platform
    expires: 2027-03-31
  - table: legacy-*
    reason: migration finished in October
    owner: core
    expires: 2026-10-31
  - table: "last-day"
    reason: expires today, still applies today
    expires: 2026-11-24
`

func mustPolicy(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Parse("pitrguard.yaml", []byte(policyYAML))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func table(name string, mods ...func(*model.Table)) *model.Table {
	t := &model.Table{Account: "111111111111", Region: "us-east-1", Name: name, Status: "ACTIVE",
		ARN: "arn:aws:dynamodb:us-east-1:111111111111:table/" + name, Tags: map[string]string{}, TagsKnown: true, DescribeKnown: true,
		PITR: model.PITR{Known: true}}
	for _, m := range mods {
		m(t)
	}
	return t
}

func pitr(days int) func(*model.Table) {
	return func(t *model.Table) {
		e, l := now.Add(-time.Duration(days)*24*time.Hour), now.Add(-5*time.Minute)
		t.PITR = model.PITR{Known: true, Enabled: true, RecoveryPeriodDays: days, EarliestRestorable: &e, LatestRestorable: &l}
	}
}

func tags(kv ...string) func(*model.Table) {
	return func(t *model.Table) {
		for i := 0; i+1 < len(kv); i += 2 {
			t.Tags[kv[i]] = kv[i+1]
		}
	}
}

func noTags(t *model.Table) { t.Tags, t.TagsKnown = map[string]string{}, false }

func readErr(op string, r model.Reason) func(*model.Table) {
	return func(t *model.Table) {
		t.PITR = model.PITR{}
		t.ReadErrors = append(t.ReadErrors, model.ReadError{Op: op, Reason: r, Code: "X"})
	}
}

func TestEvaluate(t *testing.T) {
	cfg := mustPolicy(t)
	tests := []struct {
		name    string
		table   *model.Table
		verdict model.Verdict
		reasons []model.Reason
		tier    string
		owner   string
		exempt  bool
	}{
		{"critical with 35 days", table("orders", tags("env", "prod", "owner", "payments-team"), pitr(35)), model.Compliant, nil, "critical", "payments-team", false},
		{"tag key and value any case", table("orders", tags("ENV", "Production"), pitr(35)), model.Compliant, nil, "critical", "", false},
		{"critical with 7 days", table("orders", tags("env", "prod"), pitr(7)), model.NonCompliant, []model.Reason{model.ReasonPeriodBelowMinimum}, "critical", "", false},
		{"critical without pitr", table("orders", tags("env", "prod")), model.NonCompliant, []model.Reason{model.ReasonPITRDisabled}, "critical", "", false},
		{"business-critical 14 days", table("users", tags("tier", "business-critical"), pitr(14)), model.Compliant, nil, "business-critical", "", false},
		{"business-critical 35 days is above minimum", table("users", tags("tier", "business-critical"), pitr(35)), model.Compliant, nil, "business-critical", "", false},
		{"ephemeral without pitr", table("tmp-import"), model.Compliant, nil, "ephemeral", "", false},
		{"ephemeral by suffix", table("session-cache"), model.Compliant, nil, "ephemeral", "", false},
		{"first matching tier wins", table("tmp-prod", tags("env", "prod")), model.NonCompliant, []model.Reason{model.ReasonPITRDisabled}, "critical", "", false},
		{"standard any period", table("catalog", pitr(1)), model.Compliant, nil, "standard", "", false},
		{"standard without pitr", table("catalog"), model.NonCompliant, []model.Reason{model.ReasonPITRDisabled}, "standard", "", false},
		{"account and region match", table("x", pitr(3), func(t *model.Table) { t.Account, t.Region = "222222222222", "eu-west-1" }), model.NonCompliant, []model.Reason{model.ReasonPeriodBelowMinimum}, "eu-data", "", false},
		{"region matches, account not", table("x", pitr(3), func(t *model.Table) { t.Region = "eu-west-1" }), model.Compliant, nil, "standard", "", false},
		{"owner from second owner tag", table("x", tags("team", "search"), pitr(35)), model.Compliant, nil, "standard", "search", false},
		{"live exemption by ARN glob", table("scratch-42"), model.Exempt, nil, "standard", "", true},
		{"exemption glob does not match other account", table("scratch-42", func(t *model.Table) {
			t.Account, t.ARN = "333333333333", "arn:aws:dynamodb:us-east-1:333333333333:table/scratch-42"
		}), model.NonCompliant, []model.Reason{model.ReasonPITRDisabled}, "standard", "", false},
		{"expired exemption no longer applies", table("legacy-audit"), model.NonCompliant, []model.Reason{model.ReasonExemptionExpired, model.ReasonPITRDisabled}, "standard", "", true},
		{"expired exemption on compliant table", table("legacy-ok", pitr(35)), model.Compliant, []model.Reason{model.ReasonExemptionExpired}, "standard", "", true},
		{"exemption valid through its last day", table("last-day"), model.Exempt, nil, "standard", "", true},
		{"exempt even when pitr unreadable", table("scratch-1", readErr("DescribeContinuousBackups", model.ReasonAccessDenied)), model.Exempt, nil, "standard", "", true},
		{"access denied is unknown", table("orders", tags("env", "prod"), readErr("DescribeContinuousBackups", model.ReasonAccessDenied)), model.Unknown, []model.Reason{model.ReasonAccessDenied}, "critical", "", false},
		{"throttled is unknown", table("orders", readErr("DescribeContinuousBackups", model.ReasonThrottled)), model.Unknown, []model.Reason{model.ReasonThrottled}, "standard", "", false},
		{"vanished is unknown", table("orders", readErr("DescribeTable", model.ReasonNotFound), func(t *model.Table) { t.Status = "" }), model.Unknown, []model.Reason{model.ReasonNotFound}, "standard", "", false},
		// The invariant suite found this: PITR read as off, but DescribeTable
		// denied, so the table's state is unknown: never an answer.
		{"state unreadable is unknown even with pitr read", table("orders", pitr(35), readErr("DescribeTable", model.ReasonAccessDenied), func(t *model.Table) { t.PITR.Known = true; t.Status = "" }), model.Unknown, []model.Reason{model.ReasonAccessDenied}, "standard", "", false},
		{"unknown read error", table("orders", func(t *model.Table) { t.PITR = model.PITR{} }), model.Unknown, []model.Reason{model.ReasonReadError}, "standard", "", false},
		{"creating is skipped", table("orders", func(t *model.Table) { t.Status = "CREATING" }), model.Skipped, []model.Reason{model.ReasonTableNotActive}, "standard", "", false},
		// issue 9 #10: a table whose PITR was read is judged whatever its state,
		// unless the state itself makes PITR meaningless.
		{"updating with pitr is judged", table("orders", pitr(35), func(t *model.Table) { t.Status = "UPDATING" }), model.Compliant, nil, "standard", "", false},
		{"updating without pitr is non-compliant", table("orders", func(t *model.Table) { t.Status = "UPDATING" }), model.NonCompliant, []model.Reason{model.ReasonPITRDisabled}, "standard", "", false},
		{"inaccessible key without pitr is non-compliant", table("orders", func(t *model.Table) { t.Status = "INACCESSIBLE_ENCRYPTION_CREDENTIALS" }), model.NonCompliant, []model.Reason{model.ReasonPITRDisabled}, "standard", "", false},
		{"updating unreadable is unknown", table("orders", readErr("DescribeContinuousBackups", model.ReasonThrottled), func(t *model.Table) { t.Status = "UPDATING" }), model.Unknown, []model.Reason{model.ReasonThrottled}, "standard", "", false},
		{"archived is skipped", table("orders", pitr(35), func(t *model.Table) { t.Status = "ARCHIVED" }), model.Skipped, []model.Reason{model.ReasonTableNotActive}, "standard", "", false},
		{"creating with pitr read is skipped", table("orders", pitr(35), func(t *model.Table) { t.Status = "CREATING" }), model.Skipped, []model.Reason{model.ReasonTableNotActive}, "standard", "", false},
		// issue 9 #4: tags unread, and the tier they decide changes the verdict.
		{"tags unread, 7 days: critical would fail, standard pass", table("orders", pitr(7), noTags), model.Unknown, []model.Reason{model.ReasonTagsUnreadable}, UnknownTier, "", false},
		{"tags unread, pitr off: fails in every tier", table("orders", noTags), model.NonCompliant, []model.Reason{model.ReasonPITRDisabled}, "standard", "", false},
		{"tags unread, 35 days: passes in every tier", table("orders", pitr(35), noTags), model.Compliant, nil, "standard", "", false},
		{"tags unread, name decides the tier first", table("tmp-x", noTags), model.Unknown, []model.Reason{model.ReasonTagsUnreadable}, UnknownTier, "", false},
		{"tags unread, exempt by name", table("scratch-9", noTags), model.Exempt, nil, "standard", "", true},
		{"deleting is skipped", table("orders", func(t *model.Table) { t.Status = "DELETING" }), model.Skipped, []model.Reason{model.ReasonTableNotActive}, "standard", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := New(cfg, now).Evaluate(tc.table)
			if r.Verdict != tc.verdict {
				t.Errorf("verdict = %s, want %s", r.Verdict, tc.verdict)
			}
			if diff := cmp.Diff(tc.reasons, r.Reasons); diff != "" {
				t.Errorf("reasons (-want +got):\n%s", diff)
			}
			if r.Tier.Name != tc.tier {
				t.Errorf("tier = %q, want %q", r.Tier.Name, tc.tier)
			}
			if r.Owner != tc.owner {
				t.Errorf("owner = %q, want %q", r.Owner, tc.owner)
			}
			if (r.Exemption != nil) != tc.exempt {
				t.Errorf("exemption = %+v, want present=%v", r.Exemption, tc.exempt)
			}
		})
	}
}

func TestEvaluateDefaults(t *testing.T) {
	cfg := config.Default()
	for _, tc := range []struct {
		tags    []string
		tier    string
		verdict model.Verdict
	}{
		{[]string{"env", "prod"}, "critical", model.NonCompliant},
		{[]string{"Environment", "PRD"}, "critical", model.NonCompliant},
		{[]string{"stage", "production"}, "critical", model.NonCompliant},
		{[]string{"env", "dev"}, "standard", model.Compliant},
		{nil, "standard", model.Compliant},
	} {
		r := New(cfg, now).Evaluate(table("t", tags(tc.tags...), pitr(7)))
		if r.Tier.Name != tc.tier || r.Verdict != tc.verdict {
			t.Errorf("tags %v: tier %s verdict %s, want %s %s", tc.tags, r.Tier.Name, r.Verdict, tc.tier, tc.verdict)
		}
	}
}

// TestTagsUnreadableDefaults: with the built-in policy (critical = env prod,
// 35 days), a table whose tags could not be read and whose window is 7 days
// used to come out COMPLIANT as standard.
func TestTagsUnreadableDefaults(t *testing.T) {
	r := New(config.Default(), now).Evaluate(table("orders", pitr(7), noTags))
	if r.Verdict != model.Unknown || len(r.Reasons) != 1 || r.Reasons[0] != model.ReasonTagsUnreadable {
		t.Errorf("verdict %s %v, want UNKNOWN [tags_unreadable]", r.Verdict, r.Reasons)
	}
	ok := New(config.Default(), now).Evaluate(table("orders", pitr(35), noTags))
	if ok.Verdict != model.Compliant || !slices.Contains(ok.Notes, string(model.ReasonTagsUnreadable)) {
		t.Errorf("35 days passes in every tier: %s %v", ok.Verdict, ok.Notes)
	}
}

func TestRestorableHistoryNote(t *testing.T) {
	cfg := config.Default()
	tb := table("t", tags("env", "prod"), pitr(35))
	e := now.Add(-2 * 24 * time.Hour)
	tb.PITR.EarliestRestorable = &e // re-enabled two days ago: only 2 days of history
	r := New(cfg, now).Evaluate(tb)
	if r.Verdict != model.Compliant {
		t.Fatalf("verdict %s", r.Verdict)
	}
	if diff := cmp.Diff([]string{string(model.ReasonHistoryBelowMinimum)}, r.Notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
}

func TestTally(t *testing.T) {
	cfg := mustPolicy(t)
	ev := New(cfg, now)
	k := NewTally()
	add := func(tb *model.Table, cost float64) { k.Add(tb, ev.Evaluate(tb), cost) }
	add(table("a", tags("env", "prod"), pitr(35)), 1.0)                             // critical compliant
	add(table("b", tags("env", "prod")), 2.5)                                       // critical, pitr off: gap
	add(table("c", tags("env", "prod"), pitr(7)), 4.0)                              // critical, short window: no added cost
	add(table("d", readErr("DescribeContinuousBackups", model.ReasonThrottled)), 8) // unknown
	add(table("scratch-1"), 16)                                                     // exempt
	add(table("e", func(t *model.Table) { t.Status = "CREATING" }), 32)             // skipped
	s := k.Summary(true)
	want := Summary{Tables: 6, Compliant: 1, NonCompliant: 2, Exempt: 1, Unknown: 1, Skipped: 1,
		ComplianceRate: 0.25, SnapshotGapTables: 1, GapMonthlyCostUSD: 2.5, PITRMonthlyCostUSD: 5, CoverageComplete: true,
		ByTier: map[string]*TierSummary{
			"critical": {Tables: 3, Compliant: 1, NonCompliant: 2, ComplianceRate: 1.0 / 3},
			"standard": {Tables: 3, Unknown: 1, ComplianceRate: 0},
		}}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if got := NewTally().Summary(false); got.ComplianceRate != 1 || got.CoverageComplete {
		t.Errorf("empty tally: rate %v coverage %v, want 1 and false", got.ComplianceRate, got.CoverageComplete)
	}
}
