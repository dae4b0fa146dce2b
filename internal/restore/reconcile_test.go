package restore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/report"
)

// Issue 9 #1: --reconcile-only touches only a restore of the source, asks
// first, and keeps the target's own window, TTL and policy.
func TestRunReconcileOnly(t *testing.T) {
	unrelated := func(f *fakeDB) { f.addTable("orders-r", nil); f.pitr["orders-r"] = 35 }
	restoredFrom := func(src string) func(*fakeDB) {
		return func(f *fakeDB) {
			f.addTable("orders-r", func(d *ddbtypes.TableDescription) {
				d.RestoreSummary = &ddbtypes.RestoreSummary{SourceTableArn: aws.String(src), RestoreDateTime: aws.Time(f.latest)}
			})
		}
	}
	for _, tc := range []struct {
		name  string
		setup func(*fakeDB)
		ok    bool
		why   string
	}{
		{"created, not restored", unrelated, false, "created, not restored"},
		{"restored from another table", restoredFrom("arn:aws:dynamodb:us-east-1:111111111111:table/orders-archive"), false, "restored from arn:aws:dynamodb:us-east-1:111111111111:table/orders-archive"},
		{"tagged by pitrguard for another table", func(f *fakeDB) {
			unrelated(f)
			f.tags[f.arn("orders-r")] = map[string]string{TagRestoredFrom: f.arn("other")}
		}, false, "tag names"},
		{"RestoreSummary names the source", restoredFrom("arn:aws:dynamodb:us-east-1:111111111111:table/orders"), true, ""},
		{"restored from a backup of the source", func(f *fakeDB) {
			f.addTable("orders-r", func(d *ddbtypes.TableDescription) {
				d.RestoreSummary = &ddbtypes.RestoreSummary{SourceBackupArn: aws.String(f.arn("orders") + "/backup/0170-00000000"), RestoreDateTime: aws.Time(f.latest)}
			})
		}, true, ""},
		{"pitrguard's tag names the source", func(f *fakeDB) {
			unrelated(f)
			f.tags[f.arn("orders-r")] = map[string]string{TagRestoredFrom: f.arn("orders"), TagRestorePoint: "2026-11-20T10:00:00Z"}
		}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			richSource(f)
			tc.setup(f)
			asked := 0
			d := testDeps(f, newHistory())
			d.Confirm = func(_ context.Context, p Plan) (bool, error) { asked++; return true, nil }
			res, err := Run(t.Context(), testOptions(ReconcileOnly), d)
			if !tc.ok {
				var ue *UsageError
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), "is not a restore of") || !strings.Contains(err.Error(), tc.why) {
					t.Fatalf("err = %v, want a usage error saying %q", err, tc.why)
				}
				if m := f.mutations(); len(m) > 0 || asked > 0 || res.Status != "" {
					t.Errorf("refused target got %v (asked %d, status %q)", m, asked, res.Status)
				}
				return
			}
			if err != nil || asked != 1 || res.Status != StatusReconciledOnly || res.RestorePoint == nil {
				t.Fatalf("err %v asked %d result %+v", err, asked, res)
			}
			if f.pitr["orders-r"] < 14 {
				t.Errorf("window %d", f.pitr["orders-r"])
			}
		})
	}
}

