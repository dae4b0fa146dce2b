package store

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestStoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "h.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	id1, err := s.BeginRun(ctx, "audit", "arn:aws:sts::1:user/a", "pitrguard audit", t0)
	if err != nil {
		t.Fatal(err)
	}
	days := 14
	if err := s.AddTables(ctx, id1, []TableRecord{
		{Account: "111111111111", Region: "us-east-1", Name: "t", ARN: "arn:t", Verdict: "COMPLIANT", Tier: "critical", PITRStatus: "ENABLED", RecoveryDays: &days, Facts: json.RawMessage(`{"tags":{"a":"1"}}`)},
		{Account: "111111111111", Region: "us-east-1", Name: "u", ARN: "arn:u", Verdict: "NON_COMPLIANT", Tier: "standard", PITRStatus: "DISABLED", Facts: json.RawMessage(`{}`)},
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishRun(ctx, id1, "completed", true, map[string]int{"tables": 2}, []string{}, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	id2, _ := s.BeginRun(ctx, "audit", "c", "a", t0.Add(time.Hour))
	s.AddTables(ctx, id2, []TableRecord{{Account: "111111111111", Region: "us-east-1", Name: "t", ARN: "arn:t", Verdict: "NON_COMPLIANT", Tier: "critical", PITRStatus: "DISABLED", Facts: json.RawMessage(`{"v":2}`)}})
	s.Close()

	// Reopen: migrations are idempotent and data persists.
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	runs, err := s.Runs(ctx, "audit", 10)
	if err != nil || len(runs) != 2 {
		t.Fatalf("runs %v %v", runs, err)
	}
	if runs[0].ID != id2 || runs[0].Status != "running" || runs[1].Status != "completed" || !runs[1].CoverageComplete ||
		string(runs[1].Summary) != `{"tables":2}` || runs[1].FinishedAt == nil || !runs[1].StartedAt.Equal(t0) {
		t.Errorf("runs: %+v", runs)
	}
	last, err := s.LastTable(ctx, "111111111111", "us-east-1", "t")
	if err != nil || last.RunID != id2 || string(last.Facts) != `{"v":2}` {
		t.Errorf("last table: %+v %v", last, err)
	}
	u, err := s.LastTable(ctx, "111111111111", "us-east-1", "u")
	if err != nil || u.RecoveryDays != nil || u.Verdict != "NON_COMPLIANT" {
		t.Errorf("u: %+v %v", u, err)
	}
	if _, err := s.LastTable(ctx, "111111111111", "us-east-1", "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing table: %v", err)
	}
	tables, err := s.Tables(ctx, id1)
	if err != nil || len(tables) != 2 || tables[0].Name != "t" || *tables[0].RecoveryDays != 14 {
		t.Errorf("tables: %+v %v", tables, err)
	}
}

func TestDefaultPath(t *testing.T) {
	t.Setenv("PITRGUARD_DB", "")
	t.Setenv("XDG_DATA_HOME", "/x")
	if p, _ := DefaultPath(); p != "/x/pitrguard/pitrguard.db" {
		t.Errorf("XDG: %s", p)
	}
	t.Setenv("PITRGUARD_DB", "/y.db")
	if p, _ := DefaultPath(); p != "/y.db" {
		t.Errorf("env: %s", p)
	}
}
