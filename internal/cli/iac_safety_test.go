package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pitrguard/pitrguard/internal/iacscan"
	"github.com/pitrguard/pitrguard/internal/iostreams"
)

const tmpTableTF = "resource \"aws_dynamodb_table\" \"tmp\" {\n  name = \"tmp-orders\"\n}\n"

const ephemeralPolicy = "tiers:\n  - name: ephemeral\n    match: { names: [\"tmp-*\"] }\n    require_pitr: false\ndefault_tier: standard\n"

// TestIACScanUsesThePolicy: a tmp-* table the audit calls COMPLIANT
// (ephemeral tier) passes iac scan with the same policy file — given with
// --config or found as ./pitrguard.yaml — and fails under the built-in
// defaults, as in the audit (issue 9, "One evaluator").
func TestIACScanUsesThePolicy(t *testing.T) {
	dir := writeTree(t, map[string]string{"infra/main.tf": tmpTableTF, "policy.yaml": ephemeralPolicy})
	t.Chdir(dir)
	var rep iacscan.Report
	r := runIAC(t, "iac", "scan", "infra", "--config", "policy.yaml", "--format", "json")
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil || r.code != ExitOK {
		t.Fatalf("exit %d %v\n%s", r.code, err, r.errOut)
	}
	if len(rep.Findings) != 1 || rep.Findings[0].Verdict != "PASS" || rep.Findings[0].Tier != "ephemeral" {
		t.Errorf("with the policy: %+v", rep.Findings)
	}
	if r := runIAC(t, "iac", "scan", "infra"); r.code != ExitFindings || !strings.Contains(r.out, "standard") {
		t.Errorf("built-in defaults: exit %d\n%s", r.code, r.out)
	}
	os.WriteFile("pitrguard.yaml", []byte(ephemeralPolicy), 0o644)
	if r := runIAC(t, "iac", "scan", "infra"); r.code != ExitOK {
		t.Errorf("./pitrguard.yaml: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	// --tier selects; a tier that does not exist is a usage error, an empty one exit 5.
	if r := runIAC(t, "iac", "scan", "infra", "--tier", "ephemeral", "--format", "json"); r.code != ExitOK || !strings.Contains(r.out, "tmp-orders") && !strings.Contains(r.out, "aws_dynamodb_table.tmp") {
		t.Errorf("--tier ephemeral: exit %d\n%s", r.code, r.out)
	}
	if r := runIAC(t, "iac", "scan", "infra", "--tier", "nope"); r.code != ExitUsage || !strings.Contains(r.errOut, "not a tier") {
		t.Errorf("--tier nope: exit %d %s", r.code, r.errOut)
	}
	if r := runIAC(t, "iac", "scan", "infra", "--tier", "standard"); r.code != ExitNoMatch || !strings.Contains(r.errOut, `no table or replica is in tier "standard"`) {
		t.Errorf("--tier standard: exit %d %s", r.code, r.errOut)
	}
}

// TestIACScanNoIaCFile is issue 16 #8: a directory without an IaC file says
// so and exits 5.
func TestIACScanNoIaCFile(t *testing.T) {
	dir := writeTree(t, map[string]string{"README.md": "# hi\n", "ci/workflow.yaml": "on: push\njobs: {}\n"})
	r := runIAC(t, "iac", "scan", dir)
	if r.code != ExitNoMatch || !strings.Contains(r.errOut, "no Terraform, CloudFormation") || !strings.Contains(r.errOut, "nothing to scan") {
		t.Errorf("exit %d\n%s", r.code, r.errOut)
	}
	if r := runIAC(t, "iac", "fix", dir, "--dry-run"); r.code != ExitNoMatch {
		t.Errorf("fix: exit %d %s", r.code, r.errOut)
	}
}

// TestIACScanVocabulary: --format table (text is a deprecated alias that
// warns), --fail-on values of docs/conventions.md, --output checked before
// any work, and no AWS or history flag.
func TestIACScanVocabulary(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"off.tf":    "resource \"aws_dynamodb_table\" \"off\" {\n  name = \"off\"\n}\n",
		"toggle.tf": "variable \"on\" {\n  type = bool\n}\nresource \"aws_dynamodb_table\" \"t\" {\n  name = \"t\"\n  point_in_time_recovery {\n    enabled = var.on\n  }\n}\n",
	})
	t.Chdir(dir)
	r := runIAC(t, "iac", "scan", ".", "--format", "text")
	if r.code != ExitFindings || !strings.Contains(r.errOut, "--format text is deprecated; use --format table") || !strings.Contains(r.out, "VERDICT") {
		t.Errorf("text: exit %d\n%s\n%s", r.code, r.out, r.errOut)
	}
	if r := runIAC(t, "iac", "scan", ".", "--format", "table"); r.code != ExitFindings || strings.Contains(r.errOut, "deprecated") {
		t.Errorf("table: exit %d %s", r.code, r.errOut)
	}
	os.Remove("off.tf")
	for _, tc := range []struct {
		failOn string
		want   int
	}{{"", ExitOK}, {"non-compliant", ExitOK}, {"fail", ExitOK}, {"conditional", ExitFindings}, {"unknown", ExitFindings}, {"non-compliant,conditional", ExitFindings}, {"bogus", ExitUsage}} {
		args := []string{"iac", "scan", "."}
		if tc.failOn != "" {
			args = append(args, "--fail-on", tc.failOn)
		}
		if r := runIAC(t, args...); r.code != tc.want {
			t.Errorf("--fail-on %q: exit %d, want %d (%s)", tc.failOn, r.code, tc.want, r.errOut)
		}
	}
	if r := runIAC(t, "iac", "scan", ".", "--var", "on=false", "--fail-on", "fail"); r.code != ExitFindings {
		t.Errorf("--fail-on fail with a FAIL: exit %d", r.code)
	}
	if r := runIAC(t, "iac", "scan", ".", "--output", filepath.Join(dir, "missing", "r.json")); r.code != ExitUsage || !strings.Contains(r.errOut, "does not exist") {
		t.Errorf("--output in a missing directory: exit %d %s", r.code, r.errOut)
	}
	for _, fl := range [][]string{{"--profile", "x"}, {"--db", "x.db"}, {"--endpoint-url", "http://x"}, {"--no-store"}} {
		if r := runIAC(t, append([]string{"iac", "scan", "."}, fl...)...); r.code != ExitUsage || !strings.Contains(r.errOut, "unknown flag") {
			t.Errorf("%v: exit %d %s", fl, r.code, r.errOut)
		}
	}
	help := runIAC(t, "iac", "scan", "--help")
	for _, hidden := range []string{"--profile", "--db ", "--endpoint-url", "--no-store", "--max-attempts"} {
		if strings.Contains(help.out, hidden) {
			t.Errorf("iac scan --help shows %s", hidden)
		}
	}
	if !strings.Contains(help.out, "--max-file-size") || !strings.Contains(help.out, "--fail-on") {
		t.Errorf("help:\n%s", help.out)
	}
	if r := runIAC(t, "iac", "scan", ".", "--max-file-size", "0"); r.code != ExitUsage {
		t.Errorf("--max-file-size 0: exit %d", r.code)
	}
}

