package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	bktypes "github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pitrguard/pitrguard/internal/backupplan"
	"github.com/pitrguard/pitrguard/internal/iostreams"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/policy"
	"github.com/pitrguard/pitrguard/internal/pricing"
	"github.com/pitrguard/pitrguard/internal/report"
	"github.com/pitrguard/pitrguard/internal/testaws"
)

// policyWithBackup is issue 12's policy: critical tables need PITR (35
// days) and AWS Backup (365 days, a point at most 26 hours old).
const policyWithBackup = `tiers:
  - name: critical
    match: { tags: { env: prod } }
    min_recovery_days: 35
    backup: { min_retention_days: 365, max_age_hours: 26 }
  - name: scratch
    match: { names: ["scratch-*"] }
    require_pitr: false
default_tier: standard
`

// backupOrg is an organization for the AWS Backup tests. In account A
// (members[0]), us-east-1:
//
//	ledger    a 400-day plan selects it by ARN; fresh AVAILABLE point  → covered
//	orders    a plan selects it by *name*                            → no_backup_plan
//	events    same plan as ledger; newest point 72 hours old         → backup_stale
//	payments  same; newest point PARTIAL, last COMPLETED 80 h old    → backup_stale
//	sessions  a 30-day plan selects it by ARN pattern                → backup_retention_below_minimum
//	archive   no PITR, no plan, an on-demand backup                  → pitr_disabled, no_backup_plan
//	scratch-1 tier scratch: no backup required                       → backup null
//
// In A, eu-west-1 (AWS Backup's DynamoDB opt-in off): users, selected by
// tag → backup_opt_in_disabled. Account B (members[1]) has one standard
// table and no AWS Backup at all.
type backupOrg struct {
	*env
	a, b   string
	policy string
	fake   *testaws.BackupFake
}

