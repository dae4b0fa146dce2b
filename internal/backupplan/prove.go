package backupplan

import (
	"slices"
	"strings"
	"time"

	"github.com/pitrguard/pitrguard/internal/backupsel"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/policy"
	"github.com/pitrguard/pitrguard/internal/report"
)

// Coverage is the proof of a plan's selections against an audit.
type Coverage struct {
	Audit AuditRef `json:"audit"`
	// TablesInTier counts the audited tables of the tier; Covered, those the
	// selections select.
	TablesInTier int `json:"tables_in_tier"`
	Covered      int `json:"covered"`
	// Missed are tables of the tier no selection selects; WronglyIncluded,
	// tables of other tiers a selection selects; Unknown, tables whose tier
	// or selection could not be told (tags unread).
	Missed          []TableRef `json:"missed"`
	WronglyIncluded []TableRef `json:"wrongly_included"`
	Unknown         []TableRef `json:"unknown"`
	// Exact is true when nothing is missed, wrongly included or unknown.
	Exact bool `json:"exact"`
}

// AuditRef names the audit a proof used.
type AuditRef struct {
	RunID       int64     `json:"run_id,omitempty"`
	RunGroup    string    `json:"run_group,omitempty"`
	GeneratedAt time.Time `json:"generated_at"`
	Tables      int       `json:"tables"`
}

// TableRef is one table of a proof, with why (for a missed table: what in
// the selections stands out, e.g. a tag that differs in case).
type TableRef struct {
	Account string   `json:"account"`
	Region  string   `json:"region"`
	Name    string   `json:"name"`
	ARN     string   `json:"arn"`
	Tier    string   `json:"tier"`
	Why     []string `json:"why"`
}

// Prove evaluates the plan's selections, with backupsel, on every table of
// an audit.
func (p *Plan) Prove(a *report.Audit) *Coverage {
	c := &Coverage{Audit: AuditRef{RunID: a.Run.ID, RunGroup: a.Run.RunGroup, GeneratedAt: a.GeneratedAt, Tables: len(a.Tables)},
		Missed: []TableRef{}, WronglyIncluded: []TableRef{}, Unknown: []TableRef{}}
	for _, t := range a.Tables {
		inTier := strings.EqualFold(t.Tier, p.Tier)
		tagsKnown := !slices.Contains(t.Notes, string(model.ReasonTagsUnreadable))
		res := backupsel.Resource{ARN: t.ARN, Tags: t.Tags, TagsKnown: tagsKnown}
		sel := backupsel.No
		for _, s := range p.Selected {
			switch backupsel.Evaluate(s, res).Match {
			case backupsel.Yes:
				sel = backupsel.Yes
			case backupsel.Unknown:
				if sel == backupsel.No {
					sel = backupsel.Unknown
				}
			}
		}
		ref := TableRef{Account: t.Account, Region: t.Region, Name: t.Name, ARN: t.ARN, Tier: t.Tier, Why: []string{}}
		switch {
		case t.Tier == policy.UnknownTier:
			ref.Why = append(ref.Why, "its tier could not be told (tags unread)")
			c.Unknown = append(c.Unknown, ref)
			continue
		case sel == backupsel.Unknown:
			ref.Why = append(ref.Why, "the selections look at tags, which could not be read")
			c.Unknown = append(c.Unknown, ref)
			if inTier {
				c.TablesInTier++
			}
			continue
		}
		switch {
		case inTier && sel == backupsel.Yes:
			c.TablesInTier++
			c.Covered++
		case inTier:
			c.TablesInTier++
			for _, s := range p.Selected {
				ref.Why = append(ref.Why, backupsel.Explain(s, res, t.Name)...)
			}
			slices.Sort(ref.Why)
			ref.Why = slices.Compact(ref.Why)
			c.Missed = append(c.Missed, ref)
		case sel == backupsel.Yes:
			ref.Why = append(ref.Why, "it is in tier "+t.Tier+", not "+p.Tier)
			c.WronglyIncluded = append(c.WronglyIncluded, ref)
		}
	}
	c.Exact = len(c.Missed)+len(c.WronglyIncluded)+len(c.Unknown) == 0
	return c
}
