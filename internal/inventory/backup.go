package inventory

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	bktypes "github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pitrguard/pitrguard/internal/awsx"
	"github.com/pitrguard/pitrguard/internal/backupsel"
	"github.com/pitrguard/pitrguard/internal/model"
)

// BackupReader is the read-only part of the AWS Backup API the audit uses.
type BackupReader interface {
	ListBackupPlans(context.Context, *backup.ListBackupPlansInput, ...func(*backup.Options)) (*backup.ListBackupPlansOutput, error)
	GetBackupPlan(context.Context, *backup.GetBackupPlanInput, ...func(*backup.Options)) (*backup.GetBackupPlanOutput, error)
	ListBackupSelections(context.Context, *backup.ListBackupSelectionsInput, ...func(*backup.Options)) (*backup.ListBackupSelectionsOutput, error)
	GetBackupSelection(context.Context, *backup.GetBackupSelectionInput, ...func(*backup.Options)) (*backup.GetBackupSelectionOutput, error)
	DescribeRegionSettings(context.Context, *backup.DescribeRegionSettingsInput, ...func(*backup.Options)) (*backup.DescribeRegionSettingsOutput, error)
	DescribeBackupVault(context.Context, *backup.DescribeBackupVaultInput, ...func(*backup.Options)) (*backup.DescribeBackupVaultOutput, error)
	ListProtectedResources(context.Context, *backup.ListProtectedResourcesInput, ...func(*backup.Options)) (*backup.ListProtectedResourcesOutput, error)
	ListRecoveryPointsByResource(context.Context, *backup.ListRecoveryPointsByResourceInput, ...func(*backup.Options)) (*backup.ListRecoveryPointsByResourceOutput, error)
}

// OnDemandLister is the DynamoDB call that lists on-demand backups. The
// SDK's DynamoDB client has it; a TableReader fake without it makes the
// on-demand fallback unread, never a guess.
type OnDemandLister interface {
	ListBackups(context.Context, *dynamodb.ListBackupsInput, ...func(*dynamodb.Options)) (*dynamodb.ListBackupsOutput, error)
}

func (c Clients) backup(cfg aws.Config) BackupReader {
	if c.Backup != nil {
		return c.Backup(cfg)
	}
	return backup.NewFromConfig(cfg)
}

// DefaultBackupPointBudget is the ListRecoveryPointsByResource calls made
// per account-region at most (--backup-point-budget).
const DefaultBackupPointBudget = 25

// pointPages bounds the pages of one table's recovery points (100 each):
// the newest is taken only from a complete list.
const pointPages = 10

// BackupOptions tune AWS Backup collection.
type BackupOptions struct {
	Clients Clients
	// PointBudget is how many ListRecoveryPointsByResource calls one
	// account-region may make (0: none; the last backup time then comes from
	// ListProtectedResources, without the point's status).
	PointBudget int
}

// BackupCollector reads AWS Backup for the tables whose tier requires it
// (issue 12). Every read is per account-region, made once and only when a
// table there needs it: plans, selections and region settings for the
// first such table; region settings, vaults, protected resources and
// on-demand backups when a table needs them. Only the recovery points of critical tables are read
// per table, within PointBudget calls per account-region. An audit whose
// policy requires no backups never builds one, so it makes no AWS Backup call.
type BackupCollector struct {
	p    Provider
	opts BackupOptions

	mu      sync.Mutex
	regions map[model.Target]*backupRegion
}

// Release drops what was read of account-region t (plans, selections,
// vaults, protected resources, on-demand backups) once its tables are all
// judged: the audit calls it through Options.Done.
func (c *BackupCollector) Release(t model.Target) {
	c.mu.Lock()
	delete(c.regions, t)
	c.mu.Unlock()
}

// NewBackupCollector returns a collector.
func NewBackupCollector(p Provider, opts BackupOptions) *BackupCollector {
	return &BackupCollector{p: p, opts: opts, regions: map[model.Target]*backupRegion{}}
}

