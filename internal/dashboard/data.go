package dashboard

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/pitrguard/pitrguard/internal/drill"
	"github.com/pitrguard/pitrguard/internal/history"
	"github.com/pitrguard/pitrguard/internal/policy"
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
	l.key, l.cached = e.Key(), &latest{Audit: a, Entry: e, Extra: extrasOf(e.Summary)}
	return l.cached, nil
}

// Extras are summary fields that some audits measure and others do not:
// AWS Backup coverage (a tier with a backup: requirement) and the spend read
// from Cost Explorer (audit --cost-explorer); nil means not measured, so an
// audit without them shows nothing rather than zeros.
type Extras struct {
	BackupRequired    *float64
	BackupCovered     *float64
	BackupUncovered   *float64
	BackupMonthlyCost *float64
	DynamoDBSpend     *float64
	PITRSpend         *float64
	BackupSpend       *float64
	ResilienceShare   *float64
}

// extrasOf reads the extras of an audit's KPIs (a run group's summed by
// history: backup counts and costs added up, the payer account's spend
// taken once).
func extrasOf(s policy.Summary) Extras {
	x := Extras{DynamoDBSpend: s.DynamoDBSpendUSD, PITRSpend: s.PITRSpendUSD, BackupSpend: s.BackupSpendUSD, ResilienceShare: s.ResilienceCostShare}
	if s.BackupRequiredTables > 0 {
		f := func(v float64) *float64 { return &v }
		x.BackupRequired, x.BackupCovered, x.BackupUncovered = f(float64(s.BackupRequiredTables)), f(float64(s.BackupCoveredTables)), f(float64(s.BackupRequiredUncovered))
		x.BackupMonthlyCost = f(s.BackupMonthlyCostUSD)
	}
	return x
}

// Backup reports whether AWS Backup coverage was measured: the audit's
// policy required AWS Backup of at least one table (every audit records the
// counts, zero when no tier has a backup: block).
func (x Extras) Backup() bool {
	return x.BackupRequired != nil
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