func newBackupOrg(t *testing.T) *backupOrg {
	t.Helper()
	e := newEnv(t, 2)
	o := &backupOrg{env: e, a: e.members[0], b: e.members[1], fake: testaws.NewBackupFake()}
	e.proxy.Backup = o.fake
	o.policy = e.writeFile(t, "policy-with-backup.yaml", policyWithBackup)
	prod := map[string]string{"env": "prod"}
	e.tables(t, o.a, "us-east-1",
		testaws.TableSpec{Name: "ledger", Tags: prod, PITR: true}, testaws.TableSpec{Name: "orders", Tags: prod, PITR: true},
		testaws.TableSpec{Name: "events", Tags: prod, PITR: true}, testaws.TableSpec{Name: "payments", Tags: prod, PITR: true},
		testaws.TableSpec{Name: "sessions", Tags: prod, PITR: true}, testaws.TableSpec{Name: "archive", Tags: prod},
		testaws.TableSpec{Name: "scratch-1"})
	e.tables(t, o.a, "eu-west-1", testaws.TableSpec{Name: "users", Tags: prod, PITR: true})
	e.tables(t, o.b, "us-east-1", testaws.TableSpec{Name: "plain", PITR: true})

	ctx := context.Background()
	bs := testaws.NewSeeder(e.proxy.URL) // selections and settings go to the fake behind the proxy
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	arn := func(region, name string) string {
		return fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", region, o.a, name)
	}
	must(bs.CreateBackupVault(ctx, o.a, "us-east-1", "vault-long", 30))
	must(bs.CreateBackupVault(ctx, o.a, "us-east-1", "vault-short", 0))
	must(bs.CreateBackupVault(ctx, o.a, "eu-west-1", "vault-eu", 0))
	long := []testaws.BackupRuleSpec{{Name: "daily-400", Vault: "vault-long", DeleteAfterDays: 400}}
	_, err := bs.CreateBackupPlan(ctx, o.a, "us-east-1", "long", long,
		testaws.BackupSelectionSpec{Name: "by-arn", Resources: []string{arn("us-east-1", "ledger"), arn("us-east-1", "events"), arn("us-east-1", "payments")}})
	must(err)
	_, err = bs.CreateBackupPlan(ctx, o.a, "us-east-1", "named", long, testaws.BackupSelectionSpec{Name: "by-name", Resources: []string{"orders"}})
	must(err)
	_, err = bs.CreateBackupPlan(ctx, o.a, "us-east-1", "short", []testaws.BackupRuleSpec{{Name: "daily-30", Vault: "vault-short", DeleteAfterDays: 30}},
		testaws.BackupSelectionSpec{Name: "sessions", Resources: []string{"arn:aws:dynamodb:*:*:table/sess*"}})
	must(err)
	_, err = bs.CreateBackupPlan(ctx, o.a, "eu-west-1", "tagged", []testaws.BackupRuleSpec{{Name: "daily-400", Vault: "vault-eu", DeleteAfterDays: 400}},
		testaws.BackupSelectionSpec{Name: "prod-tags", ListOfTags: map[string]string{"env": "prod"}})
	must(err)
	must(bs.SetBackupRegionSettings(ctx, o.a, "eu-west-1", false, true))
	point := func(region, table string, hoursAgo float64, status string) {
		o.fake.AddRecoveryPoint(o.a, region, arn(region, table), testaws.RecoveryPoint{
			Created: fixedNow.Add(-time.Duration(hoursAgo * float64(time.Hour))), Status: status, Vault: "vault-long"})
	}
	point("us-east-1", "ledger", 27, "COMPLETED")
	point("us-east-1", "ledger", 3, "AVAILABLE")
	point("us-east-1", "events", 72, "COMPLETED")
	point("us-east-1", "payments", 80, "COMPLETED")
	point("us-east-1", "payments", 1, "PARTIAL")
	point("us-east-1", "sessions", 2, "COMPLETED")
	point("eu-west-1", "users", 2, "COMPLETED")
	db := dynamodb.NewFromConfig(e.seed.Config(ctx, o.a, "us-east-1"))
	_, err = db.CreateBackup(ctx, &dynamodb.CreateBackupInput{TableName: aws.String("archive"), BackupName: aws.String("archive-manual")})
	must(err)
	e.proxy.Clear()
	// ledger holds 10 GiB (moto says 0): its 400 daily copies cost $400/month.
	e.proxy.Add(&testaws.Rule{Op: "DescribeTable", Table: "ledger", Mutate: testaws.SetTableSize(10 * pricing.GiB)})
	return o
}

func (o *backupOrg) audit(t *testing.T, extra ...string) (*report.Audit, result) {
	t.Helper()
	r := o.run(t, append([]string{"audit", "--org", "--regions", "us-east-1,eu-west-1", "--config", o.policy, "--format", "json"}, extra...)...)
	if r.code != ExitOK {
		t.Fatalf("audit: exit %d\n%s", r.code, r.errOut)
	}
	return r.audit(t), r
}

// backupCalls counts the AWS Backup calls (and DynamoDB ListBackups) the
// proxy saw, per account-region and operation.
func (o *backupOrg) backupCalls() map[string]map[string]int {
	out := map[string]map[string]int{}
	for _, c := range o.proxy.Calls() {
		if c.Service != "backup" && c.Op != "ListBackups" {
			continue
		}
		k := c.Account + "/" + c.Region
		if out[k] == nil {
			out[k] = map[string]int{}
		}
		out[k][c.Op]++
	}
	return out
}