// backupRegion is one account-region's lazily read state. mu is held while
// a shared part is read, so its other tables wait for that one answer.
type backupRegion struct {
	mu           sync.Mutex
	loaded       bool
	settingsRead bool
	bk           BackupReader
	db           TableReader
	rb           *model.RegionBackup

	vaults    map[string]*vaultRead
	protected map[string]*time.Time // by ARN; nil map until read
	protErr   *model.ReadError
	onDemand  map[string]*time.Time // by table name; nil until read
	odErr     *model.ReadError
	budget    int
}

type vaultRead struct {
	v   model.BackupVault
	err *model.ReadError
}

func (c *BackupCollector) region(t model.Target) *backupRegion {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.regions[t]
	if r == nil {
		r = &backupRegion{budget: c.opts.PointBudget, vaults: map[string]*vaultRead{}}
		c.regions[t] = r
	}
	return r
}

// Facts reads what the policy needs to judge t's AWS Backup coverage.
// critical asks for the status of t's newest recovery point (within the
// budget).
func (c *BackupCollector) Facts(ctx context.Context, t *model.Table, critical bool) *model.BackupFacts {
	r := c.region(model.Target{Account: t.Account, Region: t.Region})
	r.mu.Lock()
	if !r.loaded {
		c.load(ctx, r, t.Account, t.Region)
	}
	f := &model.BackupFacts{Vaults: map[string]model.BackupVault{}}
	// The region's settings matter only to a table a selection assigns (the
	// opt-in, and advanced features for copies and cold storage): they are
	// read with the first such table. A table selected only by tags (or "*")
	// where the DynamoDB opt-in is off is not backed up: nothing more is read
	// for it.
	covered := false
	if r.bk != nil {
		res := backupsel.TableResource(t)
		type match struct {
			plan   *model.BackupPlan
			byType bool
		}
		var matches []match
		for i := range r.rb.Plans {
			for _, s := range r.rb.Plans[i].Selections {
				if ev := backupsel.Evaluate(s, res); ev.Match == backupsel.Yes {
					matches = append(matches, match{&r.rb.Plans[i], ev.ByType})
				}
			}
		}
		if len(matches) > 0 {
			c.settings(ctx, r)
		}
		optedOut := r.rb.OptIn != nil && !*r.rb.OptIn
		for _, m := range matches {
			if optedOut && !m.byType {
				continue
			}
			covered = true
			for _, rule := range m.plan.Rules {
				c.vault(ctx, r, rule.Vault, f)
			}
		}
	}
	// A copy: later tables may still read the region's settings, and the
	// policy reads these facts after the lock is released.
	snap := *r.rb
	f.Region = &snap
	if covered {
		c.protectedOf(ctx, r, t.ARN, f)
	}
	if !covered && !(t.PITR.Known && t.PITR.Enabled) && r.db != nil {
		c.onDemandOf(ctx, r, t.Name, f)
	}
	r.mu.Unlock()
	if covered && critical {
		c.points(ctx, r, t.ARN, f)
	}
	return f
}

// load reads the account-region's plans, selections and settings.
func (c *BackupCollector) load(ctx context.Context, r *backupRegion, account, region string) {
	r.loaded = true
	r.rb = &model.RegionBackup{Account: account, Region: region, Plans: []model.BackupPlan{}}
	cfg, err := c.p.Account(ctx, account)
	if err != nil {
		e := readError("AssumeRole", err)
		r.rb.PlanErrors = append(r.rb.PlanErrors, e)
		r.rb.SettingsError = &e
		return
	}
	cfg = awsx.ForRegion(cfg, region)
	r.bk = c.opts.Clients.backup(cfg)
	r.db = c.opts.Clients.dynamodb(cfg)
	pg := backup.NewListBackupPlansPaginator(r.bk, &backup.ListBackupPlansInput{})
	seen := pageTokens{}
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err == nil {
			err = seen.check("ListBackupPlans", out.NextToken)
		}
		if err != nil {
			r.rb.PlanErrors = append(r.rb.PlanErrors, readError("ListBackupPlans", err))
			break
		}
		for _, m := range out.BackupPlansList {
			if p, ok := c.plan(ctx, r, aws.ToString(m.BackupPlanId), aws.ToString(m.BackupPlanName)); ok {
				r.rb.Plans = append(r.rb.Plans, p)
			}
		}
	}
	sort.Slice(r.rb.Plans, func(i, j int) bool { return r.rb.Plans[i].Name < r.rb.Plans[j].Name })
}

