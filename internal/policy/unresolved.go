package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/glob"
	"github.com/pitrguard/pitrguard/internal/model"
)

// Unresolved lists the facts about a table that are not known. A table
// defined in infrastructure code has no account or ARN until it is deployed,
// its name can be an expression, and some of its tags may not be resolvable.
type Unresolved struct {
	Name, Account, Region bool
	// Tags is set when the whole tag set is not known.
	Tags bool
	// TagKeys are tags that are present but whose values are not known.
	TagKeys []string
	// Partition is the partition the table is deployed to, for exemption
	// and tier patterns written as ARNs ("": aws).
	Partition string
}

// Unresolution is the evaluation of a table with unknown facts.
type Unresolution struct {
	// Result is the evaluation when Decided; otherwise its Verdict is UNKNOWN.
	Result
	Decided bool
	// Deciding names the unknown facts the verdict depends on ("name",
	// "account", "region", "tags", "tag env"), sorted.
	Deciding []string
	// Possible lists every verdict the unknown facts allow, sorted.
	Possible []model.Verdict
}

// EvaluateUnresolved is Evaluate for a table some of whose facts are not
// known (issue 9, "One evaluator"). Every tier and exemption is matched three
// ways: it matches, it does not, or it cannot be told. When every tier and
// exemption that could apply gives the same verdict and reasons, that
// evaluation is the result (its Tier has an empty Name when the tier itself
// could not be told). Otherwise the verdict is UNKNOWN, with the deciding
// facts and the possible verdicts.
func (e *Evaluator) EvaluateUnresolved(t *model.Table, u Unresolved) Unresolution {
	var facts []string
	note := func(fs []string) {
		for _, f := range fs {
			if !slices.Contains(facts, f) {
				facts = append(facts, f)
			}
		}
	}
	// The tiers that may apply, in order: up to the first certain match.
	var tiers []config.Tier
	certain := false
	for _, tier := range e.cfg.Tiers {
		m, fs := matchUnresolved(tier.Match, t, u)
		if m == no {
			continue
		}
		tiers = append(tiers, tier)
		if m == yes {
			certain = true
			break
		}
		note(fs)
	}
	if !certain {
		tiers = append(tiers, e.defaultTier())
	}
	// The live exemptions that may apply, up to the first certain one; an
	// expired exemption that certainly matches is reported as in Evaluate.
	var exemptions []*config.Exemption
	certain = false
	var expired *config.Exemption
	for i := range e.cfg.Exemptions {
		ex := &e.cfg.Exemptions[i]
		m, fs := patternUnresolved(ex.Table, t, u)
		if m == no {
			continue
		}
		if ex.Expires.Expired(e.now) {
			if m == yes && expired == nil {
				expired = ex
			}
			continue
		}
		exemptions = append(exemptions, ex)
		if m == yes {
			certain = true
			break
		}
		note(fs)
	}
	if !certain {
		exemptions = append(exemptions, expired) // no live exemption applies
	}
	var results []Result
	for _, ex := range exemptions {
		for _, tier := range tiers {
			results = append(results, e.evaluateAs(t, tier, ex))
		}
	}
	r := results[0]
	var possible []model.Verdict
	same := true
	for _, x := range results {
		if !slices.Contains(possible, x.Verdict) {
			possible = append(possible, x.Verdict)
		}
		if x.Verdict != r.Verdict || !slices.Equal(x.Reasons, r.Reasons) {
			same = false
		}
		if !strings.EqualFold(x.Tier.Name, r.Tier.Name) {
			r.Tier = config.Tier{}
		}
	}
	slices.Sort(possible)
	if !same {
		slices.Sort(facts)
		return Unresolution{Result: Result{Verdict: model.Unknown, Owner: r.Owner, Tier: r.Tier}, Deciding: facts, Possible: possible}
	}
	return Unresolution{Result: r, Decided: true, Possible: possible}
}

// defaultTier is the tier of a table no tier matches, as TierOf finds it.
func (e *Evaluator) defaultTier() config.Tier {
	for _, tier := range e.cfg.Tiers {
		if strings.EqualFold(tier.Name, e.cfg.DefaultTier) {
			return tier
		}
	}
	return config.Tier{Name: e.cfg.DefaultTier}
}

// evaluateAs evaluates t as if tier were its tier and ex (nil: none) its
// exemption, through Evaluate itself so the rules live in one place.
func (e *Evaluator) evaluateAs(t *model.Table, tier config.Tier, ex *config.Exemption) Result {
	as := tier
	as.Match = config.Match{} // matches every table
	cfg := &config.Config{Tiers: []config.Tier{as}, DefaultTier: tier.Name, OwnerTags: e.cfg.OwnerTags, Source: e.cfg.Source}
	if ex != nil {
		x := *ex
		x.Table = "*"
		cfg.Exemptions = []config.Exemption{x}
	}
	r := New(cfg, e.now).Evaluate(t)
	if r.Exemption != nil && ex != nil {
		r.Exemption.Pattern = ex.Table
	}
	r.Tier = tier
	return r
}

