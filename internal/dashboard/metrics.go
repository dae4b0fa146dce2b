package dashboard

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pitrguard/pitrguard/internal/model"
)

// scrapeTimeout bounds the store reads of one scrape.
const scrapeTimeout = 30 * time.Second

// TierAll is the tier label of the whole estate's compliance rate.
const TierAll = "all"

// verdicts are the live verdicts, each a value of the verdict label (in
// lower case) for every tier, zero included, so that an alert on
// pitrguard_tables{verdict="non_compliant"} sees 0 rather than no series.
var verdicts = []model.Verdict{model.Compliant, model.NonCompliant, model.Exempt, model.Unknown, model.Skipped}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("pitrguard_"+name, help, labels, nil)
}

// Metric descriptions. Labels are bounded: verdicts, tiers of the policy,
// fixed states; never a table, account or ARN.
var (
	descTables        = desc("tables", "Tables in the latest audit, by verdict and tier.", "verdict", "tier")
	descCompliance    = desc("compliance_rate", `Compliance rate of the latest audit (0-1): compliant / (compliant + non-compliant + unknown), per tier and tier="all" for every table.`, "tier")
	descGapTables     = desc("snapshot_gap_tables", "Critical-tier tables of the latest audit without PITR (not exempt).")
	descGapCost       = desc("snapshot_gap_monthly_cost_usd", "Estimated monthly cost (USD) of enabling PITR on every non-compliant table of the latest audit without it.")
	descPITRCost      = desc("pitr_monthly_cost_usd", "Estimated monthly cost (USD) of the PITR enabled in the latest audit.")
	descAuditTime     = desc("last_audit_timestamp_seconds", "When the latest finished audit started (Unix time; a run group: its first shard).")
	descCoverage      = desc("last_audit_coverage_complete", "1 when the latest audit read every account-region (every shard of a run group complete), else 0.")
	descAuditErrors   = desc("last_audit_errors", "Account-regions, tables or shards the latest audit lists in errors.")
	descMTTR          = desc("mttr_seconds", "Restore time (request to ACTIVE) of the drills of the last 90 days, nearest-rank quantiles.", "quantile")
	descDrills        = desc("drills", "Restore drills recorded in the last 90 days, by result.", "result")
	descBackupTables  = desc("backup_tables", "Tables of the latest audit whose tier requires AWS Backup (required), covered by a recent recovery point (covered), or not (uncovered).", "state")
	descBackupCost    = desc("backup_monthly_cost_usd", "Estimated monthly cost (USD) of the AWS Backup storage of the latest audit.")
	descDynamoDBSpend = desc("dynamodb_spend_usd", "Amazon DynamoDB spend of the last full month (Cost Explorer), as recorded by the latest audit.")
	descPITRSpend     = desc("pitr_spend_usd", "PITR storage spend of the last full month (Cost Explorer).")
	descBackupSpend   = desc("backup_spend_usd", "Backup storage spend of the last full month (Cost Explorer).")
	descResilience    = desc("resilience_cost_share", "(PITR + backup spend) / DynamoDB spend of the last full month (0-1).")
	descStoreRead     = desc("store_read", "Reading the history database; a failure fails the scrape (up == 0).")
)

// collector reads the history database at scrape time.
type collector struct {
	data *loader
	now  func() time.Time
}

var _ prometheus.Collector = (*collector)(nil)

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descTables, descCompliance, descGapTables, descGapCost, descPITRCost, descAuditTime,
		descCoverage, descAuditErrors, descMTTR, descDrills, descBackupTables, descBackupCost, descDynamoDBSpend, descPITRSpend,
		descBackupSpend, descResilience, descStoreRead} {
		ch <- d
	}
}

func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

// Collect sends what the history holds now. Nothing about audits is sent
// before the first audit is recorded (no invented zeros); a store that
// cannot be read fails the scrape, which Prometheus shows as up == 0.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	l, err := c.data.latest(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descStoreRead, err)
		return
	}
	m, ok, err := recentMTTR(ctx, c.data.db, c.now())
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descStoreRead, err)
		return
	}
	if ok {
		gauge(ch, descMTTR, m.Median, "0.5")
		gauge(ch, descMTTR, m.P90, "0.9")
	}
	gauge(ch, descDrills, float64(m.Passed), "passed")
	gauge(ch, descDrills, float64(m.Failed), "failed")
	if l != nil {
		collectAudit(ch, l)
	}
}

func collectAudit(ch chan<- prometheus.Metric, l *latest) {
	a := l.Audit
	counts := map[string]map[model.Verdict]int{}
	for _, t := range a.Tables {
		if counts[t.Tier] == nil {
			counts[t.Tier] = map[model.Verdict]int{}
		}
		counts[t.Tier][t.Verdict]++
	}
	for _, tier := range slices.Sorted(maps.Keys(counts)) {
		for _, v := range verdicts {
			gauge(ch, descTables, float64(counts[tier][v]), strings.ToLower(string(v)), tier)
		}
	}
	s := a.Summary
	gauge(ch, descCompliance, s.ComplianceRate, TierAll)
	for _, tier := range slices.Sorted(maps.Keys(s.ByTier)) {
		if tier != TierAll { // a tier named "all" would repeat the total's series
			gauge(ch, descCompliance, s.ByTier[tier].ComplianceRate, tier)
		}
	}
	gauge(ch, descGapTables, float64(s.SnapshotGapTables))
	gauge(ch, descGapCost, s.GapMonthlyCostUSD)
	gauge(ch, descPITRCost, s.PITRMonthlyCostUSD)
	gauge(ch, descAuditTime, float64(a.GeneratedAt.Unix()))
	gauge(ch, descCoverage, boolFloat(s.CoverageComplete))
	gauge(ch, descAuditErrors, float64(len(a.Errors)))

	x := l.Extra
	if x.Backup() {
		for _, st := range []struct {
			state string
			v     *float64
		}{{"required", x.BackupRequired}, {"covered", x.BackupCovered}, {"uncovered", x.BackupUncovered}} {
			if st.v != nil {
				gauge(ch, descBackupTables, *st.v, st.state)
			}
		}
		if x.BackupMonthlyCost != nil {
			gauge(ch, descBackupCost, *x.BackupMonthlyCost)
		}
	}
	for _, o := range []struct {
		d *prometheus.Desc
		v *float64
	}{{descDynamoDBSpend, x.DynamoDBSpend}, {descPITRSpend, x.PITRSpend},
		{descBackupSpend, x.BackupSpend}, {descResilience, x.ResilienceShare}} {
		if o.v != nil {
			gauge(ch, o.d, *o.v)
		}
	}
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