// TestAuditBackupCoverage is issue 12's acceptance: `audit --org --config
// policy-with-backup.yaml --format json` gives each table the right backup
// status and reasons, the KPIs count them, and AWS Backup is read a bounded
// number of times per account-region (only where a table needs it).
func TestAuditBackupCoverage(t *testing.T) {
	o := newBackupOrg(t)
	a, _ := o.audit(t)
	type want struct {
		verdict model.Verdict
		reasons []model.Reason
		status  string // "" = backup null
	}
	wants := map[string]want{
		o.a + "/us-east-1/ledger":    {model.Compliant, nil, policy.BackupCovered},
		o.a + "/us-east-1/orders":    {model.NonCompliant, []model.Reason{model.ReasonNoBackupPlan}, policy.BackupNotCovered},
		o.a + "/us-east-1/events":    {model.NonCompliant, []model.Reason{model.ReasonBackupStale}, policy.BackupCovered},
		o.a + "/us-east-1/payments":  {model.NonCompliant, []model.Reason{model.ReasonBackupStale}, policy.BackupCovered},
		o.a + "/us-east-1/sessions":  {model.NonCompliant, []model.Reason{model.ReasonBackupRetentionBelowMinimum}, policy.BackupCovered},
		o.a + "/us-east-1/archive":   {model.NonCompliant, []model.Reason{model.ReasonPITRDisabled, model.ReasonNoBackupPlan}, policy.BackupNotCovered},
		o.a + "/us-east-1/scratch-1": {model.Compliant, nil, ""},
		o.a + "/eu-west-1/users":     {model.NonCompliant, []model.Reason{model.ReasonBackupOptInDisabled}, policy.BackupNotCovered},
		o.b + "/us-east-1/plain":     {model.Compliant, nil, ""},
	}
	byKey := map[string]report.TableResult{}
	for _, tr := range a.Tables {
		byKey[tr.Account+"/"+tr.Region+"/"+tr.Name] = tr
	}
	if len(byKey) != len(wants) {
		t.Errorf("%d tables audited, want %d", len(byKey), len(wants))
	}
	for key, w := range wants {
		tr, ok := byKey[key]
		if !ok {
			t.Errorf("%s not in the report", key)
			continue
		}
		if tr.Verdict != w.verdict || !slices.Equal(tr.Reasons, append([]model.Reason{}, w.reasons...)) {
			t.Errorf("%s: %s %v, want %s %v", key, tr.Verdict, tr.Reasons, w.verdict, w.reasons)
		}
		switch {
		case w.status == "" && tr.Backup != nil:
			t.Errorf("%s: backup %+v, want null (its tier asks for none)", key, tr.Backup)
		case w.status != "" && (tr.Backup == nil || tr.Backup.Status != w.status):
			t.Errorf("%s: backup %+v, want status %s", key, tr.Backup, w.status)
		}
	}
	ledger := byKey[o.a+"/us-east-1/ledger"].Backup
	if len(ledger.Plans) != 1 || ledger.Plans[0].Plan != "long" || ledger.Plans[0].Selection != "by-arn" || *ledger.Plans[0].RetentionDays != 400 ||
		ledger.Plans[0].VaultLocked == nil || !*ledger.Plans[0].VaultLocked || !ledger.PointStatusChecked || ledger.AgeHours == nil || *ledger.AgeHours != 3 ||
		!ledger.LastRecoveryPoint.Equal(fixedNow.Add(-3*time.Hour)) || ledger.OptIn == nil || !*ledger.OptIn || ledger.MonthlyCostUSD != 400 {
		t.Errorf("ledger backup: %+v", ledger)
	}
	if ex := strings.Join(byKey[o.a+"/us-east-1/orders"].Backup.Excluded, "\n"); !strings.Contains(ex, `"orders", a table name, not an ARN`) || !strings.Contains(ex, "selection by-name") {
		t.Errorf("orders: the selection by name is not explained: %q", ex)
	}
	if n := strings.Join(byKey[o.a+"/us-east-1/payments"].Backup.Notes, "\n"); !strings.Contains(n, "1 PARTIAL") {
		t.Errorf("payments notes: %q", n)
	}
	if b := byKey[o.a+"/us-east-1/payments"].Backup; b.AgeHours == nil || *b.AgeHours != 80 {
		t.Errorf("payments: the newest restorable point is the COMPLETED one, 80 hours old: %+v", b)
	}
	if b := byKey[o.a+"/us-east-1/archive"].Backup; b.OnDemandLatest == nil {
		t.Errorf("archive: the on-demand backup is not reported: %+v", b)
	}
	if tr := byKey[o.a+"/us-east-1/archive"]; tr.RPOExposureHours == nil {
		t.Error("archive: its on-demand backup is a restorable point, so rpo_exposure_hours is not null")
	}
	if b := byKey[o.a+"/eu-west-1/users"].Backup; b.OptIn == nil || *b.OptIn || !strings.Contains(strings.Join(b.Notes, " "), "opt-in") {
		t.Errorf("users: %+v", b)
	}
	s := a.Summary
	if s.BackupRequiredTables != 7 || s.BackupCoveredTables != 4 || s.BackupRequiredUncovered != 3 || s.BackupMonthlyCostUSD != 400 {
		t.Errorf("KPIs: required %d covered %d uncovered %d cost %v; want 7, 4, 3, 400",
			s.BackupRequiredTables, s.BackupCoveredTables, s.BackupRequiredUncovered, s.BackupMonthlyCostUSD)
	}

	// Calls: per account-region, each read at most once (pages aside), and
	// none where no table requires AWS Backup.
	calls := o.backupCalls()
	for _, k := range []string{o.b + "/us-east-1", o.b + "/eu-west-1", mgmt + "/us-east-1", mgmt + "/eu-west-1"} {
		if len(calls[k]) > 0 {
			t.Errorf("%s has no table requiring AWS Backup, yet %v", k, calls[k])
		}
	}
	east := calls[o.a+"/us-east-1"]
	if east["ListBackupPlans"] != 1 || east["DescribeRegionSettings"] != 1 || east["GetBackupPlan"] != 3 || east["GetBackupSelection"] != 3 ||
		east["DescribeBackupVault"] != 2 || east["ListProtectedResources"] != 2 || east["ListRecoveryPointsByResource"] != 4 || east["ListBackups"] != 1 {
		t.Errorf("us-east-1 calls: %v", east)
	}
	// users is selected by tags where the opt-in is off: nothing more is read for it.
	if eu := calls[o.a+"/eu-west-1"]; eu["ListBackupPlans"] != 1 || eu["DescribeRegionSettings"] != 1 ||
		eu["ListRecoveryPointsByResource"]+eu["ListProtectedResources"]+eu["DescribeBackupVault"] != 0 {
		t.Errorf("eu-west-1 calls: %v", eu)
	}
	if a.Run.APICalls["ListBackupPlans"] != 2 {
		t.Errorf("run api_calls: %v", a.Run.APICalls)
	}
	// `iam-policy audit` allows every call the audit made, AWS Backup's included.
	assertPolicyCovers(t, o.env, "audit")

	// The history keeps the block: the run read back is the same report.
	h := o.run(t, "history", "--format", "json")
	if h.code != ExitOK {
		t.Fatalf("history: %d %s", h.code, h.errOut)
	}

	// The evidence report and the dashboard show the same coverage.
	rep := o.run(t, "report", "--format", "json", "--config", o.policy)
	if rep.code != ExitOK {
		t.Fatalf("report: exit %d %s", rep.code, rep.errOut)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(rep.out), &raw); err != nil {
		t.Fatal(err)
	}
	var bk map[string]any
	if err := json.Unmarshal(raw["backup"], &bk); err != nil {
		t.Fatal(err)
	}
	if bk["measured"] != true || bk["backup_required_tables"] != 7.0 || bk["backup_covered_tables"] != 4.0 || bk["backup_required_uncovered"] != 3.0 || bk["backup_monthly_cost_usd"] != 400.0 {
		t.Errorf("report backup section: %v", bk)
	}
	sv := startServe(t, "--listen", "127.0.0.1:0", "--db", o.db)
	defer sv.stop(t)
	m := sv.metrics(t)
	for k, want := range map[string]float64{`pitrguard_backup_tables{state="required"}`: 7, `pitrguard_backup_tables{state="covered"}`: 4,
		`pitrguard_backup_tables{state="uncovered"}`: 3, "pitrguard_backup_monthly_cost_usd": 400} {
		if got, ok := m[k]; !ok || got != want {
			t.Errorf("serve %s = %v (exported %v), want %v", k, got, ok, want)
		}
	}
}

