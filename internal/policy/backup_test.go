package policy

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/model"
)

const backupPolicyYAML = `
tiers:
  - name: critical
    match: { tags: { env: prod } }
    min_recovery_days: 35
    backup: { min_retention_days: 365, max_age_hours: 26, require_vault_lock: true, copy_to_region: eu-west-1 }
  - name: archive
    match: { names: ["arch-*"] }
    require_pitr: false
    backup: { min_retention_days: 90 }
  - name: exempted
    match: { names: ["skip-*"] }
    backup: {}
default_tier: standard
exemptions:
  - table: skip-me
    reason: test
`

func bptr(b bool) *bool { return &b }

func at(h float64) *time.Time {
	t := now.Add(-time.Duration(h * float64(time.Hour)))
	return &t
}

// region is an account-region where plan "daily" selects env=prod tables
// (tags, so the opt-in applies) and plan "named" selects "orders" by name.
func region(optIn bool) *model.RegionBackup {
	rule := model.BackupRule{Name: "daily", Schedule: "cron(0 5 ? * * *)", Vault: "locked", DeleteAfterDays: 400,
		Copies: []model.BackupCopy{{VaultARN: "arn:aws:backup:eu-west-1:111111111111:backup-vault:dr", DeleteAfterDays: 400}}}
	return &model.RegionBackup{Account: "111111111111", Region: "us-east-1", OptIn: bptr(optIn), AdvancedFeatures: bptr(true),
		Plans: []model.BackupPlan{
			{ID: "p1", Name: "daily", Rules: []model.BackupRule{rule},
				Selections: []model.BackupSelection{{ID: "s1", Name: "prod", ListOfTags: []model.BackupCondition{{Key: "aws:ResourceTag/env", Value: "prod"}}}}},
			{ID: "p2", Name: "named", Rules: []model.BackupRule{{Name: "monthly", Schedule: "cron(0 5 1 * ? *)", Vault: "open", DeleteAfterDays: 30}},
				Selections: []model.BackupSelection{{ID: "s2", Name: "by-name", Resources: []string{"orders"}}}},
			{ID: "p3", Name: "arch", Rules: []model.BackupRule{{Name: "weekly", Schedule: "cron(0 5 ? * SUN *)", Vault: "open", DeleteAfterDays: 30}},
				Selections: []model.BackupSelection{{ID: "s3", Name: "arch", Resources: []string{"arn:aws:dynamodb:*:*:table/arch-*"}}}},
		}}
}

func facts(rb *model.RegionBackup, mods ...func(*model.BackupFacts)) *model.BackupFacts {
	f := &model.BackupFacts{Region: rb, ProtectedKnown: true, LastBackup: at(3),
		Vaults: map[string]model.BackupVault{"locked": {Name: "locked", Locked: true}, "open": {Name: "open"}}}
	for _, m := range mods {
		m(f)
	}
	return f
}

