package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/pitrguard/pitrguard/internal/events"
	"github.com/pitrguard/pitrguard/internal/iostreams"
	"github.com/pitrguard/pitrguard/internal/notify"
	"github.com/pitrguard/pitrguard/internal/remediate"
	"github.com/pitrguard/pitrguard/internal/testaws"
)

const hookSecret = "s3cr3t-for-tests"

// hook is an httptest webhook receiver that checks signatures.
type hook struct {
	srv  *httptest.Server
	mu   sync.Mutex
	msgs []map[string]any
	bad  atomic.Int32 // requests with a wrong signature
}

func newHook(t *testing.T) *hook {
	h := &hook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get(notify.SignatureHeader) != notify.Sign(hookSecret, body) {
			h.bad.Add(1)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.msgs = append(h.msgs, m)
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) received() []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.msgs)
}

// eventPolicy is the acceptance policy: prod tables are critical (35 days),
// alerts go to a signed webhook.
func eventPolicy(hookURL string) string {
	return `tiers:
  - name: critical
    match: { tags: { env: [prod] } }
    min_recovery_days: 35
default_tier: standard
owner_tags: [owner]
exemptions:
  - table: "scratch-*"
    reason: rebuilt nightly
notify:
  channels:
    - {name: secops, type: webhook, url: "` + hookURL + `", secret: "${env:HOOK_SECRET}"}
  default: [secops]
`
}

var eventSeq atomic.Int64

// ctEvent builds an EventBridge "AWS API Call via CloudTrail" event with the
// real shape of a DynamoDB record (lowerCamel keys).
func ctEvent(name, account, region, actor string, params map[string]any) map[string]any {
	n := eventSeq.Add(1)
	return map[string]any{
		"version": "0", "id": fmt.Sprintf("eb-%04d", n), "detail-type": "AWS API Call via CloudTrail", "source": "aws.dynamodb",
		"account": account, "time": "2026-11-24T11:59:00Z", "region": region, "resources": []string{},
		"detail": map[string]any{
			"eventVersion": "1.09", "eventID": fmt.Sprintf("ct-%08d-0000-4000-8000-000000000000", n),
			"eventTime": "2026-11-24T11:59:00Z", "eventSource": "dynamodb.amazonaws.com", "eventName": name,
			"awsRegion": region, "recipientAccountId": account, "eventType": "AwsApiCall", "managementEvent": true,
			"userIdentity":      map[string]any{"type": "IAMUser", "arn": actor, "accountId": account},
			"requestParameters": params,
		},
	}
}

func (e *env) eventFile(t *testing.T, name string, evs ...map[string]any) string {
	t.Helper()
	var lines []string
	for _, ev := range evs {
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(b))
	}
	return e.writeFile(t, name, strings.Join(lines, "\n")+"\n")
}

func decodeBatch(t *testing.T, r result) events.Batch {
	t.Helper()
	var b events.Batch
	if err := json.Unmarshal([]byte(r.out), &b); err != nil {
		t.Fatalf("not the handle-event JSON: %v\nstdout:\n%s\nstderr:\n%s", err, r.out, r.errOut)
	}
	return b
}

func results(b events.Batch) []string {
	var out []string
	for _, o := range b.Outcomes {
		out = append(out, o.Result)
	}
	return out
}

func (e *env) setPITR(t *testing.T, account, region, table string, enabled bool, days int) {
	t.Helper()
	db := dynamodb.NewFromConfig(e.seed.Config(context.Background(), account, region))
	spec := &ddbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(enabled)}
	if days > 0 {
		spec.RecoveryPeriodInDays = aws.Int32(int32(days))
	}
	if _, err := db.UpdateContinuousBackups(context.Background(), &dynamodb.UpdateContinuousBackupsInput{TableName: aws.String(table), PointInTimeRecoverySpecification: spec}); err != nil {
		t.Fatal(err)
	}
}

const mallory = "arn:aws:iam::123456789012:user/mallory"

