package remediate

import (
	"context"
	"errors"
	"testing"

	"github.com/pitrguard/pitrguard/internal/audit"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/policy"
	"github.com/pitrguard/pitrguard/internal/report"
	"github.com/pitrguard/pitrguard/internal/selection"
)

// TestRunCoverageUnmatchedAndConfirm: enable's Run lists the account-regions
// the audit could not scan and marks coverage incomplete (issue 9 #9), names
// selectors that matched nothing, and changes nothing when the
// confirmation is declined.
func TestRunCoverageUnmatchedAndConfirm(t *testing.T) {
	scanErr := model.ScanError{Account: "222222222222", Region: "us-east-1", Code: "AccessDenied"}
	ar := &audit.Result{Entries: []audit.Entry{entry("off", "standard", 0, model.NonCompliant, 0, map[string]string{"owner": "a"})},
		Report: &report.Audit{Errors: []model.ScanError{scanErr}, Summary: policy.Summary{CoverageComplete: false}}}
	fake := &fakeTable{}
	no := errors.New("declined")
	deps := RunDeps{
		Audit:   func(context.Context) *audit.Result { return ar },
		Clients: func(context.Context, string, string) (TableWriter, error) { return fake, nil },
		Confirm: func(context.Context, *Plan) error { return no },
	}
	p, err := Run(t.Context(), RunOptions{Apply: true, Select: selection.Criteria{Owner: "A"}}, deps)
	if !errors.Is(err, no) || fake.updates != 0 || len(p.Actions) != 1 {
		t.Errorf("declined: %v, %d updates, %d actions", err, fake.updates, len(p.Actions))
	}
	p, _ = Run(t.Context(), RunOptions{Select: selection.Criteria{Tiers: []string{"gold"}}}, deps)
	if p.CoverageComplete || len(p.Errors) != 1 || len(p.Unmatched) != 1 || p.Unmatched[0] != "--tier gold" {
		t.Errorf("plan coverage %v errors %+v unmatched %v", p.CoverageComplete, p.Errors, p.Unmatched)
	}
}