type tri int

const (
	no tri = iota
	maybe
	yes
)

// matchUnresolved is matches() with unknown facts: every kind given must
// match; one that cannot be told makes the whole "maybe".
func matchUnresolved(m config.Match, t *model.Table, u Unresolved) (tri, []string) {
	res := yes
	var facts []string
	and := func(x tri, fs ...string) {
		switch {
		case x == no:
			res = no
		case x == maybe && res == yes:
			res = maybe
		}
		if x == maybe {
			facts = append(facts, fs...)
		}
	}
	if len(m.Accounts) > 0 {
		switch {
		case u.Account:
			and(maybe, "account")
		case !slices.Contains(m.Accounts, t.Account):
			and(no)
		}
	}
	if len(m.Regions) > 0 {
		switch {
		case u.Region:
			and(maybe, "region")
		case !slices.ContainsFunc(m.Regions, func(p string) bool { return glob.Match(p, t.Region) }):
			and(no)
		}
	}
	if len(m.Names) > 0 {
		best, facts2 := no, []string(nil)
		for _, p := range m.Names {
			x, fs := patternUnresolved(p, t, u)
			if x > best {
				best = x
			}
			if x == maybe {
				facts2 = append(facts2, fs...)
			}
		}
		and(best, facts2...)
	}
	if len(m.Tags) > 0 {
		x, fs := tagsUnresolved(m.Tags, t.Tags, u)
		and(x, fs...)
	}
	if res == no {
		return no, nil
	}
	return res, facts
}

// patternUnresolved matches a name-or-ARN pattern when the name, account or
// region may not be known. The ARN is tried with the known parts and
// stand-ins for the unknown ones: matching with every stand-in is a match,
// with some of them "cannot be told".
func patternUnresolved(p string, t *model.Table, u Unresolved) (tri, []string) {
	if u.Name {
		if p == "*" {
			return yes, nil
		}
		return maybe, []string{"name"}
	}
	if glob.Match(p, t.Name) {
		return yes, nil
	}
	if !u.Account && !u.Region && t.ARN != "" {
		if glob.Match(p, t.ARN) {
			return yes, nil
		}
		return no, nil
	}
	regions, accounts := []string{t.Region}, []string{t.Account}
	if u.Region {
		regions = append(tokens(p, isRegionLike), "us-east-1", "eu-west-1")
	}
	if u.Account {
		accounts = append(tokens(p, model.IsAccountID), "000000000000", "999999999999")
	}
	partition := u.Partition
	if partition == "" {
		partition = "aws"
	}
	match := make([][]bool, len(regions))
	any, all := false, true
	for i, rg := range regions {
		match[i] = make([]bool, len(accounts))
		for j, acct := range accounts {
			m := glob.Match(p, fmt.Sprintf("arn:%s:dynamodb:%s:%s:table/%s", partition, rg, acct, t.Name))
			match[i][j] = m
			any = any || m
			all = all && m
		}
	}
	switch {
	case all:
		return yes, nil
	case !any:
		return no, nil
	}
	// Name the facts the match varies with.
	var facts []string
	for j := range accounts {
		if slices.ContainsFunc(match, func(row []bool) bool { return row[j] != match[0][j] }) {
			facts = append(facts, "region")
			break
		}
	}
	for _, row := range match {
		if slices.Contains(row, !row[0]) {
			facts = append(facts, "account")
			break
		}
	}
	return maybe, facts
}

// tokens returns the ':'-separated parts of a pattern that pass ok.
func tokens(p string, ok func(string) bool) []string {
	var out []string
	for _, s := range strings.Split(p, ":") {
		if ok(s) {
			out = append(out, s)
		}
	}
	return out
}

func isRegionLike(s string) bool {
	parts := strings.Split(s, "-")
	return len(parts) >= 3 && strings.IndexFunc(s, func(r rune) bool { return r == '*' || r == '?' || r == '[' }) < 0
}

// tagsUnresolved is tagsMatch with unknown tags: a listed key carrying one
// of its values matches; a listed key whose value is unknown, or an unknown
// tag set, cannot be told.
func tagsUnresolved(want map[string]config.StringList, have map[string]string, u Unresolved) (tri, []string) {
	if tagsMatch(want, have) {
		return yes, nil
	}
	if u.Tags {
		return maybe, []string{"tags"}
	}
	var facts []string
	for key := range want {
		for _, k := range u.TagKeys {
			if strings.EqualFold(k, key) {
				facts = append(facts, "tag "+k)
			}
		}
	}
	if len(facts) > 0 {
		slices.Sort(facts)
		return maybe, facts
	}
	return no, nil
}