// TestHandleEventAcceptance is the acceptance: a CreateTable event
// enables PITR with the critical tier's window; the same event again changes
// nothing; an UpdateContinuousBackups event disabling it re-enables it and
// POSTs the alert JSON, with the actor's ARN, to the webhook channel.
func TestHandleEventAcceptance(t *testing.T) {
	e := newEnv(t, 0)
	h := newHook(t)
	t.Setenv("HOOK_SECRET", hookSecret)
	policy := e.writeFile(t, "pitrguard.yaml", eventPolicy(h.srv.URL))
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "orders", Tags: map[string]string{"env": "prod", "owner": "payments"}})

	create := e.eventFile(t, "create-orders.json", ctEvent("CreateTable", mgmt, "us-east-1", mallory, map[string]any{"tableName": "orders"}))
	r := e.run(t, "handle-event", "--file", create, "--config", policy, "--format", "json")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.errOut)
	}
	b := decodeBatch(t, r)
	if got := results(b); !slices.Equal(got, []string{events.ResultApplied}) {
		t.Fatalf("results %v, want [applied]\n%s", got, r.out)
	}
	if got := e.pitrState(t, mgmt, "us-east-1", "orders"); got != (remediate.State{Enabled: true, Days: 35}) {
		t.Fatalf("after CreateTable: PITR %+v, want enabled with 35 days", got)
	}
	updates := e.proxy.Count("UpdateContinuousBackups")
	if len(h.received()) != 1 || h.received()[0]["kind"] != "pitr_enabled" {
		t.Fatalf("webhook got %v, want one pitr_enabled", h.received())
	}

	// The same event again changes nothing (and alerts nobody).
	r = e.run(t, "handle-event", "--file", create, "--config", policy, "--format", "json")
	if r.code != 0 || !slices.Equal(results(decodeBatch(t, r)), []string{events.ResultDuplicate}) {
		t.Fatalf("second run: exit %d, results %v, want duplicate\n%s", r.code, results(decodeBatch(t, r)), r.errOut)
	}
	if n := e.proxy.Count("UpdateContinuousBackups"); n != updates {
		t.Fatalf("duplicate event sent %d more UpdateContinuousBackups", n-updates)
	}
	if len(h.received()) != 1 {
		t.Fatalf("duplicate event alerted again: %v", h.received())
	}

	// Someone disables PITR; the event arrives.
	e.setPITR(t, mgmt, "us-east-1", "orders", false, 0)
	disable := e.eventFile(t, "disable-orders.json", ctEvent("UpdateContinuousBackups", mgmt, "us-east-1", mallory, map[string]any{
		"tableName": "orders", "pointInTimeRecoverySpecification": map[string]any{"pointInTimeRecoveryEnabled": false}}))
	r = e.run(t, "handle-event", "--file", disable, "--config", policy, "--format", "json")
	if r.code != 0 {
		t.Fatalf("disable event: exit %d\n%s\n%s", r.code, r.out, r.errOut)
	}
	if got := e.pitrState(t, mgmt, "us-east-1", "orders"); got != (remediate.State{Enabled: true, Days: 35}) {
		t.Fatalf("after the disable event: PITR %+v, want re-enabled with 35 days", got)
	}
	msgs := h.received()
	if len(msgs) != 2 || h.bad.Load() != 0 {
		t.Fatalf("webhook got %d messages (%d badly signed), want 2", len(msgs), h.bad.Load())
	}
	assertAlert(t, msgs[1], "pitr_disabled", mallory, "orders", "payments", "critical")
	if msg := msgs[1]["message"].(string); !strings.Contains(msg, "PITR disabled on orders by "+mallory) || !strings.Contains(msg, "the new history starts now") || !strings.Contains(msg, "re-enabled it with 35 days") {
		t.Errorf("alert message %q does not name the actor, the history lost and the fix", msg)
	}
}

