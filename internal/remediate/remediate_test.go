package remediate

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pitrguard/pitrguard/internal/audit"
	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/policy"
	"github.com/pitrguard/pitrguard/internal/report"
	"github.com/pitrguard/pitrguard/internal/selection"
)

var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func entry(name, tier string, min int, verdict model.Verdict, pitrDays int, tags map[string]string) audit.Entry {
	t := &model.Table{Account: "111111111111", Region: "us-east-1", Name: name, ARN: "arn:" + name, Status: "ACTIVE", Tags: tags}
	if pitrDays > 0 {
		t.PITR = model.PITR{Known: true, Enabled: true, RecoveryPeriodDays: pitrDays}
	} else {
		t.PITR = model.PITR{Known: verdict != model.Unknown}
	}
	r := policy.Result{Verdict: verdict, Tier: config.Tier{Name: tier, MinRecoveryDays: min}, Owner: tags["owner"]}
	if verdict == model.Unknown {
		r.Reasons = []model.Reason{model.ReasonThrottled}
	}
	return audit.Entry{Table: t, Eval: r, Result: report.TableResult{PITRMonthlyCostUSD: 1.25}}
}

func TestNewPlan(t *testing.T) {
	entries := []audit.Entry{
		entry("off-critical", "critical", 35, model.NonCompliant, 0, map[string]string{"owner": "a"}),
		entry("short-critical", "critical", 35, model.NonCompliant, 7, map[string]string{"owner": "b"}),
		entry("off-standard", "standard", 0, model.NonCompliant, 0, map[string]string{"aws:cloudformation:stack-name": "s1"}),
		entry("ok", "critical", 35, model.Compliant, 35, nil),
		entry("exempt", "critical", 35, model.Exempt, 0, nil),
		entry("unknown", "critical", 35, model.Unknown, 0, nil),
	}
	p := NewPlan(entries, Options{}, now)
	got := map[string]Action{}
	for _, a := range p.Actions {
		got[a.Table] = a
	}
	if len(got) != 3 {
		t.Fatalf("actions %+v", p.Actions)
	}
	if a := got["off-critical"]; a.Action != EnablePITR || a.ToDays != 35 || a.FromDays != nil || a.MonthlyCostUSD != 1.25 {
		t.Errorf("off-critical %+v", a)
	}
	if a := got["short-critical"]; a.Action != RaiseRecoveryPeriod || *a.FromDays != 7 || a.ToDays != 35 || a.MonthlyCostUSD != 0 {
		t.Errorf("short-critical %+v", a)
	}
	if a := got["off-standard"]; a.ToDays != 35 || !strings.Contains(a.Warning, "stack s1") {
		t.Errorf("off-standard %+v", a)
	}
	if len(p.Skipped) != 1 || p.Skipped[0].Table != "unknown" {
		t.Errorf("skipped %+v", p.Skipped)
	}
	if p.Summary.Planned != 3 || p.Summary.MonthlyCostUSD != 2.5 {
		t.Errorf("summary %+v", p.Summary)
	}

	// Filters and overrides.
	p = NewPlan(selection.Select(t.Context(), entries, selection.Criteria{Owner: "B"}).Entries, Options{}, now)
	if len(p.Actions) != 1 || p.Actions[0].Table != "short-critical" {
		t.Errorf("owner filter: %+v", p.Actions)
	}
	p = NewPlan(selection.Select(t.Context(), entries, selection.Criteria{Tiers: []string{"standard"}}).Entries, Options{}, now)
	if len(p.Actions) != 1 || p.Actions[0].Table != "off-standard" {
		t.Errorf("tier filter: %+v", p.Actions)
	}
	p = NewPlan(entries, Options{RecoveryDays: 14}, now)
	for _, a := range p.Actions {
		if a.ToDays != 14 {
			t.Errorf("--recovery-days not used: %+v", a)
		}
		if a.Tier == "critical" && !strings.Contains(a.Warning, "below tier critical's minimum") {
			t.Errorf("no warning for a window under the tier: %+v", a)
		}
	}
	p = NewPlan(entries, Options{RecoveryDays: 5}, now)
	for _, a := range p.Actions {
		if a.Table == "short-critical" {
			t.Errorf("a decrease was planned without --allow-decrease: %+v", a)
		}
	}
	p = NewPlan(entries, Options{RecoveryDays: 7}, now)
	for _, a := range p.Actions {
		if a.Table == "short-critical" {
			t.Errorf("an action that changes nothing was planned: %+v", a)
		}
	}
}

