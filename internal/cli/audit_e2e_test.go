package cli

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/testaws"
)

var update = flag.Bool("update", false, "rewrite golden files")

const mgmt = testaws.ManagementAccount

// seedSmallOrg creates the estate of the golden test: the management account
// and two members (entered through assume-role), in two regions.
func seedSmallOrg(t *testing.T, e *env) {
	prod := map[string]string{"env": "prod", "owner": "payments"}
	e.tables(t, mgmt, "us-east-1",
		testaws.TableSpec{Name: "orders", Tags: prod, PITR: true, RecoveryDays: 35},
		testaws.TableSpec{Name: "payments", Tags: prod, PITR: true, RecoveryDays: 7},
		testaws.TableSpec{Name: "sessions", Tags: map[string]string{"env": "prod"}},
		testaws.TableSpec{Name: "tmp-import"},
		testaws.TableSpec{Name: "scratch-1", Tags: map[string]string{"team": "data"}},
		testaws.TableSpec{Name: "legacy-audit"},
	)
	e.tables(t, e.members[0], "us-east-1",
		testaws.TableSpec{Name: "inventory", Tags: map[string]string{"team": "warehouse"}, PITR: true, DeletionProtection: true})
	e.tables(t, e.members[0], "eu-west-1",
		testaws.TableSpec{Name: "users", Tags: map[string]string{"tier": "business-critical"}, PITR: true, RecoveryDays: 14},
		testaws.TableSpec{Name: "events", Tags: map[string]string{"tier": "business-critical", "owner": "analytics"}, PITR: true, RecoveryDays: 7})
	e.tables(t, e.members[1], "eu-west-1",
		testaws.TableSpec{Name: "catalog", PITR: true, RecoveryDays: 1})
}