// assertAlert checks the webhook JSON has exactly the documented keys and values.
func assertAlert(t *testing.T, m map[string]any, kind, actor, table, owner, tier string) {
	t.Helper()
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	want := []string{"account", "actor", "arn", "details", "event_id", "kind", "message", "owner", "region", "schema_version", "table", "tier", "time"}
	if !slices.Equal(keys, want) {
		t.Errorf("webhook keys %v, want %v", keys, want)
	}
	if m["schema_version"] != float64(1) || m["kind"] != kind || m["actor"] != actor || m["table"] != table || m["owner"] != owner || m["tier"] != tier {
		t.Errorf("alert %v: want kind %s actor %s table %s owner %s tier %s", m, kind, actor, table, owner, tier)
	}
	if _, err := time.Parse(time.RFC3339, m["time"].(string)); err != nil {
		t.Errorf("time %v is not RFC3339", m["time"])
	}
	if !strings.HasPrefix(m["event_id"].(string), "ct-") || !strings.HasPrefix(m["arn"].(string), "arn:aws:dynamodb:") {
		t.Errorf("event_id %v / arn %v not set from the event and table", m["event_id"], m["arn"])
	}
}

// TestHandleEventIgnoresAndAccounts covers failed calls, pitrguard's own
// calls, another account through assume-role, and out-of-order events.
func TestHandleEventIgnoresAndAccounts(t *testing.T) {
	e := newEnv(t, 1)
	h := newHook(t)
	t.Setenv("HOOK_SECRET", hookSecret)
	policy := e.writeFile(t, "pitrguard.yaml", eventPolicy(h.srv.URL))
	member := e.members[0]
	e.tables(t, member, "eu-west-1", testaws.TableSpec{Name: "users", Tags: map[string]string{"env": "prod"}})
	e.tables(t, mgmt, "us-east-1",
		testaws.TableSpec{Name: "mine"},
		testaws.TableSpec{Name: "old", PITR: true, RecoveryDays: 35},
		testaws.TableSpec{Name: "scratch-1"},
		testaws.TableSpec{Name: "weekly", Tags: map[string]string{"env": "dev"}, PITR: true, RecoveryDays: 7})

	own := "arn:aws:sts::123456789012:assumed-role/pitrguard-handler/pitrguard-events"
	ownMember := "arn:aws:sts::" + member + ":assumed-role/OrganizationAccountAccessRole/pitrguard"
	failed := ctEvent("CreateTable", mgmt, "us-east-1", mallory, map[string]any{"tableName": "mine"})
	failed["detail"].(map[string]any)["errorCode"] = "ResourceInUseException"
	file := e.eventFile(t, "mixed.json",
		failed, // a failed call: ignored
		ctEvent("UpdateContinuousBackups", mgmt, "us-east-1", own, map[string]any{"tableName": "mine",
			"pointInTimeRecoverySpecification": map[string]any{"pointInTimeRecoveryEnabled": false}}), // pitrguard's own role
		ctEvent("UpdateContinuousBackups", member, "eu-west-1", ownMember, map[string]any{"tableName": "users"}), // own member-role session
		ctEvent("CreateTable", member, "eu-west-1", mallory, map[string]any{ // another account, by ARN
			"tableName": "arn:aws:dynamodb:eu-west-1:" + member + ":table/users"}),
		ctEvent("CreateTable", mgmt, "us-east-1", mallory, map[string]any{"tableName": "old"}),       // late: already compliant
		ctEvent("CreateTable", mgmt, "us-east-1", mallory, map[string]any{"tableName": "vanished"}),  // late: deleted since
		ctEvent("CreateTable", mgmt, "us-east-1", mallory, map[string]any{"tableName": "scratch-1"}), // exempt
		ctEvent("TagResource", mgmt, "us-east-1", mallory, map[string]any{ // a tag change that leaves the tier alone
			"resourceArn": "arn:aws:dynamodb:us-east-1:123456789012:table/weekly", "tags": []any{map[string]any{"key": "team", "value": "x"}}}),
	)
	r := e.run(t, "handle-event", "--file", file, "--config", policy, "--format", "json",
		"--ignore-role", "pitrguard-handler", "--role-name", "OrganizationAccountAccessRole")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.errOut)
	}
	want := []string{events.ResultIgnored, events.ResultIgnored, events.ResultIgnored, events.ResultApplied,
		events.ResultAlreadyCompliant, events.ResultGone, events.ResultExempt, events.ResultAlreadyCompliant}
	if got := results(decodeBatch(t, r)); !slices.Equal(got, want) {
		t.Fatalf("results\n got %v\nwant %v\n%s", got, want, r.out)
	}
	if got := e.pitrState(t, member, "eu-west-1", "users"); got != (remediate.State{Enabled: true, Days: 35}) {
		t.Errorf("member table users: %+v, want enabled with 35 days (assume-role)", got)
	}
	for _, tbl := range []string{"mine", "scratch-1"} {
		if got := e.pitrState(t, mgmt, "us-east-1", tbl); got.Enabled {
			t.Errorf("%s was changed by an ignored or exempt event", tbl)
		}
	}
	if got := e.pitrState(t, mgmt, "us-east-1", "weekly"); got != (remediate.State{Enabled: true, Days: 7}) {
		t.Errorf("weekly: %+v; a standard-tier table's window must not change", got)
	}
	for _, c := range e.proxy.Calls() {
		if c.Op == "UpdateContinuousBackups" && c.Table != "users" {
			t.Errorf("UpdateContinuousBackups sent for %s", c.Table)
		}
	}
}