// TestAuditBackupNotRequired: without a backup: block the audit makes no AWS
// Backup call (nor ListBackups), and every table's backup is null.
func TestAuditBackupNotRequired(t *testing.T) {
	o := newBackupOrg(t)
	o.policy = o.writeFile(t, "no-backup.yaml", strings.ReplaceAll(policyWithBackup, "    backup: { min_retention_days: 365, max_age_hours: 26 }\n", ""))
	a, _ := o.audit(t)
	if calls := o.backupCalls(); len(calls) != 0 {
		t.Errorf("AWS Backup calls without a backup policy: %v", calls)
	}
	if o.proxy.Count("") < 10 {
		t.Fatalf("the audit made only %d calls: the test proves nothing", o.proxy.Count(""))
	}
	for _, tr := range a.Tables {
		if tr.Backup != nil {
			t.Errorf("%s: backup %+v, want null", tr.Name, tr.Backup)
		}
	}
	if s := a.Summary; s.BackupRequiredTables != 0 || s.BackupCoveredTables != 0 || s.BackupMonthlyCostUSD != 0 {
		t.Errorf("KPIs %+v", s)
	}
	// The built-in defaults have no backup: block either.
	o.proxy.Clear()
	if r := o.run(t, "audit", "--org", "--regions", "us-east-1", "--format", "json"); r.code != ExitOK || len(o.backupCalls()) != 0 {
		t.Errorf("default policy: exit %d, backup calls %v", r.code, o.backupCalls())
	}
}

