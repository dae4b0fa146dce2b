package iacscan

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pitrguard/pitrguard/internal/iac"
)

var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// TestCorpus scans a corpus with every edge case of the peer comparison
// (../shared/reference/iac-scanners.md §2) plus pitrguard's own, and compares
// each resource's and replica's verdict with the expected one.
func TestCorpus(t *testing.T) {
	t.Chdir("testdata")
	r := Scan([]string{"corpus"}, Options{Now: now, Base: mustWd(t)})
	got := map[string]string{}
	for _, f := range r.Findings {
		got[strings.TrimPrefix(f.File, "corpus/")+"|"+f.Resource+"|"+f.ReplicaRegion] = string(f.Verdict)
	}
	want := map[string]string{}
	fh, err := os.Open("corpus.expected")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		line := sc.Text()
		i := strings.LastIndex(line, " ")
		want[line[:i]] = line[i+1:]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("verdicts (-want +got):\n%s", diff)
	}
	// Unparsable files are reported with file and line; the rest is still scanned.
	if len(r.Errors) != 2 || r.Errors[0].File != "corpus/broken/bad.tf" || r.Errors[0].Line != 2 || r.Errors[1].Line != 5 {
		t.Errorf("errors: %+v", r.Errors)
	}
	for _, f := range r.Findings {
		if strings.Contains(f.Resource, "dax") || strings.Contains(f.Resource, "global_table.") || f.Resource == "Dax" {
			t.Errorf("reported %s, which has no PITR setting", f.Resource)
		}
		if f.Verdict == iac.Unknown && len(f.Reasons) == 0 {
			t.Errorf("%s: UNKNOWN without the deciding input", f.Resource)
		}
	}
	if r.Summary.Fail == 0 || r.Summary.Pass == 0 || r.Summary.Conditional != 4 {
		t.Errorf("summary %+v", r.Summary)
	}
}

func TestWindowRule(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(dir+"/main.tf", []byte(`resource "aws_dynamodb_table" "t" {
  point_in_time_recovery {
    enabled                 = true
    recovery_period_in_days = 7
  }
}
`), 0o644)
	r := Scan([]string{dir}, Options{Now: now, Rules: iac.Options{MinRecoveryDays: 14}})
	if len(r.Findings) != 1 || r.Findings[0].Verdict != iac.Fail || r.Findings[0].Rule != iac.RuleWindow {
		t.Fatalf("findings %+v", r.Findings)
	}
	if r := Scan([]string{dir}, Options{Now: now}); r.Findings[0].Verdict != iac.Pass {
		t.Errorf("without the rule: %+v", r.Findings[0])
	}
}

func mustWd(t *testing.T) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}
