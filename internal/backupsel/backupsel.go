// Package backupsel decides whether an AWS Backup selection assigns a
// DynamoDB table to its plan. AWS has no call that answers it, and peers get
// it wrong in known ways, so this is the one evaluator: the audit, the proof
// of `pitrguard backup plan` and the docs all use it. It follows the AWS
// Backup API reference (BackupSelection) and developer guide (assigning
// resources):
//
//   - Resources are ARN patterns, OR-ed; `*` matches any run of
//     non-whitespace characters, and "*" alone matches every resource.
//   - ListOfTags are StringEquals tag conditions, OR-ed with Resources.
//   - A selection with neither Resources nor ListOfTags selects every
//     (opted-in) resource.
//   - Then every entry of Conditions must hold (AND): StringEquals,
//     StringNotEquals, StringLike, StringNotLike on aws:ResourceTag/KEY.
//     Operators are case-sensitive; in StringLike `*` matches any run of
//     characters, spaces included. A NotEquals/NotLike condition on a tag
//     the table does not carry holds.
//   - `?` is not documented as a wildcard (in ARN patterns or StringLike);
//     where reading it as one character would change the answer, the
//     answer is Unknown. So is a Conditions entry whose key lacks the
//     documented aws:ResourceTag/ prefix (ListOfTags documents bare keys).
//   - NotResources, ARN patterns like Resources, exclude what they match.
//
// A table *name* in Resources is not an ARN and selects nothing
// (terraform-provider-aws #29458); Explain says so. When the answer depends
// on tags that could not be read, the result is Unknown, never a guess.
package backupsel

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/pitrguard/pitrguard/internal/model"
)

// Match is a three-valued answer.
type Match int

// Answers.
const (
	No Match = iota
	Yes
	Unknown
)

func (m Match) String() string {
	switch m {
	case Yes:
		return "yes"
	case Unknown:
		return "unknown"
	}
	return "no"
}

// Resource is what a selection is evaluated on.
type Resource struct {
	ARN  string
	Tags map[string]string
	// TagsKnown is false when the tags could not be read: a selection that
	// looks at tags then answers Unknown.
	TagsKnown bool
}

// TableResource is the Resource of a table.
func TableResource(t *model.Table) Resource {
	return Resource{ARN: t.ARN, Tags: t.Tags, TagsKnown: t.TagsKnown}
}

// Result is a selection's answer for one resource.
type Result struct {
	Match Match
	// ByType is true when a Resources ARN pattern of the resource's own
	// service (arn:…:dynamodb:…) matched: the resource type is assigned
	// explicitly, and AWS Backup then ignores the region's opt-in for it
	// (developer guide, "Assigning resources to a backup plan"). A
	// selection by tags only, or by "*", is subject to the opt-in.
	ByType bool
}

// TagKeyPrefix is the condition-key prefix of a tag.
const TagKeyPrefix = "aws:ResourceTag/"

// Evaluate answers whether sel assigns r to its plan.
func Evaluate(sel model.BackupSelection, r Resource) Result {
	excluded := No
	for _, p := range sel.NotResources {
		switch arnMatch(p, r.ARN) {
		case Yes:
			return Result{Match: No}
		case Unknown:
			excluded = Unknown
		}
	}
	var res Result
	selected := No
	if len(sel.Resources) == 0 && len(sel.ListOfTags) == 0 {
		selected = Yes
	}
	for _, p := range sel.Resources {
		m := arnMatch(p, r.ARN)
		if m == Yes {
			res.ByType = res.ByType || namesService(p, r.ARN)
		}
		selected = or(selected, m)
	}
	if selected != Yes {
		for _, c := range sel.ListOfTags {
			selected = or(selected, tagCondition(c, r, equals))
		}
	}
	res.Match = and(and(selected, conditions(sel.Conditions, r)), not(excluded))
	if res.Match != Yes {
		res.ByType = false
	}
	return res
}

