package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/policy"
)

// TestWriteAuditJSONMatchesWriteJSON checks the streaming writer produces the
// same document as encoding the whole envelope at once.
func TestWriteAuditJSONMatchesWriteJSON(t *testing.T) {
	days := 7
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	for _, tables := range [][]TableResult{nil, {
		{Account: "1", Name: "a<b>", Tags: map[string]string{"k": "v&w"}, Replicas: []model.Replica{}, Reasons: []model.Reason{"pitr_disabled"}, Notes: []string{},
			PITR: PITRResult{Status: "ENABLED", RecoveryPeriodDays: &days, EarliestRestorable: &now}},
		{Account: "2", Name: "b", Tags: map[string]string{}, Replicas: []model.Replica{{Region: "eu-west-1", Status: "ACTIVE"}}, Reasons: []model.Reason{}, Notes: []string{}},
	}} {
		a := &Audit{SchemaVersion: 1, GeneratedAt: now, Tables: tables, Errors: []model.ScanError{{Account: "1", Code: "X", Message: "endpoint https://h/?a=1&b=<2>"}},
			Summary: policy.Summary{Tables: 2, ByTier: map[string]*policy.TierSummary{"critical": {Tables: 1}}},
			Run:     RunInfo{Policy: "/etc/a&b/<p>.yaml", APICalls: map[string]int64{"DescribeTable": 2}}}
		if a.Tables == nil {
			a.Tables = []TableResult{}
		}
		var whole, streamed bytes.Buffer
		if err := WriteJSON(&whole, a); err != nil {
			t.Fatal(err)
		}
		if err := WriteAuditJSON(&streamed, a); err != nil {
			t.Fatal(err)
		}
		if whole.String() != streamed.String() {
			t.Errorf("streamed JSON differs:\n--- whole\n%s\n--- streamed\n%s", whole.String(), streamed.String())
		}
		if !json.Valid(streamed.Bytes()) {
			t.Error("invalid JSON")
		}
	}
}

// issue 16 #13: "1 accounts" read wrong.
func TestSummaryCoveragePlurals(t *testing.T) {
	for _, c := range []struct {
		accounts, targets int
		want              string
	}{{1, 1, "Coverage: complete (1 account, 1 account-region)"}, {1, 2, "Coverage: complete (1 account, 2 account-regions)"},
		{5, 10, "Coverage: complete (5 accounts, 10 account-regions)"}} {
		a := &Audit{Tables: []TableResult{}, Errors: []model.ScanError{}}
		a.Run.Accounts, a.Run.Targets = c.accounts, c.targets
		a.Summary.CoverageComplete = true
		var b strings.Builder
		WriteAuditSummary(&b, a)
		if !strings.Contains(b.String(), c.want+"\n") {
			t.Errorf("%d/%d: %q does not contain %q", c.accounts, c.targets, b.String(), c.want)
		}
	}
}
