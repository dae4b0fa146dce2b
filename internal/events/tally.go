package events

// Tally counts what went wrong in a batch.
type Tally struct {
	Failed       int // outcomes ResultFailed
	Pending      int // outcomes ResultPending
	NotifyFailed int // notifications that could not be delivered
}

// Tally counts the batch's failed and pending outcomes and its failed
// notifications.
func (b Batch) Tally() Tally {
	var t Tally
	for _, oc := range b.Outcomes {
		switch oc.Result {
		case ResultFailed:
			t.Failed++
		case ResultPending:
			t.Pending++
		}
	}
	for _, d := range b.Notifications {
		if d.Result == "failed" {
			t.NotifyFailed++
		}
	}
	return t
}
