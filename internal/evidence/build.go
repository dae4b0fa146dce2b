package evidence

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/drill"
	"github.com/pitrguard/pitrguard/internal/guardrails/check"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/policy"
	"github.com/pitrguard/pitrguard/internal/report"
	"github.com/pitrguard/pitrguard/internal/store"
	"github.com/pitrguard/pitrguard/internal/trend"
)

// Source is the part of the history database the report reads.
type Source interface {
	trend.Reader
	Journal(ctx context.Context, runID int64, limit int) ([]store.JournalEntry, error)
	Drills(ctx context.Context, limit int) ([]store.Drill, error)
	EventActionsBetween(ctx context.Context, from, to time.Time) ([]store.EventAction, error)
	GuardrailChecks(ctx context.Context, runID int64) ([]store.GuardrailCheck, error)
}

var _ Source = store.Store(nil)

// Options say what the report covers.
type Options struct {
	// Now ends the period; Since is its length (SinceText as the user wrote it).
	Now       time.Time
	Since     time.Duration
	SinceText string
	// Policy is the policy file in force (its exemptions make the register);
	// nil means the built-in defaults.
	Policy *config.Config
}

// Title is the report's title.
const Title = "DynamoDB backup and recovery evidence"

// all is "no limit" for the store's list methods.
const all = math.MaxInt32

// Build reads the history of the period and assembles the report, hash included.
func Build(ctx context.Context, db Source, o Options) (*Report, error) {
	to := o.Now.UTC()
	from := to.Add(-o.Since)
	b := &builder{db: db, o: o, from: from, to: to, runIDs: map[int64]bool{}}
	b.r = &Report{SchemaVersion: SchemaVersion, Title: Title, GeneratedAt: to,
		Period: Period{From: from, To: to, Since: cmp.Or(o.SinceText, o.Since.String())}}
	if o.Policy == nil {
		o.Policy = config.Default()
		b.o.Policy = o.Policy
	}
	for _, step := range []func(context.Context) error{b.readRuns, b.readAudits, b.scope, b.kpis, b.findings, b.exceptions,
		b.drills, b.changes, b.guardrails, b.backup} {
		if err := step(ctx); err != nil {
			return nil, err
		}
	}
	b.controls()
	b.r.Integrity = Integrity{Algorithm: "SHA-256", RunIDs: slices.Sorted(maps.Keys(b.runIDs)),
		Covers: `the JSON form of this report (pitrguard report --format json) with integrity.sha256 set to ""`}
	if b.r.Integrity.RunIDs == nil {
		b.r.Integrity.RunIDs = []int64{}
	}
	h, err := b.r.Hash()
	if err != nil {
		return nil, err
	}
	b.r.Integrity.SHA256 = h
	return b.r, nil
}

// builder holds what the sections share while the report is assembled.
type builder struct {
	db       Source
	o        Options
	from, to time.Time
	r        *Report
	runs     []store.Run // every run of the period, oldest first
	audits   []trend.Audit
	latest   *report.Audit // the latest audit, with its tables
	open     map[tableKey]streak
	drilled  map[tableKey]bool
	runIDs   map[int64]bool
}

type tableKey struct{ account, region, table string }

// streak is a run of audits that found a table open.
type streak struct {
	since     time.Time
	fromFirst bool
}

func (b *builder) inPeriod(t time.Time) bool { return !t.Before(b.from) && !t.After(b.to) }

func (b *builder) readRuns(ctx context.Context) error {
	runs, err := b.db.Runs(ctx, "", all)
	if err != nil {
		return fmt.Errorf("read runs: %w", err)
	}
	for _, r := range slices.Backward(runs) {
		if b.inPeriod(r.StartedAt) {
			b.runs = append(b.runs, r)
		}
	}
	return nil
}

// readAudits reads the audits of the period one at a time, oldest first,
// following each table's open streak, and keeps the latest in full.
func (b *builder) readAudits(ctx context.Context) error {
	audits, err := trend.Audits(ctx, b.db, b.from, 0)
	if err != nil {
		return fmt.Errorf("read audits: %w", err)
	}
	for _, a := range audits {
		if !a.At.After(b.to) {
			b.audits = append(b.audits, a)
		}
	}
	b.open = map[tableKey]streak{}
	for i := range b.audits {
		a := &b.audits[i]
		rep, err := a.Report(ctx, b.db)
		if err != nil {
			return fmt.Errorf("read audit run %d: %w", a.RunIDs[0], err)
		}
		b.follow(rep, a.At, i == 0)
		b.latest = rep
		for _, id := range a.RunIDs {
			b.runIDs[id] = true
		}
	}
	return nil
}

