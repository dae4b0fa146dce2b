package model

import "time"

// AWS Backup facts (issue 12). AWS offers no call that answers "is table X
// backed up?": inventory reads the plans, their selections, the region's
// settings, vaults and recovery points of an account-region, and the policy
// works the answer out with backupsel, the one selection evaluator.

// BackupPlan is one AWS Backup plan (GetBackupPlan) with its selections.
type BackupPlan struct {
	ID    string
	Name  string
	Rules []BackupRule
	// Selections are the plan's resource assignments (GetBackupSelection).
	Selections []BackupSelection
}

// BackupRule is one rule of a plan: when it runs, where the recovery points
// go and how long they are kept.
type BackupRule struct {
	Name string
	// Schedule is the rule's ScheduleExpression (cron(...) or rate(...)).
	Schedule string
	Vault    string
	// DeleteAfterDays is Lifecycle.DeleteAfterDays; 0 means never deleted.
	DeleteAfterDays int
	// ColdAfterDays is Lifecycle.MoveToColdStorageAfterDays; 0 means never.
	ColdAfterDays int
	Copies        []BackupCopy
}

// BackupCopy is a rule's copy action.
type BackupCopy struct {
	// VaultARN is the destination vault (its region and account say where
	// the copy goes).
	VaultARN string
	// DeleteAfterDays is the copy's retention; 0 means never deleted.
	DeleteAfterDays int
}

// BackupSelection is one resource assignment of a plan. The fields keep the
// API's meaning: Resources (OR) or ListOfTags (OR, StringEquals), then every
// entry of Conditions (AND), and nothing that NotResources names.
type BackupSelection struct {
	ID           string
	Name         string
	Resources    []string
	NotResources []string
	// ListOfTags are StringEquals conditions, any of which selects.
	ListOfTags []BackupCondition
	Conditions BackupConditions
}

// BackupCondition is one tag condition: Key is the condition key as
// written (aws:ResourceTag/KEY, or a bare tag key in ListOfTags).
type BackupCondition struct {
	Key   string
	Value string
}

// BackupConditions are a selection's Conditions, all of which must hold.
type BackupConditions struct {
	StringEquals    []BackupCondition
	StringNotEquals []BackupCondition
	StringLike      []BackupCondition
	StringNotLike   []BackupCondition
}

// ConditionKind is one operator of Conditions with its conditions.
type ConditionKind struct {
	Operator   string // StringEquals, StringNotEquals, StringLike, StringNotLike
	Conditions []BackupCondition
}

// Kinds lists the operators that have conditions, in the API's order.
func (c BackupConditions) Kinds() []ConditionKind {
	var out []ConditionKind
	for _, k := range []ConditionKind{{"StringEquals", c.StringEquals}, {"StringNotEquals", c.StringNotEquals},
		{"StringLike", c.StringLike}, {"StringNotLike", c.StringNotLike}} {
		if len(k.Conditions) > 0 {
			out = append(out, k)
		}
	}
	return out
}

// Empty reports whether no condition is set.
func (c BackupConditions) Empty() bool {
	return len(c.StringEquals)+len(c.StringNotEquals)+len(c.StringLike)+len(c.StringNotLike) == 0
}

// BackupVault is a vault as DescribeBackupVault answered.
type BackupVault struct {
	Name             string
	Locked           bool
	MinRetentionDays int
	MaxRetentionDays int
}

// RegionBackup is what AWS Backup says about one account-region, read once.
type RegionBackup struct {
	Account string
	Region  string
	Plans   []BackupPlan
	// OptIn is ResourceTypeOptInPreference["DynamoDB"]; nil when unread.
	OptIn *bool
	// AdvancedFeatures is ResourceTypeManagementPreference["DynamoDB"]
	// (AWS Backup manages DynamoDB recovery points: cold storage, copies);
	// nil when unread.
	AdvancedFeatures *bool
	// PlanErrors are failed reads of plans and selections: the plans listed
	// may then be incomplete, so coverage can be proved but not disproved.
	PlanErrors []ReadError
	// SettingsError is the failed DescribeRegionSettings, if any.
	SettingsError *ReadError
}

// RecoveryPoints summarises a table's recovery points
// (ListRecoveryPointsByResource).
type RecoveryPoints struct {
	// NewestRestorable is the newest COMPLETED or AVAILABLE point.
	NewestRestorable *time.Time
	// ByStatus counts the points per status.
	ByStatus map[string]int
	// NewerUnusable counts points newer than NewestRestorable that cannot be
	// restored (PARTIAL, EXPIRED, CREATING, ...), per status.
	NewerUnusable map[string]int
}

// BackupFacts are the AWS Backup facts about one table.
type BackupFacts struct {
	// Region is the account-region's plans and settings (shared by its tables).
	Region *RegionBackup
	// Vaults are the vaults of the rules that cover the table, by name;
	// a vault absent here could not be read (see Errors).
	Vaults map[string]BackupVault
	// ProtectedKnown is true when ListProtectedResources answered; LastBackup
	// is then the table's last backup time there (nil: never backed up).
	ProtectedKnown bool
	LastBackup     *time.Time
	// Points is the table's recovery points, when they were read in full;
	// PointsNote says why they were not (the call budget, an error).
	Points     *RecoveryPoints
	PointsNote string
	// OnDemandKnown is true when DynamoDB ListBackups (USER) was read;
	// OnDemandLatest is then the newest on-demand backup of the table.
	OnDemandKnown  bool
	OnDemandLatest *time.Time
	// Errors are the reads about this table that failed (vaults, protected
	// resources, recovery points, on-demand backups).
	Errors []ReadError
}
