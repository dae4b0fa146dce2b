package iacscan

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pitrguard/pitrguard/internal/iac"
)

// snapshot records every file under dir (path → content, mode, mtime) so a
// test can prove nothing was written.
func snapshot(t *testing.T, dirs ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, dir := range dirs {
		_ = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
			if err != nil {
				return nil
			}
			b, _ := os.ReadFile(p)
			if info.IsDir() {
				b = nil
			}
			out[p] = info.Mode().String() + "|" + info.ModTime().Format(time.RFC3339Nano) + "|" + string(b)
			return nil
		})
	}
	return out
}

// TestFixDryRunWithAbsoluteVarFileWritesNothing is issue 9 #3: with an
// absolute --var-file the trial loop edited the real tfvars in place (and
// then failed with "open : no such file or directory"), even under --dry-run.
func TestFixDryRunWithAbsoluteVarFileWritesNothing(t *testing.T) {
	repo, vars := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(repo, "main.tf"), []byte("variable \"pitr\" {\n  type = bool\n}\nresource \"aws_dynamodb_table\" \"t\" {\n  point_in_time_recovery {\n    enabled = var.pitr\n  }\n}\n"), 0o644)
	vf := filepath.Join(vars, "prod.tfvars")
	os.WriteFile(vf, []byte("pitr = false\n"), 0o644)
	before := snapshot(t, repo, vars)
	res, err := Fix([]string{repo}, Options{Now: now, VarFiles: []string{vf}}, true)
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if after := snapshot(t, repo, vars); !equalMaps(before, after) {
		t.Errorf("--dry-run wrote files:\nbefore %v\nafter  %v", before, after)
	}
	// The var file is outside the paths given: its edit is refused, and said so.
	if len(res.Changes) != 0 || len(res.Manual) != 1 || !strings.Contains(res.Manual[0], "not one of the paths given to fix") ||
		!strings.Contains(res.Manual[0], vf) {
		t.Errorf("changes %d, manual %q", len(res.Changes), res.Manual)
	}
	// Without --dry-run the same refusal holds: nothing outside the paths is written.
	if _, err := Fix([]string{repo}, Options{Now: now, VarFiles: []string{vf}}, false); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(vf); string(b) != "pitr = false\n" {
		t.Errorf("fix wrote the var file outside the given paths: %q", b)
	}
	// Given as a path too, the var file is fixed (atomically, through the copy).
	res, err = Fix([]string{repo, vf}, Options{Now: now, VarFiles: []string{vf}}, false)
	if err != nil || len(res.Changes) != 1 {
		t.Fatalf("var file given as a path: %v %+v", err, res)
	}
	if b, _ := os.ReadFile(vf); string(b) != "pitr = true\n" {
		t.Errorf("var file: %q", b)
	}
}

// TestFixNeverWritesThroughSymlinks: a file of the tree that is a link to a
// file outside it is neither read nor edited; the real file stays as it was.
func TestFixNeverWritesThroughSymlinks(t *testing.T) {
	repo, outside := t.TempDir(), t.TempDir()
	target := filepath.Join(outside, "table.tf")
	body := "resource \"aws_dynamodb_table\" \"t\" {\n  name = \"t\"\n}\n"
	os.WriteFile(target, []byte(body), 0o644)
	if err := os.Symlink(target, filepath.Join(repo, "table.tf")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(repo, "main.tf"), []byte("resource \"aws_dynamodb_table\" \"u\" {\n  name = \"u\"\n}\n"), 0o644)
	before := snapshot(t, outside)
	for _, dry := range []bool{true, false} {
		res, err := Fix([]string{repo}, Options{Now: now}, dry)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range res.Changes {
			if !strings.HasPrefix(c.File, mustReal(t, repo)) {
				t.Errorf("dry=%v: changed %s, outside %s", dry, c.File, repo)
			}
		}
		if !hasError(res.Remaining, "outside the scanned tree") {
			t.Errorf("dry=%v: the link is not reported: %+v", dry, res.Remaining.Errors)
		}
	}
	if after := snapshot(t, outside); !equalMaps(before, after) {
		t.Error("fix wrote through a symbolic link")
	}
}