// TestIACScanSpecialFiles is issue 16 #2: a FIFO or a device as --var-file,
// or a FIFO named main.tf in the tree, is refused at once with a clear
// message (it blocked forever, or grew without bound).
func TestIACScanSpecialFiles(t *testing.T) {
	dir := writeTree(t, map[string]string{"t.yaml": "Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n"})
	fifo := filepath.Join(t.TempDir(), "vars.tfvars")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, vf := range []string{fifo, "/dev/urandom"} {
		start := time.Now()
		r := runIAC(t, "iac", "scan", dir, "--var-file", vf)
		if r.code != ExitUsage || !strings.Contains(r.errOut, "not a regular file") || time.Since(start) > 10*time.Second {
			t.Errorf("--var-file %s: exit %d after %s\n%s", vf, r.code, time.Since(start), r.errOut)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "main.tf"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runIAC(t, "iac", "scan", dir, "--format", "json")
	var rep iacscan.Report
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil || r.code != ExitUsage || !strings.Contains(r.errOut, "main.tf:0: not a regular file (a FIFO)") || len(rep.Findings) != 1 {
		t.Errorf("FIFO in the tree: exit %d %v\n%s", r.code, err, r.errOut)
	}
}

// TestIACScanInterrupted: a cancelled run (the first SIGTERM or Ctrl-C
// cancels the context) ends with exit 130 and says so.
func TestIACScanInterrupted(t *testing.T) {
	dir := writeTree(t, map[string]string{"main.tf": tmpTableTF})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ios, _, out, errOut := iostreams.Test()
	code := Run(ctx, []string{"iac", "scan", dir}, &Factory{IO: ios, Now: func() time.Time { return fixedNow }})
	if code != ExitInterrupted || !strings.Contains(errOut.String(), "interrupted") || out.Len() != 0 {
		t.Errorf("exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestIACFixDryRunAbsoluteVarFile is issue 9 #3 through the command line.
func TestIACFixDryRunAbsoluteVarFile(t *testing.T) {
	dir := writeTree(t, map[string]string{"main.tf": "variable \"pitr\" {\n  type = bool\n}\nresource \"aws_dynamodb_table\" \"t\" {\n  name = \"t\"\n  point_in_time_recovery {\n    enabled = var.pitr\n  }\n}\n"})
	vf := filepath.Join(t.TempDir(), "prod.tfvars")
	os.WriteFile(vf, []byte("pitr = false\n"), 0o644)
	st, _ := os.Stat(vf)
	r := runIAC(t, "iac", "fix", dir, "--var-file", vf, "--dry-run")
	if r.code != ExitOK || !strings.Contains(r.errOut, "not one of the paths given to fix") {
		t.Errorf("exit %d\n%s", r.code, r.errOut)
	}
	if b, _ := os.ReadFile(vf); string(b) != "pitr = false\n" {
		t.Errorf("--dry-run wrote the var file: %q", b)
	}
	if st2, _ := os.Stat(vf); !st2.ModTime().Equal(st.ModTime()) {
		t.Error("--dry-run touched the var file")
	}
}
