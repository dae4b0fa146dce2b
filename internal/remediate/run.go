package remediate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pitrguard/pitrguard/internal/audit"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/selection"
)

// RunOptions are the options of `pitrguard enable`.
type RunOptions struct {
	// Select picks the tables (ignored with Saved).
	Select selection.Criteria
	// Plan shapes the actions (ignored with Saved).
	Plan Options
	// Saved is a plan read with LoadPlan: applied exactly, without an audit.
	Saved *Plan
	// Apply makes the changes; without it Run only plans.
	Apply       bool
	Wait        time.Duration
	Concurrency int
	// Now dates the plan; the real clock bounds Wait.
	Now func() time.Time
}

// RunDeps are what Run needs from outside.
type RunDeps struct {
	// Audit returns the audited tables to plan from (not called with Saved).
	Audit func(ctx context.Context) *audit.Result
	// Clients gives the PITR API per account-region.
	Clients Clients
	// Caller is the identity that makes the changes.
	Caller string
	// Confirm is asked before the first change; an error stops Run with
	// nothing changed. Nil proceeds.
	Confirm func(ctx context.Context, p *Plan) error
	// Begin is called after confirmation, before the first change (to open
	// the run the journal belongs to).
	Begin func(ctx context.Context, p *Plan) error
	// Journal records each finished action; Done is told about it (progress).
	Journal func(JournalEntry)
	Done    func(Action)
}

// ErrInterrupted is returned when the context ends while planning.
var ErrInterrupted = errors.New("interrupted while auditing: nothing was changed")

// Run plans (from an audit, or a saved plan) and, with Apply, confirms and
// applies. The plan it returns carries every result; errors are reserved
// for "nothing was done" (interrupted, declined, or Begin failed).
func Run(ctx context.Context, o RunOptions, d RunDeps) (*Plan, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	p := o.Saved
	if p == nil {
		ar := d.Audit(ctx)
		if ar.Interrupted {
			return nil, ErrInterrupted
		}
		p = FromAudit(ctx, ar, o.Select, o.Plan, o.Now())
		p.Caller = d.Caller
	} else {
		p.CoverageComplete = true
		p.Errors, p.Unmatched = []model.ScanError{}, []string{}
	}
	if !o.Apply {
		return p, nil
	}
	p.Mode = "apply"
	if len(p.Actions) == 0 {
		return p, nil
	}
	if d.Confirm != nil {
		if err := d.Confirm(ctx, p); err != nil {
			return p, err
		}
	}
	if d.Begin != nil {
		if err := d.Begin(ctx, p); err != nil {
			return p, err
		}
	}
	Apply(ctx, p, d.Clients, ApplyOptions{Wait: o.Wait, Concurrency: o.Concurrency, Now: time.Now, Stamp: o.Now, Journal: d.Journal, Done: d.Done})
	return p, nil
}

// FromAudit selects tables from an audit and plans for them. Account-regions
// the audit could not scan are listed in Errors and make the plan's coverage
// incomplete: their tables are not in the plan.
func FromAudit(ctx context.Context, ar *audit.Result, c selection.Criteria, o Options, now time.Time) *Plan {
	c.ExcludeExempt = true
	sel := selection.Select(ctx, ar.Entries, c)
	p := NewPlan(sel.Entries, o, now)
	p.Policy = ar.Report.Run.Policy
	p.CoverageComplete = ar.Report.Summary.CoverageComplete
	p.Errors = append([]model.ScanError{}, ar.Report.Errors...)
	p.Unmatched = sel.Unmatched
	if p.Unmatched == nil {
		p.Unmatched = []string{}
	}
	for _, e := range ar.Report.Errors {
		if e.Table == "" {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s/%s could not be scanned (%s): its tables are not in the plan", e.Account, e.Region, e.Code))
		}
	}
	for _, u := range p.Unmatched {
		p.Warnings = append(p.Warnings, u+" matched no table in the scanned accounts and regions")
	}
	return p
}
