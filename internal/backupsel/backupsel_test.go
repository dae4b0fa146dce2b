package backupsel

import (
	"strings"
	"testing"

	"github.com/pitrguard/pitrguard/internal/model"
)

const ordersARN = "arn:aws:dynamodb:eu-west-1:111111111111:table/orders"

type cond = model.BackupCondition

func tag(k, v string) cond { return cond{Key: TagKeyPrefix + k, Value: v} }

func TestEvaluate(t *testing.T) {
	prod := map[string]string{"env": "prod", "team": "payments"}
	cases := []struct {
		name   string
		sel    model.BackupSelection
		arn    string
		tags   map[string]string
		noTags bool // tags not read
		want   Match
		byType bool
	}{
		// Resources
		{name: "exact ARN", sel: model.BackupSelection{Resources: []string{ordersARN}}, want: Yes, byType: true},
		{name: "other table's ARN", sel: model.BackupSelection{Resources: []string{"arn:aws:dynamodb:eu-west-1:111111111111:table/users"}}, want: No},
		{name: "all tables of the type", sel: model.BackupSelection{Resources: []string{"arn:aws:dynamodb:*:*:table/*"}}, want: Yes, byType: true},
		{name: "prefix wildcard", sel: model.BackupSelection{Resources: []string{"arn:aws:dynamodb:*:*:table/ord*"}}, want: Yes, byType: true},
		{name: "wildcard region and account", sel: model.BackupSelection{Resources: []string{"arn:aws:dynamodb:*:111111111111:table/orders"}}, want: Yes, byType: true},
		{name: "wrong account", sel: model.BackupSelection{Resources: []string{"arn:aws:dynamodb:*:222222222222:table/*"}}, want: No},
		{name: "ARNs are case-sensitive", sel: model.BackupSelection{Resources: []string{"arn:aws:dynamodb:*:*:table/Orders"}}, want: No},
		{name: "star alone selects everything, not by type", sel: model.BackupSelection{Resources: []string{"*"}}, want: Yes},
		{name: "another service's ARN pattern", sel: model.BackupSelection{Resources: []string{"arn:aws:ec2:*:*:volume/*"}}, want: No},
		// AWS documents * as the only wildcard; whether ? is one (as in IAM's
		// ArnLike/StringLike) is not documented. No table name or tag value
		// holds a ?, so read literally it matches nothing: where reading it
		// as one character would match, the answer is unknown.
		{name: "question mark: unknown where it would match", sel: model.BackupSelection{Resources: []string{"arn:aws:dynamodb:*:*:table/order?"}}, want: Unknown},
		{name: "question mark: no where it could not match", sel: model.BackupSelection{Resources: []string{"arn:aws:dynamodb:*:*:table/user?"}}, want: No},
		{name: "question mark in NotResources", sel: model.BackupSelection{Resources: []string{"*"}, NotResources: []string{"arn:aws:dynamodb:*:*:table/order?"}}, want: Unknown},
		{name: "question mark, another Resources entry matches", sel: model.BackupSelection{Resources: []string{"arn:aws:dynamodb:*:*:table/order?", ordersARN}}, want: Yes, byType: true},
		{name: "any of several ARNs (OR)", sel: model.BackupSelection{Resources: []string{"arn:aws:dynamodb:*:*:table/users", ordersARN}}, want: Yes, byType: true},
		{name: "table name instead of ARN selects nothing", sel: model.BackupSelection{Resources: []string{"orders"}}, want: No},
		{name: "name pattern instead of ARN selects nothing", sel: model.BackupSelection{Resources: []string{"ord*"}}, want: No},
		{name: "star stops at whitespace", sel: model.BackupSelection{Resources: []string{"arn:aws:dynamodb:*:*:table/*"}}, arn: "arn:aws:dynamodb:eu-west-1:111111111111:table/a b", want: No},
		// empty selection
		{name: "no Resources and no ListOfTags selects everything", sel: model.BackupSelection{}, want: Yes},
		{name: "conditions only filter everything", sel: model.BackupSelection{Conditions: model.BackupConditions{StringEquals: []cond{tag("env", "prod")}}}, tags: prod, want: Yes},
		// NotResources
		{name: "NotResources excludes", sel: model.BackupSelection{Resources: []string{"*"}, NotResources: []string{ordersARN}}, want: No},
		{name: "NotResources wildcard excludes", sel: model.BackupSelection{Resources: []string{"arn:aws:dynamodb:*:*:table/*"}, NotResources: []string{"arn:aws:dynamodb:*:*:table/ord*"}}, want: No},
		{name: "NotResources of another table", sel: model.BackupSelection{Resources: []string{"arn:aws:dynamodb:*:*:table/*"}, NotResources: []string{"arn:aws:dynamodb:*:*:table/users"}}, want: Yes, byType: true},
		{name: "NotResources beats unknown tags", sel: model.BackupSelection{ListOfTags: []cond{tag("env", "prod")}, NotResources: []string{ordersARN}}, noTags: true, want: No},
		// ListOfTags (OR, StringEquals)
		{name: "ListOfTags match", sel: model.BackupSelection{ListOfTags: []cond{tag("env", "prod")}}, tags: prod, want: Yes},
		{name: "ListOfTags bare key", sel: model.BackupSelection{ListOfTags: []cond{{Key: "env", Value: "prod"}}}, tags: prod, want: Yes},
		{name: "ListOfTags any of (OR)", sel: model.BackupSelection{ListOfTags: []cond{tag("env", "production"), tag("team", "payments")}}, tags: prod, want: Yes},
		{name: "ListOfTags none", sel: model.BackupSelection{ListOfTags: []cond{tag("env", "production")}}, tags: prod, want: No},
		{name: "ListOfTags value case-sensitive", sel: model.BackupSelection{ListOfTags: []cond{tag("env", "Prod")}}, tags: prod, want: No},
		{name: "ListOfTags key case-sensitive", sel: model.BackupSelection{ListOfTags: []cond{tag("Env", "prod")}}, tags: prod, want: No},
		{name: "ListOfTags has no wildcard", sel: model.BackupSelection{ListOfTags: []cond{tag("env", "pro*")}}, tags: prod, want: No},
		{name: "ListOfTags OR Resources", sel: model.BackupSelection{Resources: []string{"arn:aws:dynamodb:*:*:table/users"}, ListOfTags: []cond{tag("env", "prod")}}, tags: prod, want: Yes},
		{name: "ListOfTags unread tags", sel: model.BackupSelection{ListOfTags: []cond{tag("env", "prod")}}, noTags: true, want: Unknown},
		{name: "Resources match makes unread tags irrelevant", sel: model.BackupSelection{Resources: []string{ordersARN}, ListOfTags: []cond{tag("env", "prod")}}, noTags: true, want: Yes, byType: true},
		// Conditions (AND)
		{name: "StringEquals holds", sel: model.BackupSelection{Resources: []string{"arn:aws:dynamodb:*:*:table/*"}, Conditions: model.BackupConditions{StringEquals: []cond{tag("env", "prod")}}}, tags: prod, want: Yes, byType: true},
		{name: "StringEquals fails", sel: model.BackupSelection{Resources: []string{"arn:aws:dynamodb:*:*:table/*"}, Conditions: model.BackupConditions{StringEquals: []cond{tag("env", "dev")}}}, tags: prod, want: No},
		{name: "conditions AND: one fails", sel: model.BackupSelection{Resources: []string{"*"}, Conditions: model.BackupConditions{StringEquals: []cond{tag("env", "prod"), tag("team", "search")}}}, tags: prod, want: No},
		{name: "conditions AND: all hold", sel: model.BackupSelection{Resources: []string{"*"}, Conditions: model.BackupConditions{StringEquals: []cond{tag("env", "prod"), tag("team", "payments")}}}, tags: prod, want: Yes},
		{name: "StringEquals on a missing tag", sel: model.BackupSelection{Resources: []string{"*"}, Conditions: model.BackupConditions{StringEquals: []cond{tag("backup", "daily")}}}, tags: prod, want: No},
		{name: "StringNotEquals holds", sel: model.BackupSelection{Resources: []string{"*"}, Conditions: model.BackupConditions{StringNotEquals: []cond{tag("env", "dev")}}}, tags: prod, want: Yes},
		{name: "StringNotEquals fails", sel: model.BackupSelection{Resources: []string{"*"}, Conditions: model.BackupConditions{StringNotEquals: []cond{tag("env", "prod")}}}, tags: prod, want: No},
		{name: "StringNotEquals on a missing tag holds", sel: model.BackupSelection{Resources: []string{"*"}, Conditions: model.BackupConditions{StringNotEquals: []cond{tag("backup", "none")}}}, tags: prod, want: Yes},
		{name: "StringLike prefix", sel: model.BackupSelection{Resources: []string{"*"}, Conditions: model.BackupConditions{StringLike: []cond{tag("env", "pro*")}}}, tags: prod, want: Yes},
		{name: "StringLike inner", sel: model.BackupSelection{Resources: []string{"*"}, Conditions: model.BackupConditions{StringLike: []cond{tag("team", "*ymen*")}}}, tags: prod, want: Yes},
		{name: "StringLike star spans spaces", sel: model.BackupSelection{Resources: []string{"*"}, Conditions: model.BackupConditions{StringLike: []cond{tag("desc", "a*c")}}}, tags: map[string]string{"desc": "a b c"}, want: Yes},
		{name: "StringLike case-sensitive", sel: model.BackupSelection{Resources: []string{"*"}, Conditions: model.BackupConditions{StringLike: []cond{tag("env", "PRO*")}}}, tags: prod, want: No},
		{name: "StringLike question mark: unknown where it would match", sel: model.BackupSelection{Resources: []string{"*"}, Conditions: model.BackupConditions{StringLike: []cond{tag("env", "pro?")}}}, tags: prod, want: Unknown},
		{name: "StringLike question mark: no where it could not match", sel: model.BackupSelection{Resources: []string{"*"}, Conditions: model.BackupConditions{StringLike: []cond{tag("env", "dev?")}}}, tags: prod, want: No},
		{name: "StringNotLike question mark: unknown where it would match", sel: model.BackupSelection{Resources: []string{"*"}, Conditions: model.BackupConditions{StringNotLike: []cond{tag("env", "p?od")}}}, tags: prod, want: Unknown},
		{name: "StringNotLike holds", sel: model.BackupSelection{Resources: []string{"*"}, Conditions: model.BackupConditions{StringNotLike: []cond{tag("env", "dev*")}}}, tags: prod, want: Yes},
		{name: "StringNotLike fails", sel: model.BackupSelection{Resources: []string{"*"}, Conditions: model.BackupConditions{StringNotLike: []cond{tag("env", "p*")}}}, tags: prod, want: No},
		{name: "StringNotLike on a missing tag holds", sel: model.BackupSelection{Resources: []string{"*"}, Conditions: model.BackupConditions{StringNotLike: []cond{tag("tmp", "*")}}}, tags: prod, want: Yes},
		// ListOfTags documents a bare key ("backup"); Conditions' examples all
		// write aws:ResourceTag/KEY, and a key without it is not documented.
		{name: "Conditions bare key", sel: model.BackupSelection{Resources: []string{"*"}, Conditions: model.BackupConditions{StringEquals: []cond{{Key: "env", Value: "prod"}}}}, tags: prod, want: Unknown},
		{name: "Conditions bare key, another condition fails", sel: model.BackupSelection{Resources: []string{"*"}, Conditions: model.BackupConditions{StringEquals: []cond{{Key: "env", Value: "prod"}, tag("team", "search")}}}, tags: prod, want: No},
		{name: "conditions with unread tags", sel: model.BackupSelection{Resources: []string{"*"}, Conditions: model.BackupConditions{StringEquals: []cond{tag("env", "prod")}}}, noTags: true, want: Unknown},
		{name: "conditions cannot rescue unselected", sel: model.BackupSelection{Resources: []string{"arn:aws:dynamodb:*:*:table/users"}, Conditions: model.BackupConditions{StringEquals: []cond{tag("env", "prod")}}}, noTags: true, want: No},
		{name: "ListOfTags and Conditions both hold", sel: model.BackupSelection{ListOfTags: []cond{tag("team", "payments")}, Conditions: model.BackupConditions{StringNotEquals: []cond{tag("env", "dev")}}}, tags: prod, want: Yes},
		{name: "ListOfTags holds, Conditions fail", sel: model.BackupSelection{ListOfTags: []cond{tag("team", "payments")}, Conditions: model.BackupConditions{StringNotEquals: []cond{tag("env", "prod")}}}, tags: prod, want: No},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			arn := c.arn
			if arn == "" {
				arn = ordersARN
			}
			tags := c.tags
			if tags == nil {
				tags = map[string]string{}
			}
			got := Evaluate(c.sel, Resource{ARN: arn, Tags: tags, TagsKnown: !c.noTags})
			if got.Match != c.want || got.ByType != c.byType {
				t.Errorf("Evaluate = %v (by type %v), want %v (by type %v)", got.Match, got.ByType, c.want, c.byType)
			}
		})
	}
}

