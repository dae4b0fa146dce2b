package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pitrguard/pitrguard/internal/iacscan"
	"github.com/pitrguard/pitrguard/internal/iostreams"
)

func runIAC(t *testing.T, args ...string) result {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	code := Run(context.Background(), args, &Factory{IO: ios, Now: func() time.Time { return fixedNow }})
	return result{code: code, out: out.String(), errOut: errOut.String()}
}

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestIACScanExitCodesAndFormats(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"main.tf":       "variable \"on\" {\n  type = bool\n}\nresource \"aws_dynamodb_table\" \"t\" {\n  point_in_time_recovery {\n    enabled = var.on\n  }\n}\n",
		"template.yaml": "Parameters:\n  P: {Type: String}\nResources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      PointInTimeRecoverySpecification:\n        PointInTimeRecoveryEnabled: !Ref P\n",
	})
	t.Chdir(dir)
	// CONDITIONAL (Terraform bool input) and UNKNOWN (parameter without a Default): exit 0, 3 with --fail-on unknown.
	r := runIAC(t, "iac", "scan", ".", "--format", "json")
	var rep iacscan.Report
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil || r.code != ExitOK {
		t.Fatalf("exit %d %v\n%s", r.code, err, r.errOut)
	}
	if rep.Summary.Conditional != 1 || rep.Summary.Unknown != 1 || rep.SchemaVersion != 1 {
		t.Errorf("summary %+v", rep.Summary)
	}
	if r := runIAC(t, "iac", "scan", ".", "--fail-on", "unknown"); r.code != ExitFindings {
		t.Errorf("--fail-on unknown: exit %d", r.code)
	}
	// Inputs decide: --var and --param make them FAIL → exit 3.
	r = runIAC(t, "iac", "scan", ".", "--var", "on=false", "--param", "P=false", "--format", "json")
	json.Unmarshal([]byte(r.out), &rep)
	if r.code != ExitFindings || rep.Summary.Fail != 2 {
		t.Errorf("with inputs: exit %d summary %+v", r.code, rep.Summary)
	}
	r = runIAC(t, "iac", "scan", ".", "--var", "on=true", "--param", "P=true")
	if r.code != ExitOK || !strings.Contains(r.out, "PASS") {
		t.Errorf("passing inputs: exit %d\n%s", r.code, r.out)
	}
	// SARIF and JUnit to a file.
	for _, f := range []string{"sarif", "junit"} {
		out := filepath.Join(dir, "report."+f)
		if r := runIAC(t, "iac", "scan", ".", "--format", f, "--output", out); r.code != ExitOK {
			t.Errorf("%s: exit %d %s", f, r.code, r.errOut)
		}
		if b, err := os.ReadFile(out); err != nil || len(b) == 0 {
			t.Errorf("%s file: %v", f, err)
		}
	}
	// Unparsable input: exit 2 with file:line; the other files are still reported.
	os.WriteFile(filepath.Join(dir, "broken.tf"), []byte("resource \"x\" {\n  a = \n}\n"), 0o644)
	r = runIAC(t, "iac", "scan", ".", "--format", "json")
	json.Unmarshal([]byte(r.out), &rep)
	if r.code != ExitUsage || !strings.Contains(r.errOut, "broken.tf:2") || len(rep.Findings) != 2 {
		t.Errorf("broken: exit %d findings %d\n%s", r.code, len(rep.Findings), r.errOut)
	}
	// Usage errors.
	for _, args := range [][]string{{"iac", "scan"}, {"iac", "scan", ".", "--format", "xml"}, {"iac", "scan", ".", "--var", "novalue"},
		{"iac", "scan", ".", "--min-recovery-days", "40"}} {
		if r := runIAC(t, args...); r.code != ExitUsage {
			t.Errorf("%v: exit %d", args, r.code)
		}
	}
}

func TestIACFixThroughCLI(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"main.tf": "resource \"aws_dynamodb_table\" \"t\" {\n  name = \"t\" # keep\n}\n",
	})
	t.Chdir(dir)
	r := runIAC(t, "iac", "fix", ".", "--dry-run")
	if r.code != ExitOK || !strings.Contains(r.out, "+  point_in_time_recovery {") || !strings.Contains(r.errOut, "Would change 1 file") {
		t.Fatalf("dry run: exit %d\n%s\n%s", r.code, r.out, r.errOut)
	}
	if b, _ := os.ReadFile("main.tf"); strings.Contains(string(b), "point_in_time_recovery") {
		t.Fatal("--dry-run wrote the file")
	}
	if r := runIAC(t, "iac", "fix", "."); r.code != ExitOK {
		t.Fatalf("fix: exit %d %s", r.code, r.errOut)
	}
	b, _ := os.ReadFile("main.tf")
	if want := "resource \"aws_dynamodb_table\" \"t\" {\n  name = \"t\" # keep\n  point_in_time_recovery {\n    enabled = true\n  }\n}\n"; string(b) != want {
		t.Errorf("fixed file:\n%s", b)
	}
	if r := runIAC(t, "iac", "scan", "."); r.code != ExitOK {
		t.Errorf("scan after fix: exit %d", r.code)
	}
}
