package rungroup

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/policy"
	"github.com/pitrguard/pitrguard/internal/report"
)

// The assignment is part of the contract: these values must never change.
func TestShardOfIsStable(t *testing.T) {
	got := map[string]int{}
	for _, a := range []string{"111111111111", "222222222222", "123456789012", "000000000000"} {
		got[a] = ShardOf(a, 4)
	}
	want := map[string]int{}
	for a := range got {
		// FNV-1a 64 computed independently of hash/fnv.
		h := uint64(14695981039346656037)
		for _, c := range []byte(a) {
			h ^= uint64(c)
			h *= 1099511628211
		}
		want[a] = int(h%4) + 1
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ShardOf (-want +got):\n%s", diff)
	}
	if ShardOf("111111111111", 1) != 1 || ShardOf("111111111111", 0) != 1 {
		t.Error("one shard takes everything")
	}
}

func TestShardOfIsBalanced(t *testing.T) {
	const n, accounts = 8, 16000
	counts := make([]int, n+1)
	for i := range accounts {
		counts[ShardOf(fmt.Sprintf("%012d", 100000000000+i*7919), n)]++
	}
	for k := 1; k <= n; k++ {
		if c := counts[k]; c < accounts/n*9/10 || c > accounts/n*11/10 {
			t.Errorf("shard %d has %d of %d accounts", k, c, accounts)
		}
	}
}

func shard(k, n int, group string, tables ...report.TableResult) Part {
	s := policy.Summary{ByTier: map[string]*policy.TierSummary{}, CoverageComplete: true}
	for _, tr := range tables {
		s.Tables++
		ts := s.ByTier[tr.Tier]
		if ts == nil {
			ts = &policy.TierSummary{}
			s.ByTier[tr.Tier] = ts
		}
		ts.Tables++
		switch tr.Verdict {
		case model.Compliant:
			s.Compliant++
			ts.Compliant++
		case model.NonCompliant:
			s.NonCompliant++
			ts.NonCompliant++
			s.GapMonthlyCostUSD += tr.PITRMonthlyCostUSD
		}
		s.GapMonthlyCostUSD = model.RoundCents(s.GapMonthlyCostUSD) // as the tally rounds each shard's total
	}
	return Part{Source: fmt.Sprintf("shard-%d.json", k), Audit: &report.Audit{
		SchemaVersion: 1, GeneratedAt: time.Date(2026, 11, 24, 12, 0, k, 0, time.UTC), Tables: tables,
		Errors:  []model.ScanError{{Account: "999999999999", Code: "AccessDenied", Message: "cannot list the organization's accounts"}},
		Summary: s, Run: report.RunInfo{Caller: "arn:c", Accounts: 1, Targets: 2, DurationSeconds: float64(k), APICalls: map[string]int64{"ListTables": 2}, RunGroup: group, Shard: k, Shards: n},
	}}
}

func tr(account, name string, v model.Verdict, cost float64) report.TableResult {
	r := report.TableResult{Account: account, Region: "us-east-1", Name: name, Tier: "standard", Verdict: v, PITRMonthlyCostUSD: cost,
		PITR: report.PITRResult{Status: "ENABLED"}}
	if v == model.NonCompliant {
		r.PITR.Status, r.Reasons = "DISABLED", []model.Reason{model.ReasonPITRDisabled}
	}
	return r
}

func TestMerge(t *testing.T) {
	a := shard(2, 2, "g", tr("222222222222", "b", model.NonCompliant, 0.004), tr("222222222222", "a", model.Compliant, 0))
	b := shard(1, 2, "g", tr("111111111111", "z", model.NonCompliant, 0.004))
	m, err := Merge([]Part{a, b})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, x := range m.Tables {
		names = append(names, x.Account[:1]+x.Name)
	}
	if strings.Join(names, ",") != "1z,2a,2b" {
		t.Errorf("tables not sorted: %v", names)
	}
	s := m.Summary
	if s.Tables != 3 || s.Compliant != 1 || s.NonCompliant != 2 || s.ComplianceRate != 1.0/3 || !s.CoverageComplete ||
		s.ByTier["standard"].Tables != 3 || s.ByTier["standard"].ComplianceRate != 1.0/3 || s.GapMonthlyCostUSD != 0.01 || s.PITRMonthlyCostUSD != 0 {
		t.Errorf("summary: %+v", s)
	}
	if len(m.Errors) != 1 {
		t.Errorf("an error every shard saw must be listed once: %+v", m.Errors)
	}
	r := m.Run
	if r.RunGroup != "g" || r.Shards != 2 || r.Shard != 0 || r.Accounts != 2 || r.Targets != 4 || r.DurationSeconds != 2 || r.APICalls["ListTables"] != 4 ||
		!m.GeneratedAt.Equal(time.Date(2026, 11, 24, 12, 0, 1, 0, time.UTC)) {
		t.Errorf("run: %+v at %v", r, m.GeneratedAt)
	}
}

func TestMergeIncomplete(t *testing.T) {
	one := shard(1, 3, "g", tr("111111111111", "a", model.Compliant, 0))
	three := shard(3, 3, "g")
	three.Status = "interrupted"
	m, err := Merge([]Part{one, three})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, e := range m.Errors {
		if e.Code == CodeShardMissing || e.Code == CodeShardIncomplete {
			msgs = append(msgs, e.Code+": "+e.Message)
		}
	}
	if m.Summary.CoverageComplete || len(msgs) != 2 || !strings.Contains(strings.Join(msgs, "\n"), "shard_missing: shard 2/3") ||
		!strings.Contains(strings.Join(msgs, "\n"), "shard_incomplete: shard 3/3") {
		t.Errorf("coverage %v, errors:\n%s", m.Summary.CoverageComplete, strings.Join(msgs, "\n"))
	}
	// A shard that ran but could not scan everything makes the group incomplete.
	x := shard(1, 1, "g")
	x.Audit.Summary.CoverageComplete = false
	if m, _ := Merge([]Part{x}); m.Summary.CoverageComplete {
		t.Error("an incomplete shard gave a complete group")
	}
}

