package cli

import (
	"context"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pitrguard/pitrguard/internal/testaws"
)

// TestAuditNotify compares each audit with the last stored run of the same
// scope and alerts: new non-compliant tables, regressions, fixes, tables
// gone, and exemptions expiring within --expiry-warning.
func TestAuditNotify(t *testing.T) {
	e := newEnv(t, 0)
	h := newHook(t)
	t.Setenv("HOOK_SECRET", hookSecret)
	policy := e.writeFile(t, "pitrguard.yaml", strings.Replace(eventPolicy(h.srv.URL), "reason: rebuilt nightly", "reason: rebuilt nightly\n    expires: 2026-12-01", 1))
	prod := map[string]string{"env": "prod", "owner": "payments"}
	e.tables(t, mgmt, "us-east-1",
		testaws.TableSpec{Name: "a", Tags: prod, PITR: true, RecoveryDays: 35},
		testaws.TableSpec{Name: "b", Tags: prod},
		testaws.TableSpec{Name: "c", PITR: true},
		testaws.TableSpec{Name: "scratch-1"})
	audit := func(extra ...string) result {
		r := e.run(t, append([]string{"audit", "--regions", "us-east-1", "--config", policy, "--format", "json"}, extra...)...)
		if r.code != 0 {
			t.Fatalf("audit %v: exit %d\n%s", extra, r.code, r.errOut)
		}
		return r
	}
	kinds := func() []string {
		var out []string
		for _, m := range h.received() {
			out = append(out, m["kind"].(string)+":"+m["table"].(string))
		}
		sort.Strings(out)
		return out
	}
	audit("--notify")
	if got := kinds(); !slices.Equal(got, []string{"exemption_expiring:scratch-1"}) {
		t.Fatalf("first run alerts %v, want only the expiring exemption (nothing to compare with)", got)
	}

	e.setPITR(t, mgmt, "us-east-1", "a", true, 7)
	e.setPITR(t, mgmt, "us-east-1", "b", true, 35)
	db := dynamodb.NewFromConfig(e.seed.Config(context.Background(), mgmt, "us-east-1"))
	if _, err := db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String("c")}); err != nil {
		t.Fatal(err)
	}
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "d", Tags: prod})

	audit("--notify", "--expiry-warning", "14d")
	want := []string{"exemption_expiring:scratch-1", "fixed:b", "new_non_compliant:d", "regression:a", "table_deleted:c"}
	if got := kinds(); !slices.Equal(got, want) {
		t.Fatalf("alerts %v, want %v (the expiring exemption once: deduplicated)", got, want)
	}

	// A dry run prints what would be sent and sends nothing.
	e.setPITR(t, mgmt, "us-east-1", "b", false, 0)
	dry := audit("--notify-dry-run")
	if len(h.received()) != len(want) || !strings.Contains(dry.errOut, "notify regression → secops (owner \"payments\"): dry_run") ||
		!strings.Contains(dry.errOut, "b regressed from COMPLIANT to NON_COMPLIANT") {
		t.Fatalf("dry run sent %d or printed:\n%s", len(h.received())-len(want), dry.errOut)
	}
	if h.bad.Load() != 0 {
		t.Errorf("%d alerts were badly signed", h.bad.Load())
	}
	if r := e.run(t, "audit", "--regions", "us-east-1", "--config", policy, "--notify", "--no-store"); r.code != ExitUsage || !strings.Contains(r.errOut, "cannot be used with --no-store") {
		t.Errorf("--notify --no-store: exit %d, %s", r.code, r.errOut)
	}
}