// TestHandleEventRequeue: a new table whose PITR stays unavailable past the
// invocation is re-queued to SQS with a delay, then applied from the batch.
func TestHandleEventRequeue(t *testing.T) {
	e := newEnv(t, 0)
	h := newHook(t)
	t.Setenv("HOOK_SECRET", hookSecret)
	policy := e.writeFile(t, "pitrguard.yaml", eventPolicy(h.srv.URL))
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "fresh", Tags: map[string]string{"env": "prod"}})
	ctx := context.Background()
	q := sqs.NewFromConfig(e.seed.Config(ctx, mgmt, "us-east-1"))
	qo, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("pitrguard-retry")})
	if err != nil {
		t.Fatal(err)
	}
	e.proxy.Add(&testaws.Rule{Op: "UpdateContinuousBackups", Table: "fresh", Fault: testaws.FaultBackupsUnavailable,
		Message: "Backups are being enabled for the table: fresh. Please retry later"})
	file := e.eventFile(t, "create-fresh.json", ctEvent("CreateTable", mgmt, "us-east-1", mallory, map[string]any{"tableName": "fresh"}))
	r := e.run(t, "handle-event", "--file", file, "--config", policy, "--format", "json", "--wait", "300ms", "--backoff", "20ms",
		"--queue-url", aws.ToString(qo.QueueUrl), "--requeue-delay", "1s")
	if r.code != 0 || !slices.Equal(results(decodeBatch(t, r)), []string{events.ResultRequeued}) {
		t.Fatalf("exit %d, results %v, want requeued\n%s\n%s", r.code, results(decodeBatch(t, r)), r.out, r.errOut)
	}
	if n := e.proxy.Count("UpdateContinuousBackups"); n < 2 {
		t.Errorf("ContinuousBackupsUnavailableException was retried %d time(s) within the invocation, want ≥ 2 (backoff)", n)
	}
	// Without a queue the same situation is pending (exit 4), not a failure.
	file2 := e.eventFile(t, "create-fresh-2.json", ctEvent("CreateTable", mgmt, "us-east-1", mallory, map[string]any{"tableName": "fresh"}))
	if r := e.run(t, "handle-event", "--file", file2, "--config", policy, "--wait", "100ms", "--backoff", "20ms"); r.code != ExitPending {
		t.Errorf("without --queue-url: exit %d, want %d\n%s", r.code, ExitPending, r.errOut)
	}

	// AWS finishes enabling backups; the delayed message comes back as an SQS batch.
	e.proxy.Clear()
	var msgs []map[string]any
	deadline := time.Now().Add(10 * time.Second)
	for len(msgs) == 0 && time.Now().Before(deadline) {
		out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: qo.QueueUrl, WaitTimeSeconds: 1, MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			msgs = append(msgs, map[string]any{"messageId": aws.ToString(m.MessageId), "body": aws.ToString(m.Body), "eventSource": "aws:sqs"})
		}
	}
	if len(msgs) != 1 {
		t.Fatalf("retry queue holds %d messages, want 1", len(msgs))
	}
	var requeued events.Event
	if err := json.Unmarshal([]byte(msgs[0]["body"].(string)), &requeued); err != nil || requeued.Attempt != 1 || requeued.Detail.EventName != "CreateTable" {
		t.Fatalf("re-queued body: attempt %d, event %q (%v)", requeued.Attempt, requeued.Detail.EventName, err)
	}
	batch, _ := json.Marshal(map[string]any{"Records": msgs})
	bf := e.writeFile(t, "batch.json", string(batch))
	r = e.run(t, "handle-event", "--file", bf, "--config", policy, "--format", "json")
	if r.code != 0 || !slices.Equal(results(decodeBatch(t, r)), []string{events.ResultApplied}) {
		t.Fatalf("from the queue: exit %d, results %v, want applied\n%s", r.code, results(decodeBatch(t, r)), r.errOut)
	}
	if got := e.pitrState(t, mgmt, "us-east-1", "fresh"); got != (remediate.State{Enabled: true, Days: 35}) {
		t.Fatalf("fresh: %+v, want enabled with 35 days", got)
	}
}

