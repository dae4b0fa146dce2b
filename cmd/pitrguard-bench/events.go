package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/pitrguard/pitrguard/internal/events"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/testaws"
)

// eventsRegion holds the event run's tables, apart from the audit estate's
// regions so neither run sees the other's tables.
const eventsRegion = "eu-central-1"

// eventsPolicy: prod tables are critical (35 days), the rest standard (7).
const eventsPolicy = `tiers:
  - name: critical
    match: { tags: { env: [prod] } }
    min_recovery_days: 35
  - name: standard
    min_recovery_days: 7
default_tier: standard
owner_tags: [owner]
`

// EventsRun is the handle-event run: CreateTable events for tables created
// without PITR, handled by one pitrguard process.
type EventsRun struct {
	Command        []string           `json:"command"`
	Events         int                `json:"events"`
	Results        map[string]int     `json:"results"`
	WallSeconds    float64            `json:"wall_seconds"`
	EventsPerSec   float64            `json:"events_per_second"`
	P50MS          float64            `json:"p50_ms"`
	P99MS          float64            `json:"p99_ms"`
	MaxMS          float64            `json:"max_ms"`
	Calls          map[string]int     `json:"calls"`
	CallsTotal     int                `json:"calls_total"`
	DynamoPerEvent float64            `json:"dynamodb_calls_per_event"`
	AllPerEvent    float64            `json:"all_calls_per_event"`
	PerEventByOp   map[string]float64 `json:"calls_per_event_by_op"`
	Throttles      int                `json:"throttles"`
	PeakRSSMB      float64            `json:"peak_rss_mb"`
	CPUSeconds     float64            `json:"cpu_seconds"`
	ExitCode       int                `json:"exit_code"`
	Verified       int                `json:"verified_enabled"`
	VerifyErrors   []string           `json:"verify_errors"`
	SeedSeconds    float64            `json:"seed_seconds"`
}

var eventsPrefixSeq atomic.Int64

