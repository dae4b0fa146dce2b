package backupplan

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/pitrguard/pitrguard/internal/backupsel"
	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/model"
)

// alternative is one (tag key, value) a tier's match accepts.
type alternative struct {
	key, value string
	like       bool // the value has * wildcards (StringLike)
}

func (a alternative) cond() model.BackupCondition {
	return model.BackupCondition{Key: backupsel.TagKeyPrefix + a.key, Value: a.value}
}

// selections are the selections that assign the tables of tier (at index
// idx of cfg's tiers; len(cfg.Tiers) for the default tier), with the gaps.
func selections(cfg *config.Config, idx int, tier config.Tier, partition string) ([]model.BackupSelection, []string, error) {
	var gaps []string
	var notEquals, notLike []model.BackupCondition
	var notResources []string
	for _, e := range cfg.Tiers[:idx] {
		m := e.Match
		hasTags, hasARN := len(m.Tags) > 0, len(m.Names)+len(m.Accounts)+len(m.Regions) > 0
		switch {
		case !hasTags && !hasARN:
			return nil, nil, fmt.Errorf("tier %s comes after tier %s, which matches every table: no table is ever in tier %s", tier.Name, e.Name, tier.Name)
		case hasTags && hasARN:
			gaps = append(gaps, fmt.Sprintf("tier %s, before this one, matches by tags together with names, accounts or regions: a selection cannot exclude exactly that combination, so tables of tier %s that these selections also select are included", e.Name, e.Name))
		case hasTags:
			alts, g := alternatives(m.Tags, e.Name)
			gaps = append(gaps, g...)
			for _, a := range alts {
				if a.like {
					notLike = append(notLike, a.cond())
				} else {
					notEquals = append(notEquals, a.cond())
				}
			}
		default:
			arns, g := matchARNs(m, partition, e.Name)
			gaps = append(gaps, g...)
			notResources = append(notResources, arns...)
		}
	}
	resources, g := matchARNs(tier.Match, partition, tier.Name)
	gaps = append(gaps, g...)
	if n := wildcards(resources) + wildcards(notResources); n > maxWildcardARNs {
		gaps = append(gaps, fmt.Sprintf("the selections hold %d ARN patterns with wildcards; AWS Backup accepts at most %d per selection: narrow the policy's names, accounts or regions", n, maxWildcardARNs))
	}
	base := model.BackupSelection{Resources: resources, NotResources: notResources,
		Conditions: model.BackupConditions{StringNotEquals: notEquals, StringNotLike: notLike}}
	alts, g := alternatives(tier.Match.Tags, tier.Name)
	gaps = append(gaps, g...)
	if len(alts) == 0 {
		return []model.BackupSelection{base}, gaps, nil
	}
	var out []model.BackupSelection
	for _, a := range alts {
		s := base
		s.Resources, s.NotResources = slices.Clone(base.Resources), slices.Clone(base.NotResources)
		s.Conditions = model.BackupConditions{StringNotEquals: slices.Clone(notEquals), StringNotLike: slices.Clone(notLike)}
		if a.like {
			s.Conditions.StringLike = []model.BackupCondition{a.cond()}
		} else {
			s.Conditions.StringEquals = []model.BackupCondition{a.cond()}
		}
		out = append(out, s)
	}
	return out, gaps, nil
}

// alternatives lists the (key, value) pairs of a tier's tag match, sorted,
// with the gaps between the policy's matching and AWS Backup's.
func alternatives(tags map[string]config.StringList, tier string) ([]alternative, []string) {
	if len(tags) == 0 {
		return nil, nil
	}
	gaps := []string{fmt.Sprintf("tier %s: the policy matches tag keys and values case-insensitively, AWS Backup case-sensitively: a table tagged in another case (Env=Prod for env: prod) is not selected", tier)}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []alternative
	for _, k := range keys {
		for _, v := range tags[k] {
			w := wildcardOnly(v)
			if w != v {
				gaps = append(gaps, fmt.Sprintf("tier %s: tag value pattern %q uses ? or [...], which AWS Backup's StringLike lacks; %q is used, which may select more", tier, v, w))
			}
			out = append(out, alternative{key: k, value: w, like: strings.Contains(w, "*")})
		}
	}
	return out, gaps
}

// matchARNs are the DynamoDB table ARN patterns of a match's names,
// accounts and regions (every table when it has none).
func matchARNs(m config.Match, partition, tier string) ([]string, []string) {
	var gaps []string
	or := func(v []string) []string {
		if len(v) == 0 {
			return []string{"*"}
		}
		return v
	}
	if len(m.Names) > 0 {
		gaps = append(gaps, fmt.Sprintf("tier %s: the policy matches table names case-insensitively, AWS Backup's ARN patterns case-sensitively", tier))
	}
	var out []string
	for _, name := range or(m.Names) {
		if strings.HasPrefix(name, "arn:") { // the policy matches names or ARNs
			out = append(out, wildcardOnly(name))
			continue
		}
		for _, region := range or(m.Regions) {
			for _, account := range or(m.Accounts) {
				out = append(out, fmt.Sprintf("arn:%s:dynamodb:%s:%s:table/%s", partition, wildcardOnly(region), account, wildcardOnly(name)))
			}
		}
	}
	for _, p := range append(append(slices.Clone(m.Names), m.Regions...), m.Accounts...) {
		if wildcardOnly(p) != p {
			gaps = append(gaps, fmt.Sprintf("tier %s: pattern %q uses ? or [...], which AWS Backup's ARN patterns lack; %q is used, which may select more", tier, p, wildcardOnly(p)))
		}
	}
	slices.Sort(out)
	return slices.Compact(out), gaps
}

// wildcardOnly turns a policy glob into one with * as its only wildcard:
// ? and [...] become * (which matches more).
func wildcardOnly(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '?':
			b.WriteByte('*')
		case '[':
			if end := strings.IndexByte(p[i+1:], ']'); end >= 0 {
				b.WriteByte('*')
				i += end + 1
				continue
			}
			b.WriteByte('[')
		default:
			b.WriteByte(p[i])
		}
	}
	return b.String()
}

func wildcards(arns []string) int {
	n := 0
	for _, a := range arns {
		if strings.Contains(a, "*") {
			n++
		}
	}
	return n
}