func isOpen(v model.Verdict) bool { return v == model.NonCompliant || v == model.Unknown }

// follow updates the open streaks with one audit: a table found open starts
// or continues its streak; one found in any other state ends it, and so does
// its absence from an audit whose coverage was complete and that read its
// account-region (it found other tables there): the table was gone. An
// audit that could not read everything, or whose scope (--accounts,
// --regions) left the table's account-region out, leaves the streaks of
// tables it did not see as they were.
func (b *builder) follow(a *report.Audit, at time.Time, first bool) {
	type accountRegion struct{ account, region string }
	seen := make(map[tableKey]bool, len(a.Tables))
	read := map[accountRegion]bool{}
	for _, t := range a.Tables {
		k := tableKey{t.Account, t.Region, t.Name}
		seen[k] = true
		read[accountRegion{t.Account, t.Region}] = true
		if !isOpen(t.Verdict) {
			delete(b.open, k)
			continue
		}
		if _, ok := b.open[k]; !ok {
			b.open[k] = streak{since: at, fromFirst: first}
		}
	}
	if a.Summary.CoverageComplete {
		for k := range b.open {
			if !seen[k] && read[accountRegion{k.account, k.region}] {
				delete(b.open, k)
			}
		}
	}
}

func (b *builder) latestAudit() *trend.Audit {
	if len(b.audits) == 0 {
		return nil
	}
	return &b.audits[len(b.audits)-1]
}

func (b *builder) latestRef() *AuditRef {
	a := b.latestAudit()
	if a == nil {
		return nil
	}
	return &AuditRef{At: a.At.UTC(), RunIDs: a.RunIDs, RunGroup: a.RunGroup}
}

const howAudit = "no audit is recorded in the period; run `pitrguard audit` (each run is recorded in the history database)"

func (b *builder) scope(context.Context) error {
	s := &b.r.Scope
	s.Policy = b.o.Policy.Source
	s.Accounts, s.Regions, s.Gaps, s.Runs = []string{}, []string{}, []Gap{}, map[string]int{}
	for _, r := range b.runs {
		s.Runs[r.Kind]++
	}
	s.Audits = len(b.audits)
	if b.latest == nil {
		s.Status = notMeasured(howAudit)
		return nil
	}
	a := b.latest
	s.LatestAudit = b.latestRef()
	accounts, regions := map[string]bool{}, map[string]bool{}
	for _, t := range a.Tables {
		accounts[t.Account], regions[t.Region] = true, true
	}
	s.Accounts, s.Regions = slices.Sorted(maps.Keys(accounts)), slices.Sorted(maps.Keys(regions))
	s.AccountsScanned, s.AccountRegions, s.Tables, s.CoverageComplete = a.Run.Accounts, a.Run.Targets, len(a.Tables), a.Summary.CoverageComplete
	for _, e := range a.Errors {
		if e.Gap() {
			s.Gaps = append(s.Gaps, Gap{Account: e.Account, Region: e.Region, Code: e.Code, Reason: string(e.Reason), Message: e.Message})
		}
	}
	note := "the latest audit read every account-region in scope"
	if !s.CoverageComplete {
		note = fmt.Sprintf("the latest audit could not read everything: %d gap(s) listed with why", len(s.Gaps))
	}
	s.Status = measured(note)
	return nil
}

func ptr[T any](v T) *T { return &v }

