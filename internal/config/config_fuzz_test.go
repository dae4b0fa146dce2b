package config

import "testing"

// FuzzParse: no policy file, however malformed, panics the loader; a file it
// accepts is valid (every tier has a name, windows are within 1–35).
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"",
		"tiers:\n  - name: critical\n    match: { tags: { env: [prod] } }\n    require_pitr: true\n    min_recovery_days: 35\n",
		"tiers:\n  - name: eph\n    match: { names: [\"tmp-*\"] }\n    require_pitr: false\ndefault_tier: standard\n",
		"exemptions:\n  - table: \"arn:aws:dynamodb:*:111111111111:table/x-*\"\n    reason: r\n    owner: o\n    expires: 2027-03-31\n",
		"owner_tags: [owner, team]\n",
		"tiers: [ {name: a, min_recovery_days: 0} ]",
		"tiers:\n  - &a {name: x}\n  - *a\n",
		"{{{",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		if c == nil {
			t.Fatal("Parse returned neither a config nor an error")
		}
		for _, tier := range c.Tiers {
			if tier.Name == "" {
				t.Fatalf("accepted a tier without a name: %+v", tier)
			}
			if tier.MinRecoveryDays < 0 || tier.MinRecoveryDays > MaxRecoveryDays {
				t.Fatalf("accepted min_recovery_days %d", tier.MinRecoveryDays)
			}
		}
	})
}
