package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string // substrings that must all appear
	}{
		{"unknown top-level key", "tiers: []\nowners: [x]\n", []string{"p.yaml:2:", `unknown key "owners"`}},
		{"unknown tier key", "tiers:\n  - name: a\n    min_days: 3\n", []string{"p.yaml:3:", `unknown key "min_days"`}},
		{"unknown match key", "tiers:\n  - name: a\n    match:\n      label: x\n", []string{"p.yaml:4:", `unknown key "label"`}},
		// Errors point at the offending key's line, not the tier's first line (issue 16 #6).
		{"period too high", "tiers:\n  - name: a\n  - name: b\n    min_recovery_days: 36\n", []string{"p.yaml:4:", "min_recovery_days is 36", "1 to 35"}},
		{"period negative", "tiers:\n  - name: a\n    min_recovery_days: -1\n", []string{"p.yaml:3:", "min_recovery_days is -1"}},
		{"period zero", "tiers:\n  - name: a\n    match: { names: [x] }\n    min_recovery_days: 0\n", []string{"p.yaml:4:", "min_recovery_days is 0", "1 to 35", "leave the key out"}},
		{"period not a number", "tiers:\n  - name: a\n    min_recovery_days: seven\n", []string{"p.yaml:3:", "cannot unmarshal"}},
		{"period zero, flow style", "tiers:\n  - {name: a, min_recovery_days: 0}\n", []string{"p.yaml:2:", "min_recovery_days is 0"}},
		{"bad name glob", "tiers:\n  - name: a\n    match: { names: [\"tmp-[\"] }\n", []string{"p.yaml:3:", `bad name pattern "tmp-["`, "unterminated"}},
		{"bad tag glob", "tiers:\n  - name: a\n    match: { tags: { env: \"pr]d\" } }\n", []string{"p.yaml:3:", "bad tag value pattern"}},
		{"bad account", "tiers:\n  - name: a\n    match:\n      accounts: [\"1234\"]\n", []string{"p.yaml:4:", "not a 12-digit"}},
		{"duplicate tier", "tiers:\n  - name: a\n  - name: A\n", []string{"p.yaml:3:", "defined twice"}},
		{"tier without name", "tiers:\n  - match: {}\n", []string{"p.yaml:2:", "has no name"}},
		{"min without pitr", "tiers:\n  - name: a\n    require_pitr: false\n    min_recovery_days: 7\n", []string{"p.yaml:4:", "require_pitr is false"}},
		{"bad date", "exemptions:\n  - table: x\n    reason: y\n    expires: 31/03/2027\n", []string{"p.yaml:4:", `"31/03/2027" is not a date`, "YYYY-MM-DD"}},
		{"impossible date", "exemptions:\n  - table: x\n    reason: y\n    expires: 2027-02-30\n", []string{"p.yaml:4:", "not a date"}},
		{"exemption without reason", "exemptions:\n  - table: x\n    owner: y\n", []string{"p.yaml:2:", "has no reason"}},
		{"exemption without table", "exemptions:\n  - reason: y\n", []string{"p.yaml:2:", "no `table:`"}},
		{"exemption bad glob", "exemptions:\n  - table: \"a[\"\n    reason: y\n", []string{"p.yaml:2:", "bad table pattern"}},
		{"syntax error", "tiers:\n  - name: a\n   bad indent: [\n", []string{"p.yaml:"}},
		{"wrong type", "tiers: {name: a}\n", []string{"p.yaml:1:", "cannot unmarshal"}},
		{"empty file", "", []string{"p.yaml", "empty"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestParseSeveralErrorsAtOnce(t *testing.T) {
	_, err := Parse("p.yaml", []byte("tiers:\n  - name: a\n    min_recovery_days: 99\nexemptions:\n  - table: x\n"))
	if err == nil || !strings.Contains(err.Error(), "p.yaml:3:") || !strings.Contains(err.Error(), "p.yaml:5:") {
		t.Fatalf("want both errors (lines 3 and 5), got %v", err)
	}
}

func TestParseValid(t *testing.T) {
	cfg, err := Parse("p.yaml", []byte(`
tiers:
  - name: critical
    match: { tags: { env: prod } }
    min_recovery_days: 35
  - name: scratch
    match: { names: ["tmp-*"] }
    require_pitr: false
    critical: false
exemptions:
  - table: "x-*"
    reason: because
    expires: 2027-03-31
`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DefaultTier != "standard" || len(cfg.OwnerTags) != 2 {
		t.Errorf("defaults not filled: %q %v", cfg.DefaultTier, cfg.OwnerTags)
	}
	if got := cfg.Tiers[0].Match.Tags["env"]; len(got) != 1 || got[0] != "prod" {
		t.Errorf("scalar tag value not accepted as list: %v", got)
	}
	if !cfg.Tiers[0].IsCritical() || cfg.Tiers[1].IsCritical() || cfg.Tiers[1].RequiresPITR() {
		t.Errorf("tier flags wrong: %+v", cfg.Tiers)
	}
	exp := cfg.Exemptions[0].Expires
	if exp.Expired(time.Date(2027, 3, 31, 23, 59, 0, 0, time.UTC)) || !exp.Expired(time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC)) {
		t.Error("expiry must include the whole last day (UTC)")
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	cfg, err := Load("")
	if err != nil || cfg.Source != "built-in defaults" {
		t.Fatalf("no file: want defaults, got %v %v", cfg, err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Fatalf("explicit missing file: want an error naming it, got %v", err)
	}
	if err := os.WriteFile(DefaultFile, []byte("default_tier: general\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err = Load("")
	if err != nil || cfg.DefaultTier != "general" || cfg.Source != DefaultFile {
		t.Fatalf("./pitrguard.yaml not picked up: %+v %v", cfg, err)
	}
}
