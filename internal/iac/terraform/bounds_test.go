package terraform

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pitrguard/pitrguard/internal/iac"
)

// TestHostileConfigurationsStayBounded: an untrusted configuration cannot
// make the scan allocate or loop without bound; what is not expanded is
// UNKNOWN, never a guess.
func TestHostileConfigurationsStayBounded(t *testing.T) {
	for name, src := range map[string]string{
		"count":    "resource \"aws_dynamodb_table\" \"t\" {\n  count = 100000000\n}\n",
		"for_each": "resource \"aws_dynamodb_table\" \"t\" {\n  for_each = toset([for p in setproduct(range(1000), range(1000)) : join(\"-\", p)])\n}\n",
		"format":   "resource \"aws_dynamodb_table\" \"t\" {\n  name = format(\"%0999999999d\", 1)\n  point_in_time_recovery {\n    enabled = length(format(\"%.999999999f\", 1)) > 0\n  }\n}\n",
		"module":   "module \"m\" {\n  source = \"./m\"\n  count  = 100000000\n}\n",
		"dynamic":  "resource \"aws_dynamodb_table\" \"t\" {\n  dynamic \"replica\" {\n    for_each = range(0, 1000000, 1)\n    content {}\n  }\n}\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "main.tf"), []byte(src), 0o644)
			os.MkdirAll(filepath.Join(dir, "m"), 0o755)
			os.WriteFile(filepath.Join(dir, "m", "main.tf"), []byte("resource \"aws_dynamodb_table\" \"x\" {}\n"), 0o644)
			done := make(chan []iac.Finding, 1)
			go func() { fs, _ := Scan(dir, Options{Now: time.Unix(0, 0)}); done <- fs }()
			select {
			case fs := <-done:
				if len(fs) == 0 || len(fs) > 10 {
					t.Fatalf("%d findings", len(fs))
				}
				for _, f := range fs {
					if f.Verdict == iac.Pass {
						t.Errorf("%s: PASS from a value that was not computed: %v", f.Resource, f.Reasons)
					}
					if f.Verdict == iac.Unknown && len(f.Reasons) == 0 {
						t.Errorf("%s: no reason", f.Resource)
					}
				}
			case <-time.After(20 * time.Second):
				t.Fatal("scan did not end")
			}
		})
	}
}
