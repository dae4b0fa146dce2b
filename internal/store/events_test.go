package store

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// TestEventActionsBetween: the evidence report reads the handler's actions of
// a period; the bounds are inclusive and the order is by time on both drivers.
func TestEventActionsBetween(t *testing.T) {
	forEachDriver(t, func(t *testing.T, target string) {
		ctx := context.Background()
		s := mustOpen(t, target)
		defer s.Close()
		t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		add := func(id string, at time.Time, action string) {
			t.Helper()
			if err := s.AddEventAction(ctx, EventAction{EventID: id, At: at, EventName: "CreateTable", Actor: "arn:aws:iam::1:user/x",
				Account: "111111111111", Region: "us-east-1", Table: "t-" + id, Action: action, Result: "applied",
				Before: json.RawMessage(`{"enabled":false}`), After: json.RawMessage(`{"enabled":true,"days":35}`)}); err != nil {
				t.Fatal(err)
			}
		}
		add("before", t0.Add(-time.Second), "enable_pitr")
		add("late", t0.Add(48*time.Hour), "alert")
		add("first", t0, "enable_pitr")
		add("mid", t0.Add(24*time.Hour), "none")
		add("after", t0.Add(48*time.Hour+time.Second), "enable_pitr")
		got, err := s.EventActionsBetween(ctx, t0, t0.Add(48*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, e := range got {
			ids = append(ids, e.EventID)
		}
		if want := []string{"first", "mid", "late"}; len(ids) != len(want) || ids[0] != want[0] || ids[1] != want[1] || ids[2] != want[2] {
			t.Fatalf("EventActionsBetween = %v, want %v", ids, want)
		}
		if e := got[0]; e.Table != "t-first" || !e.At.Equal(t0) || string(e.After) != `{"enabled":true,"days":35}` {
			t.Errorf("first action read back as %+v (after %s)", e, e.After)
		}
		none, err := s.EventActionsBetween(ctx, t0.Add(72*time.Hour), t0.Add(96*time.Hour))
		if err != nil || len(none) != 0 {
			t.Errorf("an empty period gave %v, %v", none, err)
		}
	})
}