func TestARNMatchAndLike(t *testing.T) {
	cases := []struct {
		f          func(string, string) bool
		pattern, s string
		want       bool
		name       string
	}{
		{ARNMatch, "arn:aws:dynamodb:*:*:table/*", "arn:aws:dynamodb:us-east-1:1:table/x", true, "two stars"},
		{ARNMatch, "arn:aws:dynamodb:*:*:table/*-prod", "arn:aws:dynamodb:us-east-1:1:table/a-prod", true, "suffix"},
		{ARNMatch, "arn:aws:dynamodb:*:*:table/*-prod", "arn:aws:dynamodb:us-east-1:1:table/a-prod2", false, "suffix mismatch"},
		{ARNMatch, "arn:aws:dynamodb:*", "arn:aws:dynamodb:us-east-1:1:table/x", true, "star spans colons and slashes"},
		{ARNMatch, "arn:aws:dynamodb:*:*:table/*", "arn:aws:dynamodb:us-east-1:1:table/x y", false, "no whitespace"},
		{ARNMatch, "*", "anything at all", true, "lone star"},
		{ARNMatch, "orders", "orders", false, "a name is not an ARN"},
		{ARNMatch, "arn:aws:dynamodb:us-east-1:1:table/x", "arn:aws:dynamodb:us-east-1:1:table/x", true, "literal"},
		{ARNMatch, "arn:aws:dynamodb:us-east-1:1:table/x", "arn:aws:dynamodb:us-east-1:1:table/xy", false, "literal is whole"},
		{ARNMatch, "arn:*:table/a*b*c", "arn:aws:dynamodb:r:1:table/aXbYbZc", true, "backtracking"},
		{Like, "*", "", true, "star matches empty"},
		{Like, "a*", "", false, "empty value"},
		{Like, "*rod*", "production", true, "inner"},
		{Like, "a*b", "a  b", true, "spaces"},
	}
	for _, c := range cases {
		if got := c.f(c.pattern, c.s); got != c.want {
			t.Errorf("%s: (%q, %q) = %v, want %v", c.name, c.pattern, c.s, got, c.want)
		}
	}
}

