package selection

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/pitrguard/pitrguard/internal/audit"
	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/policy"
)

func entry(account, region, name, tier, owner string, verdict model.Verdict) audit.Entry {
	return audit.Entry{Table: &model.Table{Account: account, Region: region, Name: name},
		Eval: policy.Result{Verdict: verdict, Tier: config.Tier{Name: tier}, Owner: owner}}
}

func names(es []audit.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Table.Account+"/"+e.Table.Region+"/"+e.Table.Name)
	}
	return out
}

var entries = []audit.Entry{
	entry("111111111111", "us-east-1", "orders", "critical", "team-a", model.NonCompliant),
	entry("222222222222", "eu-west-1", "orders", "standard", "team-b", model.Compliant),
	entry("111111111111", "us-east-1", "tmp-1", "ephemeral", "", model.Exempt),
	entry("111111111111", "us-east-1", "pitrguard-drill-orders-x", "standard", "", model.Compliant),
}

func TestSelect(t *testing.T) {
	arn, _ := ParseTable("arn:aws:dynamodb:eu-west-1:222222222222:table/orders")
	cases := map[string]struct {
		c         Criteria
		want      []string
		unmatched []string
	}{
		"all":                               {Criteria{}, names(entries), nil},
		"name in any account":               {Criteria{Tables: []model.TableRef{{Name: "orders"}}}, []string{"111111111111/us-east-1/orders", "222222222222/eu-west-1/orders"}, nil},
		"by ARN":                            {Criteria{Tables: []model.TableRef{arn}}, []string{"222222222222/eu-west-1/orders"}, nil},
		"tier, any case":                    {Criteria{Tiers: []string{"CRITICAL"}}, []string{"111111111111/us-east-1/orders"}, nil},
		"owner":                             {Criteria{Owner: "Team-B"}, []string{"222222222222/eu-west-1/orders"}, nil},
		"exempt and prefix":                 {Criteria{ExcludeExempt: true, ExcludePrefix: "pitrguard-drill-"}, []string{"111111111111/us-east-1/orders", "222222222222/eu-west-1/orders"}, nil},
		"nothing":                           {Criteria{Tables: []model.TableRef{{Name: "nope"}}, Owner: "nobody"}, nil, []string{"--table nope", "--owner nobody"}},
		"one tier of two":                   {Criteria{Tiers: []string{"critical", "gold"}}, []string{"111111111111/us-east-1/orders"}, []string{"--tier gold"}},
		"owner only among the named tables": {Criteria{Tables: []model.TableRef{{Name: "orders"}}, Owner: "nobody"}, nil, []string{"--owner nobody"}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got := Select(t.Context(), entries, c.c)
			if !slices.Equal(names(got.Entries), c.want) || !slices.Equal(got.Unmatched, c.unmatched) {
				t.Errorf("got %v unmatched %v, want %v %v", names(got.Entries), got.Unmatched, c.want, c.unmatched)
			}
		})
	}
}

func TestSelectDue(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	last := map[string]time.Time{"111111111111/us-east-1/orders": now.Add(-24 * time.Hour)}
	due := &Due{Every: 7 * 24 * time.Hour, Now: now, Last: func(_ context.Context, a, r, n string) (time.Time, bool, error) {
		if n == "tmp-1" {
			return time.Time{}, false, errors.New("database is locked")
		}
		l, ok := last[a+"/"+r+"/"+n]
		return l, ok, nil
	}}
	got := Select(t.Context(), entries[:3], Criteria{Due: due})
	if want := []string{"222222222222/eu-west-1/orders", "111111111111/us-east-1/tmp-1"}; !slices.Equal(names(got.Entries), want) || got.NotDue != 1 {
		t.Errorf("due: %v not due %d", names(got.Entries), got.NotDue)
	}
	if len(got.Errors) != 1 || got.Errors[0].Table != "tmp-1" {
		t.Errorf("errors %+v", got.Errors)
	}
	// A table that exists but is not due was matched: no "unmatched".
	got = Select(t.Context(), entries, Criteria{Tables: []model.TableRef{{Account: "111111111111", Region: "us-east-1", Name: "orders"}}, Due: due})
	if len(got.Entries) != 0 || len(got.Unmatched) != 0 || got.NotDue != 1 {
		t.Errorf("not due: %+v", got)
	}
}

func TestParseTable(t *testing.T) {
	for _, bad := range []string{"", "a/b", "arn:aws:dynamodb:us-east-1:123:table/x", "arn:aws:dynamodb:us-east-1:123456789012:table/x/index/y"} {
		if _, err := ParseTable(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if r, err := ParseTable("arn:aws-cn:dynamodb:cn-north-1:123456789012:table/x"); err != nil || r.Name != "x" || r.Partition != "aws-cn" {
		t.Errorf("%+v %v", r, err)
	}
}
