package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pitrguard/pitrguard/internal/remediate"
	"github.com/pitrguard/pitrguard/internal/testaws"
)

// fakeRuntime is the Lambda Runtime API (2018-06-01) the real bootstrap
// talks to: it hands out queued invocations and records the answers.
type fakeRuntime struct {
	srv     *httptest.Server
	next    chan []byte
	mu      sync.Mutex
	answers map[string]runtimeAnswer
	done    chan string
	n       int
}

type runtimeAnswer struct {
	kind string // response or error
	body []byte
}

func newFakeRuntime(t *testing.T) *fakeRuntime {
	rt := &fakeRuntime{next: make(chan []byte, 16), answers: map[string]runtimeAnswer{}, done: make(chan string, 16)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		select {
		case ev := <-rt.next:
			rt.mu.Lock()
			rt.n++
			id := fmt.Sprintf("req-%d", rt.n)
			rt.mu.Unlock()
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", id)
			w.Header().Set("Lambda-Runtime-Deadline-Ms", fmt.Sprint(time.Now().Add(2*time.Minute).UnixMilli()))
			w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:pitrguard-events")
			w.Header().Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
			w.Write(ev)
		case <-r.Context().Done():
		}
	})
	answer := func(kind string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			id := r.PathValue("id")
			rt.mu.Lock()
			rt.answers[id] = runtimeAnswer{kind, body}
			rt.mu.Unlock()
			w.WriteHeader(http.StatusAccepted)
			rt.done <- id
		}
	}
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", answer("response"))
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", answer("error"))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rt.mu.Lock()
		rt.answers["init"] = runtimeAnswer{"init-error", body}
		rt.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		rt.done <- "init"
	})
	rt.srv = httptest.NewServer(mux)
	t.Cleanup(rt.srv.Close)
	return rt
}

// invoke queues an event and waits for the function's answer.
func (rt *fakeRuntime) invoke(t *testing.T, ev []byte) runtimeAnswer {
	t.Helper()
	rt.next <- ev
	select {
	case id := <-rt.done:
		rt.mu.Lock()
		defer rt.mu.Unlock()
		a := rt.answers[id]
		if id == "init" {
			t.Fatalf("the function failed to initialise: %s", a.body)
		}
		return a
	case <-time.After(90 * time.Second):
		t.Fatal("no answer from the function within 90s")
	}
	return runtimeAnswer{}
}