// TestAuditBackupUnreadable: an access-denied AWS Backup read makes the
// verdict UNKNOWN (backup_unreadable), never a guess, with the cause in errors.
func TestAuditBackupUnreadable(t *testing.T) {
	o := newBackupOrg(t)
	o.proxy.Add(&testaws.Rule{Op: "ListBackupPlans", Account: o.a, Region: "us-east-1", Fault: testaws.FaultAccessDenied})
	a, _ := o.audit(t)
	for _, tr := range a.Tables {
		if tr.Account != o.a || tr.Region != "us-east-1" || tr.Backup == nil {
			continue
		}
		want := []model.Reason{model.ReasonBackupUnreadable}
		v := model.Unknown
		if tr.Name == "archive" {
			want, v = []model.Reason{model.ReasonPITRDisabled, model.ReasonBackupUnreadable}, model.NonCompliant // a known failure stays one
		}
		if tr.Verdict != v || !slices.Equal(tr.Reasons, want) || tr.Backup.Status != policy.BackupUnknown {
			t.Errorf("%s: %s %v (backup %s), want %s %v", tr.Name, tr.Verdict, tr.Reasons, tr.Backup.Status, v, want)
		}
	}
	found := false
	for _, e := range a.Errors {
		found = found || (e.Table == "ledger" && e.Reason == model.ReasonAccessDenied && strings.HasPrefix(e.Message, "backup:ListBackupPlans"))
	}
	if !found {
		t.Errorf("errors lack ledger's backup:ListBackupPlans: %+v", a.Errors)
	}
	if !a.Summary.CoverageComplete {
		t.Error("a table's unreadable backups do not make the audit's coverage incomplete")
	}
	if users := findTable(t, a, o.a, "eu-west-1", "users"); users.Backup.Status != policy.BackupNotCovered {
		t.Errorf("another region is unaffected: %+v", users.Backup)
	}
	r := o.run(t, "audit", "--org", "--regions", "us-east-1", "--config", o.policy, "--format", "json", "--fail-on", "unknown")
	if r.code != ExitFindings {
		t.Errorf("--fail-on unknown: exit %d", r.code)
	}
}