// settings reads the account-region's DynamoDB opt-in and advanced
// features once.
func (c *BackupCollector) settings(ctx context.Context, r *backupRegion) {
	if r.settingsRead {
		return
	}
	r.settingsRead = true
	out, err := r.bk.DescribeRegionSettings(ctx, &backup.DescribeRegionSettingsInput{})
	if err != nil {
		e := readError("DescribeRegionSettings", err)
		r.rb.SettingsError = &e
		return
	}
	if v, ok := out.ResourceTypeOptInPreference["DynamoDB"]; ok {
		r.rb.OptIn = aws.Bool(v)
	} else if out.ResourceTypeOptInPreference != nil {
		r.rb.OptIn = aws.Bool(false) // a type not listed is not opted in
	}
	if v, ok := out.ResourceTypeManagementPreference["DynamoDB"]; ok {
		r.rb.AdvancedFeatures = aws.Bool(v)
	}
}

// plan reads one plan's rules and selections; ok is false when its rules
// could not be read (the error is recorded).
func (c *BackupCollector) plan(ctx context.Context, r *backupRegion, id, name string) (model.BackupPlan, bool) {
	p := model.BackupPlan{ID: id, Name: name}
	out, err := r.bk.GetBackupPlan(ctx, &backup.GetBackupPlanInput{BackupPlanId: aws.String(id)})
	if err != nil {
		r.rb.PlanErrors = append(r.rb.PlanErrors, readError("GetBackupPlan", err))
		return p, false
	}
	if out.BackupPlan != nil {
		if n := aws.ToString(out.BackupPlan.BackupPlanName); n != "" {
			p.Name = n
		}
		for _, rule := range out.BackupPlan.Rules {
			p.Rules = append(p.Rules, ruleOf(rule))
		}
	}
	pg := backup.NewListBackupSelectionsPaginator(r.bk, &backup.ListBackupSelectionsInput{BackupPlanId: aws.String(id)})
	seen := pageTokens{}
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err == nil {
			err = seen.check("ListBackupSelections", page.NextToken)
		}
		if err != nil {
			r.rb.PlanErrors = append(r.rb.PlanErrors, readError("ListBackupSelections", err))
			break
		}
		for _, m := range page.BackupSelectionsList {
			s, err := r.bk.GetBackupSelection(ctx, &backup.GetBackupSelectionInput{BackupPlanId: aws.String(id), SelectionId: m.SelectionId})
			if err != nil {
				r.rb.PlanErrors = append(r.rb.PlanErrors, readError("GetBackupSelection", err))
				continue
			}
			p.Selections = append(p.Selections, selectionOf(aws.ToString(m.SelectionId), s.BackupSelection))
		}
	}
	return p, true
}

func ruleOf(r bktypes.BackupRule) model.BackupRule {
	m := model.BackupRule{Name: aws.ToString(r.RuleName), Schedule: aws.ToString(r.ScheduleExpression), Vault: aws.ToString(r.TargetBackupVaultName)}
	if l := r.Lifecycle; l != nil {
		m.DeleteAfterDays, m.ColdAfterDays = int(aws.ToInt64(l.DeleteAfterDays)), int(aws.ToInt64(l.MoveToColdStorageAfterDays))
	}
	for _, ca := range r.CopyActions {
		cp := model.BackupCopy{VaultARN: aws.ToString(ca.DestinationBackupVaultArn)}
		if ca.Lifecycle != nil {
			cp.DeleteAfterDays = int(aws.ToInt64(ca.Lifecycle.DeleteAfterDays))
		}
		m.Copies = append(m.Copies, cp)
	}
	return m
}