// buildBinary builds the real pitrguard binary once per test binary.
var buildOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "pitrguard-bootstrap-*")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/pitrguard/pitrguard/cmd/pitrguard")
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local") // the settings of `go build ./...`, so its build cache is reused
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// TestLambdaRuntimeAcceptance runs the real binary as a Lambda bootstrap
// (no arguments, AWS_LAMBDA_RUNTIME_API set) against a fake Runtime API: a
// CreateTable event enables PITR, the same event again changes nothing, a
// disabling UpdateContinuousBackups is reverted and alerted, and an SQS batch
// reports its failed item in batchItemFailures.
func TestLambdaRuntimeAcceptance(t *testing.T) {
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, 0)
	h := newHook(t)
	policy := e.writeFile(t, "pitrguard.yaml", eventPolicy(h.srv.URL))
	e.tables(t, mgmt, "us-east-1",
		testaws.TableSpec{Name: "orders", Tags: map[string]string{"env": "prod", "owner": "payments"}},
		testaws.TableSpec{Name: "locked", Tags: map[string]string{"env": "prod"}},
		testaws.TableSpec{Name: "queued", Tags: map[string]string{"env": "prod"}})
	e.proxy.Add(&testaws.Rule{Op: "DescribeContinuousBackups", Table: "locked", Fault: testaws.FaultAccessDenied})
	rt := newFakeRuntime(t)

	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + e.dir,
		"AWS_LAMBDA_RUNTIME_API=" + strings.TrimPrefix(rt.srv.URL, "http://"),
		"AWS_ENDPOINT_URL=" + e.proxy.URL, "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_MAX_ATTEMPTS=2",
		"PITRGUARD_CONFIG=" + policy, "PITRGUARD_DB=" + filepath.Join(e.dir, "lambda.db"),
		"PITRGUARD_BACKOFF=10ms", "HOOK_SECRET=" + hookSecret,
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("function stderr:\n%s", stderr.String())
		}
	})

	create, _ := json.Marshal(ctEvent("CreateTable", mgmt, "us-east-1", mallory, map[string]any{"tableName": "orders"}))
	if a := rt.invoke(t, create); a.kind != "response" || !strings.Contains(string(a.body), `"result":"applied"`) {
		t.Fatalf("CreateTable: %s %s", a.kind, a.body)
	}
	if got := e.pitrState(t, mgmt, "us-east-1", "orders"); got != (remediate.State{Enabled: true, Days: 35}) {
		t.Fatalf("after CreateTable in Lambda: %+v, want enabled with 35 days", got)
	}
	updates := e.proxy.Count("UpdateContinuousBackups")
	if a := rt.invoke(t, create); a.kind != "response" || !strings.Contains(string(a.body), `"result":"duplicate"`) {
		t.Fatalf("the same event again: %s %s", a.kind, a.body)
	}
	if n := e.proxy.Count("UpdateContinuousBackups"); n != updates {
		t.Fatalf("the duplicate event made %d more UpdateContinuousBackups calls", n-updates)
	}

	e.setPITR(t, mgmt, "us-east-1", "orders", false, 0)
	disable, _ := json.Marshal(ctEvent("UpdateContinuousBackups", mgmt, "us-east-1", mallory, map[string]any{
		"tableName": "orders", "pointInTimeRecoverySpecification": map[string]any{"pointInTimeRecoveryEnabled": false}}))
	if a := rt.invoke(t, disable); a.kind != "response" {
		t.Fatalf("UpdateContinuousBackups: %s %s", a.kind, a.body)
	}
	if got := e.pitrState(t, mgmt, "us-east-1", "orders"); got != (remediate.State{Enabled: true, Days: 35}) {
		t.Fatalf("after the disable event in Lambda: %+v, want re-enabled", got)
	}
	var alert map[string]any
	for _, m := range h.received() {
		if m["kind"] == "pitr_disabled" {
			alert = m
		}
	}
	if alert == nil || h.bad.Load() != 0 {
		t.Fatalf("no signed pitr_disabled alert from the function: %v", h.received())
	}
	assertAlert(t, alert, "pitr_disabled", mallory, "orders", "payments", "critical")

	// An SQS batch from the retry queue: one item fails (AccessDenied), one succeeds.
	bodyLocked, _ := json.Marshal(ctEvent("CreateTable", mgmt, "us-east-1", mallory, map[string]any{"tableName": "locked"}))
	bodyQueued, _ := json.Marshal(ctEvent("CreateTable", mgmt, "us-east-1", mallory, map[string]any{"tableName": "queued"}))
	batch, _ := json.Marshal(map[string]any{"Records": []any{
		map[string]any{"messageId": "m-locked", "body": string(bodyLocked), "eventSource": "aws:sqs"},
		map[string]any{"messageId": "m-queued", "body": string(bodyQueued), "eventSource": "aws:sqs"},
	}})
	a := rt.invoke(t, batch)
	var resp struct {
		BatchItemFailures []struct {
			ItemIdentifier string `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	if err := json.Unmarshal(a.body, &resp); err != nil || a.kind != "response" {
		t.Fatalf("SQS batch: %s %s (%v)", a.kind, a.body, err)
	}
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "m-locked" {
		t.Fatalf("batchItemFailures %+v, want only m-locked", resp.BatchItemFailures)
	}
	if got := e.pitrState(t, mgmt, "us-east-1", "queued"); !got.Enabled {
		t.Errorf("the batch's good item was not applied")
	}
}
