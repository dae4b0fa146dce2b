// Package rungroup splits an audit into shards and puts the shards back
// together. Accounts are assigned to shards by a stable hash of the account
// id — never by table, since AWS's limits are per account-region — and the
// shards of one run group are merged into the envelope a single audit of the
// whole estate would have printed: tables and errors concatenated and sorted,
// KPIs recomputed, and coverage complete only when every shard finished and
// was complete itself (a missing shard is named in errors).
package rungroup

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/policy"
	"github.com/pitrguard/pitrguard/internal/report"
)

// MaxShards bounds N (AWS Batch array jobs go up to 10,000 children).
const MaxShards = 10000

// ShardOf returns the 1-based shard (of n) that audits account: FNV-1a (64
// bit) of the account id, modulo n. Stable across versions and machines: it
// is part of the contract (docs/scale.md).
func ShardOf(account string, n int) int {
	if n <= 1 {
		return 1
	}
	h := fnv.New64a()
	h.Write([]byte(account))
	return int(h.Sum64()%uint64(n)) + 1
}

// Error codes of the errors a merge adds.
const (
	CodeShardMissing    = "shard_missing"
	CodeShardIncomplete = "shard_incomplete"
)

// Part is one shard's result.
type Part struct {
	// Source names the part in messages: a file name or "run 12".
	Source string
	Audit  *report.Audit
	// Status is the run's status (completed, interrupted, running, failed);
	// "" is taken as completed (a file output exists only once the run ended).
	Status string
}

// Merge combines the shards of one run group. Every part must carry the
// same run group and shard count; a shard given twice is an error.
func Merge(parts []Part) (*report.Audit, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("nothing to merge")
	}
	first := parts[0].Audit.Run
	group, n := first.RunGroup, first.Shards
	if n < 1 {
		return nil, fmt.Errorf("%s is not a shard of a run group (its run has no shard K/N); merge takes the outputs of `pitrguard audit --shard K/N`", parts[0].Source)
	}
	byShard := map[int]Part{}
	for _, p := range parts {
		r := p.Audit.Run
		switch {
		case r.Shards < 1 || r.Shard < 1:
			return nil, fmt.Errorf("%s is not a shard of a run group (its run has no shard K/N)", p.Source)
		case r.RunGroup != group:
			return nil, fmt.Errorf("%s belongs to run group %q, %s to %q: merge the shards of one run group at a time", p.Source, r.RunGroup, parts[0].Source, group)
		case r.Shards != n:
			return nil, fmt.Errorf("%s is shard %d/%d but %s is of %d shards: every shard of a run group must use the same N", p.Source, r.Shard, r.Shards, parts[0].Source, n)
		case r.Shard > n:
			return nil, fmt.Errorf("%s claims shard %d of %d", p.Source, r.Shard, n)
		}
		if prev, ok := byShard[r.Shard]; ok {
			return nil, fmt.Errorf("shard %d/%d is given twice (%s and %s); pass one result per shard", r.Shard, n, prev.Source, p.Source)
		}
		byShard[r.Shard] = p
	}

	out := &report.Audit{SchemaVersion: report.SchemaVersion, Tables: []report.TableResult{}, Errors: []model.ScanError{}}
	out.Run = report.RunInfo{RunGroup: group, Shards: n, APICalls: map[string]int64{}}
	sum := policy.Summary{ByTier: map[string]*policy.TierSummary{}}
	coverage := true
	seenErr := map[model.ScanError]bool{}
	for k := 1; k <= n; k++ {
		p, ok := byShard[k]
		if !ok {
			coverage = false
			out.Errors = append(out.Errors, model.ScanError{Code: CodeShardMissing, Reason: CodeShardMissing,
				Message: fmt.Sprintf("shard %d/%d of run group %q has no result: its accounts were not audited (rerun it with --shard %d/%d --run-group %s)", k, n, group, k, n, group)})
			continue
		}
		a := p.Audit
		if st := p.Status; st != "" && st != "completed" {
			coverage = false
			out.Errors = append(out.Errors, model.ScanError{Code: CodeShardIncomplete, Reason: CodeShardIncomplete,
				Message: fmt.Sprintf("shard %d/%d of run group %q is %s (%s): its accounts may be partly audited", k, n, group, st, p.Source)})
		}
		if !a.Summary.CoverageComplete {
			coverage = false
		}
		if out.GeneratedAt.IsZero() || a.GeneratedAt.Before(out.GeneratedAt) {
			out.GeneratedAt = a.GeneratedAt
		}
		out.Tables = append(out.Tables, a.Tables...)
		for _, e := range a.Errors {
			// Errors every shard sees (e.g. the organization's account list
			// could not be read) are listed once.
			if !seenErr[e] {
				seenErr[e] = true
				out.Errors = append(out.Errors, e)
			}
		}
		addSummary(&sum, a.Summary)
		r := a.Run
		if out.Run.Caller == "" {
			out.Run.Caller, out.Run.Policy, out.Run.Prices = r.Caller, r.Policy, r.Prices
		}
		out.Run.Accounts += r.Accounts
		out.Run.Targets += r.Targets
		out.Run.DurationSeconds = max(out.Run.DurationSeconds, r.DurationSeconds)
		for op, c := range r.APICalls {
			out.Run.APICalls[op] += c
		}
		out.Run.Throttles += r.Throttles
	}
	report.SortTables(out.Tables)
	// Costs from the tables, not the shards' rounded sums: rounding each
	// shard's total to cents could move the group's total by a cent per shard.
	// The AWS Backup KPIs are counted from the tables too, by the live
	// tally's rule (policy.Summary.AddBackup).
	sum.GapMonthlyCostUSD, sum.PITRMonthlyCostUSD = 0, 0
	sum.BackupRequiredTables, sum.BackupCoveredTables, sum.BackupRequiredUncovered, sum.BackupMonthlyCostUSD = 0, 0, 0, 0
	for _, t := range out.Tables {
		gap, pitr := policy.CostShares(t.Verdict, t.Reasons, t.PITR.Status == "ENABLED", t.PITRMonthlyCostUSD)
		sum.GapMonthlyCostUSD += gap
		sum.PITRMonthlyCostUSD += pitr
		sum.AddBackup(t.Verdict, t.Backup)
	}
	if dup := duplicateTable(out.Tables); dup != "" {
		return nil, fmt.Errorf("table %s appears in two shards: the shards were not split by the same rule (use --shard K/N of one pitrguard version for every shard)", dup)
	}
	slices.SortStableFunc(out.Errors, func(a, b model.ScanError) int {
		return cmp.Or(model.Compare(a.Account, a.Region, a.Table, b.Account, b.Region, b.Table), strings.Compare(a.Code, b.Code), strings.Compare(a.Message, b.Message))
	})
	out.Summary = finishSummary(sum, coverage)
	return out, nil
}

