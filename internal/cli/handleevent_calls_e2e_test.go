package cli

import (
	"fmt"
	"slices"
	"testing"

	"github.com/pitrguard/pitrguard/internal/events"
	"github.com/pitrguard/pitrguard/internal/remediate"
	"github.com/pitrguard/pitrguard/internal/testaws"
)

// dynamoCallsPerTable counts the DynamoDB calls the proxy saw, per table and
// operation.
func dynamoCallsPerTable(p *testaws.Proxy) map[string]map[string]int {
	out := map[string]map[string]int{}
	for _, c := range p.Calls() {
		if c.Service != "dynamodb" {
			continue
		}
		if out[c.Table] == nil {
			out[c.Table] = map[string]int{}
		}
		out[c.Table][c.Op]++
	}
	return out
}

func total(ops map[string]int) int {
	n := 0
	for _, v := range ops {
		n += v
	}
	return n
}

// TestHandleEventCallsPerCreateTable: a steady CreateTable event (table
// ACTIVE, PITR off, AWS accepts the update at once) costs at most 4 AWS calls
// — DescribeTable, DescribeContinuousBackups, ListTagsOfResource,
// UpdateContinuousBackups — because the update's own response is the
// read-back. The table really is enabled with the tier's window.
func TestHandleEventCallsPerCreateTable(t *testing.T) {
	e := newEnv(t, 0)
	policy := e.writeFile(t, "pitrguard.yaml", `tiers:
  - name: critical
    match: { tags: { env: [prod] } }
    min_recovery_days: 35
  - name: standard
    min_recovery_days: 7
default_tier: standard
`)
	var evs []map[string]any
	want := map[string]int{}
	for i := range 6 {
		name := fmt.Sprintf("calls-%d", i)
		spec := testaws.TableSpec{Name: name}
		want[name] = 7
		if i%2 == 0 {
			spec.Tags = map[string]string{"env": "prod"}
			want[name] = 35
		}
		e.tables(t, mgmt, "us-east-1", spec)
		evs = append(evs, ctEvent("CreateTable", mgmt, "us-east-1", mallory, map[string]any{"tableName": name}))
	}
	file := e.eventFile(t, "creates.ndjson", evs...)
	e.proxy.Clear()
	r := e.run(t, "handle-event", "--file", file, "--config", policy, "--format", "json", "--no-store")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.errOut)
	}
	b := decodeBatch(t, r)
	for _, o := range b.Outcomes {
		if o.Result != events.ResultApplied || o.After == nil || o.After.Days != want[o.Table] {
			t.Errorf("%s: result %s after %+v, want applied with %d days", o.Table, o.Result, o.After, want[o.Table])
		}
		if o.DurationMS <= 0 {
			t.Errorf("%s: duration_ms %v, want the time the handling took", o.Table, o.DurationMS)
		}
	}
	perTable := dynamoCallsPerTable(e.proxy)
	for name, days := range want {
		ops := perTable[name]
		if n := total(ops); n > 4 {
			t.Errorf("%s: %d DynamoDB calls %v, want ≤ 4", name, n, ops)
		}
		for _, op := range []string{"DescribeTable", "DescribeContinuousBackups", "ListTagsOfResource", "UpdateContinuousBackups"} {
			if ops[op] != 1 {
				t.Errorf("%s: %d %s calls, want 1 (calls %v)", name, ops[op], op, ops)
			}
		}
		if got := e.pitrState(t, mgmt, "us-east-1", name); got != (remediate.State{Enabled: true, Days: days}) {
			t.Errorf("%s: PITR %+v in the emulator, want enabled with %d days", name, got, days)
		}
	}
	if n := len(b.Outcomes); n != len(want) {
		t.Fatalf("%d outcomes, want %d", n, len(want))
	}
}

// TestHandleEventReadBackWhenUpdateDoesNotConfirm: when the
// UpdateContinuousBackups response does not state ENABLED with the requested
// window, the handler does not take it on trust: it reads the state back with
// DescribeContinuousBackups, and reports what that read says.
func TestHandleEventReadBackWhenUpdateDoesNotConfirm(t *testing.T) {
	cases := map[string]struct {
		mutate      func(map[string]any)
		describe    func(map[string]any) // also rewrites the read-back
		wantResult  string
		wantDescrib int
	}{
		"enabling": {
			mutate:      setUpdatePITR("ENABLING", 35),
			wantResult:  events.ResultApplied,
			wantDescrib: 2, // the pre-read and the read-back
		},
		"other window": {
			mutate:      setUpdatePITR("ENABLED", 7),
			wantResult:  events.ResultApplied,
			wantDescrib: 2,
		},
		"no description": {
			mutate:      func(m map[string]any) { delete(m, "ContinuousBackupsDescription") },
			wantResult:  events.ResultApplied,
			wantDescrib: 2,
		},
		"read-back disagrees": {
			mutate:      setUpdatePITR("ENABLED", 7),
			describe:    setUpdatePITR("DISABLED", 0),
			wantResult:  events.ResultFailed, // remediate's pending: the read-back never confirmed
			wantDescrib: 4,                   // the pre-read and three read-backs
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, 0)
			e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "orders", Tags: map[string]string{"env": "prod"}})
			policy := e.writeFile(t, "pitrguard.yaml", eventPolicy("http://127.0.0.1:1/unused"))
			file := e.eventFile(t, "create.json", ctEvent("CreateTable", mgmt, "us-east-1", mallory, map[string]any{"tableName": "orders"}))
			e.proxy.Clear()
			e.proxy.Add(&testaws.Rule{Op: "UpdateContinuousBackups", Mutate: tc.mutate})
			if tc.describe != nil {
				// The pre-read passes; every read after the update disagrees.
				e.proxy.Add(&testaws.Rule{Op: "DescribeContinuousBackups", Times: 1}, &testaws.Rule{Op: "DescribeContinuousBackups", Mutate: tc.describe})
			}
			r := e.run(t, "handle-event", "--file", file, "--config", policy, "--format", "json", "--no-store", "--backoff", "1ms", "--notify-dry-run")
			b := decodeBatch(t, r)
			if got := results(b); !slices.Equal(got, []string{tc.wantResult}) {
				t.Fatalf("results %v, want [%s] (exit %d)\n%s\n%s", got, tc.wantResult, r.code, r.out, r.errOut)
			}
			if n := e.proxy.Count("DescribeContinuousBackups"); n != tc.wantDescrib {
				t.Errorf("%d DescribeContinuousBackups calls, want %d: a response that does not confirm must be read back", n, tc.wantDescrib)
			}
			if tc.wantResult == events.ResultApplied {
				if o := b.Outcomes[0]; o.After == nil || *o.After != (remediate.State{Enabled: true, Days: 35}) {
					t.Errorf("after %+v, want the read-back's enabled with 35 days", o.After)
				}
			}
		})
	}
}

// setUpdatePITR rewrites a ContinuousBackupsDescription's PITR status and window.
func setUpdatePITR(status string, days int) func(map[string]any) {
	return func(m map[string]any) {
		d, _ := m["ContinuousBackupsDescription"].(map[string]any)
		if d == nil {
			return
		}
		pd, _ := d["PointInTimeRecoveryDescription"].(map[string]any)
		if pd == nil {
			pd = map[string]any{}
			d["PointInTimeRecoveryDescription"] = pd
		}
		pd["PointInTimeRecoveryStatus"] = status
		if days > 0 {
			pd["RecoveryPeriodInDays"] = days
		} else {
			delete(pd, "RecoveryPeriodInDays")
		}
	}
}
