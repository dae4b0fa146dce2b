package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/policy"
	"github.com/pitrguard/pitrguard/internal/report"
	"github.com/pitrguard/pitrguard/internal/store"
	"github.com/pitrguard/pitrguard/internal/testhttp"
)

// now is the clock of the dashboard tests.
var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// tbl is one table as an audit of the fixture saw it.
type tbl struct {
	Account, Region, Name, Tier, Owner string
	Verdict                            model.Verdict
	PITR                               bool
	Days                               int
	Reasons                            []model.Reason
	Cost                               float64
}

func (t tbl) critical() bool { return t.Tier == "critical" }

// auditSpec is one audit run to record.
type auditSpec struct {
	Tables        []tbl
	Group         string
	Shard, Shards int
	Status        string // default completed; "running" leaves it unfinished
	Incomplete    bool
	Errors        []model.ScanError
	Extra         map[string]any // added to the stored summary JSON
	Started       time.Time
}

// recordAudit writes an audit into db through the store's API, as `pitrguard
// audit` does: the run, the tables' facts, and the summary computed by the
// audit's own tally. It returns the run id and the summary.
func recordAudit(t *testing.T, db store.Store, a auditSpec) (int64, policy.Summary) {
	t.Helper()
	ctx := context.Background()
	if a.Started.IsZero() {
		a.Started = now.Add(-time.Hour)
	}
	id, err := db.StartRun(ctx, store.RunStart{Kind: "audit", Caller: "arn:aws:sts::111111111111:assumed-role/auditor/ci",
		Args: "audit", StartedAt: a.Started, RunGroup: a.Group, Shard: a.Shard, Shards: a.Shards})
	if err != nil {
		t.Fatal(err)
	}
	tally := policy.NewTally()
	var recs []store.TableRecord
	for _, x := range a.Tables {
		crit := x.critical()
		mt := &model.Table{Account: x.Account, Region: x.Region, Name: x.Name, PITR: model.PITR{Known: x.Verdict != model.Unknown, Enabled: x.PITR}}
		tally.Add(mt, policy.Result{Verdict: x.Verdict, Reasons: x.Reasons, Tier: config.Tier{Name: x.Tier, Critical: &crit}}, x.Cost)
		arn := fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", x.Region, x.Account, x.Name)
		f := store.Facts{Account: x.Account, Region: x.Region, Name: x.Name, ARN: arn, Status: "ACTIVE", DescribeKnown: true, TagsKnown: true,
			Tags: map[string]string{}, Tier: x.Tier, Critical: crit, Owner: x.Owner, Verdict: string(x.Verdict), PITRMonthlyCostUSD: x.Cost,
			PITR: store.FactsPITR{Status: "DISABLED"}, Replicas: []store.FactsReplica{}, ReadErrors: []store.FactsError{}, Reasons: []string{}}
		rec := store.TableRecord{Account: x.Account, Region: x.Region, Name: x.Name, ARN: arn, Verdict: string(x.Verdict), Tier: x.Tier,
			Owner: x.Owner, PITRStatus: "DISABLED"}
		if x.PITR {
			d := x.Days
			f.PITR = store.FactsPITR{Status: "ENABLED", RecoveryPeriodDays: &d}
			rec.PITRStatus, rec.RecoveryDays = "ENABLED", &d
		}
		if x.Verdict == model.Unknown {
			f.PITR.Status, rec.PITRStatus = "UNKNOWN", "UNKNOWN"
		}
		for _, r := range x.Reasons {
			f.Reasons = append(f.Reasons, string(r))
		}
		if rec.Facts, rec.FactsVersion, err = f.Encode(); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
	if err := db.AddTables(ctx, id, recs); err != nil {
		t.Fatal(err)
	}
	sum := tally.Summary(!a.Incomplete)
	if a.Status == store.StatusRunning {
		return id, sum
	}
	raw, err := json.Marshal(sum)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Extra) > 0 {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		maps.Copy(m, a.Extra)
		if raw, err = json.Marshal(m); err != nil {
			t.Fatal(err)
		}
	}
	status := a.Status
	if status == "" {
		status = store.StatusCompleted
	}
	errs := a.Errors
	if errs == nil {
		errs = []model.ScanError{}
	}
	info := report.RunInfo{Status: status, Caller: "arn:aws:sts::111111111111:assumed-role/auditor/ci", APICalls: map[string]int64{},
		RunGroup: a.Group, Shard: a.Shard, Shards: a.Shards}
	if err := db.EndRun(ctx, id, store.RunEnd{Status: status, Coverage: sum.CoverageComplete, Summary: json.RawMessage(raw), Errors: errs,
		Info: info, Finished: a.Started.Add(5 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	return id, sum
}

// openSQLite creates an empty SQLite history database.
func openSQLite(t *testing.T) store.Store {
	t.Helper()
	return openTarget(t, filepath.Join(t.TempDir(), "history.db"))
}

func openTarget(t *testing.T, target string) store.Store {
	t.Helper()
	db, err := store.Open(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// startSite serves the dashboard of db on a loopback test server.
func startSite(t *testing.T, db store.Store, token string) *httptest.Server {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(testLog{t}, nil))
	h, err := New(Options{DB: db, Token: token, Now: func() time.Time { return now }, Version: "test", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// testLog sends the server's log to the test's.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Helper()
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// get fetches a path and returns the status, body and headers.
func get(t *testing.T, srv *httptest.Server, method, path string, header ...string) (int, string, http.Header) {
	t.Helper()
	return testhttp.Do(t, srv.Client(), method, srv.URL+path, header...)
}

// scrape reads /metrics.
func scrape(t *testing.T, srv *httptest.Server) testhttp.Samples {
	t.Helper()
	return testhttp.Scrape(t, srv.Client(), srv.URL+"/metrics", "pitrguard_")
}
