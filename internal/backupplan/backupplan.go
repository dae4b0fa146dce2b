// Package backupplan generates, for one policy tier, the AWS Backup plan,
// vault (optionally locked), IAM role and selections that back up exactly
// the tier's tables, and proves the selections against an audit with the
// one selection evaluator (backupsel): `pitrguard backup plan` (issue 12).
//
// The selections assign tables by DynamoDB ARN pattern — so AWS Backup
// ignores the region's opt-in for them — and by tag condition: one
// selection per tag alternative of the tier (Conditions are AND-ed, so an OR
// of tag values needs one selection each), excluding the tables of earlier
// tiers (first match wins) with StringNotEquals/StringNotLike conditions or
// NotResources. Whatever the policy's match can say and a selection cannot
// (case-insensitive tags and names, ? and [...] globs, a tier that combines
// tags with names) is listed in Gaps; the proof shows what it costs.
package backupplan

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/model"
)

// Options shape a plan.
type Options struct {
	Tier string
	// VaultLock locks the vault (also when the tier's backup block sets
	// require_vault_lock).
	VaultLock bool
	// RoleARN is an existing backup role; without it an IAM role is generated.
	RoleARN string
	// Partition of the ARNs (default "aws").
	Partition string
}

// Plan is a generated plan, in pitrguard's terms; Document, CloudFormation
// and Terraform render it.
type Plan struct {
	Tier     string
	Name     string // plan, vault and selection name prefix: pitrguard-<tier>
	Rule     Rule
	Vault    Vault
	Role     *Role // nil when Options.RoleARN is given
	RoleARN  string
	Selected []model.BackupSelection
	// Gaps say where the selections cannot express the policy's match exactly.
	Gaps []string
	// Notes say what else the plan needs (a destination vault elsewhere).
	Notes     []string
	Partition string
}

// Rule is the plan's one rule.
type Rule struct {
	Name             string
	Schedule         string
	StartWindow      int // minutes
	CompletionWindow int // minutes
	DeleteAfterDays  int
	Copy             *Copy
}

// Copy is the rule's copy action: to a vault of the same name in another
// region and/or account ("" means the plan's own).
type Copy struct {
	Region, Account string
	DeleteAfterDays int
}

// Vault is the plan's vault.
type Vault struct {
	Name string
	// LockMinDays, when > 0, locks the vault (governance mode) with that
	// minimum retention.
	LockMinDays int
}

// Role is the generated IAM role AWS Backup assumes.
type Role struct {
	Name string
}

// The windows of the rule: a job starts within StartWindow of its scheduled
// time and completes within CompletionWindow; recovery points are newest
// max_age_hours minus this margin apart at most.
const (
	startWindow      = 60
	completionWindow = 120
	marginHours      = 2
	defaultRetention = 365
	// maxName is the longest name of a vault, rule or selection.
	maxName = 50
	// maxWildcardARNs is AWS Backup's limit of ARNs with wildcards in a selection.
	maxWildcardARNs = 30
)