func TestMergeRefusesMismatchedShards(t *testing.T) {
	cases := map[string]struct {
		parts []Part
		want  string
	}{
		"twice":          {[]Part{shard(1, 2, "g"), shard(1, 2, "g")}, "given twice"},
		"other group":    {[]Part{shard(1, 2, "g"), shard(2, 2, "h")}, "run group"},
		"other N":        {[]Part{shard(1, 2, "g"), shard(2, 3, "g")}, "same N"},
		"not a shard":    {[]Part{shard(0, 0, "")}, "not a shard"},
		"same table":     {[]Part{shard(1, 2, "g", tr("1", "t", model.Compliant, 0)), shard(2, 2, "g", tr("1", "t", model.Compliant, 0))}, "appears in two shards"},
		"nothing at all": {nil, "nothing to merge"},
	}
	for name, c := range cases {
		if _, err := Merge(c.parts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: want %q, got %v", name, c.want, err)
		}
	}
}

// SumSummaries gives the counts and rates Merge gives, without the tables;
// its costs are the shards' rounded totals summed.
func TestSumSummaries(t *testing.T) {
	a := shard(1, 2, "g", tr("111111111111", "a", model.NonCompliant, 0.004), tr("111111111111", "b", model.Compliant, 0))
	b := shard(2, 2, "g", tr("222222222222", "c", model.NonCompliant, 0.004), tr("222222222222", "d", model.Compliant, 0))
	m, err := Merge([]Part{a, b})
	if err != nil {
		t.Fatal(err)
	}
	got := SumSummaries([]policy.Summary{a.Audit.Summary, b.Audit.Summary}, true)
	if m.Summary.GapMonthlyCostUSD != 0.01 {
		t.Fatalf("merge: %+v", m.Summary)
	}
	want := m.Summary
	want.GapMonthlyCostUSD = 0 // each shard rounded its 0.004 to 0.00; Merge sums the tables' 0.008
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SumSummaries (-want +got):\n%s", diff)
	}
	if s := SumSummaries(nil, false); s.ComplianceRate != 1 || s.Tables != 0 || s.CoverageComplete || s.ByTier == nil {
		t.Errorf("no shards: %+v", s)
	}
}

// The AWS Backup KPIs of a run group are counted from its tables, by the
// live tally's rule, and the backup cost is summed unrounded; SumSummaries
// adds up the shards' own backup KPIs.
func TestMergeBackupKPIs(t *testing.T) {
	row := func(name, status string, v model.Verdict, cost float64) report.TableResult {
		tr := report.TableResult{Account: "111111111111", Region: "us-east-1", Name: name, Tier: "critical", Verdict: v}
		if status != "" {
			tr.Backup = &policy.BackupResult{Status: status, MonthlyCostUSD: cost}
		}
		return tr
	}
	a := shard(1, 2, "g", row("a", policy.BackupCovered, model.Compliant, 1.004), row("b", policy.BackupNotCovered, model.NonCompliant, 0))
	b := shard(2, 2, "g", row("c", policy.BackupCovered, model.NonCompliant, 1.004), row("d", "", model.Compliant, 0),
		row("e", policy.BackupNotCovered, model.Exempt, 0), row("f", policy.BackupUnknown, model.Unknown, 0))
	b.Audit.Tables[0].Account = "222222222222"
	m, err := Merge([]Part{a, b})
	if err != nil {
		t.Fatal(err)
	}
	s := m.Summary
	if s.BackupRequiredTables != 4 || s.BackupCoveredTables != 2 || s.BackupRequiredUncovered != 1 || s.BackupMonthlyCostUSD != 2.01 {
		t.Errorf("backup KPIs: required %d covered %d uncovered %d cost %v", s.BackupRequiredTables, s.BackupCoveredTables, s.BackupRequiredUncovered, s.BackupMonthlyCostUSD)
	}
	a.Audit.Summary.AddBackup(model.Compliant, &policy.BackupResult{Status: policy.BackupCovered, MonthlyCostUSD: 1.004})
	a.Audit.Summary.AddBackup(model.NonCompliant, &policy.BackupResult{Status: policy.BackupNotCovered})
	b.Audit.Summary.AddBackup(model.Compliant, &policy.BackupResult{Status: policy.BackupCovered, MonthlyCostUSD: 1.004})
	b.Audit.Summary.AddBackup(model.Unknown, &policy.BackupResult{Status: policy.BackupUnknown})
	got := SumSummaries([]policy.Summary{a.Audit.Summary, b.Audit.Summary}, true)
	if got.BackupRequiredTables != 4 || got.BackupCoveredTables != 2 || got.BackupRequiredUncovered != 1 || got.BackupMonthlyCostUSD != 2.01 {
		t.Errorf("SumSummaries backup KPIs: required %d covered %d uncovered %d cost %v", got.BackupRequiredTables, got.BackupCoveredTables, got.BackupRequiredUncovered, got.BackupMonthlyCostUSD)
	}
}
