package iampolicy

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// writeActions change the resource they name. The restore actions are not
// here: AWS authorises them on the source, which they only read; the table
// they create is written through the data actions, which are.
var writeActions = []string{
	"dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
	"dynamodb:TagResource", "dynamodb:UntagResource", "dynamodb:DeleteTable", "dynamodb:UpdateTable", "dynamodb:CreateTable",
	"dynamodb:UpdateContinuousBackups", "dynamodb:UpdateTimeToLive", "dynamodb:PutResourcePolicy", "dynamodb:DeleteResourcePolicy",
	"dynamodb:UpdateContributorInsights", "dynamodb:DeleteBackup",
	"application-autoscaling:PutScalingPolicy", "application-autoscaling:RegisterScalableTarget",
}

// mayChange is, per command, the resources it may change (globs).
func mayChange(command, partition string) []string {
	switch command {
	case "audit":
		return nil
	case "enable":
		return []string{"arn:" + partition + ":dynamodb:*:*:table/*"}
	case "drill":
		return []string{"arn:" + partition + ":dynamodb:*:*:table/" + ScratchPattern}
	}
	return []string{"*"} // restore creates tables of any name and reconciles them; all includes it
}

// within reports whether glob r names no resource outside glob a.
func within(r, a string) bool {
	if a == "*" || r == a {
		return true
	}
	if p, ok := strings.CutSuffix(a, "*"); ok {
		return strings.HasPrefix(r, p) && !strings.Contains(r[len(p):], "/")
	}
	return false
}

func resources(s Statement) []string {
	switch r := s.Resource.(type) {
	case string:
		return []string{r}
	case []string:
		return r
	}
	return nil
}

// TestNoWriteBroaderThanWhatTheCommandChanges: no write action of any
// iam-policy command has a resource broader than the tables that command may
// change (issue 16 #4: `iam-policy drill` granted writes on table/*).
func TestNoWriteBroaderThanWhatTheCommandChanges(t *testing.T) {
	for _, part := range Partitions {
		for _, cmd := range Commands {
			doc, err := Policy(cmd, "PitrguardAudit", part)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range doc.Statement {
				for _, act := range s.Action {
					if !slices.Contains(writeActions, act) {
						continue
					}
					for _, r := range resources(s) {
						if !slices.ContainsFunc(mayChange(cmd, part), func(a string) bool { return within(r, a) }) {
							t.Errorf("%s/%s: %s on %s, broader than %v", part, cmd, act, r, mayChange(cmd, part))
						}
					}
				}
			}
		}
	}
	// The check can fail: table/* is broader than the scratch tables.
	if within("arn:aws:dynamodb:*:*:table/*", "arn:aws:dynamodb:*:*:table/"+ScratchPattern) {
		t.Error("within() accepts a broader resource")
	}
}

// TestDrillPolicyScoped pins the drill's statements.
func TestDrillPolicyScoped(t *testing.T) {
	doc, err := Policy("drill", "PitrguardAudit", "aws")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range doc.Statement {
		for _, r := range resources(s) {
			if r != "arn:aws:dynamodb:*:*:table/*" {
				continue
			}
			for _, a := range s.Action {
				if !slices.Contains([]string{"dynamodb:DescribeContinuousBackups", "dynamodb:DescribeTable", "dynamodb:ListTagsOfResource",
					"dynamodb:GetItem", "dynamodb:RestoreTableToPointInTime"}, a) {
					t.Errorf("drill allows %s on every table", a)
				}
			}
		}
	}
	b, _ := json.Marshal(doc)
	if !strings.Contains(string(b), `"dynamodb:DeleteTable"`) || !strings.Contains(string(b), "aws:ResourceTag/pitrguard:drill") {
		t.Errorf("cleanup statement missing: %s", b)
	}
}

var arnRE = regexp.MustCompile(`arn:[a-z-]*:`)

// TestPartitionChangesEveryARN: --partition aws-cn / aws-us-gov changes every
// ARN the policy prints (issue 16 #5); an unknown partition is refused.
func TestPartitionChangesEveryARN(t *testing.T) {
	for _, part := range []string{"aws-cn", "aws-us-gov"} {
		for _, cmd := range Commands {
			doc, err := Policy(cmd, "R", part)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(doc)
			arns := arnRE.FindAllString(string(b), -1)
			if len(arns) < 2 {
				t.Errorf("%s %s: only %d ARNs", part, cmd, len(arns))
			}
			for _, a := range arns {
				if a != "arn:"+part+":" {
					t.Errorf("%s %s: ARN in partition %s: %s", part, cmd, a, b)
				}
			}
		}
	}
	if _, err := Policy("audit", "R", "aws-mars"); err == nil || !strings.Contains(err.Error(), "aws-us-gov") {
		t.Errorf("unknown partition: %v", err)
	}
}