func selectionOf(id string, s *bktypes.BackupSelection) model.BackupSelection {
	out := model.BackupSelection{ID: id}
	if s == nil {
		return out
	}
	out.Name, out.Resources, out.NotResources = aws.ToString(s.SelectionName), s.Resources, s.NotResources
	for _, c := range s.ListOfTags {
		out.ListOfTags = append(out.ListOfTags, model.BackupCondition{Key: aws.ToString(c.ConditionKey), Value: aws.ToString(c.ConditionValue)})
	}
	if c := s.Conditions; c != nil {
		conv := func(ps []bktypes.ConditionParameter) []model.BackupCondition {
			var out []model.BackupCondition
			for _, p := range ps {
				out = append(out, model.BackupCondition{Key: aws.ToString(p.ConditionKey), Value: aws.ToString(p.ConditionValue)})
			}
			return out
		}
		out.Conditions = model.BackupConditions{StringEquals: conv(c.StringEquals), StringNotEquals: conv(c.StringNotEquals),
			StringLike: conv(c.StringLike), StringNotLike: conv(c.StringNotLike)}
	}
	return out
}

// vault reads a vault once per account-region into f.
func (c *BackupCollector) vault(ctx context.Context, r *backupRegion, name string, f *model.BackupFacts) {
	if name == "" {
		return
	}
	v := r.vaults[name]
	if v == nil {
		v = &vaultRead{v: model.BackupVault{Name: name}}
		out, err := r.bk.DescribeBackupVault(ctx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String(name)})
		if err != nil {
			e := readError("DescribeBackupVault", err)
			v.err = &e
		} else {
			v.v.Locked = aws.ToBool(out.Locked)
			v.v.MinRetentionDays, v.v.MaxRetentionDays = int(aws.ToInt64(out.MinRetentionDays)), int(aws.ToInt64(out.MaxRetentionDays))
		}
		r.vaults[name] = v
	}
	if v.err != nil {
		addErr(f, *v.err)
		return
	}
	f.Vaults[name] = v.v
}

// protectedOf reads ListProtectedResources once per account-region and
// gives f the table's last backup time.
func (c *BackupCollector) protectedOf(ctx context.Context, r *backupRegion, tableARN string, f *model.BackupFacts) {
	if r.protected == nil && r.protErr == nil {
		m := map[string]*time.Time{}
		pg := backup.NewListProtectedResourcesPaginator(r.bk, &backup.ListProtectedResourcesInput{MaxResults: aws.Int32(1000)})
		seen := pageTokens{}
		for pg.HasMorePages() {
			out, err := pg.NextPage(ctx)
			if err == nil {
				err = seen.check("ListProtectedResources", out.NextToken)
			}
			if err != nil {
				e := readError("ListProtectedResources", err)
				r.protErr = &e
				break
			}
			for _, p := range out.Results {
				// Every resource type AWS Backup protects is listed (EBS, S3,
				// EC2, ...); only the account-region's tables are kept.
				if arn := aws.ToString(p.ResourceArn); strings.Contains(arn, ":dynamodb:") {
					m[arn] = utc(p.LastBackupTime)
				}
			}
		}
		if r.protErr == nil {
			r.protected = m
		}
	}
	if r.protErr != nil {
		addErr(f, *r.protErr)
		return
	}
	f.ProtectedKnown, f.LastBackup = true, r.protected[tableARN]
}

// onDemandOf reads the account-region's on-demand (USER) backups once and
// gives f the table's newest.
func (c *BackupCollector) onDemandOf(ctx context.Context, r *backupRegion, table string, f *model.BackupFacts) {
	lister, ok := r.db.(OnDemandLister)
	if !ok {
		return
	}
	if r.onDemand == nil && r.odErr == nil {
		m, err := listUserBackups(ctx, lister)
		if err != nil {
			e := readError("ListBackups", err)
			r.odErr = &e
		} else {
			r.onDemand = m
		}
	}
	if r.odErr != nil {
		addErr(f, *r.odErr)
		return
	}
	f.OnDemandKnown, f.OnDemandLatest = true, r.onDemand[table]
}

