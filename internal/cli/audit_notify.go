package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/spf13/cobra"

	"github.com/pitrguard/pitrguard/internal/audit"
	"github.com/pitrguard/pitrguard/internal/awsx"
	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/notify"
	"github.com/pitrguard/pitrguard/internal/store"
)

// AuditNotifyOptions are audit's alert flags.
type AuditNotifyOptions struct {
	Notify        bool
	DryRun        bool
	ExpiryWarning time.Duration
}

func addAuditNotifyFlags(cmd *cobra.Command, o *AuditNotifyOptions) {
	fl := cmd.Flags()
	fl.BoolVar(&o.Notify, "notify", false, "compare with the last stored run of the same scope and alert owners (policy notify: section): new non-compliant tables, regressions, tables gone, fixes, exemptions expiring")
	fl.BoolVar(&o.DryRun, "notify-dry-run", false, "print the alerts --notify would send, without sending them")
	durationFlag(fl, &o.ExpiryWarning, "expiry-warning", 14*24*time.Hour, "with --notify: warn about exemptions expiring within this time")
}

// auditNotify sends (or, dry, prints) the alerts of an audit compared with
// the previous run of the same scope.
func auditNotify(ctx context.Context, f *Factory, p *awsx.Provider, db store.Store, cfg *config.Config, res *audit.Result, runID int64, args []string, o AuditNotifyOptions) error {
	if !o.Notify && !o.DryRun {
		return nil
	}
	if db == nil {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--notify compares with the last stored run, so it cannot be used with --no-store")}
	}
	if cfg.Notify == nil {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--notify: the policy (%s) has no notify: section; add channels and routes (README, \"Event handler and alerts\")", cfg.Source)}
	}
	prev, err := previousRun(ctx, db, runID, args)
	if err != nil {
		return err
	}
	var before []store.TableRecord
	if prev != 0 {
		if before, err = db.Tables(ctx, prev); err != nil {
			return err
		}
	}
	msgs := auditMessages(res, before, prev != 0, f.Now(), o.ExpiryWarning)
	base := p.Base()
	senders, errs := notify.Build(ctx, cfg.Notify, notify.Deps{Getenv: f.Getenv, SSM: ssm.NewFromConfig(base), Secrets: secretsmanager.NewFromConfig(base),
		SNS: func(region string) notify.SNSPublisher {
			c := base.Copy()
			if region != "" {
				c.Region = region
			}
			return sns.NewFromConfig(c)
		}})
	for _, e := range errs {
		fmt.Fprintln(f.IO.ErrOut, "warning:", e)
	}
	r := notify.NewRouter(cfg.Notify, senders, db, f.Now)
	var ds []notify.Delivery
	if o.DryRun {
		ds = r.DryRun(ctx, msgs)
	} else {
		ds = r.Send(ctx, msgs)
	}
	if prev == 0 {
		fmt.Fprintln(f.IO.ErrOut, "notify: no earlier run of this scope in the history; only expiring exemptions are reported this time")
	}
	failed := 0
	for _, d := range ds {
		line := fmt.Sprintf("notify %s → %s (owner %q): %s: %s", d.Kind, d.Channel, d.Owner, d.Result, strings.Join(d.Tables, ", "))
		if d.Error != "" {
			line += ": " + d.Error
			failed++
		}
		fmt.Fprintln(f.IO.ErrOut, line)
	}
	if o.DryRun {
		notify.SortMessages(msgs)
		for _, m := range msgs {
			fmt.Fprintf(f.IO.ErrOut, "  %s %s/%s/%s: %s\n", m.Kind, m.Account, m.Region, m.Table, m.Message)
		}
	}
	if failed > 0 {
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("%d notification(s) could not be delivered; the others were sent", failed)}
	}
	return nil
}

// scopeArgs drops the flags that do not change what an audit scans.
func scopeArgs(args string) string {
	skipVal := map[string]bool{"--format": true, "-f": true, "--output": true, "-o": true, "--expiry-warning": true, "--fail-on": true}
	skip := map[string]bool{"--notify": true, "--notify-dry-run": true, "--allow-partial": true, "-q": true, "--quiet": true}
	var out []string
	fs := strings.Fields(args)
	for i := 0; i < len(fs); i++ {
		name, _, hasVal := strings.Cut(fs[i], "=")
		switch {
		case skip[name]:
		case skipVal[name]:
			if !hasVal {
				i++
			}
		default:
			out = append(out, fs[i])
		}
	}
	return strings.Join(out, " ")
}

