package remediate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writePlan(t *testing.T, arn, table string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "plan.json")
	doc := `{"schema_version":1,"mode":"plan","generated_at":"2026-11-24T00:00:00Z","actions":[
	 {"account":"123456789012","region":"us-east-1","table":"` + table + `","arn":"` + arn + `","tier":"critical","owner":"","action":"enable_pitr","from_days":null,"to_days":35,"monthly_cost_usd":0,"result":"planned","error":""}],
	 "summary":{"planned":1,"applied":0,"already_compliant":0,"pending":0,"failed":0,"not_started":0,"monthly_cost_usd":0},"skipped":[],"warnings":[]}`
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLoadPlanARNMustAgree: the action's ARN must parse and name the same
// account, region and table, or the plan is refused naming the action
// (issue 16 #7: an arn naming t-0005 was applied to table t-0001, and
// "not-an-arn" was accepted).
func TestLoadPlanARNMustAgree(t *testing.T) {
	cases := map[string]struct{ arn, table, want string }{
		"other table":   {"arn:aws:dynamodb:us-east-1:123456789012:table/t-0005", "t-0001", `actions[0] (t-0001): arn arn:aws:dynamodb:us-east-1:123456789012:table/t-0005 names table "t-0005"`},
		"not an arn":    {"not-an-arn", "t-0001", `actions[0] (t-0001): arn: "not-an-arn" is not a DynamoDB table ARN`},
		"missing":       {"", "t-0001", `actions[0] (t-0001): arn: "" is not`},
		"other account": {"arn:aws:dynamodb:us-east-1:999999999999:table/t-0001", "t-0001", `names account "999999999999"`},
		"other region":  {"arn:aws:dynamodb:eu-west-1:123456789012:table/t-0001", "t-0001", `names region "eu-west-1"`},
		"index arn":     {"arn:aws:dynamodb:us-east-1:123456789012:table/t-0001/index/gsi", "t-0001", "is not a DynamoDB table ARN"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := LoadPlan(writePlan(t, c.arn, c.table))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
	p, err := LoadPlan(writePlan(t, "arn:aws-cn:dynamodb:us-east-1:123456789012:table/t-0001", "t-0001"))
	if err != nil || len(p.Actions) != 1 {
		t.Errorf("a consistent plan was refused: %v", err)
	}
}