func TestWithBackup(t *testing.T) {
	cfg, err := config.Parse("p.yaml", []byte(backupPolicyYAML))
	if err != nil {
		t.Fatal(err)
	}
	ev := New(cfg, now)
	prodOn := func(tb *model.Table) {
		tb.Tags = map[string]string{"env": "prod"}
		tb.PITR = model.PITR{Known: true, Enabled: true, RecoveryPeriodDays: 35, LatestRestorable: at(0.1)}
	}
	cases := []struct {
		name    string
		table   *model.Table
		facts   *model.BackupFacts
		verdict model.Verdict
		reasons []model.Reason
		status  string // "" = no backup block
		note    string
	}{
		{name: "covered, fresh, locked, copied", table: table("ledger", prodOn), facts: facts(region(true)),
			verdict: model.Compliant, status: BackupCovered},
		{name: "points read: newest completed is fresh", table: table("ledger", prodOn), facts: facts(region(true), func(f *model.BackupFacts) {
			f.Points = &model.RecoveryPoints{NewestRestorable: at(2)}
		}), verdict: model.Compliant, status: BackupCovered},
		{name: "no plan selects it", table: table("orders", func(tb *model.Table) { prodOn(tb); tb.Tags = map[string]string{"env": "prod", "x": "y"} }),
			facts: facts(&model.RegionBackup{OptIn: bptr(true), Plans: region(true).Plans[1:2]}), verdict: model.NonCompliant,
			reasons: []model.Reason{model.ReasonNoBackupPlan}, status: BackupNotCovered},
		{name: "opt-in off, selected by tags", table: table("users", prodOn), facts: facts(region(false)), verdict: model.NonCompliant,
			reasons: []model.Reason{model.ReasonBackupOptInDisabled}, status: BackupNotCovered, note: "opt-in for DynamoDB is off"},
		{name: "stale point", table: table("events", prodOn), facts: facts(region(true), func(f *model.BackupFacts) { f.LastBackup = at(72) }),
			verdict: model.NonCompliant, reasons: []model.Reason{model.ReasonBackupStale}, status: BackupCovered},
		{name: "partial newest: the older completed point is stale", table: table("payments", prodOn), facts: facts(region(true), func(f *model.BackupFacts) {
			f.LastBackup = at(1) // ListProtectedResources counts the PARTIAL one
			f.Points = &model.RecoveryPoints{NewestRestorable: at(80), NewerUnusable: map[string]int{"PARTIAL": 1}}
		}), verdict: model.NonCompliant, reasons: []model.Reason{model.ReasonBackupStale}, status: BackupCovered, note: "1 PARTIAL"},
		{name: "no recovery point yet", table: table("fresh", prodOn), facts: facts(region(true), func(f *model.BackupFacts) { f.LastBackup = nil }),
			verdict: model.NonCompliant, reasons: []model.Reason{model.ReasonBackupMissing}, status: BackupCovered},
		{name: "short retention", table: table("sessions", prodOn), facts: facts(region(true), func(f *model.BackupFacts) {
			f.Region.Plans[0].Rules[0].DeleteAfterDays = 30
		}), verdict: model.NonCompliant, reasons: []model.Reason{model.ReasonBackupRetentionBelowMinimum}, status: BackupCovered},
		{name: "unlocked vault", table: table("ledger", prodOn), facts: facts(region(true), func(f *model.BackupFacts) {
			f.Vaults["locked"] = model.BackupVault{Name: "locked"}
		}), verdict: model.NonCompliant, reasons: []model.Reason{model.ReasonBackupVaultUnlocked}, status: BackupCovered},
		{name: "vault unread", table: table("ledger", prodOn), facts: facts(region(true), func(f *model.BackupFacts) { delete(f.Vaults, "locked") }),
			verdict: model.Unknown, reasons: []model.Reason{model.ReasonBackupUnreadable}, status: BackupCovered},
		{name: "no copy to the region", table: table("ledger", prodOn), facts: facts(region(true), func(f *model.BackupFacts) {
			f.Region.Plans[0].Rules[0].Copies = nil
		}), verdict: model.NonCompliant, reasons: []model.Reason{model.ReasonBackupCopyMissing}, status: BackupCovered},
		{name: "copy without advanced features", table: table("ledger", prodOn), facts: facts(region(true), func(f *model.BackupFacts) {
			f.Region.AdvancedFeatures = bptr(false)
		}), verdict: model.NonCompliant, reasons: []model.Reason{model.ReasonBackupCopyMissing}, status: BackupCovered, note: "advanced features"},
		{name: "several failures at once", table: table("ledger", prodOn), facts: facts(region(true), func(f *model.BackupFacts) {
			f.LastBackup = at(100)
			f.Region.Plans[0].Rules[0].DeleteAfterDays = 7
		}), verdict: model.NonCompliant, reasons: []model.Reason{model.ReasonBackupRetentionBelowMinimum, model.ReasonBackupStale}, status: BackupCovered},
		{name: "PITR off and no plan", table: table("archive", func(tb *model.Table) { tb.Tags = map[string]string{"env": "prod"} }),
			facts:   facts(&model.RegionBackup{OptIn: bptr(true)}, func(f *model.BackupFacts) { f.OnDemandKnown, f.OnDemandLatest = true, at(200) }),
			verdict: model.NonCompliant, reasons: []model.Reason{model.ReasonPITRDisabled, model.ReasonNoBackupPlan}, status: BackupNotCovered, note: "only on-demand"},
		{name: "plans unreadable", table: table("ledger", prodOn), facts: facts(&model.RegionBackup{OptIn: bptr(true),
			PlanErrors: []model.ReadError{{Op: "ListBackupPlans", Code: "AccessDeniedException", Reason: model.ReasonAccessDenied}}}),
			verdict: model.Unknown, reasons: []model.Reason{model.ReasonBackupUnreadable}, status: BackupUnknown, note: "ListBackupPlans: AccessDeniedException"},
		{name: "a read plan still proves coverage", table: table("ledger", prodOn), facts: facts(region(true), func(f *model.BackupFacts) {
			f.Region.PlanErrors = []model.ReadError{{Op: "GetBackupSelection", Code: "ThrottlingException"}}
		}), verdict: model.Compliant, status: BackupCovered},
		{name: "nothing read", table: table("ledger", prodOn), facts: nil, verdict: model.Unknown, reasons: []model.Reason{model.ReasonBackupUnreadable}, status: BackupUnknown},
		{name: "opt-in unread", table: table("ledger", prodOn), facts: facts(region(true), func(f *model.BackupFacts) {
			f.Region.OptIn = nil
			f.Region.SettingsError = &model.ReadError{Op: "DescribeRegionSettings", Code: "AccessDeniedException"}
		}), verdict: model.Unknown, reasons: []model.Reason{model.ReasonBackupUnreadable}, status: BackupUnknown, note: "DescribeRegionSettings"},
		{name: "last backup unreadable", table: table("ledger", prodOn), facts: facts(region(true), func(f *model.BackupFacts) { f.ProtectedKnown = false }),
			verdict: model.Unknown, reasons: []model.Reason{model.ReasonBackupUnreadable}, status: BackupCovered},
		{name: "tags unread and a selection reads tags", table: table("ledger", func(tb *model.Table) {
			prodOn(tb)
			tb.TagsKnown = false
			tb.Tags = map[string]string{}
		}), facts: facts(region(true)), verdict: model.Unknown, reasons: []model.Reason{model.ReasonTagsUnreadable}, status: ""},
		{name: "ARN pattern ignores the opt-in", table: table("arch-2020"), facts: facts(region(false), func(f *model.BackupFacts) {
			f.LastBackup = at(10)
			f.Region.Plans[2].Rules[0].DeleteAfterDays = 120
		}),
			verdict: model.Compliant, status: BackupCovered},
		{name: "archive retention", table: table("arch-2021"), facts: facts(region(true)), verdict: model.NonCompliant,
			reasons: []model.Reason{model.ReasonBackupRetentionBelowMinimum}, status: BackupCovered},
		{name: "exempt stays exempt", table: table("skip-me"), facts: facts(region(true)), verdict: model.Exempt, status: BackupNotCovered},
		{name: "a tier without backup gets no block", table: table("plain", func(tb *model.Table) { tb.PITR.Enabled = true }),
			facts: facts(region(true)), verdict: model.Compliant, status: ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pitr := ev.Evaluate(c.table)
			r := ev.WithBackup(c.table, pitr, c.facts)
			if r.Verdict != c.verdict {
				t.Errorf("verdict %s, want %s (reasons %v)", r.Verdict, c.verdict, r.Reasons)
			}
			want := c.reasons
			if want == nil {
				want = []model.Reason{}
			}
			got := r.Reasons
			if got == nil {
				got = []model.Reason{}
			}
			if !slices.Equal(got, want) {
				t.Errorf("reasons %v, want %v", got, want)
			}
			if r.PITRVerdict != pitr.Verdict {
				t.Errorf("PITRVerdict %s changed from %s: a backup reason must never change the PITR verdict", r.PITRVerdict, pitr.Verdict)
			}
			switch {
			case c.status == "" && r.Backup != nil && c.name != "tags unread and a selection reads tags":
				t.Errorf("backup block %+v, want none", r.Backup)
			case c.status != "" && (r.Backup == nil || r.Backup.Status != c.status):
				t.Errorf("backup %+v, want status %s", r.Backup, c.status)
			}
			if c.note != "" && (r.Backup == nil || !strings.Contains(strings.Join(r.Backup.Notes, "\n"), c.note)) {
				t.Errorf("notes lack %q: %+v", c.note, r.Backup)
			}
			if b := r.Backup; b != nil && (b.Plans == nil || b.Notes == nil || b.Excluded == nil) {
				t.Errorf("arrays are never null in the JSON: %+v", b)
			}
		})
	}
}

