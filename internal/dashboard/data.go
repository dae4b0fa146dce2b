package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/pitrguard/pitrguard/internal/drill"
	"github.com/pitrguard/pitrguard/internal/history"
	"github.com/pitrguard/pitrguard/internal/report"
	"github.com/pitrguard/pitrguard/internal/store"
)

// MTTRWindow is how far back the drills behind the MTTR go.
const MTTRWindow = 90 * 24 * time.Hour

// maxDrills bounds the drills read for the MTTR (newest first).
const maxDrills = 10000

// latest is the latest audit as the dashboard shows it.
type latest struct {
	Audit *report.Audit
	Entry *history.Entry
	Extra Extras
}

// loader reads the latest audit, and keeps it until the history says a newer
// one (or a change to it) was recorded: a scrape every few seconds then
// costs one small query, not a read of every table.
type loader struct {
	db store.Store

	mu     sync.Mutex
	key    string
	cached *latest
}

// latest returns the latest finished audit, nil when none is recorded.
func (l *loader) latest(ctx context.Context) (*latest, error) {
	e, err := history.LatestEntry(ctx, l.db)
	if errors.Is(err, history.ErrNoAudit) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cached != nil && l.key == e.Key() {
		return l.cached, nil
	}
	a, err := history.Load(ctx, l.db, e)
	if err != nil {
		return nil, err
	}
	l.key, l.cached = e.Key(), &latest{Audit: a, Entry: e, Extra: extrasOf(e.Runs)}
	return l.cached, nil
}

// Extras are summary fields that some audits record and others do not: AWS
// Backup coverage (audit with a backup requirement) and the spend measured
// by Cost Explorer (audit --cost-explorer). They are read from the stored
// summary JSON, so that an audit without them shows nothing rather than
// zeros; nil means not measured.
type Extras struct {
	BackupRequired    *float64 `json:"backup_required_tables"`
	BackupCovered     *float64 `json:"backup_covered_tables"`
	BackupUncovered   *float64 `json:"backup_required_uncovered"`
	BackupMonthlyCost *float64 `json:"backup_monthly_cost_usd"`
	DynamoDBSpend     *float64 `json:"dynamodb_spend_usd"`
	PITRSpend         *float64 `json:"pitr_spend_usd"`
	BackupSpend       *float64 `json:"backup_spend_usd"`
	ResilienceShare   *float64 `json:"resilience_cost_share"`
}

// extrasOf reads the extras of an audit's runs. The shards of a run group
// audit disjoint accounts, so their backup counts and costs add up; spend is
// the payer account's, the same in every shard, so the first shard's value
// stands.
func extrasOf(runs []store.Run) Extras {
	var out Extras
	for _, r := range runs {
		var x Extras
		if json.Unmarshal(r.Summary, &x) != nil {
			continue
		}
		out.BackupRequired = addOpt(out.BackupRequired, x.BackupRequired)
		out.BackupCovered = addOpt(out.BackupCovered, x.BackupCovered)
		out.BackupUncovered = addOpt(out.BackupUncovered, x.BackupUncovered)
		out.BackupMonthlyCost = addOpt(out.BackupMonthlyCost, x.BackupMonthlyCost)
		for _, p := range []struct{ dst, src **float64 }{{&out.DynamoDBSpend, &x.DynamoDBSpend},
			{&out.PITRSpend, &x.PITRSpend}, {&out.BackupSpend, &x.BackupSpend}, {&out.ResilienceShare, &x.ResilienceShare}} {
			if *p.dst == nil {
				*p.dst = *p.src
			}
		}
	}
	return out
}

func addOpt(a, b *float64) *float64 {
	switch {
	case b == nil:
		return a
	case a == nil:
		v := *b
		return &v
	}
	v := *a + *b
	return &v
}

// Backup reports whether AWS Backup coverage was measured: the audit's
// policy required AWS Backup of at least one table (every audit records the
// counts, zero when no tier has a backup: block).
func (x Extras) Backup() bool {
	return x.BackupRequired != nil && *x.BackupRequired > 0
}

// Spend reports whether Cost Explorer spend was measured.
func (x Extras) Spend() bool {
	return x.DynamoDBSpend != nil || x.PITRSpend != nil || x.BackupSpend != nil || x.ResilienceShare != nil
}

// MTTR is the restore time of recent drills.
type MTTR struct {
	// Drills is how many drills of the window measured a restore time.
	Drills         int
	Passed, Failed int
	Median, P90    float64
	Since          time.Time
}

// mttrOf computes the MTTR of the drills started at or after since, as
// `pitrguard drill` does: every drill that measured a restore (request →
// ACTIVE) counts, the nearest-rank median and p90. ok is false when no drill
// of the window measured one.
func mttrOf(ds []store.Drill, since time.Time) (m MTTR, ok bool) {
	m.Since = since
	var xs []float64
	for _, d := range ds {
		if d.StartedAt.Before(since) {
			continue
		}
		if d.Result == "passed" {
			m.Passed++
		} else {
			m.Failed++
		}
		if d.RestoreSeconds > 0 {
			xs = append(xs, d.RestoreSeconds)
		}
	}
	m.Drills = len(xs)
	m.Median, m.P90 = drill.Percentile(xs, 50), drill.Percentile(xs, 90)
	return m, len(xs) > 0
}

// recentMTTR reads the drills of the MTTR window.
func recentMTTR(ctx context.Context, db store.Store, now time.Time) (MTTR, bool, error) {
	ds, err := db.Drills(ctx, maxDrills)
	if err != nil {
		return MTTR{}, false, err
	}
	m, ok := mttrOf(ds, now.Add(-MTTRWindow))
	return m, ok, nil
}