func (b *builder) kpis(context.Context) error {
	k := &b.r.KPIs
	k.ByTier = []TierRate{}
	b.r.Trend = Trend{Points: trend.Points(b.audits)}
	if len(b.audits) == 0 {
		k.Status = notMeasured(howAudit)
		k.Spend.Status = notMeasured(howAudit + " with --cost-explorer")
		b.r.Trend.Status = notMeasured(howAudit)
		return nil
	}
	b.r.Trend.Status = measured(fmt.Sprintf("%d audit(s) in the period; the shards of a run group count as one", len(b.audits)))
	la := b.latestAudit()
	s := la.Summary
	k.Audit = b.latestRef()
	k.ComplianceRate, k.Tables, k.OpenFindings = ptr(s.ComplianceRate), ptr(s.Tables), ptr(s.NonCompliant+s.Unknown)
	k.SnapshotGapTables, k.PITRMonthlyCostUSD, k.GapMonthlyCostUSD = ptr(s.SnapshotGapTables), ptr(s.PITRMonthlyCostUSD), ptr(s.GapMonthlyCostUSD)
	for _, name := range slices.Sorted(maps.Keys(s.ByTier)) {
		t := s.ByTier[name]
		k.ByTier = append(k.ByTier, TierRate{Tier: name, Tables: t.Tables, Compliant: t.Compliant, NonCompliant: t.NonCompliant, Unknown: t.Unknown, ComplianceRate: t.ComplianceRate})
	}
	k.BackupMonthlyCostUSD = recordedBackup(la.Summary).MonthlyCostUSD
	k.Status = measured("the figures of the latest audit of the period; compliance_rate = compliant / (compliant + non_compliant + unknown)")
	// Spend is a month's bill: the newest audit of the period that read
	// Cost Explorer gives it (audits may read it less often than they run).
	var sa *trend.Audit
	for i := len(b.audits) - 1; i >= 0 && sa == nil; i-- {
		if b.audits[i].Summary.DynamoDBSpendUSD != nil {
			sa = &b.audits[i]
		}
	}
	if sa == nil {
		k.Spend.Status = notMeasured("no audit of the period read Cost Explorer; run `pitrguard audit --cost-explorer` from the management account")
		return nil
	}
	ss := sa.Summary
	k.Spend = Spend{Status: measured(fmt.Sprintf("billed spend of %s from Cost Explorer (the whole payer account), read by the audit of %s; beside the estimate from table sizes",
		ss.SpendMonth, sa.At.UTC().Format("2006-01-02 15:04 UTC"))),
		Audit: &AuditRef{At: sa.At.UTC(), RunIDs: sa.RunIDs, RunGroup: sa.RunGroup},
		Month: ss.SpendMonth, DynamoDBSpendUSD: ss.DynamoDBSpendUSD, PITRSpendUSD: ss.PITRSpendUSD, BackupSpendUSD: ss.BackupSpendUSD,
		ResilienceCostShare: ss.ResilienceCostShare}
	return nil
}

func (b *builder) findings(context.Context) error {
	f := &b.r.Findings
	f.Tables, f.ByOwner, f.ByAccount = []Finding{}, []OpenCount{}, []OpenCount{}
	if b.latest == nil {
		f.Status = notMeasured(howAudit)
		return nil
	}
	at := b.latestAudit().At
	byOwner, byAccount := map[string]*OpenCount{}, map[string]*OpenCount{}
	count := func(m map[string]*OpenCount, key string, v model.Verdict) {
		c := m[key]
		if c == nil {
			c = &OpenCount{Key: key}
			m[key] = c
		}
		if v == model.NonCompliant {
			c.NonCompliant++
		} else {
			c.Unknown++
		}
	}
	for _, t := range b.latest.Tables {
		if !isOpen(t.Verdict) {
			continue
		}
		st := b.open[tableKey{t.Account, t.Region, t.Name}]
		reasons := make([]string, 0, len(t.Reasons))
		for _, re := range t.Reasons {
			reasons = append(reasons, string(re))
		}
		owner := cmp.Or(t.Owner, "(no owner)")
		f.Tables = append(f.Tables, Finding{Owner: owner, Account: t.Account, Region: t.Region, Table: t.Name, Tier: t.Tier,
			Verdict: string(t.Verdict), Reasons: reasons, OpenSince: st.since.UTC(), DaysOpen: int(at.Sub(st.since) / (24 * time.Hour)),
			SincePeriodStart: st.fromFirst})
		count(byOwner, owner, t.Verdict)
		count(byAccount, t.Account, t.Verdict)
	}
	slices.SortFunc(f.Tables, func(x, y Finding) int {
		return cmp.Or(strings.Compare(x.Owner, y.Owner), model.Compare(x.Account, x.Region, x.Table, y.Account, y.Region, y.Table))
	})
	for _, k := range slices.Sorted(maps.Keys(byOwner)) {
		f.ByOwner = append(f.ByOwner, *byOwner[k])
	}
	for _, k := range slices.Sorted(maps.Keys(byAccount)) {
		f.ByAccount = append(f.ByAccount, *byAccount[k])
	}
	f.Status = measured(fmt.Sprintf("%d table(s) NON_COMPLIANT or UNKNOWN in the latest audit; open_since is the first audit of the unbroken run that found each open", len(f.Tables)))
	return nil
}

