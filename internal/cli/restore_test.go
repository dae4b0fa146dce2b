package cli

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/pitrguard/pitrguard/internal/iostreams"
	"github.com/pitrguard/pitrguard/internal/restore"
)

// captureRestore runs argv through the restore command with a runF that
// captures the validated options instead of touching AWS.
func captureRestore(t *testing.T, tty bool, args ...string) (*RestoreOptions, int, string) {
	t.Helper()
	ios, _, _, errOut := iostreams.Test()
	ios.SetTTY(tty)
	f := &Factory{IO: ios, Now: func() time.Time { return fixedNow }}
	var got *RestoreOptions
	root := NewRootCmd(f)
	for _, c := range root.Commands() {
		if c.Name() == "restore" {
			root.RemoveCommand(c)
		}
	}
	g := &GlobalOptions{}
	cmd := newRestoreCmdF(f, g, func(_ context.Context, o *RestoreOptions) error { got = o; return nil })
	addAWSFlags(cmd, g) // as NewRootCmd does for the real restore command
	addStoreFlags(cmd, g)
	root.AddCommand(cmd)
	root.SetArgs(args)
	root.SetOut(ios.Out)
	root.SetErr(ios.ErrOut)
	_, err := root.ExecuteC()
	if err != nil {
		errOut.WriteString(err.Error())
	}
	return got, exitCode(err), errOut.String()
}

func TestNewRestoreCmd(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "r.json")
	berlinAt := time.Date(2026, 11, 24, 14, 3, 26, 0, time.UTC)
	for _, tc := range []struct {
		args []string
		want RestoreOptions
	}{
		{[]string{"restore", "--table", "arn:aws:dynamodb:eu-west-1:111111111111:table/orders", "--to", "2026-11-24 15:03:26", "--tz", "Europe/Berlin",
			"--target", "orders-r", "--index", "by-a", "--index", "by-b", "--wait", "2h", "-f", "json", "-o", out, "--yes"},
			RestoreOptions{Table: "arn:aws:dynamodb:eu-west-1:111111111111:table/orders", Account: "111111111111", Region: "eu-west-1", To: "2026-11-24 15:03:26",
				TZ: "Europe/Berlin", Target: "orders-r", Indexes: []string{"by-a", "by-b"}, Wait: 2 * time.Hour, Poll: 5 * time.Second, Format: "json", Output: out, Yes: true,
				RoleName: "OrganizationAccountAccessRole", name: "orders", at: berlinAt, mode: restore.ToTime}},
		{[]string{"restore", "--table", "orders", "--region", "us-east-1", "--reconcile-only", "--target", "orders-x", "--replace-target-settings", "-y"},
			RestoreOptions{Table: "orders", Region: "us-east-1", TZ: "UTC", Target: "orders-x", ReconcileOnly: true, ReplaceTarget: true, Yes: true,
				Wait: 6 * time.Hour, Poll: 5 * time.Second, Format: "table", RoleName: "OrganizationAccountAccessRole", name: "orders", mode: restore.ReconcileOnly}},
		{[]string{"restore", "--table", "orders", "--region", "us-east-1", "--deleted", "--without-indexes", "--wait", "1d", "--no-reconcile", "--yes"},
			RestoreOptions{Table: "orders", Region: "us-east-1", TZ: "UTC", Deleted: true, WithoutIdx: true, NoReconcile: true, Yes: true,
				Wait: 24 * time.Hour, Poll: 5 * time.Second, Format: "table", RoleName: "OrganizationAccountAccessRole", name: "orders", mode: restore.Deleted}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			o, code, errOut := captureRestore(t, false, tc.args...)
			if code != ExitOK || o == nil {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if diff := cmp.Diff(tc.want, *o, cmp.AllowUnexported(RestoreOptions{}), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
	// On a terminal, --yes is not needed.
	if o, code, errOut := captureRestore(t, true, "restore", "--table", "orders", "--region", "us-east-1", "--latest"); code != ExitOK || o.mode != restore.Latest {
		t.Errorf("terminal without --yes: exit %d %s", code, errOut)
	}
}

func TestRestoreFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"restore", "--table", "orders", "--region", "us-east-1", "--reconcile-only", "--target", "x"}, "needs --yes"},
		{[]string{"restore", "--table", "orders", "--region", "us-east-1", "--latest", "--yes", "--format", "csv"}, `--format "csv" is not supported; use table or json`},
		{[]string{"restore", "--table", "orders", "--region", "us-east-1", "--latest", "--yes", "-o", "/nonexistent-dir/r.json"}, "does not exist"},
		{[]string{"restore", "--table", "orders", "--region", "us-east-1", "--latest", "--yes", "--wait", "0s"}, "not a duration"},
		{[]string{"restore", "--table", "orders", "--region", "us-east-1", "--latest", "--yes", "--wait", "soon"}, "not a duration"},
		{[]string{"restore", "--table", "orders", "--region", "us-east-1", "--to", "2026-10-25 02:30:00", "--tz", "Europe/Berlin", "--yes"}, "happens twice"},
		{[]string{"restore", "--table", "orders", "--region", "us-east-1", "--to", "2026-03-29 02:30:00", "--tz", "Europe/Berlin", "--yes"}, "does not exist"},
		{[]string{"restore", "--table", "arn:aws:dynamodb:us-east-1:111111111111:table/orders/index/x", "--latest", "--yes"}, "not a DynamoDB table ARN"},
		{[]string{"restore", "--table", "orders", "--region", "us-east-1", "--latest", "--yes", "--no-reconcile", "--replace-target-settings"}, "contradict"},
		{[]string{"restore", "--table", "orders", "--region", "us-east-1", "--latest", "--yes", "--account", "12"}, "12-digit"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			o, code, errOut := captureRestore(t, false, tc.args...)
			if code != ExitUsage || !strings.Contains(errOut, tc.want) || o != nil {
				t.Errorf("exit %d, stderr %q lacks %q (options %v)", code, errOut, tc.want, o)
			}
		})
	}
}

