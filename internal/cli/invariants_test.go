package cli

// The safety promises of README.md and ARCHITECTURE.md, written down as
// invariants and attacked over every command and mode we can enumerate:
//
//  1. No command lowers a recovery window, disables PITR, enables TTL on a
//     table, replaces a resource policy or deletes a table, unless that exact
//     change was planned and confirmed: changes land only on tables pitrguard
//     created in the same command, except enable's PITR raises.
//  2. Plan, dry-run and refused modes send no mutating AWS call and write no file.
//  3. Every table in scope appears exactly once with a verdict, and a table whose
//     PITR, state or deciding tags could not be read is never COMPLIANT or
//     NON_COMPLIANT.
//  4. No input panics (fuzz targets: config.FuzzParse, remediate.FuzzLoadPlan,
//     restore.FuzzParseTime, the IaC front ends, events.FuzzParse).

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/testaws"
)

// readOnlyOp is every AWS operation that changes nothing. Anything else is a
// mutation, so a new call is suspect until it is listed here.
var readOnlyOp = regexp.MustCompile(`^(Describe|List|Get|BatchGet|Query|Scan|Select)|^(AssumeRole|GetCallerIdentity)$`)

// mutation is one mutating request the proxy saw.
type mutation struct {
	op, table string
	body      map[string]any
}

// mutations lists the mutating calls recorded by the proxy since the last Clear.
func mutations(e *env) []testaws.Call {
	var out []testaws.Call
	for _, c := range e.proxy.Calls() {
		if !readOnlyOp.MatchString(c.Op) {
			out = append(out, c)
		}
	}
	return out
}

