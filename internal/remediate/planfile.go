package remediate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/model"
)

var regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)

// LoadPlan reads and validates a plan written by `pitrguard enable --out`.
// Every problem is reported with the action's index, so a hand-edited plan
// can be fixed; a plan with any problem is refused whole.
func LoadPlan(path string) (*Plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("plan file %s: %w", path, errors.Unwrap(err))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Plan
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("plan file %s is not a pitrguard plan: %v (write one with `pitrguard enable --out %s`)", path, err, path)
	}
	var errs []string
	if p.SchemaVersion != 1 {
		errs = append(errs, fmt.Sprintf("schema_version is %d; this pitrguard reads version 1", p.SchemaVersion))
	}
	if p.Mode != "plan" {
		errs = append(errs, fmt.Sprintf("mode is %q; only a plan (mode \"plan\") can be applied", p.Mode))
	}
	seen := map[string]bool{}
	for i, a := range p.Actions {
		where := fmt.Sprintf("actions[%d] (%s)", i, a.Table)
		if !config.IsAccountID(a.Account) {
			errs = append(errs, fmt.Sprintf("%s: account %q is not a 12-digit id", where, a.Account))
		}
		if !regionRE.MatchString(a.Region) {
			errs = append(errs, fmt.Sprintf("%s: region %q is not a region name", where, a.Region))
		}
		if a.Table == "" || len(a.Table) > 255 {
			errs = append(errs, fmt.Sprintf("%s: table name must be 1–255 characters", where))
		}
		if a.Action != EnablePITR && a.Action != RaiseRecoveryPeriod {
			errs = append(errs, fmt.Sprintf("%s: action %q is not enable_pitr or raise_recovery_period", where, a.Action))
		}
		if a.ToDays < config.MinRecoveryDays || a.ToDays > config.MaxRecoveryDays {
			errs = append(errs, fmt.Sprintf("%s: to_days %d is outside 1–35", where, a.ToDays))
		}
		if a.Result != Planned {
			errs = append(errs, fmt.Sprintf("%s: result is %q; a plan's actions are \"planned\"", where, a.Result))
		}
		if a.FromDays != nil && a.ToDays < *a.FromDays && !a.Decrease {
			errs = append(errs, fmt.Sprintf("%s: to_days %d is below from_days %d without \"decrease\": true", where, a.ToDays, *a.FromDays))
		}
		errs = append(errs, checkARN(where, a)...)
		key := a.Account + "/" + a.Region + "/" + a.Table
		if seen[key] {
			errs = append(errs, fmt.Sprintf("%s: %s appears twice", where, key))
		}
		seen[key] = true
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("plan file %s is invalid:\n  %s", path, strings.Join(errs, "\n  "))
	}
	if p.Skipped == nil {
		p.Skipped = []SkippedTable{}
	}
	if p.Warnings == nil {
		p.Warnings = []string{}
	}
	return &p, nil
}

// checkARN requires the action's ARN to be a table ARN that names the same
// account, region and table as the action: a plan whose "arn" says t-0005
// while "table" says t-0001 is refused, not applied to either.
func checkARN(where string, a Action) []string {
	ref, err := model.ParseTableARN(a.ARN)
	if err != nil {
		return []string{fmt.Sprintf("%s: arn: %v", where, err)}
	}
	var errs []string
	for _, f := range []struct{ field, inARN, inAction string }{
		{"account", ref.Account, a.Account}, {"region", ref.Region, a.Region}, {"table", ref.Name, a.Table}} {
		if f.inARN != f.inAction {
			errs = append(errs, fmt.Sprintf("%s: arn %s names %s %q but the action's %s is %q; fix the plan or plan again",
				where, a.ARN, f.field, f.inARN, f.field, f.inAction))
		}
	}
	return errs
}