// TestHandleEventDeleteAndTags: DeleteTable alerts with the last audited
// settings and the restore command; a TagResource that moves a table into
// the critical tier raises its window; a lowered window is restored.
func TestHandleEventDeleteAndTags(t *testing.T) {
	e := newEnv(t, 0)
	h := newHook(t)
	t.Setenv("HOOK_SECRET", hookSecret)
	policy := e.writeFile(t, "pitrguard.yaml", eventPolicy(h.srv.URL))
	e.tables(t, mgmt, "us-east-1",
		testaws.TableSpec{Name: "ledger", Tags: map[string]string{"env": "prod", "owner": "finance"}, PITR: true, RecoveryDays: 35},
		testaws.TableSpec{Name: "promoted", PITR: true, RecoveryDays: 7},
		testaws.TableSpec{Name: "lowered", Tags: map[string]string{"env": "prod"}, PITR: true, RecoveryDays: 35})
	if r := e.run(t, "audit", "--regions", "us-east-1", "--config", policy, "--format", "json"); r.code != 0 {
		t.Fatalf("audit: exit %d\n%s", r.code, r.errOut)
	}
	ctx := context.Background()
	db := dynamodb.NewFromConfig(e.seed.Config(ctx, mgmt, "us-east-1"))
	if _, err := db.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String("ledger")}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.TagResource(ctx, &dynamodb.TagResourceInput{ResourceArn: aws.String("arn:aws:dynamodb:us-east-1:123456789012:table/promoted"),
		Tags: []ddbtypes.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}}); err != nil {
		t.Fatal(err)
	}
	e.setPITR(t, mgmt, "us-east-1", "lowered", true, 3)
	file := e.eventFile(t, "events.json",
		ctEvent("DeleteTable", mgmt, "us-east-1", mallory, map[string]any{"tableName": "ledger"}),
		ctEvent("TagResource", mgmt, "us-east-1", mallory, map[string]any{"resourceArn": "arn:aws:dynamodb:us-east-1:123456789012:table/promoted",
			"tags": []any{map[string]any{"key": "env", "value": "prod"}}}),
		ctEvent("UpdateContinuousBackups", mgmt, "us-east-1", mallory, map[string]any{"tableName": "lowered",
			"pointInTimeRecoverySpecification": map[string]any{"pointInTimeRecoveryEnabled": true, "recoveryPeriodInDays": 3}}),
	)
	r := e.run(t, "handle-event", "--file", file, "--config", policy, "--format", "json")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.errOut)
	}
	if got, want := results(decodeBatch(t, r)), []string{events.ResultAlerted, events.ResultApplied, events.ResultApplied}; !slices.Equal(got, want) {
		t.Fatalf("results %v, want %v\n%s", got, want, r.out)
	}
	for _, tbl := range []string{"promoted", "lowered"} {
		if got := e.pitrState(t, mgmt, "us-east-1", tbl); got != (remediate.State{Enabled: true, Days: 35}) {
			t.Errorf("%s: %+v, want 35 days", tbl, got)
		}
	}
	byKind := map[string]map[string]any{}
	for _, m := range h.received() {
		byKind[m["kind"].(string)] = m
	}
	del := byKind["table_deleted"]
	if del == nil {
		t.Fatalf("no table_deleted alert: %v", h.received())
	}
	assertAlert(t, del, "table_deleted", mallory, "ledger", "finance", "critical")
	d := del["details"].(map[string]any)
	if d["restore_command"] != "pitrguard restore --table arn:aws:dynamodb:us-east-1:123456789012:table/ledger --deleted" || d["deletion_protection_was_off"] != true {
		t.Errorf("delete details %v: want the restore command and deletion protection off", d)
	}
	if last := d["last_known"].(map[string]any); last["pitr_status"] != "ENABLED" || last["recovery_days"] != float64(35) {
		t.Errorf("last known settings %v, want PITR ENABLED 35 days from the audit", last)
	}
	low := byKind["window_lowered"]
	if low == nil || !strings.Contains(low["message"].(string), "lowered to 3 days by "+mallory) {
		t.Errorf("window_lowered alert %v", low)
	}
	if byKind["pitr_enabled"] == nil || byKind["pitr_enabled"]["table"] != "promoted" {
		t.Errorf("no pitr_enabled alert for promoted: %v", h.received())
	}
}

