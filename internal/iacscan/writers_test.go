package iacscan

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/pitrguard/pitrguard/internal/iac"
)

// TestSARIF checks the structure GitHub code scanning requires of SARIF
// 2.1.0 uploads: version and $schema, a driver with rules whose ids the
// results reference (with a valid ruleIndex), a physical location with a
// relative URI and a line ≥ 1 on every result, and stable fingerprints.
func TestSARIF(t *testing.T) {
	t.Chdir("testdata")
	r := Scan([]string{"corpus"}, Options{Now: now, Base: mustWd(t)})
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, "test", r); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Schema  string `json:"$schema"`
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string `json:"name"`
					Rules []struct {
						ID               string            `json:"id"`
						ShortDescription map[string]string `json:"shortDescription"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string            `json:"ruleId"`
				RuleIndex int               `json:"ruleIndex"`
				Level     string            `json:"level"`
				Message   map[string]string `json:"message"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
				PartialFingerprints map[string]string `json:"partialFingerprints"`
				Suppressions        []map[string]any  `json:"suppressions"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != "2.1.0" || !strings.Contains(doc.Schema, "sarif-2.1.0") || len(doc.Runs) != 1 || doc.Runs[0].Tool.Driver.Name != "pitrguard" {
		t.Fatalf("envelope: %+v", doc)
	}
	rules := doc.Runs[0].Tool.Driver.Rules
	fps := map[string]bool{}
	suppressed := 0
	for _, res := range doc.Runs[0].Results {
		if res.RuleIndex < 0 || res.RuleIndex >= len(rules) || rules[res.RuleIndex].ID != res.RuleID {
			t.Errorf("ruleIndex %d does not point at %s", res.RuleIndex, res.RuleID)
		}
		if len(res.Locations) != 1 {
			t.Fatalf("result without a location: %+v", res)
		}
		loc := res.Locations[0].PhysicalLocation
		if loc.ArtifactLocation.URI == "" || strings.HasPrefix(loc.ArtifactLocation.URI, "/") || strings.Contains(loc.ArtifactLocation.URI, "\\") || loc.Region.StartLine < 1 {
			t.Errorf("bad location %+v", loc)
		}
		if res.Message["text"] == "" || (res.Level != "error" && res.Level != "warning" && res.Level != "note") {
			t.Errorf("message/level: %+v", res)
		}
		fp := res.PartialFingerprints["pitrguardResource/v1"]
		if fp == "" || fps[fp] {
			t.Errorf("missing or repeated fingerprint %q", fp)
		}
		fps[fp] = true
		if len(res.Suppressions) > 0 {
			suppressed++
		}
	}
	want := r.Summary.Fail + r.Summary.Unknown + r.Summary.Conditional + r.Summary.Suppressed + r.Summary.Info
	if len(doc.Runs[0].Results) != want || suppressed != r.Summary.Suppressed {
		t.Errorf("%d results (%d suppressed), want %d (%d)", len(doc.Runs[0].Results), suppressed, want, r.Summary.Suppressed)
	}
	// Fingerprints are stable from run to run.
	var again bytes.Buffer
	_ = WriteSARIF(&again, "test", Scan([]string{"corpus"}, Options{Now: now, Base: mustWd(t)}))
	if again.String() != buf.String() {
		t.Error("SARIF differs between two runs on the same files")
	}
}

func TestJUnit(t *testing.T) {
	t.Chdir("testdata")
	r := Scan([]string{"corpus"}, Options{Now: now, Base: mustWd(t)})
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, r); err != nil {
		t.Fatal(err)
	}
	var s junitSuite
	if err := xml.Unmarshal(buf.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	if s.Failures != r.Summary.Fail || s.Errors != len(r.Errors) || s.Tests != len(r.Findings)+len(r.Errors) {
		t.Errorf("suite: tests %d failures %d errors %d; summary %+v", s.Tests, s.Failures, s.Errors, r.Summary)
	}
}

// The backup-selection-arn rule is a SARIF rule of its own, and its
// findings are results with a location (issue 12).
func TestSARIFBackupSelectionRule(t *testing.T) {
	t.Chdir("testdata")
	r := Scan([]string{"corpus/backup"}, Options{Now: now, Base: mustWd(t)})
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, "test", r); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Rules []struct{ ID string } `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				Level     string `json:"level"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }    `json:"artifactLocation"`
						Region           struct{ StartLine int } `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	hasRule := false
	for _, rule := range doc.Runs[0].Tool.Driver.Rules {
		hasRule = hasRule || rule.ID == iac.RuleBackupSelection
	}
	n := 0
	for _, res := range doc.Runs[0].Results {
		if res.RuleID != iac.RuleBackupSelection {
			continue
		}
		n++
		if loc := res.Locations[0].PhysicalLocation; loc.ArtifactLocation.URI == "" || loc.Region.StartLine < 1 || res.Level != "error" {
			t.Errorf("result without a location or level: %+v", res)
		}
	}
	if !hasRule || n != 14 { // 12 FAIL + 2 SUPPRESSED
		t.Errorf("rule listed %v, %d backup-selection results; want 14", hasRule, n)
	}
}