func TestWithBackupBlockAndExposure(t *testing.T) {
	cfg, _ := config.Parse("p.yaml", []byte(backupPolicyYAML))
	ev := New(cfg, now)
	tb := table("ledger", func(tb *model.Table) { tb.Tags = map[string]string{"env": "prod"} }) // PITR off
	r := ev.WithBackup(tb, ev.Evaluate(tb), facts(region(true), func(f *model.BackupFacts) { f.LastBackup = at(5) }))
	b := r.Backup
	if len(b.Plans) != 1 || b.Plans[0].Plan != "daily" || b.Plans[0].Selection != "prod" || *b.Plans[0].RetentionDays != 400 ||
		!*b.Plans[0].VaultLocked || len(b.Plans[0].Copies) != 1 || b.Plans[0].Copies[0].Region != "eu-west-1" || b.Plans[0].Copies[0].Account != "111111111111" {
		t.Errorf("plans: %+v", b.Plans)
	}
	if b.AgeHours == nil || *b.AgeHours != 5 || !b.LastRecoveryPoint.Equal(*at(5)) {
		t.Errorf("age %v, last %v", b.AgeHours, b.LastRecoveryPoint)
	}
	if r.RPOExposureHours == nil || *r.RPOExposureHours != 5 {
		t.Errorf("exposure %v, want 5 (PITR off: the backup is the newest point)", r.RPOExposureHours)
	}
	// A name in Resources is explained.
	orders := table("orders", func(tb *model.Table) { tb.Tags = map[string]string{"env": "dev"} })
	cfg.Tiers[0].Match = config.Match{} // every table critical
	r = New(cfg, now).WithBackup(orders, New(cfg, now).Evaluate(orders), facts(region(true)))
	if !strings.Contains(strings.Join(r.Backup.Excluded, "\n"), "a table name, not an ARN") {
		t.Errorf("excluded: %v", r.Backup.Excluded)
	}
	// PITR's latest restorable time is the exposure when PITR is on.
	on := table("plain", func(tb *model.Table) { tb.PITR = model.PITR{Known: true, Enabled: true, LatestRestorable: at(0.5)} })
	if x := ev.Evaluate(on).RPOExposureHours; x == nil || *x != 0.5 {
		t.Errorf("PITR exposure %v, want 0.5", x)
	}
	if x := ev.Evaluate(table("off")).RPOExposureHours; x != nil {
		t.Errorf("no restorable point: exposure %v, want nil", *x)
	}
}