// Managed policies AWS Backup's role needs, and the DynamoDB actions advanced
// DynamoDB backups need on top of them (widdix/aws-cf-templates PR #633).
var (
	ManagedPolicies = []string{"service-role/AWSBackupServiceRolePolicyForBackup", "service-role/AWSBackupServiceRolePolicyForRestores"}
	AdvancedActions = []string{"dynamodb:ListTagsOfResource", "dynamodb:StartAwsBackupJob"}
)

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// Build generates the plan of tier o.Tier of cfg.
func Build(cfg *config.Config, o Options) (*Plan, error) {
	if o.Partition == "" {
		o.Partition = "aws"
	}
	idx, tier, err := findTier(cfg, o.Tier)
	if err != nil {
		return nil, err
	}
	base := strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(tier.Name), "-"), "-")
	if base == "" {
		base = "tier"
	}
	// AWS Backup's names: a rule or selection name is 1–50 of [a-zA-Z0-9_.-],
	// a vault name 2–50 of [a-zA-Z0-9_-] (no dot).
	p := &Plan{Tier: tier.Name, Name: truncate("pitrguard-"+base, maxName), Partition: o.Partition, Gaps: []string{}, Notes: []string{}}
	bp := tier.Backup
	if !tier.RequiresBackup() {
		p.Notes = append(p.Notes, fmt.Sprintf("tier %s has no backup: block requiring AWS Backup, so the audit does not check this plan; defaults used (retention %d days, newest point at most %d hours old)", tier.Name, defaultRetention, config.DefaultBackupMaxAgeHours))
		bp = &config.BackupPolicy{}
	}
	if p.Rule.Schedule, err = schedule(int(bp.MaxAge().Hours())); err != nil {
		return nil, fmt.Errorf("tier %s: %w", tier.Name, err)
	}
	p.Rule.Name, p.Rule.StartWindow, p.Rule.CompletionWindow = p.Name, startWindow, completionWindow
	p.Rule.DeleteAfterDays = bp.MinRetentionDays
	if p.Rule.DeleteAfterDays == 0 {
		p.Rule.DeleteAfterDays = defaultRetention
	}
	p.Vault.Name = strings.ReplaceAll(p.Name, ".", "-")
	if o.VaultLock || bp.RequireVaultLock {
		p.Vault.LockMinDays = p.Rule.DeleteAfterDays
	}
	if bp.CopyToRegion != "" || bp.CopyToAccount != "" {
		p.Rule.Copy = &Copy{Region: bp.CopyToRegion, Account: bp.CopyToAccount, DeleteAfterDays: p.Rule.DeleteAfterDays}
		p.Notes = append(p.Notes, fmt.Sprintf("the copy goes to a vault named %s in %s: create it there too (this plan creates only its own region's vault); DynamoDB copies need the region's advanced features", p.Vault.Name, where(bp.CopyToRegion, bp.CopyToAccount)))
	}
	p.RoleARN = o.RoleARN
	if p.RoleARN == "" {
		p.Role = &Role{Name: truncate("pitrguard-backup-"+base, 64)}
		p.RoleARN = "arn:" + o.Partition + ":iam::ACCOUNT_ID:role/" + p.Role.Name
	}
	sels, gaps, err := selections(cfg, idx, tier, o.Partition)
	if err != nil {
		return nil, err
	}
	for i := range sels {
		suffix := fmt.Sprintf("-%d", i+1)
		sels[i].Name = truncate(p.Name, maxName-len(suffix)) + suffix
	}
	p.Selected, p.Gaps = sels, append(p.Gaps, gaps...)
	return p, nil
}

func where(region, account string) string {
	switch {
	case region != "" && account != "":
		return "region " + region + " of account " + account
	case region != "":
		return "region " + region
	}
	return "account " + account
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// findTier finds a tier by name (case-insensitive); -1 is the default tier
// when it is not one of the listed tiers.
func findTier(cfg *config.Config, name string) (int, config.Tier, error) {
	for i, t := range cfg.Tiers {
		if strings.EqualFold(t.Name, name) {
			return i, t, nil
		}
	}
	if strings.EqualFold(cfg.DefaultTier, name) {
		return len(cfg.Tiers), config.Tier{Name: cfg.DefaultTier}, nil
	}
	names := []string{}
	for _, t := range cfg.Tiers {
		names = append(names, t.Name)
	}
	if !slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, cfg.DefaultTier) }) {
		names = append(names, cfg.DefaultTier)
	}
	return 0, config.Tier{}, &TierError{Tier: name, Policy: cfg.Source, Tiers: names}
}

// TierError says a tier is not in the policy.
type TierError struct {
	Tier, Policy string
	Tiers        []string
}

func (e *TierError) Error() string {
	return fmt.Sprintf("tier %q is not in %s (tiers: %s)", e.Tier, e.Policy, strings.Join(e.Tiers, ", "))
}

// schedule is the cron expression of a rule whose newest recovery point
// must stay younger than maxAge hours: it runs every maxAge minus the
// margin of its start and completion windows, rounded down to a period a
// cron can keep (a divisor of 24 hours, daily, weekly).
func schedule(maxAge int) (string, error) {
	every := maxAge - marginHours
	switch {
	case every >= 7*24:
		return "cron(0 5 ? * SUN *)", nil
	case every >= 24:
		return "cron(0 5 ? * * *)", nil
	case every < 1:
		return "", fmt.Errorf("max_age_hours %d is too short for AWS Backup: a rule runs at most hourly and a job may take %d hours to start and complete; give at least %d", maxAge, marginHours, marginHours+1)
	}
	for _, h := range []int{12, 8, 6, 4, 3, 2} {
		if every >= h {
			return fmt.Sprintf("cron(0 0/%d ? * * *)", h), nil
		}
	}
	return "cron(0 * ? * * *)", nil
}