func (b *builder) exceptions(context.Context) error {
	e := &b.r.Exceptions
	e.Policy, e.Exemptions = b.o.Policy.Source, []Exemption{}
	byPattern := map[string]*Exemption{}
	var order []string
	for _, ex := range b.o.Policy.Exemptions {
		x := &Exemption{Table: ex.Table, Reason: ex.Reason, Owner: ex.Owner, InPolicy: true, Tables: []string{}}
		if ex.Expires != nil {
			x.Expires, x.Expired = ex.Expires.String(), ex.Expires.Expired(b.to)
			x.DaysLeft = ptr(int(math.Floor(ex.Expires.AddDate(0, 0, 1).Sub(b.to).Hours() / 24)))
		}
		if _, dup := byPattern[ex.Table]; !dup {
			byPattern[ex.Table] = x
			order = append(order, ex.Table)
		}
	}
	if b.latest != nil {
		for _, t := range b.latest.Tables {
			ap := t.Exemption
			if ap == nil {
				continue
			}
			x := byPattern[ap.Pattern]
			if x == nil { // applied then, gone from the policy since
				x = &Exemption{Table: ap.Pattern, Reason: ap.Reason, Owner: ap.Owner, Expires: ap.Expires, Expired: ap.Expired, Tables: []string{}}
				byPattern[ap.Pattern] = x
				order = append(order, ap.Pattern)
			}
			x.Tables = append(x.Tables, t.Account+"/"+t.Region+"/"+t.Name)
			if t.Verdict == model.Exempt {
				e.ExemptNow++
			}
		}
	}
	for _, p := range order {
		x := byPattern[p]
		if x.Expired {
			e.Expired++
		}
		e.Exemptions = append(e.Exemptions, *x)
	}
	switch {
	case len(e.Exemptions) > 0:
		e.Status = measured(fmt.Sprintf("%d exemption(s), %d expired (an expired exemption no longer applies: its tables are judged)", len(e.Exemptions), e.Expired))
	case b.latest != nil || b.o.Policy.Source != config.Default().Source:
		e.Status = measured("the policy has no exemptions")
	default:
		e.Status = notMeasured("no policy file and no audit; exemptions are listed under exemptions: in pitrguard.yaml (pass it with --config)")
	}
	return nil
}

