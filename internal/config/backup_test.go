package config

import (
	"strings"
	"testing"
	"time"
)

func TestBackupPolicyErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown backup key", "tiers:\n  - name: a\n    backup:\n      retention: 3\n", []string{"p.yaml:4:", `unknown key "retention"`}},
		{"retention zero", "tiers:\n  - name: a\n    backup:\n      required: true\n      min_retention_days: 0\n", []string{"p.yaml:5:", "min_retention_days is 0", "leave the key out"}},
		{"retention negative", "tiers:\n  - name: a\n    backup: {min_retention_days: -3}\n", []string{"p.yaml:3:", "min_retention_days is -3"}},
		{"retention too long", "tiers:\n  - name: a\n    backup:\n      min_retention_days: 40000\n", []string{"p.yaml:4:", "1 to 36500"}},
		{"age zero", "tiers:\n  - name: a\n    backup:\n      max_age_hours: 0\n", []string{"p.yaml:4:", "max_age_hours is 0", "from 1 to"}},
		{"age beyond a duration", "tiers:\n  - name: a\n    backup:\n      max_age_hours: 3000000\n", []string{"p.yaml:4:", "max_age_hours is 3000000", "876000"}},
		{"age not a number", "tiers:\n  - name: a\n    backup:\n      max_age_hours: daily\n", []string{"p.yaml:4:", "cannot unmarshal"}},
		{"bad copy region", "tiers:\n  - name: a\n    backup:\n      copy_to_region: Europe\n", []string{"p.yaml:4:", `"Europe" is not a region name`}},
		{"bad copy account", "tiers:\n  - name: a\n    backup:\n      copy_to_account: \"12\"\n", []string{"p.yaml:4:", "not a 12-digit"}},
		// An empty `backup:` is null to YAML: it would silently ask for no
		// backups, where a reader expects the block's defaults.
		{"empty block", "tiers:\n  - name: a\n    backup:\n  - name: b\n", []string{"p.yaml:3:", "backup is empty", "backup: {}"}},
		{"settings without required", "tiers:\n  - name: a\n    backup:\n      required: false\n      min_retention_days: 90\n", []string{"p.yaml:5:", "required is false"}},
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

func TestBackupPolicyValid(t *testing.T) {
	cfg, err := Parse("p.yaml", []byte(`tiers:
  - name: critical
    match: { tags: { env: prod } }
    backup:
      min_retention_days: 365
      require_vault_lock: true
      copy_to_region: eu-west-1
      copy_to_account: "222222222222"
  - name: archive
    backup: { max_age_hours: 170 }
  - name: off
    backup: { required: false }
  - name: plain
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{true, true, false, false}
	for i, tier := range cfg.Tiers {
		if tier.RequiresBackup() != want[i] {
			t.Errorf("tier %s: RequiresBackup = %v", tier.Name, tier.RequiresBackup())
		}
	}
	if !cfg.RequiresBackup() || Default().RequiresBackup() {
		t.Error("Config.RequiresBackup: the file requires backups, the built-in defaults do not")
	}
	b := cfg.Tiers[0].Backup
	if b.MinRetentionDays != 365 || !b.RequireVaultLock || b.CopyToRegion != "eu-west-1" || b.CopyToAccount != "222222222222" || b.MaxAge() != 26*time.Hour {
		t.Errorf("critical backup: %+v (max age %s)", b, b.MaxAge())
	}
	if cfg.Tiers[1].Backup.MaxAge() != 170*time.Hour {
		t.Errorf("archive max age: %s", cfg.Tiers[1].Backup.MaxAge())
	}
}
