package remediate

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadPlan: no plan file, however malformed, panics the loader, and a plan
// it accepts only ever enables PITR or raises a window within 1–35 days.
func FuzzLoadPlan(f *testing.F) {
	for _, s := range []string{
		`{"schema_version":1,"mode":"plan","actions":[{"account":"111111111111","region":"us-east-1","table":"t","arn":"arn:aws:dynamodb:us-east-1:111111111111:table/t","action":"enable_pitr","to_days":35,"result":"planned"}]}`,
		`{"schema_version":1,"mode":"plan","actions":[{"account":"111111111111","region":"us-east-1","table":"t","action":"raise_recovery_period","from_days":7,"to_days":3,"result":"planned","decrease":true}]}`,
		`{"schema_version":1,"mode":"plan","actions":null}`,
		`{"schema_version":2}`,
		`[]`, `null`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "plan.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		p, err := LoadPlan(path)
		if err != nil {
			return
		}
		for _, a := range p.Actions {
			if a.Action != EnablePITR && a.Action != RaiseRecoveryPeriod {
				t.Fatalf("accepted action %q", a.Action)
			}
			if a.ToDays < 1 || a.ToDays > 35 {
				t.Fatalf("accepted to_days %d", a.ToDays)
			}
			if a.FromDays != nil && a.ToDays < *a.FromDays && !a.Decrease {
				t.Fatalf("accepted a decrease without \"decrease\": %+v", a)
			}
		}
	})
}