// events creates n tables without PITR (every fourth env=prod) in moto, one
// CreateTable EventBridge event for each, and runs `pitrguard handle-event`
// on them through the proxy. It then checks in moto, directly, that every
// table has PITR with its tier's window.
func (h *harness) events(ctx context.Context, motoURL string, n int, logf func(string, ...any)) (*EventsRun, error) {
	seeder := testaws.NewSeeder(motoURL)
	// A prefix unique to this run, so an emulator kept with --reuse can run it again.
	prefix := fmt.Sprintf("ev%d-%d", time.Now().Unix()%100000, eventsPrefixSeq.Add(1))
	specs := make([]testaws.TableSpec, n)
	want := map[string]int{}
	for i := range n {
		s := testaws.TableSpec{Name: fmt.Sprintf("%s-%04d", prefix, i), Tags: map[string]string{"env": "dev", "owner": fmt.Sprintf("team-%d", i%7)}}
		want[s.Name] = 7
		if i%4 == 0 {
			s.Tags["env"] = "prod"
			want[s.Name] = 35
		}
		specs[i] = s
	}
	logf("Events: creating %d tables without PITR in %s/%s ...", n, testaws.ManagementAccount, eventsRegion)
	t0 := time.Now()
	if err := seeder.CreateTables(ctx, testaws.ManagementAccount, eventsRegion, specs); err != nil {
		return nil, err
	}
	r := &EventsRun{Events: n, SeedSeconds: round(time.Since(t0).Seconds(), 1)}

	// The events, with the shape EventBridge delivers ("AWS API Call via
	// CloudTrail", lowerCamel CloudTrail keys); every fifth names the table
	// by ARN, as CloudTrail may.
	evData, err := buildEvents(specs, time.Now().UTC())
	if err != nil {
		return nil, err
	}
	evFile := filepath.Join(h.dir, "events.ndjson")
	policyFile := filepath.Join(h.dir, "events-policy.yaml")
	out := filepath.Join(h.dir, "events-out.json")
	statsFile := filepath.Join(h.dir, "events.stats.json")
	if err := os.WriteFile(evFile, evData, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(policyFile, []byte(eventsPolicy), 0o644); err != nil {
		return nil, err
	}
	args := []string{"handle-event", "--file", evFile, "--config", policyFile, "--format", "json", "--output", out,
		"--endpoint-url", h.proxy.URL, "--db", filepath.Join(h.dir, "events.db"), "--quiet"}
	r.Command = []string{"pitrguard", "handle-event", "--file", "events.ndjson", "--config", "policy.yaml", "--format", "json", "--output", "out.json",
		"--endpoint-url", "<proxy>", "--db", "events.db", "--quiet"}

	logf("Events: pitrguard handle-event on %d CreateTable events ...", n)
	h.proxy.Counts(true)
	cmd := exec.CommandContext(ctx, h.bin, args...)
	cmd.Env = append(h.env(), "PITRGUARD_STATS_FILE="+statsFile)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	r.WallSeconds = round(wall.Seconds(), 2)
	r.EventsPerSec = round(float64(n)/wall.Seconds(), 2)
	if cmd.ProcessState != nil {
		r.ExitCode = cmd.ProcessState.ExitCode()
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			r.CPUSeconds = round(time.Duration(ru.Utime.Nano()+ru.Stime.Nano()).Seconds(), 2)
		}
	}
	if err != nil && r.ExitCode != 1 {
		return nil, fmt.Errorf("events: pitrguard %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	var st struct {
		VmHWMKB int64 `json:"vm_hwm_kb"`
	}
	if data, err := os.ReadFile(statsFile); err == nil && json.Unmarshal(data, &st) == nil {
		r.PeakRSSMB = round(float64(st.VmHWMKB)/1024, 1)
	}
	r.countCalls(h.proxy, n)

	data, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("events: no output: %v\n%s", err, stderr.String())
	}
	var b events.Batch
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("events: bad output: %v", err)
	}
	r.Results = map[string]int{}
	var lat []float64
	for _, o := range b.Outcomes {
		r.Results[o.Result]++
		if o.Result == events.ResultApplied {
			lat = append(lat, o.DurationMS)
		}
	}
	sort.Float64s(lat)
	r.P50MS, r.P99MS = percentile(lat, 50), percentile(lat, 99)
	if len(lat) > 0 {
		r.MaxMS = lat[len(lat)-1]
	}

	// The truth is the emulator's state, read without the proxy.
	r.VerifyErrors = []string{}
	db := dynamodb.NewFromConfig(seeder.Config(ctx, testaws.ManagementAccount, eventsRegion))
	var verified atomic.Int64
	var mismatch = make(chan string, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for name, days := range want {
		g.Go(func() error {
			o, err := db.DescribeContinuousBackups(gctx, &dynamodb.DescribeContinuousBackupsInput{TableName: aws.String(name)})
			if err != nil {
				return err
			}
			pd := o.ContinuousBackupsDescription.PointInTimeRecoveryDescription
			if pd != nil && pd.PointInTimeRecoveryStatus == ddbtypes.PointInTimeRecoveryStatusEnabled && model.RecoveryDays(aws.ToInt32(pd.RecoveryPeriodInDays)) == days {
				verified.Add(1)
			} else {
				mismatch <- name
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("events: verify: %w", err)
	}
	close(mismatch)
	for m := range mismatch {
		if len(r.VerifyErrors) < 5 {
			r.VerifyErrors = append(r.VerifyErrors, m)
		}
	}
	sort.Strings(r.VerifyErrors)
	r.Verified = int(verified.Load())
	return r, nil
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// Markdown renders the events run.
func (r *EventsRun) Markdown(latencyMS float64) string {
	var b strings.Builder
	b.WriteString("## handle-event: CreateTable events\n\n")
	fmt.Fprintf(&b, "%d tables created without PITR in moto (one account-region, every fourth `env=prod` → tier critical, 35 days; the rest standard, 7 days), "+
		"one EventBridge CreateTable event each (every fifth naming the table by ARN), handled by **one** `pitrguard handle-event` process, "+
		"one event at a time, journaling each in SQLite, through the proxy (%.0f ms per call, DescribeContinuousBackups 10/s per account-region, "+
		"ListTagsOfResource 10/s per account). Table creation: %.1fs (not measured).\n\n", r.Events, latencyMS, r.SeedSeconds)
	fmt.Fprintf(&b, "Command: `%s`\n\n", strings.Join(r.Command, " "))
	b.WriteString("| events | results | wall s | events/s | p50 ms | p99 ms | max ms | DynamoDB calls/event | all calls/event | throttles | peak RSS MB | CPU s | verified in moto |\n")
	b.WriteString("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	var res []string
	for k, v := range r.Results {
		res = append(res, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(res)
	fmt.Fprintf(&b, "| %d | %s | %.2f | %.2f | %.1f | %.1f | %.1f | %.3f | %.3f | %d | %.1f | %.2f | %d/%d |\n",
		r.Events, strings.Join(res, ", "), r.WallSeconds, r.EventsPerSec, r.P50MS, r.P99MS, r.MaxMS,
		r.DynamoPerEvent, r.AllPerEvent, r.Throttles, r.PeakRSSMB, r.CPUSeconds, r.Verified, r.Events)
	met := "met"
	if r.DynamoPerEvent > 4 {
		met = "**not met**"
	}
	fmt.Fprintf(&b, "\nTarget ≤ 4 AWS calls per event in the steady case: %.3f DynamoDB calls per event — %s.\n", r.DynamoPerEvent, met)
	ops := make([]string, 0, len(r.Calls))
	for op := range r.Calls {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	b.WriteString("\nCalls by operation: ")
	for i, op := range ops {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", op, r.Calls[op])
	}
	b.WriteString(".\n\nLatency is each event's `duration_ms` in the handler's JSON output: from taking the event to PITR read back ENABLED " +
		"(the UpdateContinuousBackups response, when it confirms the window; else a DescribeContinuousBackups), before journaling. " +
		"Events are handled one after another, so it excludes the time an event waits behind the previous ones; the Lambda gets one event per invocation. " +
		"\"All calls\" adds the process's one-off calls (sts:GetCallerIdentity) spread over the events. " +
		"\"Verified in moto\" reads every table's PITR straight from the emulator afterwards.\n")
	if len(r.VerifyErrors) > 0 {
		fmt.Fprintf(&b, "\nNot enabled with the tier's window: %s\n", strings.Join(r.VerifyErrors, ", "))
	}
	return b.String()
}

// saveEvents writes the events run to dir/events.md and dir/events.json.
func saveEvents(dir string, r *EventsRun, m Machine, latencyMS float64, started time.Time) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	md := fmt.Sprintf("# pitrguard handle-event benchmark — %s\n\nMachine: %s, %d CPUs (%s), %.1f GiB, %s %s/%s, %s.\n"+
		"Produced by `go run ./cmd/pitrguard-bench --only events` (`make bench` runs it too, after the audit runs).\n\n%s",
		started.Format("2006-01-02 15:04 UTC"), m.Host, m.CPUs, m.CPUModel, m.MemoryGiB, m.Go, m.GOOS, m.GOARCH, m.Moto, r.Markdown(latencyMS))
	js, _ := json.MarshalIndent(struct {
		Machine   Machine    `json:"machine"`
		StartedAt time.Time  `json:"started_at"`
		LatencyMS float64    `json:"latency_ms"`
		Run       *EventsRun `json:"events"`
	}{m, started, latencyMS, r}, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "events.md"), []byte(md), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "events.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "Wrote %s/events.{md,json}\n", dir)
	return nil
}

// buildEvents writes one CreateTable event per table as NDJSON, in the shape
// EventBridge delivers ("AWS API Call via CloudTrail", lowerCamel CloudTrail
// keys); every fifth names the table by ARN, as CloudTrail may.
func buildEvents(specs []testaws.TableSpec, now time.Time) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i, s := range specs {
		name := s.Name
		if i%5 == 0 {
			name = model.TableRef{Partition: "aws", Account: testaws.ManagementAccount, Region: eventsRegion, Name: s.Name}.ARN()
		}
		at := now.Add(time.Duration(i) * time.Millisecond).Format(time.RFC3339)
		if err := enc.Encode(map[string]any{
			"version": "0", "id": fmt.Sprintf("%08x-bench-4000-8000-%012d", i, i), "detail-type": "AWS API Call via CloudTrail",
			"source": "aws.dynamodb", "account": testaws.ManagementAccount, "time": at, "region": eventsRegion, "resources": []string{},
			"detail": map[string]any{
				"eventVersion": "1.09", "eventID": fmt.Sprintf("%08x-0000-4000-8000-%012d", i, i), "eventTime": at,
				"eventSource": "dynamodb.amazonaws.com", "eventName": "CreateTable", "awsRegion": eventsRegion,
				"recipientAccountId": testaws.ManagementAccount, "eventType": "AwsApiCall", "managementEvent": true,
				"userIdentity":      map[string]any{"type": "IAMUser", "arn": "arn:aws:iam::" + testaws.ManagementAccount + ":user/deployer", "accountId": testaws.ManagementAccount},
				"requestParameters": map[string]any{"tableName": name, "billingMode": "PAY_PER_REQUEST"},
				"responseElements":  map[string]any{"tableDescription": map[string]any{"tableName": s.Name, "tableStatus": "CREATING"}},
			},
		}); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// countCalls reads the proxy's counters for the events run: throttles, calls
// by operation, and calls per event.
func (r *EventsRun) countCalls(p *testaws.Proxy, n int) {
	for _, v := range p.Throttled() {
		r.Throttles += v
	}
	r.Calls = map[string]int{}
	dynamo := 0
	for k, v := range p.Counts(false) {
		r.Calls[k.Op] += v
		r.CallsTotal += v
		if k.Region == eventsRegion {
			dynamo += v // every call in the events' region is a DynamoDB call on one of their tables
		}
	}
	r.DynamoPerEvent = round(float64(dynamo)/float64(n), 3)
	r.AllPerEvent = round(float64(r.CallsTotal)/float64(n), 3)
	r.PerEventByOp = map[string]float64{}
	for op, v := range r.Calls {
		r.PerEventByOp[op] = round(float64(v)/float64(n), 3)
	}

}
