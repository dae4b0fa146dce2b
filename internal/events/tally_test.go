package events

import (
	"testing"

	"github.com/pitrguard/pitrguard/internal/notify"
)

func TestBatchTally(t *testing.T) {
	b := Batch{
		Outcomes: []Outcome{{Result: ResultFailed}, {Result: ResultPending}, {Result: ResultPending},
			{Result: ResultApplied}, {Result: ResultRequeued}, {Result: ResultFailed}, {Result: ResultFailed}},
		Notifications: []notify.Delivery{{Result: "failed"}, {Result: "sent"}},
	}
	got := b.Tally()
	if want := (Tally{Failed: 3, Pending: 2, NotifyFailed: 1}); got != want {
		t.Errorf("Tally() = %+v, want %+v", got, want)
	}
	if got := (Batch{}).Tally(); got != (Tally{}) {
		t.Errorf("empty batch: Tally() = %+v, want zero", got)
	}
}