func TestRunReconcileOnlyKeepsTargetSettings(t *testing.T) {
	setup := func() *fakeDB {
		f := newFake()
		richSource(f)
		f.addTable("orders-r", func(d *ddbtypes.TableDescription) {
			d.RestoreSummary = &ddbtypes.RestoreSummary{SourceTableArn: aws.String(f.arn("orders")), RestoreDateTime: aws.Time(f.latest)}
		})
		f.pitr["orders-r"] = 35
		f.ttl["orders-r"] = "purge_at"
		f.policy[f.arn("orders-r")] = `{"own":true}`
		return f
	}
	// Declined: nothing changes.
	f := setup()
	var plan Plan
	d := testDeps(f, newHistory())
	d.Confirm = func(_ context.Context, p Plan) (bool, error) { plan = p; return false, nil }
	if _, err := Run(t.Context(), testOptions(ReconcileOnly), d); !errors.Is(err, ErrAborted) || len(f.mutations()) > 0 {
		t.Fatalf("declined: err %v, calls %v", err, f.mutations())
	}
	if len(plan.Changes) == 0 || strings.Contains(strings.Join(plan.Changes, "\n"), "pitr:") {
		t.Errorf("plan shows %q", plan.Changes)
	}
	// Accepted: own window, TTL and policy kept, and said so.
	res, err := Run(t.Context(), testOptions(ReconcileOnly), testDeps(f, newHistory()))
	if err != nil {
		t.Fatal(err)
	}
	it := itemsOf(res)
	if f.pitr["orders-r"] != 35 || f.ttl["orders-r"] != "purge_at" || f.policy[f.arn("orders-r")] != `{"own":true}` {
		t.Errorf("target's own settings changed: pitr %d ttl %q policy %q", f.pitr["orders-r"], f.ttl["orders-r"], f.policy[f.arn("orders-r")])
	}
	for _, k := range []string{"pitr", "ttl", "resource_policy"} {
		if it[k].Status != Manual {
			t.Errorf("%s: %+v", k, it[k])
		}
	}
	if !strings.Contains(it["pitr"].Detail, "--replace-target-settings") || it["deletion_protection"].Status != Applied {
		t.Errorf("items %+v", it)
	}
	// Rerun: idempotent (nothing applied twice).
	f.calls = nil
	if _, err := Run(t.Context(), testOptions(ReconcileOnly), testDeps(f, newHistory())); err != nil {
		t.Fatal(err)
	}
	for _, m := range f.mutations() {
		if !strings.HasPrefix(m, "TagResource") {
			t.Errorf("rerun changed %s", m)
		}
	}
	// With the flag: window set to the source's, policy replaced; TTL still its own.
	o := testOptions(ReconcileOnly)
	o.ReplaceTargetSettings = true
	if _, err := Run(t.Context(), o, testDeps(f, newHistory())); err != nil {
		t.Fatal(err)
	}
	if f.pitr["orders-r"] != 14 || !strings.Contains(f.policy[f.arn("orders-r")], f.arn("orders-r")) || f.ttl["orders-r"] != "purge_at" {
		t.Errorf("with the flag: pitr %d policy %q ttl %q", f.pitr["orders-r"], f.policy[f.arn("orders-r")], f.ttl["orders-r"])
	}
}

func TestRunUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*fakeDB, *Options)
		want string
	}{
		{"outside the window", func(f *fakeDB, o *Options) { o.Mode, o.At = ToTime, f.latest.Add(-30*24*time.Hour) }, "outside the restorable window"},
		{"unknown index", func(f *fakeDB, o *Options) { o.Indexes = []string{"nope"} }, `--index "nope" is not an index of orders (it has: by-x)`},
		{"existing target", func(f *fakeDB, o *Options) { f.addTable("orders-r", nil) }, "already exists"},
		{"deleted but alive", func(f *fakeDB, o *Options) { o.Mode = Deleted }, "still exists"},
		{"reconcile-only of nothing", func(f *fakeDB, o *Options) { o.Mode = ReconcileOnly }, "no table named orders-r"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, h := newFake(), newHistory()
			richSource(f)
			o := testOptions(Latest)
			tc.mod(f, &o)
			_, err := Run(t.Context(), o, testDeps(f, h))
			var ue *UsageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a usage error with %q", err, tc.want)
			}
			if len(f.mutations()) > 0 || len(h.runs) > 0 {
				t.Errorf("refused request changed %v, recorded %v", f.mutations(), h.runs)
			}
		})
	}
}

// Issue 9 #13: every outcome is recorded, with the restore's own journal entry.
func TestRunRecordsOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mod    func(*fakeDB, *Options)
		status string
		result string
	}{
		{"restore refused by AWS", func(f *fakeDB, o *Options) {
			f.errs["RestoreTableToPointInTime"] = &ddbtypes.LimitExceededException{Message: aws.String("busy")}
		}, RunFailed, RunFailed},
		{"timed out", func(f *fakeDB, o *Options) {
			o.Wait = 5 * time.Millisecond
			f.creating = "orders-r"
		}, RunTimedOut, RunTimedOut},
		{"reconciled with failures", func(f *fakeDB, o *Options) { f.errs["TagResource"] = apiErr("AccessDeniedException") }, RunCompletedWithFailures, "active"},
		{"completed", func(*fakeDB, *Options) {}, RunCompleted, "active"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, h := newFake(), newHistory()
			richSource(f)
			o := testOptions(Latest)
			tc.mod(f, &o)
			_, _ = Run(t.Context(), o, testDeps(f, h))
			if h.runs[1] != tc.status || len(h.journal) == 0 || h.journal[0].Action != "restore" || h.journal[0].Result != tc.result {
				t.Errorf("runs %v journal %+v", h.runs, h.journal)
			}
		})
	}
	// A history that cannot be written does not block the restore, and says so.
	f, h := newFake(), newHistory()
	richSource(f)
	h.failBegin = errors.New("disk full")
	var log strings.Builder
	d := testDeps(f, h)
	d.Log = &log
	if _, err := Run(t.Context(), testOptions(Latest), d); err != nil || !strings.Contains(log.String(), "not recorded") {
		t.Errorf("err %v log %q", err, log.String())
	}
}