// fakeTable is a hand-written fake of the two PITR calls.
type fakeTable struct {
	mu          sync.Mutex
	enabled     bool
	days        int
	unavailable int  // ContinuousBackupsUnavailableException for the first N updates
	ignore      bool // accept updates but never change (read-back mismatch)
	updates     int
}

func (f *fakeTable) DescribeContinuousBackups(context.Context, *dynamodb.DescribeContinuousBackupsInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeContinuousBackupsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	pd := &ddbtypes.PointInTimeRecoveryDescription{PointInTimeRecoveryStatus: ddbtypes.PointInTimeRecoveryStatusDisabled}
	if f.enabled {
		pd = &ddbtypes.PointInTimeRecoveryDescription{PointInTimeRecoveryStatus: ddbtypes.PointInTimeRecoveryStatusEnabled, RecoveryPeriodInDays: aws.Int32(int32(f.days))}
	}
	return &dynamodb.DescribeContinuousBackupsOutput{ContinuousBackupsDescription: &ddbtypes.ContinuousBackupsDescription{
		ContinuousBackupsStatus: ddbtypes.ContinuousBackupsStatusEnabled, PointInTimeRecoveryDescription: pd}}, nil
}

func (f *fakeTable) UpdateContinuousBackups(_ context.Context, in *dynamodb.UpdateContinuousBackupsInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateContinuousBackupsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updates++
	if !aws.ToBool(in.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled) {
		panic("pitrguard must never disable PITR")
	}
	if f.unavailable > 0 {
		f.unavailable--
		return nil, &ddbtypes.ContinuousBackupsUnavailableException{Message: aws.String("Backups are being enabled")}
	}
	if !f.ignore {
		f.enabled, f.days = true, int(aws.ToInt32(in.PointInTimeRecoverySpecification.RecoveryPeriodInDays))
	}
	return &dynamodb.UpdateContinuousBackupsOutput{}, nil
}

// tableClient routes each call to the fake of the table it names.
type tableClient map[string]*fakeTable

func (c tableClient) DescribeContinuousBackups(ctx context.Context, in *dynamodb.DescribeContinuousBackupsInput, o ...func(*dynamodb.Options)) (*dynamodb.DescribeContinuousBackupsOutput, error) {
	return c[aws.ToString(in.TableName)].DescribeContinuousBackups(ctx, in, o...)
}

func (c tableClient) UpdateContinuousBackups(ctx context.Context, in *dynamodb.UpdateContinuousBackupsInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateContinuousBackupsOutput, error) {
	return c[aws.ToString(in.TableName)].UpdateContinuousBackups(ctx, in, o...)
}

