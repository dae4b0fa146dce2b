package cli

import (
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/pitrguard/pitrguard/internal/iostreams"
)

// runArgv runs a command built with a runF seam and returns the error.
func runArgv(cmd *cobra.Command, argv string) error {
	cmd.SetArgs(strings.Fields(argv))
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &FlagError{Err: err} })
	return cmd.Execute()
}

func testFactory() *Factory {
	ios, _, _, _ := iostreams.Test()
	return &Factory{IO: ios, Now: func() time.Time { return fixedNow }}
}

func TestNewEnableCmdArgv(t *testing.T) {
	dir := t.TempDir()
	plan := filepath.Join(dir, "plan.json")
	cases := []struct {
		name, argv string
		noStore    bool
		wantErr    string // "" = no error; the error must be a usage error (exit 2)
		check      func(t *testing.T, o *EnableOptions)
	}{
		{name: "output", argv: "--output " + plan, check: func(t *testing.T, o *EnableOptions) {
			if o.Output != plan {
				t.Errorf("Output %q", o.Output)
			}
		}},
		{name: "out is a deprecated alias", argv: "--out " + plan, check: func(t *testing.T, o *EnableOptions) {
			if o.Output != plan {
				t.Errorf("Output %q", o.Output)
			}
		}},
		{name: "wait in days", argv: "--wait 2d", check: func(t *testing.T, o *EnableOptions) {
			if o.Wait != 48*time.Hour {
				t.Errorf("Wait %s", o.Wait)
			}
		}},
		{name: "owner", argv: "--owner team-a --tier critical", check: func(t *testing.T, o *EnableOptions) {
			if o.criteria.Owner != "team-a" || !slices.Equal(o.criteria.Tiers, []string{"critical"}) {
				t.Errorf("criteria %+v", o.criteria)
			}
		}},
		{name: "table ARN names account and region", argv: "--table arn:aws:dynamodb:eu-west-1:111111111111:table/orders", check: func(t *testing.T, o *EnableOptions) {
			if !slices.Equal(o.scope.Accounts, []string{"111111111111"}) || !slices.Equal(o.scope.Regions, []string{"eu-west-1"}) ||
				!o.criteria.Only("111111111111", "eu-west-1", "orders") || o.criteria.Only("111111111111", "us-east-1", "orders") {
				t.Errorf("scope %+v", o.scope)
			}
		}},
		{name: "table ARN outside --regions", argv: "--table arn:aws:dynamodb:eu-west-1:111111111111:table/orders --regions us-east-1", wantErr: "can never match"},
		{name: "zero wait", argv: "--wait 0s", wantErr: "is not a duration"},
		{name: "recovery days zero", argv: "--recovery-days 0", wantErr: "between 1 and 35"},
		{name: "format", argv: "--format xml", wantErr: "--format \"xml\" is not supported"},
		{name: "apply without store", argv: "--apply --yes", noStore: true, wantErr: "drop --no-store"},
		{name: "output directory missing", argv: "--output " + filepath.Join(dir, "nope", "plan.json"), wantErr: "does not exist"},
		{name: "bad table", argv: "--table a/b", wantErr: "not a table name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got *EnableOptions
			g := &GlobalOptions{NoStore: c.noStore}
			err := runArgv(newEnableCmdF(testFactory(), g, func(o *EnableOptions) error { got = o; return nil }), c.argv)
			if c.wantErr != "" {
				var fe *FlagError
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || !errors.As(err, &fe) {
					t.Fatalf("err = %v, want a usage error with %q", err, c.wantErr)
				}
				return
			}
			if err != nil || got == nil {
				t.Fatalf("err = %v", err)
			}
			c.check(t, got)
		})
	}
}

