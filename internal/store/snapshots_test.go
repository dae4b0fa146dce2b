package store

import (
	"encoding/json"
	"testing"
	"time"
)

func TestTableSnapshots(t *testing.T) {
	forEachDriver(t, testTableSnapshots)
}

func testTableSnapshots(t *testing.T, target string) {
	ctx := t.Context()
	s := mustOpen(t, target)
	defer s.Close()
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	for i := range 4 {
		id, err := s.BeginRun(ctx, "audit", "c", "a", t0.Add(time.Duration(i)*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		recs := []TableRecord{{Account: "111111111111", Region: "us-east-1", Name: "t", ARN: "arn:t", Verdict: "COMPLIANT", PITRStatus: "ENABLED",
			Facts: json.RawMessage(`{"n":` + string(rune('0'+i)) + `}`)}}
		if i == 2 {
			recs[0].Name = "other"
		}
		if err := s.AddTables(ctx, id, recs); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.TableSnapshots(ctx, "111111111111", "us-east-1", "t", 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].RunID != 4 || got[1].RunID != 2 || string(got[0].Facts) != `{"n":3}` || !got[0].SeenAt.Equal(t0.Add(3*time.Hour)) {
		t.Errorf("snapshots %+v", got)
	}
	if none, err := s.TableSnapshots(ctx, "111111111111", "us-east-1", "gone", 10); err != nil || len(none) != 0 {
		t.Errorf("unknown table: %v %v", none, err)
	}
}
