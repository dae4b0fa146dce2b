package policy

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/model"
)

// TestEvaluateUnresolvedAgreesWhenEverythingIsKnown: with every fact known,
// EvaluateUnresolved is Evaluate, for every tier and exemption of the policy.
func TestEvaluateUnresolvedAgreesWhenEverythingIsKnown(t *testing.T) {
	e := New(mustPolicy(t), now)
	on := func(days int) func(*model.Table) {
		return func(t *model.Table) { t.PITR.Enabled, t.PITR.RecoveryPeriodDays = true, days }
	}
	tag := func(k, v string) func(*model.Table) { return func(t *model.Table) { t.Tags[k] = v } }
	where := func(acct, region string) func(*model.Table) {
		return func(t *model.Table) {
			t.Account, t.Region = acct, region
			t.ARN = "arn:aws:dynamodb:" + region + ":" + acct + ":table/" + t.Name
		}
	}
	for _, tb := range []*model.Table{
		table("orders"), table("orders", on(35)), table("orders", on(7), tag("env", "prod")), table("orders", on(35), tag("ENV", "Production")),
		table("bc", on(7), tag("tier", "business-critical")), table("bc", on(14), tag("tier", "business-critical")),
		table("tmp-x"), table("x-cache", on(1)), table("eu", on(3), where("222222222222", "eu-west-1")),
		table("scratch-1"), table("scratch-1", where("222222222222", "us-east-1")), table("legacy-a"), table("last-day"),
		table("unknown", func(t *model.Table) { t.PITR.Known = false }),
	} {
		want := e.Evaluate(tb)
		u := e.EvaluateUnresolved(tb, Unresolved{})
		if !u.Decided || len(u.Deciding) != 0 || len(u.Possible) != 1 {
			t.Errorf("%s: undecided %v %v", tb.Name, u.Deciding, u.Possible)
		}
		if diff := cmp.Diff(want, u.Result, cmp.AllowUnexported(config.Tier{}, config.Exemption{})); diff != "" {
			t.Errorf("%s (-Evaluate +EvaluateUnresolved):\n%s", tb.Name, diff)
		}
	}
}

// TestEvaluateUnresolved: a fact that is not known decides the verdict only
// when it could change it; otherwise the verdict is the same as the audit's.
func TestEvaluateUnresolved(t *testing.T) {
	e := New(mustPolicy(t), now)
	iac := func(name string, enabled bool, days int, tags map[string]string) *model.Table {
		return &model.Table{Name: name, Tags: tags, TagsKnown: true, PITR: model.PITR{Known: true, Enabled: enabled, RecoveryPeriodDays: days}}
	}
	deployed := Unresolved{Account: true, Region: true}
	for _, tc := range []struct {
		name     string
		t        *model.Table
		u        Unresolved
		want     model.Verdict
		tier     string
		deciding []string
	}{
		{"ephemeral by name, PITR off", iac("tmp-orders", false, 0, map[string]string{}), deployed, model.Compliant, "ephemeral", nil},
		{"standard or eu-data, PITR off", iac("orders", false, 0, map[string]string{}), deployed, model.NonCompliant, "", nil},
		{"critical by tag, 7 days", iac("orders", true, 7, map[string]string{"env": "prod"}), deployed, model.NonCompliant, "critical", nil},
		{"unknown tags, PITR off: every tier says so", iac("orders", false, 0, nil), Unresolved{Account: true, Region: true, Tags: true}, model.NonCompliant, "", nil},
		{"unknown tags, 35 days: every tier passes", iac("orders", true, 35, nil), Unresolved{Account: true, Region: true, Tags: true}, model.Compliant, "", nil},
		{"unknown tags, 7 days: the tier decides", iac("orders", true, 7, nil), Unresolved{Account: true, Region: true, Tags: true}, model.Unknown, "", []string{"account", "region", "tags"}},
		{"unknown env value decides", iac("orders", true, 7, map[string]string{"team": "a"}), Unresolved{Account: true, Region: true, TagKeys: []string{"ENV"}}, model.Unknown, "", []string{"account", "region", "tag ENV"}},
		{"unknown value of a tag no tier reads", iac("orders", true, 7, map[string]string{}), Unresolved{TagKeys: []string{"cost-center"}, Account: true}, model.Compliant, "standard", nil},
		{"unknown name, PITR off: the ephemeral tier decides", iac("", false, 0, map[string]string{}), Unresolved{Name: true, Account: true, Region: true}, model.Unknown, "", []string{"account", "name", "region"}},
		{"exemption by ARN needs the account", iac("scratch-1", false, 0, map[string]string{}), deployed, model.Unknown, "", []string{"account", "region"}},
		{"exemption by ARN, PITR on anyway", iac("scratch-1", true, 0, map[string]string{}), deployed, model.Unknown, "", []string{"account", "region"}},
		{"expired exemption by name", iac("legacy-a", false, 0, map[string]string{}), Unresolved{Account: true}, model.NonCompliant, "standard", nil},
		{"tiered by region when it is known", iac("orders", true, 3, map[string]string{}), Unresolved{Account: true}, model.Compliant, "standard", nil},
	} {
		u := e.EvaluateUnresolved(tc.t, tc.u)
		got, decided, deciding := u.Result, u.Decided, u.Deciding
		if got.Verdict != tc.want || got.Tier.Name != tc.tier || decided != (tc.want != model.Unknown) || !slices.Equal(deciding, tc.deciding) {
			t.Errorf("%s: %s tier %q decided %v deciding %v; want %s tier %q deciding %v", tc.name, got.Verdict, got.Tier.Name, decided, deciding, tc.want, tc.tier, tc.deciding)
		}
	}
	// The possible verdicts are listed: exempt or compliant, never non-compliant.
	if u := e.EvaluateUnresolved(iac("scratch-1", true, 35, map[string]string{}), deployed); !slices.Equal(u.Possible, []model.Verdict{model.Compliant, model.Exempt}) {
		t.Errorf("possible: %v", u.Possible)
	}
	// An ARN pattern with wildcards for account and region matches by name alone.
	cfg, err := config.Parse("p.yaml", []byte("exemptions:\n  - table: \"arn:aws:dynamodb:*:*:table/scratch-*\"\n    reason: rebuilt\n"))
	if err != nil {
		t.Fatal(err)
	}
	u := New(cfg, now).EvaluateUnresolved(iac("scratch-1", false, 0, map[string]string{}), Unresolved{Account: true, Region: true})
	got, decided := u.Result, u.Decided
	if !decided || got.Verdict != model.Exempt || got.Exemption == nil || got.Exemption.Pattern != "arn:aws:dynamodb:*:*:table/scratch-*" {
		t.Errorf("wildcard ARN exemption: %s %v %+v", got.Verdict, decided, got.Exemption)
	}
	// Built-in defaults, exactly as the audit: env=prod is critical (35 days).
	d := New(config.Default(), now)
	if got := d.EvaluateUnresolved(iac("t", true, 14, map[string]string{"Environment": "PRD"}), deployed).Result; got.Verdict != model.NonCompliant || got.Tier.Name != "critical" {
		t.Errorf("defaults: %s %s", got.Verdict, got.Tier.Name)
	}
}