func TestHandleEventUsage(t *testing.T) {
	e := &env{dir: t.TempDir()}
	bad := e.writeFile(t, "bad.json", "{not json")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"handle-event"}, ExitUsage, "--file is required"},
		{[]string{"handle-event", "--file", bad}, ExitUsage, "not JSON"},
		{[]string{"handle-event", "--file", "x", "--format", "csv"}, ExitUsage, `--format "csv" is not supported`},
		{[]string{"handle-event", "--file", "x", "--queue-url", "sqs-queue"}, ExitUsage, "is not a queue URL"},
		{[]string{"handle-event", "--check", "--file", "x"}, ExitUsage, "does not take --file"},
		{[]string{"lambda"}, ExitUsage, "AWS_LAMBDA_RUNTIME_API is not set"},
	} {
		ios, _, _, errOut := iostreams.Test()
		f := &Factory{IO: ios, Now: func() time.Time { return fixedNow }, Getenv: func(string) string { return "" }}
		if code := Run(context.Background(), append(tc.args, "--no-store"), f); code != tc.code || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errOut.String(), tc.code, tc.want)
		}
	}
}

// TestHandleEventCheck: without an organization trail the prerequisite check
// fails and says what is missing (moto has no trail by default).
func TestHandleEventCheck(t *testing.T) {
	e := newEnv(t, 0)
	r := e.run(t, "handle-event", "--check")
	if r.code != ExitFailure || !strings.Contains(r.errOut, "no organization trail that logs in every region was found in 123456789012") ||
		!strings.Contains(r.errOut, "An organization CloudTrail trail") {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", r.code, r.out, r.errOut)
	}
	if !slices.Contains(e.proxy.Ops(), "DescribeTrails") {
		t.Errorf("the check made no cloudtrail:DescribeTrails call: %v", e.proxy.Ops())
	}
}