func TestTallyBackupKPIs(t *testing.T) {
	k := NewTally()
	for _, st := range []string{BackupCovered, BackupCovered, BackupNotCovered, BackupUnknown} {
		k.Add(table("x"), Result{Verdict: model.NonCompliant, Backup: &BackupResult{Status: st, MonthlyCostUSD: 1.005}}, 0)
	}
	k.Add(table("y"), Result{Verdict: model.Exempt, Backup: &BackupResult{Status: BackupNotCovered}}, 0)
	// A SKIPPED table (CREATING, DELETING…) keeps its verdict whatever its
	// backups, as an EXEMPT one does: it is in neither KPI.
	k.Add(table("w", func(tb *model.Table) { tb.Status = "DELETING" }), Result{Verdict: model.Skipped, Backup: &BackupResult{Status: BackupNotCovered, MonthlyCostUSD: 1}}, 0)
	k.Add(table("z"), Result{Verdict: model.Compliant}, 0)
	s := k.Summary(true)
	if s.BackupRequiredTables != 4 || s.BackupCoveredTables != 2 || s.BackupRequiredUncovered != 1 || s.BackupMonthlyCostUSD != 4.02 {
		t.Errorf("KPIs: %+v", s)
	}
}

// TestWithBackupNoGuessFromPartialFacts: a failure that another selection
// could make good (a longer rule, a locked vault, a copy) is only known
// when every selection that might cover the table was read and takes
// effect. A plan that could not be read, a tag selection whose region
// opt-in is unread, or the region's advanced features unread for a copy
// make the table UNKNOWN, never NON_COMPLIANT on a guess; and a tag
// selection where the opt-in is off backs nothing up, so its rules count
// for nothing.
func TestWithBackupNoGuessFromPartialFacts(t *testing.T) {
	cfg, err := config.Parse("p.yaml", []byte(backupPolicyYAML))
	if err != nil {
		t.Fatal(err)
	}
	ev := New(cfg, now)
	prod := func(tb *model.Table) {
		tb.Tags = map[string]string{"env": "prod"}
		tb.PITR = model.PITR{Known: true, Enabled: true, RecoveryPeriodDays: 35, LatestRestorable: at(0.1)}
	}
	// byARN adds plan "by-arn" selecting the ledger table by its ARN, with
	// a 30-day rule into the unlocked vault "open" and no copy.
	byARN := func(f *model.BackupFacts) {
		f.Region.Plans = append(f.Region.Plans, model.BackupPlan{ID: "p9", Name: "by-arn",
			Rules:      []model.BackupRule{{Name: "short", Schedule: "cron(0 5 ? * * *)", Vault: "open", DeleteAfterDays: 30}},
			Selections: []model.BackupSelection{{ID: "s9", Name: "ledger", Resources: []string{"arn:aws:dynamodb:us-east-1:111111111111:table/ledger"}}}})
	}
	onlyByARN := func(f *model.BackupFacts) { f.Region.Plans = f.Region.Plans[:0]; byARN(f) }
	optInUnread := func(f *model.BackupFacts) {
		f.Region.OptIn = nil
		f.Region.SettingsError = &model.ReadError{Op: "DescribeRegionSettings", Code: "AccessDeniedException"}
	}
	planUnread := func(f *model.BackupFacts) {
		f.Region.PlanErrors = []model.ReadError{{Op: "GetBackupPlan", Code: "ThrottlingException", Reason: model.ReasonThrottled}}
	}
	cases := []struct {
		name    string
		facts   *model.BackupFacts
		verdict model.Verdict
		reasons []model.Reason
		plans   []string
		note    string
	}{
		{name: "all read: the 30-day rule fails on its own", facts: facts(region(true), onlyByARN), verdict: model.NonCompliant,
			reasons: []model.Reason{model.ReasonBackupRetentionBelowMinimum, model.ReasonBackupVaultUnlocked, model.ReasonBackupCopyMissing}, plans: []string{"by-arn"}},
		{name: "a plan unread may hold the longer rule, the locked vault, the copy", facts: facts(region(true), onlyByARN, planUnread),
			verdict: model.Unknown, reasons: []model.Reason{model.ReasonBackupUnreadable}, plans: []string{"by-arn"}, note: "GetBackupPlan: ThrottlingException"},
		{name: "a plan unread does not hide a stale point", facts: facts(region(true), onlyByARN, planUnread, func(f *model.BackupFacts) { f.LastBackup = at(100) }),
			verdict: model.NonCompliant, reasons: []model.Reason{model.ReasonBackupStale, model.ReasonBackupUnreadable}, plans: []string{"by-arn"}},
		{name: "opt-in off: the tag selection's 400-day rule backs nothing up", facts: facts(region(false), byARN), verdict: model.NonCompliant,
			reasons: []model.Reason{model.ReasonBackupRetentionBelowMinimum, model.ReasonBackupVaultUnlocked, model.ReasonBackupCopyMissing}, plans: []string{"by-arn"}, note: "opt-in"},
		{name: "opt-in unread: the tag selection may back it up", facts: facts(region(true), byARN, optInUnread), verdict: model.Unknown,
			reasons: []model.Reason{model.ReasonBackupUnreadable}, plans: []string{"by-arn", "daily"}, note: "DescribeRegionSettings"},
		{name: "opt-in unread: both rules are short", facts: facts(region(true), byARN, optInUnread, func(f *model.BackupFacts) {
			f.Region.Plans[0].Rules[0].DeleteAfterDays = 300
		}), verdict: model.NonCompliant, reasons: []model.Reason{model.ReasonBackupRetentionBelowMinimum, model.ReasonBackupUnreadable},
			plans: []string{"by-arn", "daily"}, note: "DescribeRegionSettings"},
		{name: "a copy, advanced features unread", facts: facts(region(true), func(f *model.BackupFacts) {
			f.Region.AdvancedFeatures = nil
		}), verdict: model.Unknown, reasons: []model.Reason{model.ReasonBackupUnreadable}, plans: []string{"daily"}, note: "advanced features"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tb := table("ledger", prod)
			r := ev.WithBackup(tb, ev.Evaluate(tb), c.facts)
			if r.Verdict != c.verdict || !slices.Equal(r.Reasons, c.reasons) {
				t.Errorf("verdict %s %v, want %s %v (notes %v)", r.Verdict, r.Reasons, c.verdict, c.reasons, r.Backup.Notes)
			}
			var plans []string
			for _, p := range r.Backup.Plans {
				plans = append(plans, p.Plan)
			}
			if r.Backup.Status != BackupCovered || !slices.Equal(plans, c.plans) {
				t.Errorf("status %s, plans %v, want COVERED by %v", r.Backup.Status, plans, c.plans)
			}
			if c.note != "" && !strings.Contains(strings.Join(r.Backup.Notes, "\n"), c.note) {
				t.Errorf("notes lack %q: %v", c.note, r.Backup.Notes)
			}
		})
	}
}

