// Package selection decides which audited tables an action applies to. It is
// the one place where the selectors every acting command shares are read:
// --table (name or ARN), --tier, --owner, exemptions and, for the drill,
// "due" (not drilled within an interval). enable and drill call Select on the
// audit's entries, then apply their own eligibility (enable: NON_COMPLIANT;
// drill: PITR on and ACTIVE); the coming event handler does the same.
//
// Select also says which selector values matched nothing, so that a command
// can tell the user (exit 5, ExitNoMatch) instead of succeeding silently.
package selection

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/pitrguard/pitrguard/internal/audit"
	"github.com/pitrguard/pitrguard/internal/model"
)

// Criteria are the selectors of one action. The zero value selects every table.
type Criteria struct {
	// Tables are tables by name (Account and Region empty: any account and
	// region in scope) or by ARN.
	Tables []model.TableRef
	// Tiers keeps tables of these tiers (case-insensitive).
	Tiers []string
	// Owner keeps tables whose owner tag has this value (case-insensitive).
	Owner string
	// ExcludeExempt drops tables whose verdict is EXEMPT.
	ExcludeExempt bool
	// ExcludePrefix drops tables whose name starts with it (the drill's
	// scratch tables are never selected).
	ExcludePrefix string
	// Due, if set, keeps only tables that are due (see Due).
	Due *Due
}

// Due keeps tables whose last success is older than Every, or that never had
// one. Last returns the time of the last success and whether there was one.
type Due struct {
	Every time.Duration
	Now   time.Time
	Last  func(ctx context.Context, account, region, table string) (time.Time, bool, error)
}

// Result is the outcome of Select.
type Result struct {
	// Entries are the selected tables, in the order given.
	Entries []audit.Entry
	// Unmatched lists selector values that matched no table, e.g.
	// "--table nope" or "--owner nobody".
	Unmatched []string
	// NotDue counts tables left out because they are not due.
	NotDue int
	// Errors are tables whose "due" could not be decided (they are selected:
	// a drill too many is better than one missed).
	Errors []model.ScanError
}

var tableNameRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,255}$`)

// ParseTable reads a --table value: a table name or a table ARN.
func ParseTable(s string) (model.TableRef, error) {
	if strings.HasPrefix(s, "arn:") {
		return model.ParseTableARN(s)
	}
	if !tableNameRE.MatchString(s) {
		return model.TableRef{}, fmt.Errorf("%q is not a table name (up to 255 of a-z A-Z 0-9 _ . -) or ARN", s)
	}
	return model.TableRef{Name: s}, nil
}

// Only reports whether a table is named by the criteria's Tables (every table
// when none are named). It is the audit's Only filter, so unnamed tables are
// not even described.
func (c Criteria) Only(account, region, name string) bool {
	if len(c.Tables) == 0 {
		return true
	}
	return slices.ContainsFunc(c.Tables, func(r model.TableRef) bool { return refMatches(r, account, region, name) })
}

func refMatches(r model.TableRef, account, region, name string) bool {
	return r.Name == name && (r.Account == "" || (r.Account == account && r.Region == region))
}

func (c Criteria) tierOK(e audit.Entry) bool {
	return len(c.Tiers) == 0 || slices.ContainsFunc(c.Tiers, func(t string) bool { return strings.EqualFold(t, e.Eval.Tier.Name) })
}

func (c Criteria) ownerOK(e audit.Entry) bool {
	return c.Owner == "" || strings.EqualFold(c.Owner, e.Eval.Owner)
}

// Match reports whether one entry passes every selector except Due.
func (c Criteria) Match(e audit.Entry) bool {
	t := e.Table
	switch {
	case c.ExcludePrefix != "" && strings.HasPrefix(t.Name, c.ExcludePrefix):
		return false
	case c.ExcludeExempt && e.Eval.Verdict == model.Exempt:
		return false
	}
	return c.Only(t.Account, t.Region, t.Name) && c.tierOK(e) && c.ownerOK(e)
}

// Select applies the criteria to audited entries.
func Select(ctx context.Context, entries []audit.Entry, c Criteria) Result {
	res := Result{Entries: []audit.Entry{}}
	for _, e := range entries {
		if !c.Match(e) {
			continue
		}
		if c.Due != nil && !c.due(ctx, e, &res) {
			res.NotDue++
			continue
		}
		res.Entries = append(res.Entries, e)
	}
	res.Unmatched = c.unmatched(entries)
	return res
}

func (c Criteria) due(ctx context.Context, e audit.Entry, res *Result) bool {
	t := e.Table
	last, ok, err := c.Due.Last(ctx, t.Account, t.Region, t.Name)
	if err != nil {
		res.Errors = append(res.Errors, model.ScanError{Account: t.Account, Region: t.Region, Table: t.Name, Code: "HistoryError",
			Message: "could not read the last passed drill, so the table is treated as due: " + err.Error()})
		return true
	}
	return !ok || c.Due.Now.Sub(last) >= c.Due.Every
}

// unmatched names each selector value that matched no entry at all (before
// Due: a table that exists but is not due was matched).
func (c Criteria) unmatched(entries []audit.Entry) []string {
	var out []string
	for _, r := range c.Tables {
		if !slices.ContainsFunc(entries, func(e audit.Entry) bool { return refMatches(r, e.Table.Account, e.Table.Region, e.Table.Name) }) {
			what := r.Name
			if r.Account != "" {
				what = r.ARN()
			}
			out = append(out, "--table "+what)
		}
	}
	for _, tier := range c.Tiers {
		one := Criteria{Tables: c.Tables, Tiers: []string{tier}, ExcludePrefix: c.ExcludePrefix}
		if !slices.ContainsFunc(entries, one.Match) {
			out = append(out, "--tier "+tier)
		}
	}
	if c.Owner != "" {
		one := Criteria{Tables: c.Tables, Owner: c.Owner, ExcludePrefix: c.ExcludePrefix}
		if !slices.ContainsFunc(entries, one.Match) {
			out = append(out, "--owner "+c.Owner)
		}
	}
	return out
}
