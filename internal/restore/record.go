package restore

import (
	"context"
	"errors"
	"fmt"

	"github.com/pitrguard/pitrguard/internal/store"
)

// begin records the run once the user has confirmed, before the first
// change: a run that stays "running" was requested and never finished.
// A history that cannot be written does not stop a restore (it is often
// urgent); it is said on the log.
func (r *run) begin(ctx context.Context) {
	if r.d.History == nil || r.runID != 0 {
		return
	}
	id, err := r.d.History.BeginRun(ctx, "restore", r.o.Caller, r.o.Args, r.d.Now())
	if err != nil {
		fmt.Fprintf(r.d.Log, "Warning: this restore is not recorded in %s: %v\n", r.d.History.Path(), err)
		return
	}
	r.runID = id
}

// finish records the outcome (issue 9 #13): the restore request and each
// reconciled setting in the journal, and the run's status, with the result
// as its summary. It returns err unchanged.
func (r *run) finish(ctx context.Context, err error) error {
	if r.runID == 0 {
		return err
	}
	ctx = context.WithoutCancel(ctx) // an interrupted restore is recorded too
	status := runStatus(err)
	if r.o.Mode != ReconcileOnly {
		e := r.entry("restore", restoreResult(r.res.Status, err))
		e.Before = jsonOf(map[string]any{"source": r.res.Source, "backup": r.res.Backup})
		e.After = jsonOf(map[string]any{"target": r.res.Target, "restore_point": r.res.RestorePoint, "status": r.res.Status})
		if err != nil && !errors.Is(err, ErrIncomplete) {
			e.Error = err.Error()
		}
		r.journal(ctx, e)
	}
	for _, it := range r.res.Reconciled {
		e := r.entry("reconcile_"+it.Setting, it.Status)
		e.After = jsonOf(it)
		if it.Status == Failed {
			e.Error = it.Detail
		}
		r.journal(ctx, e)
	}
	var errs []string
	if err != nil {
		errs = []string{err.Error()}
	} else {
		errs = []string{}
	}
	if ferr := r.d.History.FinishRun(ctx, r.runID, status, true, r.res, errs, r.d.Now()); ferr != nil {
		fmt.Fprintf(r.d.Log, "Warning: the outcome of this restore is not recorded in %s: %v\n", r.d.History.Path(), ferr)
	}
	return err
}

func (r *run) entry(action, result string) store.JournalEntry {
	return store.JournalEntry{RunID: r.runID, At: r.d.Now(), Caller: r.o.Caller, Account: r.o.Account,
		Region: r.res.Target.Region, Table: r.res.Target.Table, Action: action, Result: result}
}

func (r *run) journal(ctx context.Context, e store.JournalEntry) {
	if err := r.d.History.AddJournal(ctx, e); err != nil {
		fmt.Fprintf(r.d.Log, "Warning: %s of %s is not journaled: %v\n", e.Action, e.Table, err)
	}
}

func runStatus(err error) string {
	switch {
	case err == nil:
		return RunCompleted
	case errors.Is(err, ErrIncomplete):
		return RunCompletedWithFailures
	case errors.Is(err, ErrTimeout):
		return RunTimedOut
	}
	return RunFailed
}

// restoreResult is the journal result of the restore request itself.
func restoreResult(status string, err error) string {
	switch {
	case errors.Is(err, ErrTimeout):
		return RunTimedOut
	case status == StatusActive:
		return "active"
	case err != nil:
		return RunFailed
	}
	return "requested"
}
