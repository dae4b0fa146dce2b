package events

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/inventory"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/notify"
	"github.com/pitrguard/pitrguard/internal/policy"
	"github.com/pitrguard/pitrguard/internal/remediate"
	"github.com/pitrguard/pitrguard/internal/store"
)

// Results of handling one event. They are part of the JSON output.
const (
	ResultApplied          = "applied"           // PITR enabled or its window raised, and read back
	ResultAlreadyCompliant = "already_compliant" // live state already meets the policy
	ResultExempt           = "exempt"            // an exemption applies; nothing changed
	ResultAlerted          = "alerted"           // only an alert (DeleteTable)
	ResultIgnored          = "ignored"           // failed call, pitrguard's own call, or an event not acted on
	ResultDuplicate        = "duplicate"         // this event was already handled
	ResultGone             = "gone"              // the table no longer exists (out-of-order event)
	ResultRequeued         = "requeued"          // work outlives this invocation: sent back to the queue with a delay
	ResultPending          = "pending"           // as requeued, but there is no queue: run again later
	ResultFailed           = "failed"
)

// Actions.
const (
	ActionNone  = "none"
	ActionAlert = "alert"
)

// DynamoDB is what the handler calls: the audit's reads plus UpdateContinuousBackups.
type DynamoDB interface {
	inventory.TableReader
	UpdateContinuousBackups(context.Context, *dynamodb.UpdateContinuousBackupsInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateContinuousBackupsOutput, error)
}

// Clients hands out DynamoDB clients acting in an account-region (assuming
// the member role for other accounts).
type Clients interface {
	DynamoDB(ctx context.Context, account, region string) (DynamoDB, error)
}

// Journal is the part of the store the handler uses.
type Journal interface {
	AddEventAction(ctx context.Context, e store.EventAction) error
	EventActions(ctx context.Context, eventID string) ([]store.EventAction, error)
	LastTable(ctx context.Context, account, region, name string) (*store.TableRecord, error)
}

// Requeuer sends an event back to the retry queue, delivered after delay.
type Requeuer interface {
	Requeue(ctx context.Context, ev Event, delay time.Duration) error
}

// Notifier delivers alerts.
type Notifier interface {
	Send(ctx context.Context, msgs []notify.Message) []notify.Delivery
}

// Deps are the handler's collaborators. Journal, Requeue and Notify may be nil.
type Deps struct {
	Clients Clients
	Journal Journal
	Requeue Requeuer
	Notify  Notifier
	Log     *slog.Logger
}

// Options tune the handler.
type Options struct {
	Policy *config.Config
	Now    func() time.Time
	// Wait bounds how long one invocation waits for a table to become ACTIVE
	// and for AWS to allow PITR on it; the context's deadline bounds it too.
	Wait time.Duration
	// Backoff is the delay before retry n (1-based) within an invocation.
	Backoff func(n int) time.Duration
	// IgnoreRoles are role names (or path/name) whose calls are ignored:
	// pitrguard's own, so it never reacts to itself.
	IgnoreRoles []string
	// MemberRole is the role pitrguard assumes in member accounts; its calls
	// with a session name starting with "pitrguard" are pitrguard's own.
	MemberRole string
	// MaxRequeues bounds how often one event is sent back (default 12).
	MaxRequeues int
	// RequeueDelay is the first delay of a re-queued event (doubles, at most
	// SQS's 15 minutes). Default 1 minute.
	RequeueDelay time.Duration
}

// Handler handles events.
type Handler struct {
	d Deps
	o Options
}