// TestScanDoesNotFollowSymlinksOutOfTheTree is issue 9 #11: evil.yaml ->
// /dev/zero ended in "fatal error: out of memory". Links out of the tree are
// reported and not followed; links inside it are not read twice.
func TestScanDoesNotFollowSymlinksOutOfTheTree(t *testing.T) {
	repo, outside := t.TempDir(), t.TempDir()
	secret := filepath.Join(outside, "t.yaml")
	os.WriteFile(secret, []byte("Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n"), 0o644)
	os.Symlink("/dev/zero", filepath.Join(repo, "evil.yaml"))
	os.Symlink(secret, filepath.Join(repo, "outside.yaml"))
	os.Symlink("/dev/zero", filepath.Join(repo, "zero.tf"))
	os.MkdirAll(filepath.Join(repo, "sub"), 0o755)
	os.WriteFile(filepath.Join(repo, "sub", "in.yaml"), []byte("Resources:\n  In:\n    Type: AWS::DynamoDB::Table\n"), 0o644)
	os.Symlink(filepath.Join(repo, "sub", "in.yaml"), filepath.Join(repo, "inside.yaml"))
	done := make(chan *Report, 1)
	go func() { done <- Scan([]string{repo}, Options{Now: now, Base: repo}) }()
	var r *Report
	select {
	case r = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("scan did not end")
	}
	for _, f := range []string{"evil.yaml", "outside.yaml", "zero.tf"} {
		if !hasFileError(r, f, "outside the scanned tree; not followed") {
			t.Errorf("%s: not reported as a link out of the tree: %+v", f, r.Errors)
		}
	}
	if len(r.Findings) != 1 || r.Findings[0].Resource != "In" || r.Findings[0].File != "sub/in.yaml" {
		t.Errorf("findings: %+v", r.Findings)
	}
}

// TestScanCapsFileSize: a file over the cap is refused with a clear message
// (never read whole); the cap is configurable.
func TestScanCapsFileSize(t *testing.T) {
	repo := t.TempDir()
	big := "Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n" + "# " + strings.Repeat("x", 4096) + "\n"
	os.WriteFile(filepath.Join(repo, "big.yaml"), []byte(big), 0o644)
	os.WriteFile(filepath.Join(repo, "main.tf"), []byte("resource \"aws_dynamodb_table\" \"t\" {\n  name = \""+strings.Repeat("y", 4096)+"\"\n}\n"), 0o644)
	r := Scan([]string{repo}, Options{Now: now, Base: repo, MaxFileBytes: 1024})
	for _, f := range []string{"big.yaml", "main.tf"} {
		if !hasFileError(r, f, "larger than the 1KB limit") {
			t.Errorf("%s: %+v", f, r.Errors)
		}
	}
	if len(r.Findings) != 0 {
		t.Errorf("an oversized file was scanned: %+v", r.Findings)
	}
	if r := Scan([]string{repo}, Options{Now: now, Base: repo}); len(r.Errors) != 0 || len(r.Findings) != 2 {
		t.Errorf("default cap: errors %+v findings %d", r.Errors, len(r.Findings))
	}
}

// TestScanRefusesFIFOs is issue 16 #2: a FIFO named main.tf in a scanned tree,
// or given as --var-file, blocked forever. Only regular files are read.
func TestScanRefusesFIFOs(t *testing.T) {
	repo := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(repo, "main.tf"), 0o644); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	fifo := filepath.Join(t.TempDir(), "vars.tfvars")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	os.WriteFile(filepath.Join(repo, "t.yaml"), []byte("Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n"), 0o644)
	os.Symlink("/dev/urandom", filepath.Join(repo, "random.tfvars"))
	done := make(chan *Report, 1)
	go func() { done <- Scan([]string{repo}, Options{Now: now, Base: repo, VarFiles: []string{fifo}}) }()
	var r *Report
	select {
	case r = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("scan blocked on a FIFO")
	}
	if !hasFileError(r, "main.tf", "not a regular file (a FIFO)") || !hasError(r, "var file: not a regular file (a FIFO)") {
		t.Errorf("errors: %+v", r.Errors)
	}
	if len(r.Findings) != 1 {
		t.Errorf("the other files must still be scanned: %+v", r.Findings)
	}
	if _, err := iac.ReadFile("/dev/urandom", iac.Limits{}); err == nil || !strings.Contains(err.Error(), "character device") {
		t.Errorf("/dev/urandom: %v", err)
	}
}

// TestScanStopsWhenCancelled: a cancelled scan returns at once and says so.
func TestScanStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := ScanContext(ctx, []string{"testdata/corpus"}, Options{Now: now})
	if !r.Interrupted || len(r.Findings) != 0 {
		t.Errorf("interrupted %v, %d findings", r.Interrupted, len(r.Findings))
	}
}

func hasFileError(r *Report, file, msg string) bool {
	for _, e := range r.Errors {
		if e.File == file && strings.Contains(e.Message, msg) {
			return true
		}
	}
	return false
}

func hasError(r *Report, msg string) bool {
	for _, e := range r.Errors {
		if strings.Contains(e.Message, msg) {
			return true
		}
	}
	return false
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func mustReal(t *testing.T, p string) string {
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