// TestAuditBackupPointBudget: --backup-point-budget bounds the
// ListRecoveryPointsByResource calls per account-region; without them the
// last backup time of ListProtectedResources is used, and the notes say so.
func TestAuditBackupPointBudget(t *testing.T) {
	o := newBackupOrg(t)
	a, _ := o.audit(t, "--backup-point-budget", "0")
	if n := o.proxy.Count("ListRecoveryPointsByResource"); n != 0 {
		t.Errorf("budget 0: %d ListRecoveryPointsByResource calls", n)
	}
	pay := findTable(t, a, o.a, "us-east-1", "payments")
	// ListProtectedResources counts the PARTIAL point (1 hour old): the
	// status, and so the staleness, is not seen.
	if pay.Verdict != model.Compliant || pay.Backup.PointStatusChecked || !strings.Contains(strings.Join(pay.Backup.Notes, " "), "--backup-point-budget") {
		t.Errorf("payments with budget 0: %s %v %+v", pay.Verdict, pay.Reasons, pay.Backup)
	}
	o.proxy.Clear()
	a, _ = o.audit(t, "--backup-point-budget", "2")
	if n := o.backupCalls()[o.a+"/us-east-1"]["ListRecoveryPointsByResource"]; n != 2 {
		t.Errorf("budget 2: %d calls in the account-region with 4 covered critical tables", n)
	}
	checked := 0
	for _, tr := range a.Tables {
		if tr.Backup != nil && tr.Backup.PointStatusChecked {
			checked++
		}
	}
	if checked != 2 {
		t.Errorf("%d tables' point statuses read with a budget of 2", checked)
	}
	if r := o.run(t, "audit", "--backup-point-budget", "-1", "--no-store"); r.code != ExitUsage || !strings.Contains(r.errOut, "--backup-point-budget") {
		t.Errorf("negative budget: exit %d %s", r.code, r.errOut)
	}
}

// TestAuditBackupRunGroup: the backup block is in the history's facts, so
// `history --run-group` and `merge` of a sharded audit reproduce it and its
// KPIs exactly.
func TestAuditBackupRunGroup(t *testing.T) {
	o := newBackupOrg(t)
	whole, _ := o.audit(t, "--no-store")
	var files []string
	for k := 1; k <= 2; k++ {
		f := filepath.Join(o.dir, fmt.Sprintf("shard-%d.json", k))
		files = append(files, f)
		if r := o.run(t, "audit", "--org", "--regions", "us-east-1,eu-west-1", "--config", o.policy, "--format", "json",
			"--shard", fmt.Sprintf("%d/2", k), "--run-group", "bk", "--output", f); r.code != ExitOK {
			t.Fatalf("shard %d: exit %d %s", k, r.code, r.errOut)
		}
	}
	h := o.run(t, "history", "--run-group", "bk", "--format", "json")
	if h.code != ExitOK {
		t.Fatalf("history --run-group: %d %s", h.code, h.errOut)
	}
	m := o.run(t, append([]string{"merge", "--format", "json"}, files...)...)
	if m.code != ExitOK {
		t.Fatalf("merge: %d %s", m.code, m.errOut)
	}
	want := comparable(whole)
	for name, got := range map[string]*report.Audit{"history --run-group": h.audit(t), "merge": m.audit(t)} {
		g := comparable(got)
		if g.Summary.BackupRequiredTables != 7 || g.Summary.BackupCoveredTables != 4 || g.Summary.BackupRequiredUncovered != 3 || g.Summary.BackupMonthlyCostUSD != 400 {
			t.Errorf("%s KPIs: %+v", name, g.Summary)
		}
		wj, _ := json.Marshal(want.Tables)
		gj, _ := json.Marshal(g.Tables)
		if string(wj) != string(gj) {
			t.Errorf("%s tables differ from the unsharded audit:\nwant %s\n got %s", name, wj, gj)
		}
	}
}

