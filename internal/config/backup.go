package config

import (
	"regexp"
	"time"
)

// BackupPolicy is a tier's `backup:` block: AWS Backup coverage for
// retention beyond PITR's 35 days (issue 12).
//
//	backup: {required: true, min_retention_days: 365, max_age_hours: 26,
//	         require_vault_lock: false, copy_to_region: "", copy_to_account: ""}
type BackupPolicy struct {
	// Required defaults to true when the block is present.
	Required *bool `yaml:"required"`
	// MinRetentionDays is the shortest Lifecycle.DeleteAfterDays a covering
	// rule may have; 0 means any.
	MinRetentionDays int `yaml:"min_retention_days"`
	// MaxAgeHours is how old the newest restorable recovery point may be
	// (default DefaultBackupMaxAgeHours).
	MaxAgeHours int `yaml:"max_age_hours"`
	// RequireVaultLock asks that a covering rule's vault be locked.
	RequireVaultLock bool `yaml:"require_vault_lock"`
	// CopyToRegion and CopyToAccount, if set, ask that a covering rule copy
	// its recovery points to a vault in that region and/or account.
	CopyToRegion  string `yaml:"copy_to_region"`
	CopyToAccount string `yaml:"copy_to_account"`
}

// DefaultBackupMaxAgeHours is max_age_hours when not written: a daily rule
// plus its start and completion windows.
const DefaultBackupMaxAgeHours = 26

// MaxBackupRetentionDays bounds min_retention_days (100 years).
const MaxBackupRetentionDays = 36500

// MaxBackupAgeHours bounds max_age_hours (100 years; a time.Duration holds
// about 292 years, and beyond it the age would wrap round to negative).
const MaxBackupAgeHours = 876000

// RequiresBackup reports whether tables in the tier must be covered by AWS Backup.
func (t Tier) RequiresBackup() bool {
	return t.Backup != nil && (t.Backup.Required == nil || *t.Backup.Required)
}

// RequiresBackup reports whether any tier requires AWS Backup coverage: only
// then does an audit read AWS Backup at all.
func (c *Config) RequiresBackup() bool {
	for _, t := range c.Tiers {
		if t.RequiresBackup() {
			return true
		}
	}
	return false
}

// MaxAge is how old the newest restorable recovery point may be.
func (b *BackupPolicy) MaxAge() time.Duration {
	h := b.MaxAgeHours
	if h <= 0 {
		h = DefaultBackupMaxAgeHours
	}
	return time.Duration(h) * time.Hour
}

// regionRE is the shape of an AWS region name (us-east-1, us-gov-west-1,
// eu-central-2); the audit checks names against the SDK's partitions, but
// the policy file is read without it.
var regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// validate checks a tier's backup block; at gives the line of a key in it
// (the block's line when the key is absent) and whether it is written.
func (b *BackupPolicy) validate(tier string, at func(key string) (int, bool), add func(line int, format string, args ...any)) {
	if b == nil {
		return
	}
	line := func(key string) int { l, _ := at(key); return l }
	written := func(key string) bool { _, ok := at(key); return ok }
	if b.Required != nil && !*b.Required {
		for _, key := range []string{"min_retention_days", "max_age_hours", "require_vault_lock", "copy_to_region", "copy_to_account"} {
			if written(key) {
				add(line(key), "tier %q: backup sets %s but required is false; remove one of them", tier, key)
			}
		}
		return
	}
	// A written 0 is not "any" (leave the key out for that): it is out of range.
	if b.MinRetentionDays < 0 || b.MinRetentionDays > MaxBackupRetentionDays || (b.MinRetentionDays == 0 && written("min_retention_days")) {
		add(line("min_retention_days"), "tier %q: backup.min_retention_days is %d; give a number of days from 1 to %d (leave the key out for any retention)", tier, b.MinRetentionDays, MaxBackupRetentionDays)
	}
	if b.MaxAgeHours < 0 || b.MaxAgeHours > MaxBackupAgeHours || (b.MaxAgeHours == 0 && written("max_age_hours")) {
		add(line("max_age_hours"), "tier %q: backup.max_age_hours is %d; give the age in hours the newest recovery point may reach, from 1 to %d (default %d)", tier, b.MaxAgeHours, MaxBackupAgeHours, DefaultBackupMaxAgeHours)
	}
	if b.CopyToRegion != "" && !regionRE.MatchString(b.CopyToRegion) {
		add(line("copy_to_region"), "tier %q: backup.copy_to_region %q is not a region name (e.g. eu-west-1)", tier, b.CopyToRegion)
	}
	if b.CopyToAccount != "" && !IsAccountID(b.CopyToAccount) {
		add(line("copy_to_account"), "tier %q: backup.copy_to_account %q is not a 12-digit AWS account id", tier, b.CopyToAccount)
	}
}