func TestApply(t *testing.T) {
	tables := tableClient{
		"plain":    {},
		"slow-new": {unavailable: 2},
		"ignored":  {ignore: true},
		"done":     {enabled: true, days: 35},
		"longer":   {enabled: true, days: 35},
		"never":    {unavailable: 1000},
	}
	p := &Plan{}
	for name := range tables {
		to := 35
		if name == "longer" {
			to = 14 // a lower target without Decrease: nothing to do
		}
		p.Actions = append(p.Actions, Action{Account: "111111111111", Region: "us-east-1", Table: name, Action: EnablePITR, ToDays: to, Result: Planned})
	}
	var mu sync.Mutex
	journal := map[string]JournalEntry{}
	clock := now
	Apply(context.Background(), p, func(context.Context, string, string) (TableWriter, error) { return tables, nil }, ApplyOptions{
		Wait:        time.Minute,
		Concurrency: 1, // one shared fake clock: keep the order deterministic
		Backoff:     func(int) time.Duration { return time.Millisecond },
		// A clock that moves 10 s per reading: "never" exhausts --wait after a few retries.
		Now:     func() time.Time { mu.Lock(); defer mu.Unlock(); clock = clock.Add(10 * time.Second); return clock },
		Journal: func(e JournalEntry) { journal[e.Action.Table] = e },
	})
	want := map[string]string{"plain": Applied, "slow-new": Applied, "ignored": Pending, "done": AlreadyCompliant, "longer": AlreadyCompliant, "never": Pending}
	for _, a := range p.Actions {
		if a.Result != want[a.Table] {
			t.Errorf("%s: %s (%s), want %s", a.Table, a.Result, a.Error, want[a.Table])
		}
	}
	if tables["slow-new"].updates != 3 || tables["done"].updates != 0 || tables["longer"].days != 35 {
		t.Errorf("updates: slow-new %d done %d; longer now %d days", tables["slow-new"].updates, tables["done"].updates, tables["longer"].days)
	}
	if e := journal["plain"]; e.Before == nil || e.Before.Enabled || e.After == nil || *e.After != (State{Enabled: true, Days: 35}) {
		t.Errorf("journal plain: %+v", e)
	}
	if !strings.Contains(journal["ignored"].Action.Error, "still shows enabled=false") {
		t.Errorf("ignored: %q", journal["ignored"].Action.Error)
	}
	if p.Summary.Applied != 2 || p.Summary.Pending != 2 || p.Summary.AlreadyCompliant != 2 {
		t.Errorf("summary %+v", p.Summary)
	}
}

func TestApplyInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p := &Plan{Actions: []Action{{Table: "a", ToDays: 35, Result: Planned}, {Table: "b", ToDays: 35, Result: Planned}}}
	tables := tableClient{"a": {}, "b": {}}
	Apply(ctx, p, func(context.Context, string, string) (TableWriter, error) { return tables, nil }, ApplyOptions{})
	if p.Summary.NotStarted != 2 || tables["a"].updates+tables["b"].updates != 0 {
		t.Errorf("summary %+v", p.Summary)
	}
}

// A backup reason never triggers a PITR change: the plan follows the PITR
// verdict, whatever AWS Backup adds to the audit's verdict (issue 12).
func TestNewPlanIgnoresBackupReasons(t *testing.T) {
	withBackup := func(e audit.Entry, v model.Verdict, reason model.Reason) audit.Entry {
		e.Eval.PITRVerdict = e.Eval.Verdict
		e.Eval.Verdict = v
		e.Eval.Reasons = append(e.Eval.Reasons, reason)
		e.Eval.Backup = &policy.BackupResult{Status: policy.BackupNotCovered}
		return e
	}
	entries := []audit.Entry{
		withBackup(entry("pitr-ok-no-plan", "critical", 35, model.Compliant, 35, nil), model.NonCompliant, model.ReasonNoBackupPlan),
		withBackup(entry("pitr-ok-backup-unread", "critical", 35, model.Compliant, 35, nil), model.Unknown, model.ReasonBackupUnreadable),
		withBackup(entry("pitr-off-stale", "critical", 35, model.NonCompliant, 0, nil), model.NonCompliant, model.ReasonBackupStale),
	}
	p := NewPlan(entries, Options{}, now)
	if len(p.Actions) != 1 || p.Actions[0].Table != "pitr-off-stale" || p.Actions[0].Action != EnablePITR {
		t.Errorf("actions %+v: only the table whose PITR is off gets one", p.Actions)
	}
	if len(p.Skipped) != 0 {
		t.Errorf("skipped %+v: a table whose PITR is known is never skipped for its backups", p.Skipped)
	}
}