// snapshot hashes every file under dirs (path → sha256), to prove a command
// wrote nothing.
func snapshot(t *testing.T, dirs ...string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	for _, d := range dirs {
		err := filepath.WalkDir(d, func(p string, de fs.DirEntry, err error) error {
			if err != nil || de.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[p] = sha256.Sum256(b)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// changedFiles lists files created, changed or removed between two snapshots,
// ignoring the history database when allowDB.
func changedFiles(before, after map[string][32]byte, db string, allowDB bool) []string {
	var out []string
	isDB := func(p string) bool { return allowDB && strings.HasPrefix(p, db) }
	for p, h := range after {
		if b, ok := before[p]; (!ok || b != h) && !isDB(p) {
			out = append(out, p)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok && !isDB(p) {
			out = append(out, p+" (removed)")
		}
	}
	slices.Sort(out)
	return out
}

// seedInvariantEstate creates tables of every kind the promises are about.
func seedInvariantEstate(t *testing.T, e *env) {
	prod := map[string]string{"env": "prod", "owner": "orders-team"}
	e.tables(t, mgmt, "us-east-1",
		testaws.TableSpec{Name: "orders", Tags: prod, PITR: true, RecoveryDays: 7, Items: 5},
		testaws.TableSpec{Name: "prod-users", Tags: prod, PITR: true, RecoveryDays: 35, Items: 3},
		testaws.TableSpec{Name: "ttl-table", Tags: prod, PITR: true, RecoveryDays: 35, TTLAttribute: "exp", Items: 2},
		testaws.TableSpec{Name: "plain"},
		testaws.TableSpec{Name: "tmp-cache", PITR: true, RecoveryDays: 1},
		// A table that only looks like a drill scratch table: never pitrguard's to delete.
		testaws.TableSpec{Name: "pitrguard-drill-decoy", Tags: map[string]string{"pitrguard:drill": "true"}, PITR: true, Items: 1},
	)
	e.tables(t, e.members[0], "eu-west-1",
		testaws.TableSpec{Name: "events", Tags: map[string]string{"env": "production"}, PITR: true, RecoveryDays: 14},
		testaws.TableSpec{Name: "catalog"},
	)
}

// tableFacts is what the invariants compare before and after a command.
type tableFacts struct {
	exists      bool
	pitr        bool
	days        int
	ttl         string
	policy      string
	deletionOff bool
}

func readFacts(t *testing.T, e *env, account, region, name string) tableFacts {
	t.Helper()
	ctx := context.Background()
	db := dynamodb.NewFromConfig(e.seed.Config(ctx, account, region))
	d, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		var nf *ddbtypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			return tableFacts{}
		}
		t.Fatal(err)
	}
	f := tableFacts{exists: true, deletionOff: !aws.ToBool(d.Table.DeletionProtectionEnabled)}
	cb, err := db.DescribeContinuousBackups(ctx, &dynamodb.DescribeContinuousBackupsInput{TableName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if pd := cb.ContinuousBackupsDescription.PointInTimeRecoveryDescription; pd != nil && pd.PointInTimeRecoveryStatus == ddbtypes.PointInTimeRecoveryStatusEnabled {
		f.pitr, f.days = true, model.RecoveryDays(aws.ToInt32(pd.RecoveryPeriodInDays))
	}
	ttl, err := db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if d := ttl.TimeToLiveDescription; d != nil && d.TimeToLiveStatus == ddbtypes.TimeToLiveStatusEnabled {
		f.ttl = aws.ToString(d.AttributeName)
	}
	if p, err := db.GetResourcePolicy(ctx, &dynamodb.GetResourcePolicyInput{ResourceArn: d.Table.TableArn}); err == nil {
		f.policy = aws.ToString(p.Policy)
	}
	return f
}

type estateKey struct{ account, region, name string }

func estateKeys(e *env) []estateKey {
	var keys []estateKey
	for _, n := range []string{"orders", "prod-users", "ttl-table", "plain", "tmp-cache", "pitrguard-drill-decoy"} {
		keys = append(keys, estateKey{mgmt, "us-east-1", n})
	}
	return append(keys, estateKey{e.members[0], "eu-west-1", "events"}, estateKey{e.members[0], "eu-west-1", "catalog"})
}

func readEstate(t *testing.T, e *env) map[estateKey]tableFacts {
	out := map[estateKey]tableFacts{}
	for _, k := range estateKeys(e) {
		out[k] = readFacts(t, e, k.account, k.region, k.name)
	}
	return out
}

// checkNoLoss asserts the promise on every pre-existing table: it still exists,
// PITR was not disabled nor its window lowered, TTL and resource policy are as
// they were, deletion protection was not turned off.
func checkNoLoss(t *testing.T, before, after map[estateKey]tableFacts, what string) {
	t.Helper()
	for k, b := range before {
		a := after[k]
		switch {
		case !a.exists:
			t.Errorf("%s: table %v was deleted", what, k)
		case b.pitr && !a.pitr:
			t.Errorf("%s: PITR disabled on %v", what, k)
		case b.pitr && a.days < b.days:
			t.Errorf("%s: window of %v lowered %d → %d", what, k, b.days, a.days)
		case a.ttl != b.ttl:
			t.Errorf("%s: TTL of %v changed %q → %q", what, k, b.ttl, a.ttl)
		case a.policy != b.policy:
			t.Errorf("%s: resource policy of %v changed", what, k)
		case !b.deletionOff && a.deletionOff:
			t.Errorf("%s: deletion protection of %v turned off", what, k)
		}
	}
}

// TestInvariantReadOnlyModes: plan, dry-run, refused and reading modes of
// every command send no mutating call and write no file.
func TestInvariantReadOnlyModes(t *testing.T) {
	e := newEnv(t, 1)
	seedInvariantEstate(t, e)
	iacDir := filepath.Join(e.dir, "iac")
	must(t, os.MkdirAll(iacDir, 0o755))
	must(t, os.WriteFile(filepath.Join(iacDir, "main.tf"), []byte(`variable "pitr" { default = false }
resource "aws_dynamodb_table" "t" {
  name     = "orders"
  hash_key = "pk"
  attribute {
    name = "pk"
    type = "S"
  }
  point_in_time_recovery { enabled = var.pitr }
}
`), 0o644))
	outside := t.TempDir()
	varFile := filepath.Join(outside, "prod.tfvars")
	must(t, os.WriteFile(varFile, []byte("pitr = false\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(outside, "cfn.yaml"), []byte("Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      TableName: x\n"), 0o644))
	badPlan := e.writeFile(t, "bad-plan.json", `{"schema_version":1,"mode":"plan","actions":[{"account":"`+mgmt+`","region":"us-east-1","table":"orders","arn":"arn:aws:dynamodb:us-east-1:`+mgmt+`:table/prod-users","action":"raise_recovery_period","from_days":7,"to_days":35,"result":"planned"}]}`)
	lowerPlan := e.writeFile(t, "lower-plan.json", `{"schema_version":1,"mode":"plan","actions":[{"account":"`+mgmt+`","region":"us-east-1","table":"prod-users","arn":"arn:aws:dynamodb:us-east-1:`+mgmt+`:table/prod-users","action":"raise_recovery_period","from_days":35,"to_days":7,"result":"planned"}]}`)
	regions := "us-east-1,eu-west-1"

	cases := []struct {
		name    string
		args    []string
		allowDB bool // the command may record its run in the history database
		wantOK  bool // exit 0 expected; otherwise any non-zero exit
	}{
		{"audit table", []string{"audit", "--org", "--regions", regions}, true, true},
		{"audit json no-store", []string{"audit", "--org", "--regions", regions, "--format", "json", "--no-store"}, false, true},
		{"audit csv", []string{"audit", "--org", "--regions", regions, "--format", "csv"}, true, true},
		{"enable plan", []string{"enable", "--org", "--regions", regions}, true, true},
		{"enable plan json no-store", []string{"enable", "--org", "--regions", regions, "--format", "json", "--no-store"}, false, true},
		{"enable apply without --yes and no terminal", []string{"enable", "--org", "--regions", regions, "--apply"}, true, false},
		{"enable plan file naming another table's ARN", []string{"enable", "--plan-file", badPlan, "--apply", "--yes"}, true, false},
		{"enable plan file lowering a window", []string{"enable", "--plan-file", lowerPlan, "--apply", "--yes"}, true, false},
		{"enable tier that matches nothing", []string{"enable", "--org", "--regions", regions, "--tier", "no-such-tier", "--apply", "--yes"}, true, false},
		{"enable owner that matches nothing", []string{"enable", "--org", "--regions", regions, "--owner", "nobody", "--apply", "--yes"}, true, false},
		{"restore without --yes", []string{"restore", "--table", "orders", "--region", "us-east-1", "--latest"}, true, false},
		{"reconcile-only without --yes", []string{"restore", "--table", "orders", "--region", "us-east-1", "--reconcile-only", "--target", "prod-users"}, true, false},
		{"reconcile-only onto a table that is not a restore", []string{"restore", "--table", "orders", "--region", "us-east-1", "--reconcile-only", "--target", "prod-users", "--yes"}, true, false},
		{"reconcile-only onto the source itself", []string{"restore", "--table", "orders", "--region", "us-east-1", "--reconcile-only", "--target", "orders", "--yes"}, true, false},
		{"restore outside the window", []string{"restore", "--table", "orders", "--region", "us-east-1", "--to", "2020-01-01T00:00:00Z", "--yes"}, true, false},
		{"restore ambiguous local time", []string{"restore", "--table", "orders", "--region", "us-east-1", "--to", "2026-10-25 02:30:00", "--tz", "Europe/Berlin", "--yes"}, true, false},
		{"restore non-existent local time", []string{"restore", "--table", "orders", "--region", "us-east-1", "--to", "2026-03-29 02:30:00", "--tz", "Europe/Berlin", "--yes"}, true, false},
		{"restore deleted without a backup", []string{"restore", "--deleted", "--table", "never-existed", "--region", "us-east-1", "--without-indexes", "--yes"}, true, false},
		{"drill broad selection without --yes", []string{"drill", "--org", "--regions", regions, "--tier", "critical"}, true, false},
		{"drill of a table that does not exist", []string{"drill", "--table", "nope", "--regions", "us-east-1", "--yes"}, true, false},
		{"drill cleanup bad format", []string{"drill", "cleanup", "--regions", "us-east-1", "--format", "xml"}, true, false},
		{"iac scan", []string{"iac", "scan", iacDir}, false, false},
		{"iac fix --dry-run with an outside var file", []string{"iac", "fix", "--dry-run", "--var-file", varFile, iacDir}, false, true},
		{"iac fix --dry-run of another tree", []string{"iac", "fix", "--dry-run", outside}, false, true},
		{"history", []string{"history"}, true, true},
		{"history journal", []string{"history", "journal"}, true, true},
		{"history drills", []string{"history", "drills"}, true, true},
		{"iam-policy", []string{"iam-policy", "all"}, false, true},
	}
	// The history database exists before the cases run, so "the run was
	// recorded" never counts as creating a file.
	e.run(t, "audit", "--regions", "us-east-1", "--format", "json")
	estate := readEstate(t, e)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, e.dir, outside)
			e.proxy.Clear()
			r := e.run(t, tc.args...)
			if tc.wantOK && r.code != ExitOK {
				t.Errorf("exit %d, want 0\n%s\n%s", r.code, r.out, r.errOut)
			}
			if !tc.wantOK && r.code == ExitOK {
				t.Errorf("exit 0, want a refusal\n%s\n%s", r.out, r.errOut)
			}
			if m := mutations(e); len(m) > 0 {
				t.Errorf("mutating AWS calls: %+v", m)
			}
			if c := changedFiles(before, snapshot(t, e.dir, outside), e.db, tc.allowDB); len(c) > 0 {
				t.Errorf("files written: %v", c)
			}
		})
	}
	checkNoLoss(t, estate, readEstate(t, e), "read-only modes")
}

// TestInvariantChangesAreThePlannedOnes runs every changing command with
// --yes, in sequence, and checks each mutating request: on tables that existed
// before, only enable's UpdateContinuousBackups that turns PITR on with a window
// no lower than the table had; every other change lands on a table pitrguard
// itself created in that same command.
func TestInvariantChangesAreThePlannedOnes(t *testing.T) {
	e := newEnv(t, 1)
	seedInvariantEstate(t, e)
	before := readEstate(t, e)
	existing := map[string]bool{}
	for k := range before {
		existing[k.name] = true
	}

	var mu sync.Mutex
	var bodies []mutation
	observe := func(op string) *testaws.Rule {
		return &testaws.Rule{Op: op, Inspect: func(req map[string]any) {
			mu.Lock()
			defer mu.Unlock()
			name, _ := req["TableName"].(string)
			if name == "" {
				name, _ = req["ResourceArn"].(string)
			}
			if name == "" {
				name, _ = req["TargetTableName"].(string)
			}
			bodies = append(bodies, mutation{op: op, table: name[strings.LastIndex(name, "/")+1:], body: req})
		}}
	}
	watched := []string{"UpdateContinuousBackups", "DeleteTable", "UpdateTimeToLive", "PutResourcePolicy", "DeleteResourcePolicy",
		"TagResource", "UntagResource", "UpdateTable", "RestoreTableToPointInTime", "RestoreTableFromBackup", "CreateTable",
		"PutItem", "DeleteItem", "UpdateItem", "BatchWriteItem", "DeleteBackup", "UpdateContributorInsights"}

	steps := [][]string{
		{"enable", "--org", "--regions", "us-east-1,eu-west-1", "--apply", "--yes"},
		{"restore", "--table", "orders", "--region", "us-east-1", "--latest", "--target", "orders-r", "--yes"},
		{"restore", "--table", "orders", "--region", "us-east-1", "--reconcile-only", "--target", "orders-r", "--yes"},
		{"restore", "--table", "orders", "--region", "us-east-1", "--reconcile-only", "--target", "ttl-table", "--yes"},
		{"drill", "--table", "orders", "--regions", "us-east-1", "--yes"},
		{"drill", "--table", "prod-users", "--table", "orders", "--regions", "us-east-1", "--yes"},
		{"drill", "cleanup", "--regions", "us-east-1", "--yes"},
	}
	created := map[string]bool{} // tables pitrguard created, across the sequence
	for _, args := range steps {
		e.proxy.Clear()
		for _, op := range watched {
			e.proxy.Add(observe(op))
		}
		mu.Lock()
		bodies = nil
		mu.Unlock()
		prior := readEstate(t, e)
		r := e.run(t, args...)
		what := strings.Join(args, " ")
		mu.Lock()
		got := slices.Clone(bodies)
		mu.Unlock()
		for _, m := range got {
			if m.op == "RestoreTableToPointInTime" || m.op == "RestoreTableFromBackup" {
				if existing[m.table] {
					t.Errorf("%s: restore onto the existing table %s", what, m.table)
				}
				created[m.table] = true
			}
		}
		for _, m := range got {
			switch {
			case m.op == "RestoreTableToPointInTime" || m.op == "RestoreTableFromBackup":
			case created[m.table]:
				// pitrguard's own table: reconciliation, tags, drill cleanup.
			case m.op == "UpdateContinuousBackups" && args[0] == "enable":
				spec, _ := m.body["PointInTimeRecoverySpecification"].(map[string]any)
				on, _ := spec["PointInTimeRecoveryEnabled"].(bool)
				days := 35
				if d, ok := spec["RecoveryPeriodInDays"].(float64); ok {
					days = int(d)
				}
				k := estateKey{name: m.table}
				for kk := range prior {
					if kk.name == m.table {
						k = kk
					}
				}
				if !on || (prior[k].pitr && days < prior[k].days) {
					t.Errorf("%s: UpdateContinuousBackups on %s lowers or disables: %v (was %+v)", what, m.table, spec, prior[k])
				}
			default:
				t.Errorf("%s: %s on %s, a table pitrguard did not create in this sequence (exit %d)", what, m.op, m.table, r.code)
			}
		}
		checkNoLoss(t, prior, readEstate(t, e), what)
	}
	after := readEstate(t, e)
	checkNoLoss(t, before, after, "whole sequence")
	if !after[estateKey{mgmt, "us-east-1", "pitrguard-drill-decoy"}].exists {
		t.Error("drill cleanup deleted a prefix-named table it did not create")
	}
}

// TestInvariantEveryTableOnceNeverGuessed injects random read failures into an
// audit and checks each table's verdict against what can honestly be said:
// every table once; unreadable PITR or state → never COMPLIANT/NON_COMPLIANT;
// unreadable tags → the verdict every possible tier agrees on, else UNKNOWN.
func TestInvariantEveryTableOnceNeverGuessed(t *testing.T) {
	e := newEnv(t, 0)
	type spec struct {
		prod bool
		pitr bool
		days int
	}
	specs := map[string]spec{}
	var seeds []testaws.TableSpec
	for i := range 24 {
		s := spec{prod: i%3 == 0, pitr: i%4 != 0, days: []int{1, 7, 35, 14}[i%4]}
		name := fmt.Sprintf("t-%02d", i)
		specs[name] = s
		ts := testaws.TableSpec{Name: name, PITR: s.pitr, RecoveryDays: s.days}
		if s.prod {
			ts.Tags = map[string]string{"env": "prod"}
		} else {
			ts.Tags = map[string]string{"team": "x"}
		}
		seeds = append(seeds, ts)
	}
	e.tables(t, mgmt, "us-east-1", seeds...)

	// The verdict the default policy gives when everything is read.
	oracle := func(s spec, prod bool) model.Verdict {
		switch {
		case !s.pitr:
			return model.NonCompliant
		case prod && s.days < 35:
			return model.NonCompliant
		}
		return model.Compliant
	}
	const (
		fNone = iota
		fPITR
		fDescribe
		fTags
		fUpdating
		fCreating
		nFaults
	)
	for round := range 4 {
		rng := rand.New(rand.NewPCG(uint64(round)+1, 7))
		e.proxy.Clear()
		tagsAPIDown := round%2 == 1 // tags come from ListTagsOfResource, which can fail per table
		if tagsAPIDown {
			e.proxy.Add(&testaws.Rule{Op: "GetResources", Fault: testaws.FaultAccessDenied})
		}
		faults := map[string]int{}
		for name := range specs {
			f := rng.IntN(nFaults)
			if f == fTags && !tagsAPIDown {
				f = fNone
			}
			faults[name] = f
			switch f {
			case fPITR:
				e.proxy.Add(&testaws.Rule{Op: "DescribeContinuousBackups", Table: name, Fault: testaws.FaultAccessDenied})
			case fDescribe:
				e.proxy.Add(&testaws.Rule{Op: "DescribeTable", Table: name, Fault: testaws.FaultAccessDenied})
			case fTags:
				e.proxy.Add(&testaws.Rule{Op: "ListTagsOfResource", Table: name, Fault: testaws.FaultAccessDenied})
			case fUpdating:
				e.proxy.Add(&testaws.Rule{Op: "DescribeTable", Table: name, Mutate: testaws.SetTableStatus("UPDATING")})
			case fCreating:
				e.proxy.Add(&testaws.Rule{Op: "DescribeTable", Table: name, Mutate: testaws.SetTableStatus("CREATING")})
			}
		}
		r := e.run(t, "audit", "--regions", "us-east-1", "--format", "json", "--no-store", "--allow-partial")
		a := r.audit(t)
		seen := map[string]int{}
		for _, tr := range a.Tables {
			seen[tr.Name]++
			s, ok := specs[tr.Name]
			if !ok {
				t.Errorf("round %d: unexpected table %s", round, tr.Name)
				continue
			}
			judged := tr.Verdict == model.Compliant || tr.Verdict == model.NonCompliant
			where := fmt.Sprintf("round %d: %s (fault %d, %+v)", round, tr.Name, faults[tr.Name], s)
			switch faults[tr.Name] {
			case fNone, fUpdating:
				if want := oracle(s, s.prod); tr.Verdict != want {
					t.Errorf("%s: verdict %s, want %s (reasons %v)", where, tr.Verdict, want, tr.Reasons)
				}
			case fPITR, fDescribe:
				if judged {
					t.Errorf("%s: PITR or state unreadable but verdict %s", where, tr.Verdict)
				}
			case fTags:
				want := oracle(s, true)
				if oracle(s, false) != want {
					want = model.Unknown
				}
				if tr.Verdict != want {
					t.Errorf("%s: tags unreadable: verdict %s, want %s (reasons %v)", where, tr.Verdict, want, tr.Reasons)
				}
			case fCreating:
				if tr.Verdict == model.Compliant {
					t.Errorf("%s: a CREATING table cannot be COMPLIANT", where)
				}
			}
		}
		for name := range specs {
			if seen[name] != 1 {
				t.Errorf("round %d: table %s appears %d times", round, name, seen[name])
			}
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