// listUserBackups lists every USER backup of an account-region (ListBackups
// has no paginator: it loops on LastEvaluatedBackupArn) and keeps the
// newest per table name.
func listUserBackups(ctx context.Context, db OnDemandLister) (map[string]*time.Time, error) {
	out := map[string]*time.Time{}
	in := &dynamodb.ListBackupsInput{BackupType: ddbtypes.BackupTypeFilterUser, Limit: aws.Int32(100)}
	seen := map[string]bool{}
	for {
		page, err := db.ListBackups(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, b := range page.BackupSummaries {
			if st := b.BackupStatus; st != "" && st != ddbtypes.BackupStatusAvailable {
				continue
			}
			name, at := aws.ToString(b.TableName), utc(b.BackupCreationDateTime)
			if at != nil && (out[name] == nil || at.After(*out[name])) {
				out[name] = at
			}
		}
		next := aws.ToString(page.LastEvaluatedBackupArn)
		if next == "" {
			return out, nil
		}
		if seen[next] {
			return nil, fmt.Errorf("ListBackups returned LastEvaluatedBackupArn %q twice", next)
		}
		seen[next] = true
		in.ExclusiveStartBackupArn = aws.String(next)
	}
}

// points reads a table's recovery points within the account-region's call
// budget. The newest restorable one is taken only from a complete list
// (ListRecoveryPointsByResource does not promise an order); otherwise f
// keeps ListProtectedResources' last backup time and PointsNote says why.
func (c *BackupCollector) points(ctx context.Context, r *backupRegion, tableARN string, f *model.BackupFacts) {
	rp := &model.RecoveryPoints{ByStatus: map[string]int{}, NewerUnusable: map[string]int{}}
	type pt struct {
		at     time.Time
		status string
	}
	var all []pt
	in := &backup.ListRecoveryPointsByResourceInput{ResourceArn: aws.String(tableARN), MaxResults: aws.Int32(100)}
	seen := pageTokens{}
	for page := 0; ; page++ {
		if page == pointPages {
			f.PointsNote = fmt.Sprintf("the table has more than %d recovery points: the last backup time is ListProtectedResources', whatever its status", pointPages*100)
			return
		}
		r.mu.Lock()
		spent := r.budget <= 0
		if !spent {
			r.budget--
		}
		r.mu.Unlock()
		if spent {
			f.PointsNote = fmt.Sprintf("recovery point statuses not read: the account-region's budget of %d ListRecoveryPointsByResource calls (--backup-point-budget) was spent; the last backup time is ListProtectedResources', whatever its status", c.opts.PointBudget)
			return
		}
		out, err := r.bk.ListRecoveryPointsByResource(ctx, in)
		if err == nil {
			err = seen.check("ListRecoveryPointsByResource", out.NextToken)
		}
		if err != nil {
			e := readError("ListRecoveryPointsByResource", err)
			addErr(f, e)
			f.PointsNote = "recovery point statuses could not be read (" + e.Code + "): the last backup time is ListProtectedResources', whatever its status"
			return
		}
		for _, p := range out.RecoveryPoints {
			if p.CreationDate != nil {
				all = append(all, pt{p.CreationDate.UTC(), string(p.Status)})
			}
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	sort.Slice(all, func(i, j int) bool { return all[i].at.After(all[j].at) })
	for _, p := range all {
		rp.ByStatus[p.status]++
		if rp.NewestRestorable != nil {
			continue
		}
		switch bktypes.RecoveryPointStatus(p.status) {
		case bktypes.RecoveryPointStatusCompleted, bktypes.RecoveryPointStatusAvailable:
			at := p.at
			rp.NewestRestorable = &at
		default:
			rp.NewerUnusable[p.status]++
		}
	}
	f.Points = rp
}

// pageTokens guards a listing against a page token the service returns
// twice: a loop. The SDK's StopOnDuplicateToken only catches a token equal
// to the previous one, and then stops as if the list were complete; a
// listing that goes round must end with an error instead, so that what it
// could not read is said (a plan or a point on a later page), never guessed.
type pageTokens map[string]bool

func (s pageTokens) check(op string, next *string) error {
	t := aws.ToString(next)
	if t == "" {
		return nil
	}
	if s[t] {
		return fmt.Errorf("%s returned the page token %q twice: the listing is incomplete", op, t)
	}
	s[t] = true
	return nil
}

func readError(op string, err error) model.ReadError {
	reason, code, msg := awsx.Classify(err)
	return model.ReadError{Op: op, Code: code, Reason: reason, Message: msg}
}

// addErr records a failed read once per table.
func addErr(f *model.BackupFacts, e model.ReadError) {
	for _, x := range f.Errors {
		if x == e {
			return
		}
	}
	f.Errors = append(f.Errors, e)
}