func TestNewDrillCmdArgv(t *testing.T) {
	cases := []struct {
		name, argv string
		wantErr    string
		check      func(t *testing.T, o *DrillOptions)
	}{
		{name: "defaults", argv: "--table orders", check: func(t *testing.T, o *DrillOptions) {
			if o.Parallel != 4 || o.Every != 90*24*time.Hour || o.Wait != 6*time.Hour || o.Format != "table" || o.at != nil || !o.explicit() {
				t.Errorf("options %+v", o)
			}
		}},
		{name: "to", argv: "--table orders --to 2026-11-24T10:00:00Z", check: func(t *testing.T, o *DrillOptions) {
			if o.at == nil || !o.at.Equal(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)) {
				t.Errorf("at %v", o.at)
			}
		}},
		{name: "at is a deprecated alias of to", argv: "--table orders --at 2026-11-24T10:00:00Z", check: func(t *testing.T, o *DrillOptions) {
			if o.at == nil || o.To != "2026-11-24T10:00:00Z" {
				t.Errorf("at %v", o.at)
			}
		}},
		{name: "parallel", argv: "--parallel 7", check: func(t *testing.T, o *DrillOptions) {
			if o.Parallel != 7 || o.Target.Concurrency != 16 {
				t.Errorf("parallel %d concurrency %d", o.Parallel, o.Target.Concurrency)
			}
		}},
		{name: "concurrency still means parallel drills (deprecated)", argv: "--concurrency 9", check: func(t *testing.T, o *DrillOptions) {
			if o.Parallel != 9 || o.Target.Concurrency != 16 {
				t.Errorf("parallel %d concurrency %d", o.Parallel, o.Target.Concurrency)
			}
		}},
		{name: "every in weeks, wait", argv: "--due --every 2w --wait 30m", check: func(t *testing.T, o *DrillOptions) {
			if o.Every != 14*24*time.Hour || o.Wait != 30*time.Minute || o.explicit() {
				t.Errorf("every %s wait %s", o.Every, o.Wait)
			}
		}},
		{name: "parallel above AWS's limit", argv: "--parallel 51", wantErr: "between 1 and 50"},
		{name: "parallel zero", argv: "--parallel 0", wantErr: "between 1 and 50"},
		{name: "every", argv: "--every soon", wantErr: "90d"},
		{name: "format", argv: "--format xml", wantErr: "--format \"xml\" is not supported"},
		{name: "negative max", argv: "--max -1", wantErr: "must not be negative"},
		{name: "bad to", argv: "--to yesterday-ish", wantErr: "--to"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got *DrillOptions
			err := runArgv(newDrillCmdF(testFactory(), &GlobalOptions{}, func(o *DrillOptions) error { got = o; return nil }), c.argv)
			if c.wantErr != "" {
				var fe *FlagError
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || !errors.As(err, &fe) {
					t.Fatalf("err = %v, want a usage error with %q", err, c.wantErr)
				}
				return
			}
			if err != nil || got == nil {
				t.Fatalf("err = %v", err)
			}
			c.check(t, got)
		})
	}
}

// TestNewDrillCleanupCmdArgv: `drill cleanup --format xml` is a usage error
// (issue 16 #8: it exited 0).
func TestNewDrillCleanupCmdArgv(t *testing.T) {
	var got *DrillCleanupOptions
	run := func(argv string) error {
		got = nil
		return runArgv(newDrillCleanupCmdF(testFactory(), &GlobalOptions{}, func(o *DrillCleanupOptions) error { got = o; return nil }), argv)
	}
	var fe *FlagError
	if err := run("--format xml"); err == nil || !errors.As(err, &fe) || got != nil {
		t.Errorf("--format xml: %v", err)
	}
	if err := run("--format json --regions eu-west-1 --allow-partial"); err != nil || got == nil || got.Format != "json" ||
		!got.AllowPartial || !slices.Equal(got.scope.Regions, []string{"eu-west-1"}) {
		t.Errorf("json: %v %+v", err, got)
	}
}