// Undocumented says what in sel AWS does not document, which makes an
// answer Unknown although the tags were read: a `?` in an ARN pattern or a
// StringLike/StringNotLike value, a Conditions key without the
// aws:ResourceTag/ prefix. Empty when nothing.
func Undocumented(sel model.BackupSelection) []string {
	var out []string
	for _, p := range append(append([]string{}, sel.Resources...), sel.NotResources...) {
		if strings.HasPrefix(p, "arn:") && strings.Contains(p, "?") {
			out = append(out, fmt.Sprintf("ARN pattern %q has a \"?\", which AWS Backup does not document as a wildcard (write * or the exact name)", p))
		}
	}
	for _, k := range sel.Conditions.Kinds() {
		for _, c := range k.Conditions {
			if !strings.HasPrefix(c.Key, TagKeyPrefix) {
				out = append(out, fmt.Sprintf("condition %s %s has no %s prefix, which AWS Backup documents for Conditions (write %s%s)", k.Operator, c.Key, TagKeyPrefix, TagKeyPrefix, c.Key))
			}
			if strings.HasSuffix(k.Operator, "Like") && strings.Contains(c.Value, "?") {
				out = append(out, fmt.Sprintf("condition %s %s = %q has a \"?\", which AWS Backup does not document as a wildcard (write *)", k.Operator, c.Key, c.Value))
			}
		}
	}
	return out
}

// UsesTags reports whether the answer of sel can depend on a resource's tags.
func UsesTags(sel model.BackupSelection) bool {
	return len(sel.ListOfTags) > 0 || !sel.Conditions.Empty()
}

// conditions answers a selection's Conditions: every one must hold. Their
// keys are documented as aws:ResourceTag/KEY only; a condition on another
// key is Unknown (ListOfTags documents a bare key too).
func conditions(c model.BackupConditions, r Resource) Match {
	m := Yes
	cond := func(x model.BackupCondition, test func(pattern, value string) Match) Match {
		if !strings.HasPrefix(x.Key, TagKeyPrefix) {
			return Unknown
		}
		return tagCondition(x, r, test)
	}
	for _, x := range c.StringEquals {
		m = and(m, cond(x, equals))
	}
	for _, x := range c.StringNotEquals {
		m = and(m, not(cond(x, equals)))
	}
	for _, x := range c.StringLike {
		m = and(m, cond(x, like))
	}
	for _, x := range c.StringNotLike {
		m = and(m, not(cond(x, like)))
	}
	return m
}

func equals(pattern, value string) Match { return answer(pattern == value) }

func answer(b bool) Match {
	if b {
		return Yes
	}
	return No
}

// tagCondition tests the tag a condition names with test; a missing tag
// does not match (so its negation holds).
func tagCondition(c model.BackupCondition, r Resource, test func(pattern, value string) Match) Match {
	if !r.TagsKnown {
		return Unknown
	}
	v, ok := r.Tags[TagKey(c.Key)]
	if !ok {
		return No
	}
	return test(c.Value, v)
}

// TagKey is the tag key a condition key names (aws:ResourceTag/env → env).
func TagKey(conditionKey string) string {
	return strings.TrimPrefix(conditionKey, TagKeyPrefix)
}

func or(a, b Match) Match {
	switch {
	case a == Yes || b == Yes:
		return Yes
	case a == Unknown || b == Unknown:
		return Unknown
	}
	return No
}

func and(a, b Match) Match {
	switch {
	case a == No || b == No:
		return No
	case a == Unknown || b == Unknown:
		return Unknown
	}
	return Yes
}

func not(a Match) Match {
	switch a {
	case Yes:
		return No
	case No:
		return Yes
	}
	return Unknown
}

// ARNMatch reports whether an ARN pattern of Resources or NotResources
// matches arn: case-sensitive, `*` matches any run (possibly empty) of
// non-whitespace characters, and "*" alone matches every resource. A pattern
// that is not an ARN (a table name) matches nothing. `?` is read literally
// (see arnMatch for the evaluator's reading).
func ARNMatch(pattern, arn string) bool {
	if pattern == "*" {
		return true
	}
	if !strings.HasPrefix(pattern, "arn:") {
		return false
	}
	return wildcard(pattern, arn, notSpace, false)
}

// Like is StringLike: case-sensitive, `*` matches any run of characters
// (spaces included). `?` is read literally (see like).
func Like(pattern, value string) bool {
	return wildcard(pattern, value, anyRune, false)
}

func notSpace(r rune) bool { return !unicode.IsSpace(r) }
func anyRune(rune) bool    { return true }

// arnMatch is ARNMatch as the evaluator answers it. AWS documents `*` as
// the only wildcard; whether `?` stands for one character (as in IAM's
// ArnLike) is not documented. Where the two readings differ, the answer is
// Unknown, never a guess.
func arnMatch(pattern, arn string) Match {
	lit := ARNMatch(pattern, arn)
	if !strings.Contains(pattern, "?") || !strings.HasPrefix(pattern, "arn:") {
		return answer(lit)
	}
	return agree(lit, wildcard(pattern, arn, notSpace, true))
}

