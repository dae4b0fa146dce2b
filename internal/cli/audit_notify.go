package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/spf13/cobra"

	"github.com/pitrguard/pitrguard/internal/audit"
	"github.com/pitrguard/pitrguard/internal/awsx"
	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/events"
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
	if err := checkAuditNotify(db, cfg); err != nil {
		return err
	}
	prev, before, err := previousTables(ctx, db, runID, args)
	if err != nil {
		return err
	}
	msgs, err := events.AuditMessages(res, before, prev != 0, f.Now(), o.ExpiryWarning)
	if err != nil {
		return err
	}
	senders, errs := notify.Build(ctx, cfg.Notify, notifyDeps(f, p))
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
	failed := writeAuditDeliveries(f.IO.ErrOut, ds)
	if o.DryRun {
		writeDryRunMessages(f.IO.ErrOut, msgs)
	}
	if failed > 0 {
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("%d notification(s) could not be delivered; the others were sent", failed)}
	}
	return nil
}

// checkAuditNotify refuses --notify without a history or a notify: section.
func checkAuditNotify(db store.Store, cfg *config.Config) error {
	if db == nil {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--notify compares with the last stored run, so it cannot be used with --no-store")}
	}
	if cfg.Notify == nil {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--notify: the policy (%s) has no notify: section; add channels and routes (README, \"Event handler and alerts\")", cfg.Source)}
	}
	return nil
}

// previousTables is the previous run of the same scope (0 when there is
// none) and its tables.
func previousTables(ctx context.Context, db store.Store, runID int64, args []string) (int64, []store.TableRecord, error) {
	prev, err := previousRun(ctx, db, runID, args)
	if err != nil || prev == 0 {
		return 0, nil, err
	}
	before, err := db.Tables(ctx, prev)
	if err != nil {
		return 0, nil, err
	}
	return prev, before, nil
}

// notifyDeps gives the notification channels their AWS clients, with SNS in
// the topic's region.
func notifyDeps(f *Factory, p *awsx.Provider) notify.Deps {
	base := p.Base()
	return notify.Deps{Getenv: f.Getenv, SSM: ssm.NewFromConfig(base), Secrets: secretsmanager.NewFromConfig(base),
		SNS: func(region string) notify.SNSPublisher {
			c := base.Copy()
			if region != "" {
				c.Region = region
			}
			return sns.NewFromConfig(c)
		}}
}

// writeAuditDeliveries prints one line per delivery and returns how many failed.
func writeAuditDeliveries(w io.Writer, ds []notify.Delivery) (failed int) {
	for _, d := range ds {
		line := fmt.Sprintf("notify %s → %s (owner %q): %s: %s", d.Kind, d.Channel, d.Owner, d.Result, strings.Join(d.Tables, ", "))
		if d.Error != "" {
			line += ": " + d.Error
			failed++
		}
		fmt.Fprintln(w, line)
	}
	return failed
}

// writeDryRunMessages prints the messages --notify-dry-run would have sent.
func writeDryRunMessages(w io.Writer, msgs []notify.Message) {
	notify.SortMessages(msgs)
	for _, m := range msgs {
		fmt.Fprintf(w, "  %s %s/%s/%s: %s\n", m.Kind, m.Account, m.Region, m.Table, m.Message)
	}
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