// previousRun is the latest completed audit before runID with the same scope.
func previousRun(ctx context.Context, db store.Store, runID int64, args []string) (int64, error) {
	runs, err := db.Runs(ctx, "audit", 200)
	if err != nil {
		return 0, err
	}
	want := scopeArgs(store.Argv(args))
	for _, r := range runs {
		if r.ID != runID && r.ID < runID && r.Status == "completed" && scopeArgs(r.Args) == want {
			return r.ID, nil
		}
	}
	return 0, nil
}

// auditMessages compares this run with the previous one.
func auditMessages(res *audit.Result, before []store.TableRecord, havePrev bool, now time.Time, expiry time.Duration) []notify.Message {
	prev := map[string]store.TableRecord{}
	for _, r := range before {
		prev[r.Account+"/"+r.Region+"/"+r.Name] = r
	}
	failed := map[string]bool{} // account-regions not read this time: absence there proves nothing
	for _, e := range res.Report.Errors {
		if e.Table == "" {
			failed[e.Account+"/"+e.Region] = true
		}
	}
	var msgs []notify.Message
	for _, e := range res.Entries {
		t, r := e.Table, e.Eval
		mk := func(kind notify.Kind, state, text string) {
			m := notify.New(kind, now)
			m.Account, m.Region, m.Table, m.ARN, m.Owner, m.Tier = t.Account, t.Region, t.Name, t.ARN, r.Owner, r.Tier.Name
			m.State, m.Message = state, text
			m.Details["verdict"], m.Details["pitr_status"] = string(r.Verdict), t.PITR.StatusString()
			if t.PITR.Enabled {
				m.Details["recovery_days"] = t.PITR.RecoveryPeriodDays
			}
			msgs = append(msgs, m)
		}
		if ex := r.Exemption; ex != nil && !ex.Expired && ex.Expires != "" {
			if d, err := time.Parse(time.DateOnly, ex.Expires); err == nil && d.AddDate(0, 0, 1).Sub(now) <= expiry {
				mk(notify.ExemptionExpiring, ex.Expires, fmt.Sprintf("the exemption of %s (%s) expires on %s; after that the table must meet tier %s", t.Name, ex.Reason, ex.Expires, r.Tier.Name))
			}
		}
		if !havePrev {
			continue
		}
		p, seen := prev[t.Account+"/"+t.Region+"/"+t.Name]
		reasons := make([]string, 0, len(r.Reasons))
		for _, x := range r.Reasons {
			reasons = append(reasons, string(x))
		}
		switch {
		case r.Verdict == model.NonCompliant && !seen:
			mk(notify.NewNonCompliant, "NON_COMPLIANT", fmt.Sprintf("new non-compliant table %s (tier %s): %s", t.Name, r.Tier.Name, strings.Join(reasons, ", ")))
		case r.Verdict == model.NonCompliant && p.Verdict == string(model.Compliant):
			mk(notify.Regression, "NON_COMPLIANT", fmt.Sprintf("%s regressed from COMPLIANT to NON_COMPLIANT (tier %s): %s", t.Name, r.Tier.Name, strings.Join(reasons, ", ")))
		case seen && t.PITR.Enabled && p.PITRStatus == "ENABLED" && p.RecoveryDays != nil && t.PITR.RecoveryPeriodDays < *p.RecoveryDays:
			mk(notify.Regression, fmt.Sprintf("%dd", t.PITR.RecoveryPeriodDays), fmt.Sprintf("the PITR window of %s was lowered from %d to %d days", t.Name, *p.RecoveryDays, t.PITR.RecoveryPeriodDays))
		case seen && r.Verdict == model.Compliant && p.Verdict == string(model.NonCompliant):
			mk(notify.Fixed, "COMPLIANT", fmt.Sprintf("%s is compliant again (tier %s)", t.Name, r.Tier.Name))
		}
	}
	current := map[string]bool{}
	for _, e := range res.Entries {
		current[e.Table.Account+"/"+e.Table.Region+"/"+e.Table.Name] = true
	}
	for _, p := range before {
		if current[p.Account+"/"+p.Region+"/"+p.Name] || failed[p.Account+"/"+p.Region] {
			continue
		}
		m := notify.New(notify.TableDeleted, now)
		m.Account, m.Region, m.Table, m.ARN, m.Owner, m.Tier = p.Account, p.Region, p.Name, p.ARN, p.Owner, p.Tier
		m.State = "gone"
		m.Message = fmt.Sprintf("%s is gone since the last audit (it had PITR %s)", p.Name, p.PITRStatus)
		if p.PITRStatus == "ENABLED" {
			m.Details["restore_command"] = "pitrguard restore --table " + p.ARN + " --deleted"
		}
		msgs = append(msgs, m)
	}
	notify.SortMessages(msgs)
	return msgs
}