func duplicateTable(ts []report.TableResult) string {
	for i := 1; i < len(ts); i++ {
		a, b := ts[i-1], ts[i]
		if a.Account == b.Account && a.Region == b.Region && a.Name == b.Name {
			return a.Account + "/" + a.Region + "/" + a.Name
		}
	}
	return ""
}

// SumSummaries adds up the KPIs of shards (counts summed, rates recomputed,
// costs summed and rounded to cents) with the given coverage. Merge computes
// the costs from the tables instead; this is for a list of runs, where the
// tables are not read.
func SumSummaries(sums []policy.Summary, coverage bool) policy.Summary {
	s := policy.Summary{ByTier: map[string]*policy.TierSummary{}}
	for _, x := range sums {
		addSummary(&s, x)
		s.GapMonthlyCostUSD += x.GapMonthlyCostUSD
		s.PITRMonthlyCostUSD += x.PITRMonthlyCostUSD
		s.BackupRequiredTables += x.BackupRequiredTables
		s.BackupCoveredTables += x.BackupCoveredTables
		s.BackupRequiredUncovered += x.BackupRequiredUncovered
		s.BackupMonthlyCostUSD += x.BackupMonthlyCostUSD
	}
	return finishSummary(s, coverage)
}

// addSummary adds a shard's counts: shards audit disjoint accounts, so every
// count is a sum; rates are recomputed once at the end. (snapshot_gap_tables
// needs the tier's criticality, which the rows do not carry, so it is summed
// from the shards too.)
func addSummary(s *policy.Summary, x policy.Summary) {
	s.Tables += x.Tables
	s.Compliant += x.Compliant
	s.NonCompliant += x.NonCompliant
	s.Exempt += x.Exempt
	s.Unknown += x.Unknown
	s.Skipped += x.Skipped
	s.SnapshotGapTables += x.SnapshotGapTables
	// Spend is the organization's (Cost Explorer answers for the payer
	// account), the same in every shard that measured it: taken once.
	if s.DynamoDBSpendUSD == nil && x.DynamoDBSpendUSD != nil {
		s.SpendMonth, s.DynamoDBSpendUSD, s.PITRSpendUSD, s.BackupSpendUSD, s.ResilienceCostShare =
			x.SpendMonth, x.DynamoDBSpendUSD, x.PITRSpendUSD, x.BackupSpendUSD, x.ResilienceCostShare
	}
	for _, name := range slices.Sorted(maps.Keys(x.ByTier)) {
		t := x.ByTier[name]
		acc := s.ByTier[name]
		if acc == nil {
			acc = &policy.TierSummary{}
			s.ByTier[name] = acc
		}
		acc.Tables += t.Tables
		acc.Compliant += t.Compliant
		acc.NonCompliant += t.NonCompliant
		acc.Unknown += t.Unknown
	}
}

func finishSummary(s policy.Summary, coverage bool) policy.Summary {
	s.ComplianceRate = policy.Rate(s.Compliant, s.NonCompliant, s.Unknown)
	for _, t := range s.ByTier {
		t.ComplianceRate = policy.Rate(t.Compliant, t.NonCompliant, t.Unknown)
	}
	s.GapMonthlyCostUSD = model.RoundCents(s.GapMonthlyCostUSD)
	s.PITRMonthlyCostUSD = model.RoundCents(s.PITRMonthlyCostUSD)
	s.BackupMonthlyCostUSD = model.RoundCents(s.BackupMonthlyCostUSD)
	s.CoverageComplete = coverage
	return s
}

// GeneratedAt is the time an audit envelope rebuilt from the history says it
// was generated (the audit truncates its clock to the second).
func GeneratedAt(started time.Time) time.Time { return started.UTC().Truncate(time.Second) }