// Issue 9 #8: a deleted table's settings come from the newest snapshot that
// read them; with none, unread settings are manual and the run incomplete.
func TestRunDeletedSnapshots(t *testing.T) {
	unread := func(tr *report.TableResult) {
		tr.Status, tr.DeletionProtection, tr.Tags = "UNKNOWN", false, map[string]string{}
		tr.PITR.Status, tr.Reasons = "UNKNOWN", []model.Reason{model.ReasonAccessDenied}
	}
	f := newFake()
	deletedSource(f, newHistory())
	h2 := newHistory()
	h2.snapshots = append(h2.snapshots, snapshot(3, unread), snapshot(2, func(*report.TableResult) {}))
	res, err := Run(t.Context(), testOptions(Deleted), testDeps(f, h2))
	if err != nil || !strings.Contains(res.SettingsFrom, "(run 2)") || itemsOf(res)["deletion_protection"].Status != Applied || f.pitr["orders-r"] != 21 {
		t.Fatalf("err %v from %q items %+v pitr %d", err, res.SettingsFrom, res.Reconciled, f.pitr["orders-r"])
	}
	if it := itemsOf(res)["ttl"]; it.Status != Manual || !strings.Contains(it.Detail, "not recorded by the audit") {
		t.Errorf("ttl %+v", it)
	}
	f2 := newFake()
	deletedSource(f2, newHistory())
	h3 := newHistory()
	h3.snapshots = append(h3.snapshots, snapshot(3, unread))
	o := testOptions(Deleted)
	o.Target = "orders-u"
	res, err = Run(t.Context(), o, testDeps(f2, h3))
	if !errors.Is(err, ErrIncomplete) {
		t.Fatalf("err %v", err)
	}
	for _, k := range []string{"pitr", "tags", "deletion_protection", "stream", "table_class"} {
		if it := itemsOf(res)[k]; (k != "tags" && it.Status != Manual) || !strings.Contains(it.Detail, "access_denied") {
			t.Errorf("%s: %+v", k, it)
		}
	}
	if f2.pitr["orders-u"] != 0 || aws.ToBool(f2.tables["orders-u"].DeletionProtectionEnabled) {
		t.Error("an unread setting was applied as if known")
	}
}

// Issue 9 #14: a repeated ListBackups token ends the listing with an error.
func TestFindDeletedBackupRepeatedToken(t *testing.T) {
	f := newFake()
	f.listBackupsToken = "arn:aws:dynamodb:us-east-1:111111111111:table/x/backup/1"
	_, err := FindDeletedBackup(t.Context(), f, "x")
	n := 0
	for _, c := range f.calls {
		if strings.HasPrefix(c, "ListBackups") {
			n++
		}
	}
	if err == nil || !strings.Contains(err.Error(), "twice") || n != 2 {
		t.Errorf("err %v after %d calls", err, n)
	}
}

func TestRewriteARN(t *testing.T) {
	const src, dst = "arn:aws:dynamodb:us-east-1:1:table/orders", "arn:aws:dynamodb:us-east-1:1:table/new"
	for in, want := range map[string]string{
		`"` + src + `"`:                    `"` + dst + `"`,
		`"` + src + `/index/*"`:            `"` + dst + `/index/*"`,
		`"` + src + `/stream/2026"`:        `"` + dst + `/stream/2026"`,
		`"` + src + `-archive"`:            `"` + src + `-archive"`,
		`"` + src + `.v2","` + src + `_x"`: `"` + src + `.v2","` + src + `_x"`,
		src:                                dst,
		src + src:                          src + dst,
		"":                                 "",
	} {
		if got := RewriteARN(in, src, dst); got != want {
			t.Errorf("RewriteARN(%s) = %s, want %s", in, got, want)
		}
	}
}
