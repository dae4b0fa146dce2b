package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pitrguard/pitrguard/internal/iostreams"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/policy"
	"github.com/pitrguard/pitrguard/internal/report"
)

// runArgs runs the command line with a runF that captures the audit options
// instead of touching AWS.
func captureAudit(t *testing.T, args ...string) (*AuditOptions, int, string) {
	t.Helper()
	ios, _, _, errOut := iostreams.Test()
	f := &Factory{IO: ios, Now: time.Now}
	var got *AuditOptions
	root := NewRootCmd(f)
	for _, c := range root.Commands() {
		if c.Name() == "audit" {
			root.RemoveCommand(c)
		}
	}
	root.AddCommand(newAuditCmd(f, &GlobalOptions{}, func(_ context.Context, o *AuditOptions) error { got = o; return nil }))
	root.SetArgs(args)
	root.SetOut(ios.Out)
	root.SetErr(ios.ErrOut)
	_, err := root.ExecuteC()
	if err != nil {
		errOut.WriteString(err.Error())
	}
	return got, exitCode(err), errOut.String()
}

func TestNewAuditCmd(t *testing.T) {
	o, code, _ := captureAudit(t, "audit", "--org", "--regions", "us-east-1,eu-west-1", "--accounts", "111111111111,222222222222",
		"--format", "json", "--fail-on", "non-compliant,unknown", "--role-name", "Audit", "--external-id", "x-42")
	if code != 0 || o == nil {
		t.Fatalf("exit %d", code)
	}
	want := TargetOptions{Org: true, Accounts: []string{"111111111111", "222222222222"}, Regions: []string{"us-east-1", "eu-west-1"},
		RoleName: "Audit", ExternalID: "x-42", Concurrency: 16}
	if diff := cmp.Diff(want, o.Target); diff != "" {
		t.Errorf("target options (-want +got):\n%s", diff)
	}
	if o.Format != "json" || len(o.FailOn) != 2 {
		t.Errorf("format %q fail-on %v", o.Format, o.FailOn)
	}
}

func TestAuditUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"audit", "--format", "xml"}, `--format "xml" is not supported`},
		{[]string{"audit", "--regions", "us-east-1,mars"}, `"mars" is not a region name`},
		{[]string{"audit", "--regions", "all,us-east-1"}, "cannot be combined"},
		{[]string{"audit", "--accounts", "12345"}, "not a 12-digit AWS account id"},
		{[]string{"audit", "--fail-on", "warnings"}, `--fail-on "warnings" is not supported`},
		{[]string{"audit", "--concurrency", "0"}, "--concurrency must be between"},
		{[]string{"audit", "--external-id", "x"}, "--external-id must be"},
		{[]string{"audit", "--role-name", "bad role"}, "not a valid IAM role name"},
		{[]string{"audit", "--nope"}, "unknown flag"},
		{[]string{"audit", "extra"}, "unknown command"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			ios, _, _, errOut := iostreams.Test()
			code := Run(context.Background(), tc.args, &Factory{IO: ios})
			if code != ExitUsage {
				t.Errorf("exit %d, want 2", code)
			}
			if !strings.Contains(errOut.String(), tc.want) || !strings.Contains(errOut.String(), "--help") {
				t.Errorf("stderr %q lacks %q and a --help hint", errOut, tc.want)
			}
		})
	}
}

func TestAuditBadPolicyFileIsUsageError(t *testing.T) {
	dir := t.TempDir()
	e := &env{dir: dir}
	path := e.writeFile(t, "p.yaml", "tiers:\n  - name: a\n    min_recovery_days: 99\n")
	ios, _, _, errOut := iostreams.Test()
	code := Run(context.Background(), []string{"audit", "--config", path, "--no-store"}, &Factory{IO: ios})
	if code != ExitUsage || !strings.Contains(errOut.String(), "p.yaml:3:") || !strings.Contains(errOut.String(), "1 to 35") {
		t.Errorf("exit %d stderr %q", code, errOut)
	}
}

