package iacscan

import (
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pitrguard/pitrguard/internal/iac"
)

var update = flag.Bool("update", false, "rewrite golden files")

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestFixGolden fixes a copy of testdata/fix/in and compares every file with
// testdata/fix/out: comments, order and indentation are kept, only PITR lines
// change, every fixable FAIL passes afterwards, and a second run changes nothing.
func TestFixGolden(t *testing.T) {
	work := t.TempDir()
	copyDir(t, "testdata/fix/in", work)
	t.Chdir(work)
	res, err := Fix([]string{"."}, Options{Now: now}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changes) != 4 {
		t.Errorf("changed %d files, want 4", len(res.Changes))
	}
	// What is left is exactly what needs a person.
	if len(res.Manual) != 1 || !strings.Contains(res.Manual[0], "aws_dynamodb_table.conditional") {
		t.Errorf("manual: %q", res.Manual)
	}
	after := Scan([]string{"."}, Options{Now: now})
	for _, f := range after.Findings {
		if f.Verdict == iac.Fail {
			t.Errorf("still failing after fix: %s %s", f.Resource, f.ReplicaRegion)
		}
	}
	_ = filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		got, _ := os.ReadFile(p)
		golden := filepath.Join(origWd, "testdata/fix/out", p)
		if *update {
			os.MkdirAll(filepath.Dir(golden), 0o755)
			os.WriteFile(golden, got, 0o644)
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Errorf("%s: %v (run with -update)", p, err)
			return nil
		}
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", p, diff)
		}
		return nil
	})
	again, err := Fix([]string{"."}, Options{Now: now}, false)
	if err != nil || len(again.Changes) != 0 {
		t.Errorf("second run changed %d files (%v)", len(again.Changes), err)
	}
}

func TestFixDryRunWritesNothing(t *testing.T) {
	work := t.TempDir()
	copyDir(t, "testdata/fix/in/tf", work)
	before, _ := os.ReadFile(filepath.Join(work, "main.tf"))
	res, err := Fix([]string{work}, Options{Now: now}, true)
	if err != nil || len(res.Changes) != 1 {
		t.Fatalf("dry run: %v %+v", err, res)
	}
	after, _ := os.ReadFile(filepath.Join(work, "main.tf"))
	if string(before) != string(after) {
		t.Error("--dry-run changed the file")
	}
	d := UnifiedDiff("main.tf", res.Changes[0].Before, res.Changes[0].After)
	for _, want := range []string{"--- a/main.tf", "+++ b/main.tf", "-    enabled = false", "+    enabled = true", "+  point_in_time_recovery {"} {
		if !strings.Contains(d, want) {
			t.Errorf("diff lacks %q:\n%s", want, d)
		}
	}
}

var origWd, _ = os.Getwd()

// TestFixEditsTheTFVarsThatDecide: the value comes from terraform.tfvars, so
// that is the file fixed — the variable's default stays as it was.
func TestFixEditsTheTFVarsThatDecide(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.tf"), []byte("variable \"pitr\" {\n  default = true\n}\nresource \"aws_dynamodb_table\" \"t\" {\n  point_in_time_recovery {\n    enabled = var.pitr\n  }\n}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "terraform.tfvars"), []byte("# per environment\npitr = false\nregion = \"eu-west-1\"\n"), 0o644)
	res, err := Fix([]string{dir}, Options{Now: now}, false)
	if err != nil || len(res.Changes) != 1 {
		t.Fatalf("%v %+v", err, res)
	}
	tfvars, _ := os.ReadFile(filepath.Join(dir, "terraform.tfvars"))
	mainTF, _ := os.ReadFile(filepath.Join(dir, "main.tf"))
	if string(tfvars) != "# per environment\npitr = true\nregion = \"eu-west-1\"\n" || !strings.Contains(string(mainTF), "default = true") {
		t.Errorf("tfvars:\n%s\nmain.tf:\n%s", tfvars, mainTF)
	}
}
