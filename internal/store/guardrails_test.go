package store

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestGuardrailChecksRoundTrip(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	id, err := s.BeginRun(ctx, "guardrails", "arn:aws:iam::123456789012:user/x", "pitrguard guardrails check", now)
	if err != nil {
		t.Fatal(err)
	}
	in := []GuardrailCheck{
		{Account: "222222222222", Prevent: "no", Detect: "yes", Correct: "unknown", Trail: "yes", Details: json.RawMessage(`[{"control":"scp"}]`)},
		{Account: "123456789012", Management: true, Prevent: "not_applicable", Detect: "no", Correct: "no", Trail: "yes"},
	}
	if err := s.AddGuardrailChecks(ctx, id, in); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishRun(ctx, id, "completed", true, map[string]any{"coverage": 0.5}, []any{}, now); err != nil {
		t.Fatal(err)
	}
	got, err := s.GuardrailChecks(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want := []GuardrailCheck{
		{RunID: id, Account: "123456789012", Management: true, Prevent: "not_applicable", Detect: "no", Correct: "no", Trail: "yes", Details: json.RawMessage(`[]`)},
		{RunID: id, Account: "222222222222", Prevent: "no", Detect: "yes", Correct: "unknown", Trail: "yes", Details: json.RawMessage(`[{"control":"scp"}]`)},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	runs, err := s.Runs(ctx, "guardrails", 5)
	if err != nil || len(runs) != 1 || string(runs[0].Summary) != `{"coverage":0.5}` {
		t.Fatalf("runs = %+v, %v", runs, err)
	}
}