func TestHelpHasExamples(t *testing.T) {
	for _, cmd := range []string{"audit", "history"} {
		ios, _, out, _ := iostreams.Test()
		if code := Run(context.Background(), []string{cmd, "--help"}, &Factory{IO: ios}); code != 0 {
			t.Errorf("%s --help: exit %d", cmd, code)
		}
		if !strings.Contains(out.String(), "Examples:") {
			t.Errorf("%s --help has no examples:\n%s", cmd, out)
		}
	}
}

func sampleAudit() *report.Audit {
	days := 35
	return &report.Audit{
		SchemaVersion: 1, GeneratedAt: fixedNow,
		Tables: []report.TableResult{
			{Account: "111111111111", Region: "us-east-1", Name: "orders", Tier: "critical", Owner: "payments", Verdict: model.Compliant,
				PITR: report.PITRResult{Status: "ENABLED", RecoveryPeriodDays: &days}, PITRMonthlyCostUSD: 1.5, Tags: map[string]string{"env": "prod"}},
			{Account: "111111111111", Region: "us-east-1", Name: "sessions", Tier: "critical", Verdict: model.NonCompliant,
				Reasons: []model.Reason{model.ReasonPITRDisabled}, PITR: report.PITRResult{Status: "DISABLED"}, PITRMonthlyCostUSD: 0.25, CostEstimated: true},
		},
		Errors:  []model.ScanError{},
		Summary: policy.Summary{Tables: 2, Compliant: 1, NonCompliant: 1, ComplianceRate: 0.5, CoverageComplete: true, ByTier: map[string]*policy.TierSummary{}},
	}
}

func TestWriteAuditTablePipedIsTSV(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	if err := writeAudit(ios.Out, &Factory{IO: ios}, "table", false, false, sampleAudit()); err != nil {
		t.Fatal(err)
	}
	want := "ACCOUNT\tREGION\tTABLE\tTIER\tPITR\tDAYS\tVERDICT\tREASONS\tOWNER\tPITR$/MO\n" +
		"111111111111\tus-east-1\torders\tcritical\tENABLED\t35\tCOMPLIANT\t-\tpayments\t1.50\n" +
		"111111111111\tus-east-1\tsessions\tcritical\tDISABLED\t-\tNON_COMPLIANT\tpitr_disabled\t-\t0.25~\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestWriteAuditTableTTYIsAligned(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	ios.SetTTY(true)
	if err := writeAudit(ios.Out, &Factory{IO: ios}, "table", false, false, sampleAudit()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || strings.Contains(out.String(), "\t") {
		t.Fatalf("want 3 aligned lines without tabs:\n%s", out)
	}
	col := strings.Index(lines[0], "VERDICT")
	if strings.Index(lines[1], "COMPLIANT") != col || strings.Index(lines[2], "NON_COMPLIANT") != col {
		t.Errorf("VERDICT column not aligned:\n%s", out)
	}
}

func TestWriteAuditCSV(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	if err := writeAudit(ios.Out, &Factory{IO: ios}, "csv", false, false, sampleAudit()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "account,region,name,arn,status,tier,owner,verdict,reasons") {
		t.Fatalf("csv:\n%s", out)
	}
	if !strings.Contains(lines[1], ",orders,") || !strings.HasSuffix(lines[1], ",1.5000,env=prod") {
		t.Errorf("csv row: %s", lines[1])
	}
}

// The exit message counts the account-regions not read, not a failed Cost
// Explorer query nor table-level errors.
func TestCountScopeErrors(t *testing.T) {
	errs := []model.ScanError{
		{Account: "1", Region: "eu-west-1", Code: "AccessDenied", Reason: model.ReasonAccessDenied},
		{Account: "1", Region: "us-east-1", Table: "t", Code: "Throttled", Reason: model.ReasonThrottled},
		{Account: "1", Region: "us-east-1", Code: "AccessDeniedException", Reason: model.ReasonSpendUnreadable},
	}
	if n := countScopeErrors(errs); n != 1 {
		t.Errorf("countScopeErrors = %d, want 1", n)
	}
}
