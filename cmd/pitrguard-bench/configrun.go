package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/policy"
	"github.com/pitrguard/pitrguard/internal/report"
	"github.com/pitrguard/pitrguard/internal/testaws"
)

// noWindowPolicy judges PITR on or off only: no tier sets
// min_recovery_days, so AWS Config (which records the PITR status, not the
// window) decides every table it has a fresh item for.
const noWindowPolicy = `tiers:
  - name: critical
    match: { tags: { env: [prod, production] } }
    require_pitr: true
  - name: standard
    require_pitr: true
default_tier: standard
owner_tags: [owner, team]
`

// ConfigCheck compares an audit with --source config with the live audit
// of the same estate.
type ConfigCheck struct {
	Policy            string         `json:"policy"`
	LiveRun           string         `json:"live_run"`
	LiveWallSeconds   float64        `json:"live_wall_seconds"`
	LiveCallsPerTable float64        `json:"live_calls_per_table"`
	ConfigItems       int            `json:"config_items"`
	SelectCalls       int            `json:"select_calls"`
	FromConfig        int            `json:"decided_by_config"`
	ReadLive          map[string]int `json:"read_live_by_reason"`
	// Verdicts of the config run against the live run's facts judged by the
	// same policy (for the default policy: the live run's own verdicts).
	TablesCompared int      `json:"tables_compared"`
	VerdictsDiffer int      `json:"verdicts_differ"`
	Examples       []string `json:"examples"`
}

// configFake answers SelectAggregateResourceConfig (which moto lacks) with
// one item per table of a live report — its PITR status and tags as read
// live, captured an hour ago — 100 rows per page, through the proxy.
type configFake struct{ pages [][]string }

func newConfigFake(live *report.Audit, captured time.Time) *configFake {
	f := &configFake{}
	var page []string
	for _, t := range live.Tables {
		tags := []map[string]string{}
		for k, v := range t.Tags {
			tags = append(tags, map[string]string{"key": k, "value": v, "tag": k + "=" + v})
		}
		item := map[string]any{"accountId": t.Account, "awsRegion": t.Region, "resourceId": t.Name, "resourceName": t.Name,
			"configuration": map[string]any{"tableStatus": t.Status}, "tags": tags,
			"configurationItemCaptureTime": captured.UTC().Format("2006-01-02T15:04:05.000Z")}
		if t.PITR.Status == "ENABLED" || t.PITR.Status == "DISABLED" {
			item["supplementaryConfiguration"] = map[string]any{"ContinuousBackupsDescription": map[string]any{
				"pointInTimeRecoveryDescription": map[string]any{"pointInTimeRecoveryStatus": t.PITR.Status}}}
		}
		b, _ := json.Marshal(item)
		if page = append(page, string(b)); len(page) == 100 {
			f.pages, page = append(f.pages, page), nil
		}
	}
	if len(page) > 0 {
		f.pages = append(f.pages, page)
	}
	return f
}

func (f *configFake) respond(req map[string]any) map[string]any {
	i := 0
	if tok, _ := req["NextToken"].(string); tok != "" {
		i, _ = strconv.Atoi(tok)
	}
	out := map[string]any{"Results": []string{}, "QueryInfo": map[string]any{"SelectFields": []any{}}}
	if i < len(f.pages) {
		out["Results"] = f.pages[i]
	}
	if i+1 < len(f.pages) {
		out["NextToken"] = strconv.Itoa(i + 1)
	}
	return out
}

// configRuns audits the organization with --source config against an
// aggregator fake built from the live --org run: with the default policy
// (tables whose tier sets a minimum window are read live) and with a policy
// that sets none.
func (h *harness) configRuns(ctx context.Context, live *Run, logf func(string, ...any)) ([]*Run, error) {
	fake := newConfigFake(live.report, time.Now().Add(-time.Hour))
	h.proxy.Add(&testaws.Rule{Op: "SelectAggregateResourceConfig", Respond: fake.respond})
	defer h.proxy.Clear()
	policyFile := filepath.Join(h.dir, "no-window.yaml")
	if err := os.WriteFile(policyFile, []byte(noWindowPolicy), 0o644); err != nil {
		return nil, err
	}
	noWindow, err := config.Load(policyFile)
	if err != nil {
		return nil, err
	}
	regions := strings.Join(h.estate.Regions, ",")
	var runs []*Run
	for _, v := range []struct {
		name, policy string
		args         []string
		cfg          *config.Config
	}{
		{"source-config-no-window", "no window (" + policyFile[len(h.dir)+1:] + ")", []string{"--config", policyFile}, noWindow},
		{"source-config", "default", nil, nil},
	} {
		logf("Run: %s — pitrguard audit --org --source config:bench-aggregator, policy %s ...", v.name, v.policy)
		args := append([]string{"--org", "--regions", regions, "--source", "config:bench-aggregator"}, v.args...)
		r, err := h.audit(ctx, v.name, args...)
		if err != nil {
			return nil, err
		}
		cc := &ConfigCheck{Policy: v.policy, LiveRun: live.Name, LiveWallSeconds: live.WallSeconds, LiveCallsPerTable: live.CallsPerTable,
			ConfigItems: len(live.report.Tables), SelectCalls: r.Calls["SelectAggregateResourceConfig"], ReadLive: map[string]int{}, Examples: []string{}}
		want := live.verdicts
		if v.cfg != nil {
			want = judge(live.report, v.cfg)
		}
		for _, t := range r.report.Tables {
			if t.Source == model.SourceConfig {
				cc.FromConfig++
			} else {
				cc.ReadLive[t.SourceReason]++
			}
			key := t.Account + "/" + t.Region + "/" + t.Name
			w, ok := want[key]
			cc.TablesCompared++
			if !ok || w != string(t.Verdict) {
				cc.VerdictsDiffer++
				if len(cc.Examples) < 5 {
					cc.Examples = append(cc.Examples, fmt.Sprintf("%s: %s from %s, %q live", key, t.Verdict, t.Source, w))
				}
			}
		}
		cc.VerdictsDiffer += max(len(want)-len(r.report.Tables), 0) // tables the config run lost
		r.Config, r.report = cc, nil
		runs = append(runs, r)
	}
	return runs, nil
}

// judge evaluates the live run's facts under cfg: the verdicts a live audit
// with that policy would give.
func judge(live *report.Audit, cfg *config.Config) map[string]string {
	ev := policy.New(cfg, time.Now())
	out := make(map[string]string, len(live.Tables))
	for _, t := range live.Tables {
		tbl := &model.Table{Account: t.Account, Region: t.Region, Name: t.Name, ARN: t.ARN, Status: t.Status, Tags: t.Tags,
			TagsKnown: true, DescribeKnown: true,
			PITR: model.PITR{Known: t.PITR.Status != "UNKNOWN", Enabled: t.PITR.Status == "ENABLED"}}
		if d := t.PITR.RecoveryPeriodDays; d != nil {
			tbl.PITR.RecoveryPeriodDays = *d
		}
		out[t.Account+"/"+t.Region+"/"+t.Name] = string(ev.Evaluate(tbl).Verdict)
	}
	return out
}