// TestWithBackupQuestionMark: a selection whose answer turns on a `?`
// (not a documented wildcard) is unknown, and says so: not
// tags_unreadable when the tags were read.
func TestWithBackupQuestionMark(t *testing.T) {
	cfg, err := config.Parse("p.yaml", []byte(backupPolicyYAML))
	if err != nil {
		t.Fatal(err)
	}
	ev := New(cfg, now)
	tb := table("ledger", func(tb *model.Table) {
		tb.Tags = map[string]string{"env": "prod"}
		tb.PITR = model.PITR{Known: true, Enabled: true, RecoveryPeriodDays: 35, LatestRestorable: at(0.1)}
	})
	rb := region(true)
	rb.Plans = rb.Plans[2:]
	rb.Plans[0].Selections[0].Resources = []string{"arn:aws:dynamodb:*:*:table/ledge?"}
	r := ev.WithBackup(tb, ev.Evaluate(tb), facts(rb))
	if r.Verdict != model.Unknown || !slices.Equal(r.Reasons, []model.Reason{model.ReasonBackupUnreadable}) || r.Backup.Status != BackupUnknown ||
		!strings.Contains(strings.Join(r.Backup.Notes, "\n"), `"?"`) {
		t.Errorf("verdict %s %v, backup %+v", r.Verdict, r.Reasons, r.Backup)
	}
	// Covered by a 30-day rule; the ? selection's 30-day rule… and the
	// daily plan's 400-day one, selected by "ledge?" too: unknown.
	rb = region(true)
	rb.Plans[0].Selections[0] = model.BackupSelection{ID: "s1", Name: "q", Resources: []string{"arn:aws:dynamodb:*:*:table/ledge?"}}
	rb.Plans = append(rb.Plans, model.BackupPlan{ID: "p9", Name: "short", Rules: []model.BackupRule{{Name: "r", Vault: "locked", DeleteAfterDays: 30,
		Copies: rb.Plans[0].Rules[0].Copies}}, Selections: []model.BackupSelection{{ID: "s9", Name: "exact", Resources: []string{"arn:aws:dynamodb:*:*:table/ledger"}}}})
	r = ev.WithBackup(tb, ev.Evaluate(tb), facts(rb))
	if r.Verdict != model.Unknown || !slices.Equal(r.Reasons, []model.Reason{model.ReasonBackupUnreadable}) || r.Backup.Status != BackupCovered {
		t.Errorf("covered by a short rule beside a ? selection: verdict %s %v, backup %+v", r.Verdict, r.Reasons, r.Backup)
	}
}