// TestIAMPolicyPartitionFlag: an unknown --partition is a usage error, and a
// known one changes the ARNs (issue 16 #5).
func TestIAMPolicyPartitionFlag(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	if code := Run(t.Context(), []string{"iam-policy", "drill", "--partition", "aws-mars"}, &Factory{IO: ios}); code != ExitUsage {
		t.Errorf("unknown partition: exit %d", code)
	}
	ios, _, out, _ = iostreams.Test()
	if code := Run(t.Context(), []string{"iam-policy", "drill", "--partition", "aws-us-gov"}, &Factory{IO: ios}); code != ExitOK ||
		strings.Contains(out.String(), "arn:aws:") || !strings.Contains(out.String(), "arn:aws-us-gov:dynamodb:*:*:table/pitrguard-drill-*") {
		t.Errorf("aws-us-gov: exit %d\n%s", code, out)
	}
	ios, _, out, _ = iostreams.Test()
	if code := Run(t.Context(), []string{"iam-policy", "audit", "--partition", "aws-cn", "--trust-for", "123456789012"}, &Factory{IO: ios}); code != ExitOK ||
		!strings.Contains(out.String(), "arn:aws-cn:iam::123456789012:root") {
		t.Errorf("trust aws-cn: exit %d\n%s", code, out)
	}
}

// TestDeprecatedFlagWarnsOnStderr: an old spelling warns on stderr and never
// on stdout, where it would corrupt --format json output.
func TestDeprecatedFlagWarnsOnStderr(t *testing.T) {
	for _, c := range []struct {
		cmd  func(*Factory) *cobra.Command
		argv string
		want string
	}{
		{func(f *Factory) *cobra.Command {
			return newEnableCmdF(f, &GlobalOptions{}, func(*EnableOptions) error { return nil })
		}, "--out " + filepath.Join(t.TempDir(), "p.json"), "--out has been deprecated, use --output"},
		{func(f *Factory) *cobra.Command {
			return newDrillCmdF(f, &GlobalOptions{}, func(*DrillOptions) error { return nil })
		}, "--at 2026-11-24T10:00:00Z --concurrency 3", "--at has been deprecated, use --to"},
		{func(f *Factory) *cobra.Command {
			return newDrillCmdF(f, &GlobalOptions{}, func(*DrillOptions) error { return nil })
		}, "--concurrency 3", "--concurrency has been deprecated, use --parallel"},
	} {
		ios, _, out, errOut := iostreams.Test()
		f := &Factory{IO: ios, Now: func() time.Time { return fixedNow }}
		cmd := c.cmd(f)
		routeDeprecations(cmd, f.IO.ErrOut) // as Run does for the whole tree
		cmd.SetArgs(strings.Fields(c.argv))
		cmd.SetOut(out) // as the root does
		cmd.SetErr(errOut)
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		if out.Len() != 0 || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("%s: stdout %q stderr %q", c.argv, out, errOut)
		}
		if fl := cmd.Flags().Lookup(strings.Fields(c.argv)[0][2:]); !fl.Hidden {
			t.Errorf("%s is shown in --help", fl.Name)
		}
	}
}

func TestNewIAMPolicyCmdArgv(t *testing.T) {
	cases := []struct {
		argv, wantErr string
		want          IAMPolicyOptions
	}{
		{argv: "drill", want: IAMPolicyOptions{Command: "drill", RoleName: "OrganizationAccountAccessRole", Partition: "aws"}},
		{argv: "audit --partition aws-cn --trust-for 123456789012 --external-id ops-42 --role-name R",
			want: IAMPolicyOptions{Command: "audit", RoleName: "R", Partition: "aws-cn", TrustFor: "123456789012", ExternalID: "ops-42"}},
		{argv: "nuke", wantErr: "unknown command"},
		{argv: "drill --partition aws-mars", wantErr: "--partition"},
		{argv: "audit --trust-for 12", wantErr: "12-digit"},
		{argv: "audit --external-id x", wantErr: "goes with --trust-for"},
	}
	for _, c := range cases {
		var got *IAMPolicyOptions
		err := runArgv(newIAMPolicyCmdF(testFactory(), func(o *IAMPolicyOptions) error { got = o; return nil }), c.argv)
		if c.wantErr != "" {
			var fe *FlagError
			if err == nil || !errors.As(err, &fe) || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: err %v, want a usage error with %q", c.argv, err, c.wantErr)
			}
			continue
		}
		if err != nil || got == nil || *got != c.want {
			t.Errorf("%s: %v %+v", c.argv, err, got)
		}
	}
}
