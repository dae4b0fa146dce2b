package backupplan

import (
	"testing"
	"time"

	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/policy"
	"github.com/pitrguard/pitrguard/internal/report"
)

// TestProveTagsUnreadOnEveryPath: a table whose tags could not be read is
// unknown to a proof whose selections look at tags, whatever else failed
// with it. The policy records it for a table it judges; a table it could
// not judge (PITR unread, DescribeTable failed), a SKIPPED or an EXEMPT one
// must say so too — else the proof evaluates an empty tag set, puts the
// table in the default tier, and calls the plan exact on a guess.
func TestProveTagsUnreadOnEveryPath(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	cfg := mustConfig(t, policyYAML+"exemptions:\n  - table: held\n    reason: test\n")
	ev := policy.New(cfg, now)
	tb := func(name, status string, pitrKnown bool) *model.Table {
		return &model.Table{Account: "111111111111", Region: "us-east-1", Name: name, ARN: "arn:aws:dynamodb:us-east-1:111111111111:table/" + name,
			Status: status, DescribeKnown: status != "", Tags: map[string]string{}, TagsKnown: false, PITR: model.PITR{Known: pitrKnown}}
	}
	p, err := Build(cfg, Options{Tier: "critical"})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []*model.Table{
		tb("pitr-unread", "ACTIVE", false),
		tb("describe-failed", "", true),
		tb("creating", "CREATING", true),
		tb("held", "ACTIVE", true),
	} {
		t.Run(x.Name, func(t *testing.T) {
			a := &report.Audit{Tables: []report.TableResult{report.NewTableResult(x, ev.Evaluate(x), 0, false)}}
			c := p.Prove(a)
			if c.Exact || len(c.Unknown) != 1 {
				t.Errorf("coverage %+v: a table whose tags were unread must be unknown to the proof", c)
			}
		})
	}
}
