package guardrails

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/pitrguard/pitrguard/internal/iac"
	"github.com/pitrguard/pitrguard/internal/iacscan"
)

// planFixtures are the plan fixtures of `iac scan` plus this package's own,
// which add what the scan corpus lacks (windows, nested modules, standalone
// replicas, values known only after apply, data sources).
func planFixtures(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../iacscan/testdata/corpus/plan/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no plan fixtures of iac scan found: %v", err)
	}
	own, _ := filepath.Glob("testdata/plans/*.json")
	return append(files, own...)
}

func evalRego(t *testing.T, input any, minDays int) (map[string]string, []string, []string) {
	t.Helper()
	data := map[string]any{}
	if minDays > 0 {
		data["pitrguard"] = map[string]any{"min_recovery_days": minDays}
	}
	r := rego.New(
		rego.Query("x := data.pitrguard.dynamodb"),
		rego.Module("pitrguard.rego", Rego),
		rego.Input(input),
		rego.Store(inmemStore(data)),
	)
	rs, err := r.Eval(t.Context())
	if err != nil {
		t.Fatalf("evaluate the Rego policy: %v", err)
	}
	if len(rs) != 1 {
		t.Fatalf("want one result, got %d", len(rs))
	}
	doc := rs[0].Bindings["x"].(map[string]any)
	verdicts := map[string]string{}
	for k, v := range doc["findings"].(map[string]any) {
		verdicts[k] = v.([]any)[0].(string)
	}
	return verdicts, sortedStrings(doc["deny"]), sortedStrings(doc["warn"])
}

func sortedStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	sort.Strings(out)
	return out
}

// TestRegoAgreesWithIaCScan evaluates the Rego policy in-process with OPA on
// every plan fixture, with and without a window minimum, and requires the
// verdict of every resource and replica to equal pitrguard's own scanner's.
func TestRegoAgreesWithIaCScan(t *testing.T) {
	total := 0
	for _, file := range planFixtures(t) {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var input any
		if err := json.Unmarshal(src, &input); err != nil {
			t.Fatal(err)
		}
		for _, minDays := range []int{0, 14, 35} {
			t.Run(fmt.Sprintf("%s/min=%d", filepath.Base(file), minDays), func(t *testing.T) {
				// The whole `iac scan` pipeline, as the CLI runs it.
				rep := iacscan.Scan([]string{file}, iacscan.Options{Rules: iac.Options{MinRecoveryDays: minDays}, Now: time.Now()})
				if len(rep.Errors) > 0 {
					t.Fatalf("iac scan errors: %+v", rep.Errors)
				}
				want := map[string]string{}
				fails, unknowns := 0, 0
				for _, f := range rep.Findings {
					want[f.Resource+"|"+f.ReplicaRegion] = string(f.Verdict)
					switch f.Verdict {
					case iac.Fail:
						fails++
					case iac.Unknown:
						unknowns++
					}
				}
				if len(want) == 0 {
					t.Fatal("the scanner found no resource: the fixture tests nothing")
				}
				got, deny, warn := evalRego(t, input, minDays)
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("Rego disagrees with pitrguard iac scan (-scanner +rego):\n%s", d)
				}
				if len(deny) != fails || len(warn) != unknowns {
					t.Errorf("deny has %d messages for %d FAIL, warn %d for %d UNKNOWN:\n%v\n%v", len(deny), fails, len(warn), unknowns, deny, warn)
				}
				total += len(want)
			})
		}
	}
	if total < 40 {
		t.Errorf("compared only %d verdicts; the fixtures lost resources", total)
	}
}

// TestRegoWindowRule pins the window rule's verdicts on the window fixture.
func TestRegoWindowRule(t *testing.T) {
	src, err := os.ReadFile("testdata/plans/window.json")
	if err != nil {
		t.Fatal(err)
	}
	var input any
	_ = json.Unmarshal(src, &input)
	got, deny, _ := evalRego(t, input, 14)
	want := map[string]string{
		"aws_dynamodb_table.week|": "FAIL", "aws_dynamodb_table.full|": "PASS",
		"aws_dynamodb_table.default_window|": "PASS", "aws_dynamodb_table.no_block|": "FAIL",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	wantDeny := []string{
		"aws_dynamodb_table.no_block: point-in-time recovery is not enabled (pitrguard/pitr-enabled)",
		"aws_dynamodb_table.week: recovery period is 7 days, below the minimum of 14 (pitrguard/pitr-enabled)",
	}
	if d := cmp.Diff(wantDeny, deny); d != "" {
		t.Errorf("deny (-want +got):\n%s", d)
	}
}

func inmemStore(data map[string]any) storage.Store { return inmem.NewFromObject(data) }
