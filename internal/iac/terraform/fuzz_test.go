package terraform

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzScan: any .tf content is scanned or reported as a parse error —
// never a panic or a hang — and proposed edits apply without panicking.
func FuzzScan(f *testing.F) {
	for _, s := range []string{
		"resource \"aws_dynamodb_table\" \"t\" {\n  point_in_time_recovery {\n    enabled = var.x\n  }\n}\nvariable \"x\" { type = bool }\n",
		"resource \"aws_dynamodb_table\" \"t\" {\n  count = 2\n  dynamic \"replica\" {\n    for_each = [\"a\", \"b\"]\n    content {\n      region_name = replica.value\n    }\n  }\n}\n",
		"locals {\n  a = local.b\n  b = local.a\n}\nresource \"aws_dynamodb_table\" \"t\" {\n  point_in_time_recovery {\n    enabled = local.a\n  }\n}\n",
		"module \"m\" {\n  source = \"./\"\n}\n",
		"resource \"aws_dynamodb_table\" \"t\" {\n  for_each = toset([\"a\"])\n  point_in_time_recovery {}\n}\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		fs, _ := Scan(dir, Options{Now: time.Unix(0, 0)})
		for _, x := range fs {
			if x.Fix != nil && x.Fix.Edit != nil {
				_, _ = x.Fix.Edit([]byte(src))
			}
		}
	})
}