func (b *builder) drills(ctx context.Context) error {
	d := &b.r.Drills
	d.Drills, d.NeverDrilled = []Drill{}, []TableRef{}
	recs, err := b.db.Drills(ctx, all)
	if err != nil {
		return fmt.Errorf("read drills: %w", err)
	}
	b.drilled = map[tableKey]bool{}
	var times []float64
	for _, rec := range slices.Backward(recs) { // oldest first
		if rec.RestoreSeconds > 0 { // a drill that failed before restoring proved nothing
			b.drilled[tableKey{rec.Account, rec.Region, rec.Table}] = true
		}
		if !b.inPeriod(rec.StartedAt) {
			continue
		}
		x := Drill{ID: rec.ID, RunID: rec.RunID, StartedAt: rec.StartedAt.UTC(), Account: rec.Account, Region: rec.Region, Table: rec.Table,
			ScratchTable: rec.ScratchTable, RestorePoint: rec.RestorePoint, RestoreSeconds: rec.RestoreSeconds, TotalSeconds: rec.TotalSeconds,
			SizeBytes: rec.SizeBytes, Result: rec.Result, Cleanup: rec.Cleanup, Checks: []Check{}}
		var ev struct {
			Checks []Check `json:"checks"`
		}
		if json.Unmarshal(rec.Evidence, &ev) == nil && ev.Checks != nil {
			x.Checks = ev.Checks
		}
		d.Drills = append(d.Drills, x)
		b.runIDs[rec.RunID] = true
		if rec.Result == "passed" {
			d.Passed++
		} else {
			d.Failed++
		}
		if rec.RestoreSeconds > 0 { // the restore was timed, whatever the checks said after it
			times = append(times, rec.RestoreSeconds)
		}
	}
	slices.SortStableFunc(d.Drills, func(x, y Drill) int { return cmp.Or(x.StartedAt.Compare(y.StartedAt), cmp.Compare(x.ID, y.ID)) })
	if b.latest != nil {
		for _, t := range b.latest.Tables {
			if t.PITR.Status == "ENABLED" && !b.drilled[tableKey{t.Account, t.Region, t.Name}] {
				d.NeverDrilled = append(d.NeverDrilled, TableRef{Account: t.Account, Region: t.Region, Table: t.Name, Tier: t.Tier})
			}
		}
	}
	if len(d.Drills) == 0 {
		d.Status = notMeasured("no restore drill in the period; run `pitrguard drill` (it restores to a scratch table, checks it, times it and deletes it)")
	} else {
		d.Status = measured(fmt.Sprintf("%d drill(s) in the period: %d passed, %d failed; never_drilled lists the tables with PITR in the latest audit that no drill ever restored", len(d.Drills), d.Passed, d.Failed))
	}
	m := &b.r.KPIs.MTTR
	m.Drills = len(times)
	if len(times) == 0 {
		m.Status = notMeasured("no drill of the period timed a restore; run `pitrguard drill`")
		return nil
	}
	// One definition with `pitrguard drill` and serve's pitrguard_mttr_seconds.
	m.MedianSeconds, m.P90Seconds = ptr(drill.Percentile(times, 50)), ptr(drill.Percentile(times, 90))
	m.Status = measured("restore_seconds (restore requested → restored table active) of every drill of the period that timed its restore, nearest-rank median and p90, as `pitrguard drill` and serve's pitrguard_mttr_seconds compute them")
	return nil
}

func (b *builder) changes(ctx context.Context) error {
	c := &b.r.Changes
	c.Journal, c.EventActions, c.Restores, c.Runs = []store.JournalEntry{}, []store.EventAction{}, []Restore{}, map[string]int{}
	js, err := b.db.Journal(ctx, 0, all)
	if err != nil {
		return fmt.Errorf("read the journal: %w", err)
	}
	for _, e := range slices.Backward(js) {
		if b.inPeriod(e.At) {
			e.At = e.At.UTC()
			c.Journal = append(c.Journal, e)
			b.runIDs[e.RunID] = true
		}
	}
	if c.EventActions, err = b.db.EventActionsBetween(ctx, b.from, b.to); err != nil {
		return fmt.Errorf("read the event handler's actions: %w", err)
	}
	if c.EventActions == nil {
		c.EventActions = []store.EventAction{}
	}
	for i := range c.EventActions {
		c.EventActions[i].At = c.EventActions[i].At.UTC()
	}
	for _, r := range b.runs {
		switch r.Kind {
		case "enable":
			c.Runs[r.Kind]++
		case "restore":
			c.Runs[r.Kind]++
			c.Restores = append(c.Restores, restoreOf(r))
			b.runIDs[r.ID] = true
		}
	}
	if len(c.Journal)+len(c.EventActions)+len(c.Restores)+c.Runs["enable"] == 0 {
		c.Status = notMeasured("no change is recorded in the period; `pitrguard enable --apply`, `pitrguard restore` and the event handler (handle-event) journal theirs")
		return nil
	}
	c.Status = measured(fmt.Sprintf("journal entries: %d, event-handler actions: %d, restores: %d", len(c.Journal), len(c.EventActions), len(c.Restores)))
	return nil
}

