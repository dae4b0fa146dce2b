package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/spf13/cobra"

	"github.com/pitrguard/pitrguard/internal/awsx"
	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/events"
	"github.com/pitrguard/pitrguard/internal/notify"
	"github.com/pitrguard/pitrguard/internal/report"
	"github.com/pitrguard/pitrguard/internal/store"
)

// HandleEventOptions are the flags of `pitrguard handle-event`.
type HandleEventOptions struct {
	File         string
	ConfigFile   string
	RoleName     string
	ExternalID   string
	QueueURL     string
	Wait         time.Duration
	IgnoreRoles  []string
	Format       string
	Output       string
	NotifyDryRun bool
	Check        bool

	// hidden, for tests
	Backoff      time.Duration
	RequeueDelay time.Duration
	roleNameSet  bool
}

func newHandleEventCmd(f *Factory, g *GlobalOptions) *cobra.Command {
	o := &HandleEventOptions{}
	cmd := &cobra.Command{
		Use:     "handle-event --file EVENT.json",
		GroupID: "act",
		Short:   "Handle DynamoDB CloudTrail events: close PITR gaps the moment they open, and alert owners",
		Long: `Handle-event processes EventBridge "AWS API Call via CloudTrail" events for
DynamoDB — the same code path as the Lambda function that 'pitrguard deploy
events' sets up. The event is a hint: the table's live state is re-read first.

  CreateTable, RestoreTableToPointInTime, RestoreTableFromBackup, ImportTable
      wait for ACTIVE, evaluate with the policy (tier, exemptions), enable PITR
      with the tier's window (retrying while AWS is still enabling backups),
      read it back. Work that outlives --wait is re-queued to --queue-url with
      a delay (without a queue it is reported pending, exit 4).
  UpdateContinuousBackups that disabled PITR or set a window below the tier's
      minimum: restore the policy and alert, naming the actor and the history lost.
  DeleteTable: alert with the last known settings from the history database
      and the exact 'pitrguard restore --deleted' command.
  TagResource, UntagResource: re-evaluate (the tier may have changed).

Failed calls (errorCode set) and pitrguard's own calls (--ignore-role; by
default the role pitrguard runs as) are ignored. Every action is journaled
with the event id; the same event handled twice changes nothing twice.
Alerts go to the notify: channels of the policy file, one message per owner
and kind.`,
		Example: `  # One event from a file, acting in the event's account through the member role
  pitrguard handle-event --file create-orders.json --config pitrguard.yaml

  # A JSON array or NDJSON of events from stdin, as JSON
  aws events ... | pitrguard handle-event --file - --format json

  # Re-queue work that outlives 2 minutes to the retry queue
  pitrguard handle-event --file ev.json --wait 2m --queue-url https://sqs.us-east-1.amazonaws.com/111111111111/pitrguard-retry

  # Check the prerequisites (an organization CloudTrail trail logging management events)
  pitrguard handle-event --check`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.roleNameSet = cmd.Flags().Changed("role-name")
			if err := o.validate(); err != nil {
				return err
			}
			if o.Check {
				return handleEventCheck(cmd.Context(), f, g, o)
			}
			return handleEventRun(cmd.Context(), f, g, o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.File, "file", "", "events to handle: a file, or - for stdin (one event, a JSON array, NDJSON, or an SQS batch)")
	fl.StringVar(&o.ConfigFile, "config", "", "policy file (default: ./pitrguard.yaml if present, else built-in defaults)")
	fl.StringVar(&o.RoleName, "role-name", awsx.DefaultRoleName, "role assumed in the event's account when it is not the caller's")
	fl.StringVar(&o.ExternalID, "external-id", "", "external id passed to sts:AssumeRole, if the member role requires one")
	fl.StringVar(&o.QueueURL, "queue-url", "", "SQS queue to re-queue events whose work outlives --wait (the deployed retry queue)")
	durationFlag(fl, &o.Wait, "wait", 10*time.Minute, "how long to wait for a new table to become ACTIVE and for AWS to allow PITR on it")
	fl.StringSliceVar(&o.IgnoreRoles, "ignore-role", nil, "role names whose calls are ignored (default: the role pitrguard runs as)")
	formatFlag(cmd, &o.Format, "table", "json")
	outputFlag(cmd, &o.Output, "the outcomes")
	fl.BoolVar(&o.NotifyDryRun, "notify-dry-run", false, "print the alerts that would be sent instead of sending them")
	fl.BoolVar(&o.Check, "check", false, "verify the prerequisites instead of handling events: an organization CloudTrail trail logging management events")
	fl.DurationVar(&o.Backoff, "backoff", 0, "first delay between retries within one invocation")
	fl.DurationVar(&o.RequeueDelay, "requeue-delay", time.Minute, "first delay of a re-queued event")
	_ = fl.MarkHidden("backoff")
	_ = fl.MarkHidden("requeue-delay")
	return cmd
}

func (o *HandleEventOptions) validate() error {
	if err := checkFormat(o.Format, "table", "json"); err != nil {
		return err
	}
	if o.Check {
		if o.File != "" {
			return FlagErrorf("--check verifies the deployment; it does not take --file")
		}
		return nil
	}
	if o.File == "" {
		return FlagErrorf("--file is required: an event file, or - for stdin")
	}
	if !roleNameRE.MatchString(o.RoleName) {
		return FlagErrorf("--role-name %q is not a valid IAM role name (or path/name)", o.RoleName)
	}
	if o.ExternalID != "" && (!externalIDRE.MatchString(o.ExternalID) || len(o.ExternalID) < 2 || len(o.ExternalID) > 1224) {
		return FlagErrorf("--external-id must be 2–1224 characters of letters, digits and +=,.@:/-")
	}
	if o.QueueURL != "" && !strings.HasPrefix(o.QueueURL, "https://") && !strings.HasPrefix(o.QueueURL, "http://") {
		return FlagErrorf("--queue-url %q is not a queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)", o.QueueURL)
	}
	for _, r := range o.IgnoreRoles {
		if !roleNameRE.MatchString(r) {
			return FlagErrorf("--ignore-role %q is not a valid IAM role name", r)
		}
	}
	return checkOutputPath("output", o.Output)
}

// handlerSetup is what the CLI and the Lambda function configure the handler with.
type handlerSetup struct {
	Config       *config.Config
	RoleName     string
	RoleNameSet  bool
	ExternalID   string
	QueueURL     string
	Wait         time.Duration
	IgnoreRoles  []string
	NotifyDryRun bool
	Backoff      time.Duration
	RequeueDelay time.Duration
}

// handlerEnv is a ready handler with what it holds open.
type handlerEnv struct {
	handler  *events.Handler
	provider *awsx.Provider
	db       store.Store
	router   *notify.Router
	warnings []string
}

func (e *handlerEnv) Close() { closeStore(e.db) } // nil with --no-store

// dryRunNotifier reports what would be sent.
type dryRunNotifier struct{ r *notify.Router }

func (d dryRunNotifier) Send(ctx context.Context, msgs []notify.Message) []notify.Delivery {
	return d.r.DryRun(ctx, msgs)
}

// newHandlerEnv builds the handler: AWS provider, store, notifier, requeuer.
func newHandlerEnv(ctx context.Context, f *Factory, g *GlobalOptions, p *awsx.Provider, db store.Store, s handlerSetup) *handlerEnv {
	env := &handlerEnv{provider: p, db: db}
	deps := events.Deps{Clients: &events.ProviderClients{P: p}}
	if db != nil {
		deps.Journal = db
	}
	base := p.Base()
	if s.QueueURL != "" {
		qcfg := base.Copy()
		if r := events.QueueRegion(s.QueueURL); r != "" {
			qcfg.Region = r
		}
		deps.Requeue = &events.SQSRequeuer{Client: sqs.NewFromConfig(qcfg), QueueURL: s.QueueURL}
	}
	senders, errs := notify.Build(ctx, s.Config.Notify, notify.Deps{
		Getenv:  f.Getenv,
		SSM:     ssm.NewFromConfig(base),
		Secrets: secretsmanager.NewFromConfig(base),
		SNS: func(region string) notify.SNSPublisher {
			c := base.Copy()
			if region != "" {
				c.Region = region
			}
			return sns.NewFromConfig(c)
		},
	})
	for _, err := range errs {
		env.warnings = append(env.warnings, err.Error())
	}
	var dedup notify.Deduper = &notify.MemoryDedup{}
	if db != nil {
		dedup = db
	}
	env.router = notify.NewRouter(s.Config.Notify, senders, dedup, f.Now)
	if s.NotifyDryRun {
		deps.Notify = dryRunNotifier{env.router}
	} else {
		deps.Notify = env.router
	}
	ignore := append([]string{}, s.IgnoreRoles...)
	if len(ignore) == 0 {
		if role := callerRole(p.Caller().ARN); role != "" {
			ignore = append(ignore, role)
		}
	}
	opts := events.Options{Policy: s.Config, Now: f.Now, Wait: s.Wait, IgnoreRoles: ignore, RequeueDelay: s.RequeueDelay}
	if s.RoleName != "" {
		opts.MemberRole = s.RoleName
	}
	if s.Backoff > 0 {
		b := s.Backoff
		opts.Backoff = func(n int) time.Duration { return min(b<<min(n-1, 5), 30*time.Second) }
	}
	env.handler = events.New(deps, opts)
	return env
}

// callerRole is the role name in an assumed-role ARN, or "".
func callerRole(a string) string {
	if _, rest, ok := strings.Cut(a, ":assumed-role/"); ok {
		role, _, _ := strings.Cut(rest, "/")
		return role
	}
	return ""
}

func handleEventRun(ctx context.Context, f *Factory, g *GlobalOptions, o *HandleEventOptions) error {
	items, err := readEvents(f, o.File)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(o.ConfigFile)
	if err != nil {
		return err
	}
	db, err := f.openStore(ctx, g)
	if err != nil {
		return err
	}
	p, err := f.awsProvider(ctx, g, &TargetOptions{RoleName: o.RoleName, ExternalID: o.ExternalID})
	if err != nil {
		closeStore(db)
		return err
	}
	env := newHandlerEnv(ctx, f, g, p, db, o.handlerSetup(cfg))
	defer env.Close()
	for _, w := range env.warnings {
		fmt.Fprintln(f.IO.ErrOut, "warning:", w)
	}
	b := env.handler.HandleAll(ctx, items)
	if err := writeOutput(f, o.Output, func(w io.Writer) error { return writeBatch(w, f, o.Format, o.Output != "", b) }); err != nil {
		return err
	}
	if !g.Quiet {
		writeEventDeliveries(f.IO.ErrOut, b.Notifications)
	}
	return handleEventExit(ctx, b.Tally())
}

// readEvents decodes the events in file ("-" for stdin).
func readEvents(f *Factory, file string) ([]events.Item, error) {
	var in io.Reader = f.IO.In
	if file != "-" {
		fh, err := os.Open(file)
		if err != nil {
			return nil, &ExitError{Code: ExitUsage, Err: fmt.Errorf("--file: %w", err)}
		}
		defer fh.Close()
		in = fh
	}
	items, err := events.Decode(in)
	if err != nil {
		return nil, &ExitError{Code: ExitUsage, Err: fmt.Errorf("--file %s: %w", file, err)}
	}
	return items, nil
}

// handlerSetup is the handler's setup from the flags; the member role is
// only overridden when --role-name was given.
func (o *HandleEventOptions) handlerSetup(cfg *config.Config) handlerSetup {
	role := ""
	if o.roleNameSet {
		role = o.RoleName
	}
	return handlerSetup{Config: cfg, RoleName: role, QueueURL: o.QueueURL, Wait: o.Wait,
		IgnoreRoles: o.IgnoreRoles, NotifyDryRun: o.NotifyDryRun, Backoff: o.Backoff, RequeueDelay: o.RequeueDelay}
}

// writeEventDeliveries prints one line per notification sent.
func writeEventDeliveries(w io.Writer, ds []notify.Delivery) {
	for _, d := range ds {
		line := fmt.Sprintf("notify %s → %s (owner %q, %d table(s)): %s", d.Kind, d.Channel, d.Owner, len(d.Tables), d.Result)
		if d.Error != "" {
			line += ": " + d.Error
		}
		fmt.Fprintln(w, line)
	}
}

// handleEventExit is the exit of a batch: interrupted, failed events
// or notifications (ExitFailure), then pending events (ExitPending).
func handleEventExit(ctx context.Context, t events.Tally) error {
	switch {
	case ctx.Err() != nil:
		return &ExitError{Code: ExitInterrupted, Err: errors.New("interrupted")}
	case t.Failed > 0:
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("%d event(s) failed; the output says why", t.Failed)}
	case t.NotifyFailed > 0:
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("%d notification(s) could not be delivered; the others were sent", t.NotifyFailed)}
	case t.Pending > 0:
		return &ExitError{Code: ExitPending, Err: fmt.Errorf("%d event(s) pending; handle them again later, or pass --queue-url to re-queue them", t.Pending)}
	}
	return nil
}

func writeBatch(w io.Writer, f *Factory, format string, toFile bool, b events.Batch) error {
	if format == "json" {
		return report.WriteJSON(w, b)
	}
	rows := make([][]string, 0, len(b.Outcomes))
	for _, o := range b.Outcomes {
		rows = append(rows, []string{o.EventID, o.EventName, o.Account, o.Region, o.Table, o.Action, o.Result, o.Message})
	}
	tty := f.IO.IsStdoutTTY() && !toFile
	return report.Table(w, report.Style{Aligned: tty}, []string{"EVENT", "NAME", "ACCOUNT", "REGION", "TABLE", "ACTION", "RESULT", "MESSAGE"}, rows)
}