// normalise replaces random member account ids and moto's wall-clock
// timestamps so the JSON can be compared with a golden file.
func normalise(t *testing.T, raw string, members []string) []byte {
	t.Helper()
	for i, id := range members {
		raw = strings.ReplaceAll(raw, id, fmt.Sprintf("MEMBER%d", i+1))
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		t.Fatal(err)
	}
	tables := doc["tables"].([]any)
	for _, x := range tables {
		p := x.(map[string]any)["pitr"].(map[string]any)
		for _, k := range []string{"earliest_restorable", "latest_restorable"} {
			if p[k] != nil {
				p[k] = "<moto time>"
			}
		}
		if m := x.(map[string]any); m["rpo_exposure_hours"] != nil {
			m["rpo_exposure_hours"] = "<since moto time>"
		}
	}
	key := func(x any) string {
		m := x.(map[string]any)
		return fmt.Sprint(m["account"], "/", m["region"], "/", m["name"], "/", m["table"], "/", m["code"])
	}
	sort.SliceStable(tables, func(i, j int) bool { return key(tables[i]) < key(tables[j]) })
	errs := doc["errors"].([]any)
	sort.SliceStable(errs, func(i, j int) bool { return key(errs[i]) < key(errs[j]) })
	run := doc["run"].(map[string]any)
	delete(run, "duration_seconds")
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	_ = enc.Encode(doc)
	return buf.Bytes()
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

// TestAuditOrgGolden is the acceptance command: an organization with
// member accounts entered through assume-role, two regions, the policy file,
// JSON output.
func TestAuditOrgGolden(t *testing.T) {
	e := newEnv(t, 2)
	seedSmallOrg(t, e)
	r := e.run(t, "audit", "--org", "--regions", "us-east-1,eu-west-1", "--config", "testdata/policy.yaml", "--format", "json")
	if r.code != ExitOK {
		t.Fatalf("exit %d\n%s", r.code, r.errOut)
	}
	a := r.audit(t)
	// Output order is by account, region, name on the real ids.
	for i := 1; i < len(a.Tables); i++ {
		p, c := a.Tables[i-1], a.Tables[i]
		if p.Account+"\x00"+p.Region+"\x00"+p.Name >= c.Account+"\x00"+c.Region+"\x00"+c.Name {
			t.Errorf("tables not sorted: %s/%s/%s before %s/%s/%s", p.Account, p.Region, p.Name, c.Account, c.Region, c.Name)
		}
	}
	want := map[string]model.Verdict{
		mgmt + "/us-east-1/orders": model.Compliant, mgmt + "/us-east-1/payments": model.NonCompliant,
		mgmt + "/us-east-1/sessions": model.NonCompliant, mgmt + "/us-east-1/tmp-import": model.Compliant,
		mgmt + "/us-east-1/scratch-1": model.Exempt, mgmt + "/us-east-1/legacy-audit": model.NonCompliant,
		e.members[0] + "/us-east-1/inventory": model.Compliant, e.members[0] + "/eu-west-1/users": model.Compliant,
		e.members[0] + "/eu-west-1/events": model.NonCompliant, e.members[1] + "/eu-west-1/catalog": model.Compliant,
	}
	got := map[string]model.Verdict{}
	for _, tr := range a.Tables {
		got[tr.Account+"/"+tr.Region+"/"+tr.Name] = tr.Verdict
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("verdicts (-want +got):\n%s", diff)
	}
	s := a.Summary
	if s.Tables != 10 || s.Compliant != 5 || s.NonCompliant != 4 || s.Exempt != 1 || !s.CoverageComplete || s.SnapshotGapTables != 1 {
		t.Errorf("summary: %+v", s)
	}
	if s.ComplianceRate != 5.0/9 {
		t.Errorf("compliance_rate = %v, want 5/9", s.ComplianceRate)
	}
	golden(t, "audit_org.golden.json", normalise(t, r.out, e.members))

	// The run is in the history with its KPIs.
	h := e.run(t, "history", "--format", "json")
	var hist struct {
		Runs []struct {
			Kind, Status string
			Summary      map[string]any
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(h.out), &hist); err != nil || len(hist.Runs) != 1 {
		t.Fatalf("history: %v %s", err, h.out)
	}
	if hist.Runs[0].Kind != "audit" || hist.Runs[0].Status != "completed" || hist.Runs[0].Summary["tables"] != 10.0 {
		t.Errorf("history run: %+v", hist.Runs[0])
	}
}

// TestAuditPaginationAndAllRegions audits more than 100 tables in one
// account-region (ListTables pages of 100) and resolves --regions all through
// EC2 DescribeRegions.
func TestAuditPaginationAndAllRegions(t *testing.T) {
	e := newEnv(t, 1)
	var specs []testaws.TableSpec
	for i := range 130 {
		specs = append(specs, testaws.TableSpec{Name: fmt.Sprintf("bulk-%03d", i), PITR: i%2 == 0,
			Tags: map[string]string{"owner": fmt.Sprintf("team-%d", i%3)}})
	}
	e.tables(t, e.members[0], "us-east-1", specs...)
	e.tables(t, mgmt, "ap-southeast-2", testaws.TableSpec{Name: "far-away", PITR: true})

	r := e.run(t, "audit", "--org", "--format", "json", "--concurrency", "32")
	if r.code != ExitOK {
		t.Fatalf("exit %d\n%s", r.code, r.errOut)
	}
	a := r.audit(t)
	if a.Summary.Tables != 131 || a.Summary.Compliant != 66 || a.Summary.NonCompliant != 65 {
		t.Errorf("summary: %+v", a.Summary)
	}
	if tr := findTable(t, a, e.members[0], "us-east-1", "bulk-129"); tr.Owner != "team-0" || tr.Verdict != model.NonCompliant {
		t.Errorf("bulk-129 (second page): %+v", tr)
	}
	findTable(t, a, mgmt, "ap-southeast-2", "far-away")
	if got := e.proxy.Count("ListTables"); got < 2 {
		t.Errorf("ListTables calls = %d, want paging", got)
	}
	// Two accounts × every commercial region moto reports (no cn-/us-gov-).
	for _, c := range e.proxy.Calls() {
		if c.Op == "ListTables" && (strings.HasPrefix(c.Region, "cn-") || strings.HasPrefix(c.Region, "us-gov-")) {
			t.Errorf("scanned %s, which is in another partition", c.Region)
		}
	}
	// Calls per table: one DescribeTable + one DescribeContinuousBackups;
	// tags in bulk (no ListTagsOfResource).
	if n := e.proxy.Count("DescribeContinuousBackups"); n != 131 {
		t.Errorf("DescribeContinuousBackups = %d, want 131", n)
	}
	if n := e.proxy.Count("ListTagsOfResource"); n != 0 {
		t.Errorf("ListTagsOfResource = %d, want 0 (tags come from the tagging API)", n)
	}
}