// TestRestoreOutcome: result → writer and error → exit code, with the exact
// text output.
func TestRestoreOutcome(t *testing.T) {
	at := time.Date(2026, 11, 24, 11, 55, 0, 0, time.UTC)
	res := restore.Result{SchemaVersion: 1, Source: restore.Source{ARN: "arn:aws:dynamodb:us-east-1:111111111111:table/orders"},
		Target: restore.TargetInfo{Table: "orders-r", Region: "us-east-1"}, RestorePoint: &at, ActiveAt: &at, DurationSeconds: 42, Status: "active",
		SettingsFrom: "live source table", Reconciled: []restore.Item{{Setting: "pitr", Status: restore.Applied, Detail: "enabled with a 14-day window"}},
		ManualActions: []string{"Adopt orders-r into your IaC"}}
	for _, tc := range []struct {
		err  error
		code int
	}{
		{nil, ExitOK},
		{&restore.UsageError{Err: errors.New("bad")}, ExitUsage},
		{restore.ErrAborted, ExitFailure},
		{restore.ErrTimeout, ExitPending},
		{restore.ErrIncomplete, ExitFailure},
		{errors.New("AWS said no"), ExitFailure},
	} {
		ios, _, out, _ := iostreams.Test()
		err := restoreOutcome(&Factory{IO: ios}, &RestoreOptions{Format: "table"}, res, tc.err)
		if got := exitCode(err); got != tc.code {
			t.Errorf("%v: exit %d, want %d", tc.err, got, tc.code)
		}
		want := `Source:  arn:aws:dynamodb:us-east-1:111111111111:table/orders
Target:  orders-r (us-east-1)
Point:   2026-11-24T11:55:00Z
ACTIVE:  2026-11-24T11:55:00Z after 42s

Settings (from the live source table):
     SETTING  STATUS   DETAIL
[x]  pitr     applied  enabled with a 14-day window

Still to do by hand:
[ ] Adopt orders-r into your IaC
`
		if diff := cmp.Diff(want, out.String()); diff != "" {
			t.Errorf("%v: stdout (-want +got):\n%s", tc.err, diff)
		}
	}
	// -o writes the JSON to the file, not stdout; no result, no output.
	ios, _, out, _ := iostreams.Test()
	path := filepath.Join(t.TempDir(), "r.json")
	if err := restoreOutcome(&Factory{IO: ios}, &RestoreOptions{Format: "json", Output: path}, res, nil); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(b), `"status": "active"`) || out.Len() != 0 {
		t.Errorf("file %q (%v), stdout %q", b, err, out)
	}
	ios, _, out, _ = iostreams.Test()
	_ = restoreOutcome(&Factory{IO: ios}, &RestoreOptions{Format: "json"}, restore.Result{}, errors.New("x"))
	if out.Len() != 0 {
		t.Errorf("output without a result: %q", out)
	}
}