// like is Like as the evaluator answers it: Unknown where reading `?` as
// one character would answer otherwise (StringLike's `?` is not documented).
func like(pattern, value string) Match {
	lit := Like(pattern, value)
	if !strings.Contains(pattern, "?") {
		return answer(lit)
	}
	return agree(lit, wildcard(pattern, value, anyRune, true))
}

func agree(a, b bool) Match {
	if a != b {
		return Unknown
	}
	return answer(a)
}

// wildcard matches s against pattern, where `*` matches any run of runes
// that star accepts, and `?`, when one is true, any one rune that star
// accepts (dynamic programming over prefixes: patterns and ARNs are short,
// and it stays right whatever star accepts).
func wildcard(pattern, s string, star func(rune) bool, one bool) bool {
	p, v := []rune(pattern), []rune(s)
	// ok[j] is whether p[:i] matches v[:j], for the current i.
	ok := make([]bool, len(v)+1)
	ok[0] = true
	for i := range p {
		next := make([]bool, len(v)+1)
		switch {
		case p[i] == '*':
			next[0] = ok[0]
			for j := 1; j <= len(v); j++ {
				next[j] = ok[j] || (next[j-1] && star(v[j-1]))
			}
		case p[i] == '?' && one:
			for j := 1; j <= len(v); j++ {
				next[j] = ok[j-1] && star(v[j-1])
			}
		default:
			for j := 1; j <= len(v); j++ {
				next[j] = ok[j-1] && v[j-1] == p[i]
			}
		}
		ok = next
	}
	return ok[len(v)]
}

// namesService reports whether an ARN pattern names the service of arn
// literally (arn:aws:dynamodb:… for a table), i.e. assigns the type.
func namesService(pattern, arn string) bool {
	ps, as := strings.SplitN(pattern, ":", 4), strings.SplitN(arn, ":", 4)
	return len(ps) == 4 && len(as) == 4 && ps[2] == as[2]
}

// IsName reports whether a Resources entry is not an ARN (nor "*"): a
// name, which AWS Backup reads as an ARN that matches nothing.
func IsName(entry string) bool {
	return entry != "*" && !strings.HasPrefix(entry, "arn:")
}

// Explain says, for a resource sel does not select, what in sel a reader
// would expect to select it and why it does not: a table name where an ARN
// belongs, an exclusion by NotResources, and a tag condition that differs
// only in case. Empty when nothing stands out.
func Explain(sel model.BackupSelection, r Resource, tableName string) []string {
	var out []string
	for _, e := range sel.Resources {
		if IsName(e) && (e == tableName || strings.HasSuffix(r.ARN, ":table/"+e) || strings.Contains(e, "*")) {
			out = append(out, fmt.Sprintf("Resources lists %q, a table name, not an ARN: AWS Backup selects nothing with it (terraform-provider-aws #29458); write %s", e, suggestARN(r.ARN, e)))
		}
	}
	for _, e := range sel.NotResources {
		if ARNMatch(e, r.ARN) {
			out = append(out, fmt.Sprintf("excluded by NotResources %q", e))
		}
	}
	if r.TagsKnown {
		all := append(append([]model.BackupCondition{}, sel.ListOfTags...), sel.Conditions.StringEquals...)
		for _, c := range all {
			k := TagKey(c.Key)
			for tk, tv := range r.Tags {
				if (tk == k && tv != c.Value && strings.EqualFold(tv, c.Value)) || (tk != k && strings.EqualFold(tk, k) && strings.EqualFold(tv, c.Value)) {
					out = append(out, fmt.Sprintf("condition %s = %q does not match the tag %s = %q: AWS Backup compares tag keys and values case-sensitively", c.Key, c.Value, tk, tv))
				}
			}
		}
	}
	return out
}

// suggestARN is the ARN a name entry should have been: the table's own ARN
// with the name (a pattern keeps its wildcards).
func suggestARN(arn, name string) string {
	if i := strings.LastIndex(arn, ":table/"); i >= 0 {
		return arn[:i] + ":table/" + name
	}
	return "arn:aws:dynamodb:REGION:ACCOUNT:table/" + name
}