// New returns a Handler.
func New(d Deps, o Options) *Handler {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Policy == nil {
		o.Policy = config.Default()
	}
	if o.Backoff == nil {
		o.Backoff = func(n int) time.Duration { return min(time.Second<<min(n-1, 5), 30*time.Second) }
	}
	if o.MaxRequeues <= 0 {
		o.MaxRequeues = 12
	}
	if o.RequeueDelay <= 0 {
		o.RequeueDelay = time.Minute
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return &Handler{d: d, o: o}
}

// Outcome is what handling one event did.
type Outcome struct {
	EventID   string           `json:"event_id"`
	EventName string           `json:"event_name"`
	Actor     string           `json:"actor"`
	Account   string           `json:"account"`
	Region    string           `json:"region"`
	Table     string           `json:"table"`
	Tier      string           `json:"tier,omitempty"`
	Owner     string           `json:"owner,omitempty"`
	Action    string           `json:"action"`
	Result    string           `json:"result"`
	Message   string           `json:"message"`
	Before    *remediate.State `json:"before,omitempty"`
	After     *remediate.State `json:"after,omitempty"`
	// Alerts are the messages this event produced (sent by the batch).
	Alerts []notify.Message `json:"alerts"`
	// DurationMS is how long handling took, from taking the event up to its
	// result (for "applied": PITR read back ENABLED), before journaling.
	DurationMS float64 `json:"duration_ms"`
	// MessageID is the SQS message the event came in.
	MessageID string `json:"-"`
}

// Retryable reports whether the event should be delivered again (a Lambda
// error or an SQS batch item failure).
func (o Outcome) Retryable() bool { return o.Result == ResultFailed }

// Batch is the result of handling several events.
type Batch struct {
	SchemaVersion int               `json:"schema_version"`
	Outcomes      []Outcome         `json:"outcomes"`
	Notifications []notify.Delivery `json:"notifications"`
	Summary       map[string]int    `json:"summary"`
}

// HandleAll handles items in order (one at a time: order matters for one
// table), then sends the alerts they produced, grouped per owner and kind.
func (h *Handler) HandleAll(ctx context.Context, items []Item) Batch {
	b := Batch{SchemaVersion: 1, Outcomes: []Outcome{}, Notifications: []notify.Delivery{}, Summary: map[string]int{}}
	var msgs []notify.Message
	for _, it := range items {
		var o Outcome
		if it.Err != nil {
			o = Outcome{EventID: it.Event.Key(), EventName: it.Event.Detail.EventName, Action: ActionNone, Result: ResultFailed,
				Message: it.Err.Error(), Alerts: []notify.Message{}}
			// A malformed event will never succeed: do not have it retried forever.
			if it.Event.Source != "" || it.Event.Key() != "" {
				o.Result = ResultIgnored
			}
		} else {
			o = h.Handle(ctx, it.Event)
		}
		o.MessageID = it.MessageID
		msgs = append(msgs, o.Alerts...)
		b.Outcomes = append(b.Outcomes, o)
		b.Summary[o.Result]++
	}
	if len(msgs) > 0 && h.d.Notify != nil {
		b.Notifications = h.d.Notify.Send(ctx, msgs)
	}
	return b
}

// Handle handles one event.
func (h *Handler) Handle(ctx context.Context, ev Event) Outcome {
	start := time.Now()
	o := h.handle(ctx, ev, start)
	if o.DurationMS == 0 {
		o.DurationMS = ms(time.Since(start))
	}
	return o
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (h *Handler) handle(ctx context.Context, ev Event, start time.Time) Outcome {
	o := Outcome{EventID: ev.Key(), EventName: ev.Detail.EventName, Actor: ev.Detail.UserIdentity.ARN, Action: ActionNone, Alerts: []notify.Message{}}
	ref, refErr := ev.TableRef()
	if refErr == nil {
		o.Account, o.Region, o.Table = ref.Account, ref.Region, ref.Name
	}
	switch {
	case ev.Detail.ErrorCode != "":
		o.Result, o.Message = ResultIgnored, "the call failed ("+ev.Detail.ErrorCode+"): nothing changed"
		return o // not journaled: nothing happened, and failed calls can be many
	case h.own(ev.Detail.UserIdentity):
		o.Result, o.Message = ResultIgnored, "a call by pitrguard's own role ("+roleName(ev.Detail.UserIdentity)+"): ignored so it never reacts to itself"
		return o
	case !slices.Contains(EventNames, ev.Detail.EventName):
		o.Result, o.Message = ResultIgnored, ev.Detail.EventName+" is not an event pitrguard acts on"
		return o
	case refErr != nil:
		o.Result, o.Message = ResultIgnored, refErr.Error()
		return o
	}
	if h.d.Journal != nil {
		prev, err := h.d.Journal.EventActions(ctx, o.EventID)
		if err != nil {
			o.Result, o.Message = ResultFailed, "read the event journal: "+err.Error()
			return o
		}
		if i := slices.IndexFunc(prev, func(a store.EventAction) bool { return final(a.Result) }); i >= 0 {
			o.Result = ResultDuplicate
			o.Message = fmt.Sprintf("event already handled at %s (%s: %s); nothing done again", prev[i].At.Format(time.RFC3339), prev[i].Action, prev[i].Result)
			return o
		}
	}
	db, err := h.d.Clients.DynamoDB(ctx, ref.Account, ref.Region)
	if err != nil {
		o.Result, o.Message = ResultFailed, err.Error()
		h.journal(ctx, ev, &o)
		return o
	}
	if ev.Detail.EventName == DeleteTable {
		h.deleted(ctx, db, ev, ref, &o)
	} else {
		h.table(ctx, db, ev, ref, &o)
	}
	o.DurationMS = ms(time.Since(start))
	h.journal(ctx, ev, &o)
	h.d.Log.Info("event handled", "event_id", o.EventID, "event", o.EventName, "account", o.Account, "region", o.Region,
		"table", o.Table, "action", o.Action, "result", o.Result)
	return o
}

// final reports whether a journaled result means the event is done.
func final(result string) bool {
	return result != ResultRequeued && result != ResultPending && result != ResultFailed
}

func (h *Handler) journal(ctx context.Context, ev Event, o *Outcome) {
	if h.d.Journal == nil {
		return
	}
	before, _ := json.Marshal(o.Before)
	after, _ := json.Marshal(o.After)
	if err := h.d.Journal.AddEventAction(context.WithoutCancel(ctx), store.EventAction{EventID: o.EventID, At: h.o.Now(), EventName: o.EventName,
		Actor: o.Actor, Account: o.Account, Region: o.Region, Table: o.Table, Action: o.Action, Result: o.Result,
		Before: before, After: after, Message: o.Message}); err != nil {
		h.d.Log.Warn("could not journal the event", "event_id", o.EventID, "error", err)
	}
}

// own reports whether the call was made by pitrguard itself.
func (h *Handler) own(u UserIdentity) bool {
	role := roleName(u)
	if role == "" {
		return false
	}
	for _, r := range h.o.IgnoreRoles {
		if strings.EqualFold(r[strings.LastIndex(r, "/")+1:], role) {
			return true
		}
	}
	if h.o.MemberRole != "" && strings.EqualFold(h.o.MemberRole[strings.LastIndex(h.o.MemberRole, "/")+1:], role) {
		return strings.HasPrefix(sessionName(u), "pitrguard")
	}
	return false
}

// roleName is the role behind an assumed-role identity, or "".
func roleName(u UserIdentity) string {
	if u.SessionContext != nil && u.SessionContext.SessionIssuer.Type == "Role" && u.SessionContext.SessionIssuer.UserName != "" {
		return u.SessionContext.SessionIssuer.UserName
	}
	// arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION
	if _, rest, ok := strings.Cut(u.ARN, ":assumed-role/"); ok {
		role, _, _ := strings.Cut(rest, "/")
		return role
	}
	return ""
}

func sessionName(u UserIdentity) string {
	if _, rest, ok := strings.Cut(u.ARN, ":assumed-role/"); ok {
		_, s, _ := strings.Cut(rest, "/")
		return s
	}
	return ""
}

// deadline is when this invocation must stop waiting.
func (h *Handler) deadline(ctx context.Context) time.Time {
	d := time.Now().Add(h.o.Wait) // the real clock: Options.Now only dates records
	if dl, ok := ctx.Deadline(); ok {
		// Leave time to journal, re-queue and alert before Lambda stops us.
		if dl2 := dl.Add(-15 * time.Second); dl2.Before(d) {
			d = dl2
		}
	}
	return d
}

func (h *Handler) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// table handles every event about a live table: re-read, evaluate, close the
// gap, alert.
func (h *Handler) table(ctx context.Context, db DynamoDB, ev Event, ref model.TableRef, o *Outcome) {
	deadline := h.deadline(ctx)
	var t *model.Table
	for attempt := 1; ; attempt++ {
		var found bool
		t, found = inventory.ReadTable(ctx, db, ref.Partition, ref.Account, ref.Region, ref.Name)
		if !found {
			o.Result, o.Message = ResultGone, "table "+ref.Name+" no longer exists; nothing to do (the event arrived after the table was deleted)"
			return
		}
		if !t.DescribeKnown || t.Status == "ACTIVE" {
			break
		}
		delay := h.o.Backoff(attempt)
		if time.Now().Add(delay).After(deadline) || !h.sleep(ctx, delay) {
			h.later(ctx, ev, o, "table "+ref.Name+" is still "+t.Status)
			return
		}
	}
	r := policy.New(h.o.Policy, h.o.Now()).Evaluate(t)
	o.Tier, o.Owner = r.Tier.Name, r.Owner
	before := &remediate.State{Enabled: t.PITR.Enabled, Days: t.PITR.RecoveryPeriodDays}
	o.Before, o.After = before, before
	var alert *notify.Message
	if ev.Detail.EventName == UpdateContinuousBackups && r.Verdict != model.Exempt && r.Tier.RequiresPITR() {
		alert = h.loweringAlert(ctx, ev, t, r)
	}
	switch r.Verdict {
	case model.Exempt:
		o.Result, o.Message = ResultExempt, fmt.Sprintf("exempt (%s): nothing changed", r.Exemption.Reason)
	case model.Compliant:
		o.Result, o.Message = ResultAlreadyCompliant, fmt.Sprintf("PITR is %s (tier %s): nothing to change", describe(*before), r.Tier.Name)
	case model.Unknown:
		o.Result, o.Message = ResultFailed, "could not read the table's PITR state ("+reasons(r.Reasons)+"); it will be retried"
		for _, re := range t.ReadErrors {
			o.Message += "; " + re.Op + ": " + re.Code + ": " + re.Message
		}
	case model.NonCompliant:
		h.enable(ctx, db, ev, t, r, o)
	default:
		o.Result, o.Message = ResultFailed, "unexpected verdict "+string(r.Verdict)
	}
	if alert != nil {
		if o.Result == ResultApplied {
			alert.Message += fmt.Sprintf("; pitrguard re-enabled it with %d days", o.After.Days)
			alert.Details["restored_to_days"] = o.After.Days
		} else if o.Result != ResultAlreadyCompliant {
			alert.Message += "; pitrguard could not restore it yet (" + o.Result + ")"
		}
		o.Alerts = append(o.Alerts, *alert)
	} else if o.Result == ResultApplied {
		m := h.message(notify.PITREnabled, ev, t, r)
		verb := "enabled PITR"
		if before.Enabled {
			verb = fmt.Sprintf("raised the PITR window from %d days", before.Days)
		}
		m.Message = fmt.Sprintf("pitrguard %s on %s (tier %s) with %d days after %s by %s", verb, t.Name, r.Tier.Name, o.After.Days, ev.Detail.EventName, actorOrUnknown(ev))
		m.State = fmt.Sprintf("%dd", o.After.Days)
		o.Alerts = append(o.Alerts, m)
	}
}

// loweringAlert is the alert for an UpdateContinuousBackups that disabled
// PITR or set a window below the tier's minimum, or nil.
func (h *Handler) loweringAlert(ctx context.Context, ev Event, t *model.Table, r policy.Result) *notify.Message {
	spec := ev.RequestedPITR()
	if !spec.Present {
		return nil
	}
	when := ev.Detail.EventTime
	if when.IsZero() {
		when = ev.Time
	}
	prev := ""
	if h.d.Journal != nil {
		if rec, err := h.d.Journal.LastTable(ctx, t.Account, t.Region, t.Name); err == nil && rec.RecoveryDays != nil && rec.PITRStatus == "ENABLED" {
			prev = fmt.Sprintf("%d days", *rec.RecoveryDays)
		}
	}
	switch {
	case !spec.Enabled:
		m := h.message(notify.PITRDisabled, ev, t, r)
		gone := "the restorable history is gone"
		if prev != "" {
			gone = prev + " of restorable history are gone"
		}
		m.Message = fmt.Sprintf("PITR disabled on %s by %s at %s: %s; the new history starts now", t.Name, actorOrUnknown(ev), when.UTC().Format(time.RFC3339), gone)
		m.State = "disabled@" + when.UTC().Format(time.RFC3339)
		m.Details["previous_window"] = prev
		return &m
	case r.Tier.MinRecoveryDays > 0 && model.RecoveryDays(int32(spec.Days)) < r.Tier.MinRecoveryDays:
		d := model.RecoveryDays(int32(spec.Days))
		m := h.message(notify.WindowLowered, ev, t, r)
		m.Message = fmt.Sprintf("PITR window of %s lowered to %d days by %s at %s (tier %s requires %d): restorable history older than %d days is gone",
			t.Name, d, actorOrUnknown(ev), when.UTC().Format(time.RFC3339), r.Tier.Name, r.Tier.MinRecoveryDays, d)
		m.State = fmt.Sprintf("%dd@%s", d, when.UTC().Format(time.RFC3339))
		m.Details["requested_days"] = d
		m.Details["min_recovery_days"] = r.Tier.MinRecoveryDays
		m.Details["previous_window"] = prev
		return &m
	}
	return nil
}

func (h *Handler) message(kind notify.Kind, ev Event, t *model.Table, r policy.Result) notify.Message {
	m := notify.New(kind, h.o.Now())
	m.Account, m.Region, m.Table, m.ARN = t.Account, t.Region, t.Name, t.ARN
	m.Owner, m.Tier, m.Actor, m.EventID = r.Owner, r.Tier.Name, ev.Detail.UserIdentity.ARN, ev.Key()
	m.Details["event_name"] = ev.Detail.EventName
	if !ev.Detail.EventTime.IsZero() {
		m.Details["event_time"] = ev.Detail.EventTime.UTC().Format(time.RFC3339)
	}
	m.Details["pitr_status"] = t.PITR.StatusString()
	return m
}

func actorOrUnknown(ev Event) string {
	if a := ev.Detail.UserIdentity.ARN; a != "" {
		return a
	}
	return "an unknown principal"
}

func describe(s remediate.State) string {
	if !s.Enabled {
		return "DISABLED"
	}
	return fmt.Sprintf("ENABLED with %d days", s.Days)
}

func reasons(rs []model.Reason) string {
	var s []string
	for _, r := range rs {
		s = append(s, string(r))
	}
	return strings.Join(s, ", ")
}

// later re-queues the event (or reports it pending without a queue).
func (h *Handler) later(ctx context.Context, ev Event, o *Outcome, why string) {
	if h.d.Requeue == nil {
		o.Result = ResultPending
		o.Message = why + "; no retry queue is configured (--queue-url), so handle the event again later"
		return
	}
	if ev.Attempt >= h.o.MaxRequeues {
		o.Result = ResultFailed
		o.Message = fmt.Sprintf("%s after %d re-queues; giving up (the event goes to the dead-letter queue)", why, ev.Attempt)
		return
	}
	delay := min(h.o.RequeueDelay<<min(ev.Attempt, 10), 15*time.Minute) // SQS DelaySeconds ≤ 900
	next := ev
	next.Attempt++
	if err := h.d.Requeue.Requeue(ctx, next, delay); err != nil {
		o.Result, o.Message = ResultFailed, why+"; re-queueing failed: "+err.Error()
		return
	}
	o.Result = ResultRequeued
	o.Message = fmt.Sprintf("%s; re-queued (attempt %d) to be handled again in %s", why, next.Attempt, delay)
}

// deleted alerts about a deleted table with its last known settings.
func (h *Handler) deleted(ctx context.Context, db DynamoDB, ev Event, ref model.TableRef, o *Outcome) {
	o.Action = ActionAlert
	t := &model.Table{Account: ref.Account, Region: ref.Region, Name: ref.Name, ARN: ref.ARN(), Tags: map[string]string{}}
	r := policy.Result{Tier: policy.New(h.o.Policy, h.o.Now()).TierOf(t)}
	m := h.message(notify.TableDeleted, ev, t, r)
	m.Details["pitr_status"] = "DELETED"
	when := ev.Detail.EventTime
	if when.IsZero() {
		when = ev.Time
	}
	restore := fmt.Sprintf("pitrguard restore --table %s --deleted", ref.ARN())
	m.Details["restore_command"] = restore
	var known string
	var rec *store.TableRecord
	if h.d.Journal != nil {
		rec, _ = h.d.Journal.LastTable(ctx, ref.Account, ref.Region, ref.Name)
	}
	if rec != nil {
		var facts struct {
			DeletionProtection bool              `json:"deletion_protection"`
			Tags               map[string]string `json:"tags"`
			BillingMode        string            `json:"billing_mode"`
			TableClass         string            `json:"table_class"`
			SizeBytes          int64             `json:"size_bytes"`
		}
		_ = json.Unmarshal(rec.Facts, &facts)
		m.Owner, m.Tier = rec.Owner, rec.Tier
		o.Owner, o.Tier = rec.Owner, rec.Tier
		last := map[string]any{"seen_at": rec.SeenAt.UTC().Format(time.RFC3339), "pitr_status": rec.PITRStatus,
			"recovery_days": rec.RecoveryDays, "deletion_protection": facts.DeletionProtection, "tags": facts.Tags,
			"billing_mode": facts.BillingMode, "table_class": facts.TableClass, "size_bytes": facts.SizeBytes, "verdict": rec.Verdict}
		m.Details["last_known"] = last
		m.Details["deletion_protection_was_off"] = !facts.DeletionProtection
		pitr := "PITR " + rec.PITRStatus
		if rec.RecoveryDays != nil {
			pitr += fmt.Sprintf(" (%d days)", *rec.RecoveryDays)
		}
		dp := "deletion protection was off"
		if facts.DeletionProtection {
			dp = "deletion protection was on (it was turned off before the delete)"
		}
		known = fmt.Sprintf("last seen %s: %s, %s", rec.SeenAt.UTC().Format(time.RFC3339), pitr, dp)
		if rec.PITRStatus != "ENABLED" {
			restore = ""
			m.Details["restore_command"] = ""
			known += "; PITR was off, so AWS kept no SYSTEM backup: restore from another backup if one exists"
		}
	} else {
		known = "pitrguard has no record of its settings (no audit saw it)"
	}
	o.Before = nil
	m.Message = fmt.Sprintf("Table %s deleted by %s at %s; %s", ref.Name, actorOrUnknown(ev), when.UTC().Format(time.RFC3339), known)
	if restore != "" {
		m.Message += "; to restore it: " + restore
	}
	// The event is a hint: say so when a table of that name exists again.
	if _, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &ref.Name}); err == nil {
		m.Message += " (a table with this name exists again now)"
		m.Details["recreated"] = true
	}
	m.State = "deleted@" + when.UTC().Format(time.RFC3339)
	o.Alerts = append(o.Alerts, m)
	o.Result, o.Message = ResultAlerted, m.Message
}