// TestBackupPlanE2E: after an audit, `backup plan --tier critical` writes a
// plan whose selections the evaluator proves cover exactly the critical
// tables; its CloudFormation and Terraform pass `iac scan`; its JSON parts
// are accepted by AWS Backup's API as they are; a policy written in another
// case than the tags is proved inexact (exit 3), naming what it misses.
func TestBackupPlanE2E(t *testing.T) {
	o := newBackupOrg(t)
	o.audit(t)
	r := o.run(t, "backup", "plan", "--tier", "critical", "--config", o.policy, "--format", "json")
	if r.code != ExitOK {
		t.Fatalf("backup plan: exit %d\n%s\n%s", r.code, r.out, r.errOut)
	}
	var d backupplan.Document
	if err := json.Unmarshal([]byte(r.out), &d); err != nil {
		t.Fatal(err)
	}
	c := d.Coverage
	if c == nil || !c.Exact || c.TablesInTier != 7 || c.Covered != 7 || len(c.WronglyIncluded) != 0 || c.Audit.Tables != 9 {
		t.Fatalf("coverage %+v", c)
	}
	if d.Plan.Rules[0].ScheduleExpression != "cron(0 5 ? * * *)" || d.Plan.Rules[0].Lifecycle.DeleteAfterDays != 365 || d.IAMRole == nil ||
		!slices.Contains(d.IAMRole.Policies[0].PolicyDocument["Statement"].([]any)[0].(map[string]any)["Action"].([]any), "dynamodb:StartAwsBackupJob") {
		t.Errorf("plan %+v, role %+v", d.Plan, d.IAMRole)
	}

	// The JSON parts are AWS API inputs: create them in account A and audit again.
	ctx := context.Background()
	cfg := testaws.NewSeeder(o.proxy.URL).Config(ctx, o.a, "us-east-1")
	bk := backup.NewFromConfig(cfg)
	var planIn bktypes.BackupPlanInput
	var selIn bktypes.BackupSelection
	pj, _ := json.Marshal(d.Plan)
	sj, _ := json.Marshal(d.Selection)
	if err := json.Unmarshal(pj, &planIn); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(sj, &selIn); err != nil {
		t.Fatal(err)
	}
	selIn.IamRoleArn = aws.String(strings.Replace(aws.ToString(selIn.IamRoleArn), "ACCOUNT_ID", o.a, 1))
	if _, err := bk.CreateBackupVault(ctx, &backup.CreateBackupVaultInput{BackupVaultName: aws.String(d.Vault.BackupVaultName)}); err != nil {
		t.Fatal(err)
	}
	out, err := bk.CreateBackupPlan(ctx, &backup.CreateBackupPlanInput{BackupPlan: &planIn})
	if err != nil {
		t.Fatalf("AWS Backup refused the plan JSON: %v", err)
	}
	if _, err := bk.CreateBackupSelection(ctx, &backup.CreateBackupSelectionInput{BackupPlanId: out.BackupPlanId, BackupSelection: &selIn}); err != nil {
		t.Fatalf("the selection JSON: %v", err)
	}
	a, _ := o.audit(t, "--no-store")
	if orders := findTable(t, a, o.a, "us-east-1", "orders"); orders.Backup.Status != policy.BackupCovered ||
		!slices.Equal(orders.Reasons, []model.Reason{model.ReasonBackupMissing}) {
		t.Errorf("orders, now in the generated plan (no point yet): %+v %v", orders.Backup, orders.Reasons)
	}

	// CloudFormation and Terraform pass iac scan; a selection by name would not.
	cfnPath := filepath.Join(o.dir, "backup.yaml")
	tfDir := filepath.Join(o.dir, "tf")
	if err := os.Mkdir(tfDir, 0o755); err != nil {
		t.Fatal(err)
	}
	tfPath := filepath.Join(tfDir, "main.tf")
	for format, path := range map[string]string{"cloudformation": cfnPath, "terraform": tfPath} {
		r := o.run(t, "backup", "plan", "--tier", "critical", "--config", o.policy, "--format", format, "--vault-lock", "-o", path)
		if r.code != ExitOK || !strings.Contains(r.errOut, "7 of 7 tables of tier critical covered, 0 wrongly included, 0 unknown: exact") {
			t.Fatalf("%s: exit %d %s", format, r.code, r.errOut)
		}
		if s := o.run(t, "iac", "scan", path, "--format", "json"); s.code != ExitOK || strings.Contains(s.out, "backup-selection-arn") {
			t.Errorf("iac scan %s: exit %d\n%s%s", format, s.code, s.out, s.errOut)
		}
		src, _ := os.ReadFile(path)
		broken := strings.Replace(string(src), "arn:aws:dynamodb:*:*:table/*", "ledger", 1)
		if broken == string(src) {
			t.Fatalf("%s: no ARN pattern to break:\n%s", format, src)
		}
		os.WriteFile(path, []byte(broken), 0o644)
		if s := o.run(t, "iac", "scan", path, "--format", "json"); s.code != ExitFindings || !strings.Contains(s.out, "backup-selection-arn") {
			t.Errorf("iac scan of a %s selection by name: exit %d\n%s", format, s.code, s.out)
		}
	}

	// A policy written CRITICAL-case: the selection compares case-sensitively.
	upper := o.writeFile(t, "upper.yaml", strings.Replace(policyWithBackup, "env: prod", "env: PROD", 1))
	r = o.run(t, "backup", "plan", "--tier", "critical", "--config", upper, "--format", "json")
	if r.code != ExitFindings {
		t.Fatalf("case-mismatched policy: exit %d %s", r.code, r.errOut)
	}
	if err := json.Unmarshal([]byte(r.out), &d); err != nil {
		t.Fatalf("the plan is still written: %v", err)
	}
	missed := []string{}
	for _, m := range d.Coverage.Missed {
		missed = append(missed, m.Name)
	}
	if d.Coverage.Exact || !slices.Contains(missed, "ledger") || len(missed) != 7 || !strings.Contains(r.errOut, "7 missed") {
		t.Errorf("missed %v, coverage %+v, stderr %s", missed, d.Coverage, r.errOut)
	}
}