func TestExplain(t *testing.T) {
	r := Resource{ARN: ordersARN, Tags: map[string]string{"Env": "prod"}, TagsKnown: true}
	got := strings.Join(Explain(model.BackupSelection{Resources: []string{"orders"}}, r, "orders"), "\n")
	for _, w := range []string{`"orders", a table name, not an ARN`, "#29458", "arn:aws:dynamodb:eu-west-1:111111111111:table/orders"} {
		if !strings.Contains(got, w) {
			t.Errorf("explain lacks %q: %s", w, got)
		}
	}
	got = strings.Join(Explain(model.BackupSelection{Resources: []string{"*"}, NotResources: []string{"arn:aws:dynamodb:*:*:table/ord*"}}, r, "orders"), "\n")
	if !strings.Contains(got, "excluded by NotResources") {
		t.Errorf("explain: %s", got)
	}
	got = strings.Join(Explain(model.BackupSelection{ListOfTags: []cond{tag("env", "prod")}}, r, "orders"), "\n")
	if !strings.Contains(got, "case-sensitively") {
		t.Errorf("explain: %s", got)
	}
	if e := Explain(model.BackupSelection{Resources: []string{"users"}}, r, "orders"); len(e) != 0 {
		t.Errorf("an unrelated name is not this table's concern: %v", e)
	}
}

func TestUndocumented(t *testing.T) {
	if u := Undocumented(model.BackupSelection{Resources: []string{"arn:aws:dynamodb:*:*:table/a?"}, Conditions: model.BackupConditions{
		StringNotEquals: []cond{{Key: "env", Value: "dev"}}}}); len(u) != 2 {
		t.Errorf("undocumented %v: want the ? and the bare Conditions key", u)
	}
	if u := Undocumented(model.BackupSelection{Resources: []string{"*"}, ListOfTags: []cond{{Key: "env", Value: "prod"}}, Conditions: model.BackupConditions{
		StringLike: []cond{tag("team", "pay*")}}}); len(u) != 0 {
		t.Errorf("undocumented %v: want none", u)
	}
}