// restoreOf reads a restore run's stored result.
func restoreOf(r store.Run) Restore {
	var res struct {
		Source struct {
			Account, Region, Table string
		} `json:"source"`
		Target struct {
			Table, Region string
		} `json:"target"`
		RestorePoint    *time.Time `json:"restore_point"`
		DurationSeconds float64    `json:"duration_seconds"`
		Status          string     `json:"status"`
	}
	_ = json.Unmarshal(r.Summary, &res)
	x := Restore{RunID: r.ID, At: r.StartedAt.UTC(), Caller: r.Caller, Status: r.Status, RestorePoint: res.RestorePoint, DurationSeconds: res.DurationSeconds}
	if res.Source.Table != "" {
		x.Source = res.Source.Account + "/" + res.Source.Region + "/" + res.Source.Table
	}
	if res.Target.Table != "" {
		x.Target = res.Target.Region + "/" + res.Target.Table
	}
	if res.Status != "" {
		x.Status += " (" + res.Status + ")"
	}
	return x
}

func (b *builder) guardrails(ctx context.Context) error {
	g := &b.r.Guardrails
	g.Accounts, g.ByLayer = []GuardrailRow{}, map[string]map[string]int{}
	var run *store.Run
	for i := range b.runs {
		if r := &b.runs[i]; r.Kind == "guardrails" && r.Status != store.StatusRunning {
			run = r // the newest wins: runs are oldest first
		}
	}
	if run == nil {
		g.Status = notMeasured("no guardrails check in the period; run `pitrguard guardrails check --org`")
		return nil
	}
	recs, err := b.db.GuardrailChecks(ctx, run.ID)
	if err != nil {
		return fmt.Errorf("read guardrails run %d: %w", run.ID, err)
	}
	var sum check.Summary
	if err := json.Unmarshal(run.Summary, &sum); err != nil {
		return fmt.Errorf("guardrails run %d: stored summary: %w", run.ID, err)
	}
	g.RunID, g.At, g.Summary = run.ID, ptr(run.StartedAt.UTC()), &sum
	b.runIDs[run.ID] = true
	for _, layer := range []string{"prevent", "detect", "correct", "trail"} {
		g.ByLayer[layer] = map[string]int{}
	}
	for _, r := range recs {
		g.Accounts = append(g.Accounts, GuardrailRow{Account: r.Account, Management: r.Management, Prevent: r.Prevent, Detect: r.Detect, Correct: r.Correct, Trail: r.Trail})
		g.ByLayer["prevent"][r.Prevent]++
		g.ByLayer["detect"][r.Detect]++
		g.ByLayer["correct"][r.Correct]++
		g.ByLayer["trail"][r.Trail]++
	}
	g.Status = measured(fmt.Sprintf("the newest guardrails check of the period: %d account(s), %d fully guarded", sum.Accounts, sum.FullyGuarded))
	return nil
}

// recorded is an audit's AWS Backup figures, nil when not measured.
type recorded struct {
	RequiredTables    *int
	CoveredTables     *int
	RequiredUncovered *int
	MonthlyCostUSD    *float64
}

// recordedBackup is an audit's AWS Backup figures (a run group's summed
// over its shards by history); all nil when no table's tier required AWS
// Backup, which is "not measured".
func recordedBackup(s policy.Summary) recorded {
	if s.BackupRequiredTables == 0 {
		return recorded{}
	}
	return recorded{RequiredTables: ptr(s.BackupRequiredTables), CoveredTables: ptr(s.BackupCoveredTables),
		RequiredUncovered: ptr(s.BackupRequiredUncovered), MonthlyCostUSD: ptr(s.BackupMonthlyCostUSD)}
}

func (b *builder) backup(context.Context) error {
	k := &b.r.Backup
	la := b.latestAudit()
	if la == nil {
		k.Status = notMeasured(howAudit)
		return nil
	}
	rec := recordedBackup(la.Summary)
	if rec.RequiredTables == nil {
		k.Status = notMeasured("the latest audit recorded no AWS Backup coverage (no table's tier requires it); give a tier an AWS Backup requirement (backup: in the policy) and audit again")
		return nil
	}
	k.Audit = b.latestRef()
	k.RequiredTables, k.CoveredTables, k.RequiredUncovered, k.MonthlyCostUSD = rec.RequiredTables, rec.CoveredTables, rec.RequiredUncovered, rec.MonthlyCostUSD
	k.Status = measured("AWS Backup coverage of the tables whose tier requires it, as the latest audit recorded it")
	return nil
}