// TestBackupPlanErrors: bad input is exit 2 with a message, no audit is
// exit 5, --no-proof needs none. None of it needs AWS.
func TestBackupPlanErrors(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "p.yaml")
	os.WriteFile(pol, []byte(policyWithBackup), 0o644)
	short := filepath.Join(dir, "short.yaml")
	os.WriteFile(short, []byte("tiers:\n  - name: critical\n    backup: { max_age_hours: 2 }\n"), 0o644)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("tiers:\n  - name: critical\n    backup: { retention: 3 }\n"), 0o644)
	db := filepath.Join(dir, "none.db")
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--tier", "critical", "--config", pol}, ExitNoMatch, "no audit is recorded"},
		{[]string{"--tier", "nope", "--config", pol}, ExitUsage, `tier "nope" is not in`},
		{[]string{"--config", pol}, ExitUsage, "--tier is required"},
		{[]string{"--tier", "critical", "--config", pol, "--format", "yaml"}, ExitUsage, `--format "yaml" is not supported`},
		{[]string{"--tier", "critical", "--config", short, "--no-proof"}, ExitUsage, "max_age_hours 2 is too short"},
		{[]string{"--tier", "critical", "--config", bad}, ExitUsage, `unknown key "retention"`},
		{[]string{"--tier", "critical", "--config", pol, "--role-arn", "backup"}, ExitUsage, "not an IAM role ARN"},
		{[]string{"--tier", "critical", "--config", pol, "--partition", "mars"}, ExitUsage, "unknown partition"},
		{[]string{"--tier", "critical", "--config", pol, "-o", filepath.Join(dir, "no", "x.json")}, ExitUsage, "does not exist"},
	}
	for _, c := range cases {
		ios, _, out, errOut := iostreams.Test()
		code := Run(context.Background(), append([]string{"backup", "plan", "--db", db}, c.args...), &Factory{IO: ios, Now: func() time.Time { return fixedNow }})
		if code != c.code || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("%v: exit %d, want %d with %q\n%s", c.args, code, c.code, c.want, errOut)
		}
		if code == ExitNoMatch && out.Len() != 0 {
			t.Errorf("%v: wrote %q without a proof", c.args, out)
		}
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("backup plan created the history database: reading commands never do")
	}
	ios, _, out, errOut := iostreams.Test()
	if code := Run(context.Background(), []string{"backup", "plan", "--tier", "critical", "--config", pol, "--no-proof", "--db", db}, &Factory{IO: ios}); code != ExitOK {
		t.Fatalf("--no-proof: exit %d %s", code, errOut)
	}
	var d backupplan.Document
	if err := json.Unmarshal(out.Bytes(), &d); err != nil || d.Coverage != nil || d.Plan.BackupPlanName != "pitrguard-critical" || len(d.Selections) != 1 {
		t.Errorf("--no-proof: %v %+v", err, d)
	}
}
