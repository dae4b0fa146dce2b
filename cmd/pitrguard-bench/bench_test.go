package main

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"

	"github.com/pitrguard/pitrguard/internal/testaws"
)

// TestQuickBench runs the whole harness on a tiny estate: it must measure
// every run, compute floors and call counts, and find no wrong verdict under
// faults. (A smoke test of the harness; the numbers come from `make bench`.)
func TestQuickBench(t *testing.T) {
	testaws.MotoT(t).Stop() // skip (or fail under .ci/run) without moto_server
	t.Chdir("../..")        // the harness builds ./cmd/pitrguard
	devnull, _ := os.Open(os.DevNull)
	defer devnull.Close()
	res, err := run(context.Background(), options{quick: true, skipCLI: true, seqAccts: 1, latency: 5e6,
		runs: "default,concurrency-1,default-org,source-config,faults,sharded"}, devnull)
	if err != nil {
		t.Fatal(err)
	}
	e := estateFor(true)
	base, all, faults := res.run("default"), res.run("default-org"), res.run("faults")
	if base == nil || all == nil || faults == nil || res.run("concurrency-1") == nil {
		t.Fatalf("runs missing: %+v", res.Runs)
	}
	if base.Tables != e.Tables() || all.Tables != e.AllTables() {
		t.Errorf("tables: %d and %d, want %d and %d", base.Tables, all.Tables, e.Tables(), e.AllTables())
	}
	if base.FloorSeconds < float64(e.Hot)/10 || base.CallsPerTableByOp["DescribeContinuousBackups"] != 1 || base.PeakRSSMB == 0 {
		t.Errorf("default run: %+v", base)
	}
	if f := faults.Fault; f == nil || f.Wrong != 0 || f.Missing != 0 || !f.DeniedAccountInError || f.DeniedAccountTables != 0 {
		t.Errorf("faults: %+v", faults.Fault)
	}
	cfg := res.configRuns()
	if len(cfg) != 2 {
		t.Fatalf("config runs: %+v", res.Runs)
	}
	for _, r := range cfg {
		c := r.Config
		if r.Tables != e.AllTables() || c.VerdictsDiffer != 0 || c.TablesCompared != r.Tables || c.SelectCalls != (e.AllTables()+99)/100 || c.FromConfig == 0 {
			t.Errorf("%s: %d tables, %+v", r.Name, r.Tables, c)
		}
	}
	if nw := res.run("source-config-no-window"); nw == nil || nw.Config.FromConfig != nw.Tables || nw.Calls["DescribeContinuousBackups"] != 0 {
		t.Errorf("no-window policy: every table should come from Config, with no live PITR read: %+v", nw)
	}
	if sh := res.shardedRuns(); len(sh) != 2 || !shardsOK(sh[0].Shard) || !shardsOK(sh[1].Shard) || sh[0].EmulatorCPUSeconds <= 0 {
		t.Errorf("sharded: %+v", sh)
	}
	md := res.Markdown()
	for _, want := range []string{"| default |", "## Targets", "wall time ≤ 1.2 × floor", "## Shards", "## `--source config:AGGREGATOR`"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
}

// TestQuickEvents runs the events part on a few tables: every event is
// applied, every table is enabled with its tier's window in moto, the call
// count per event is the steady case's 4, and latency and RSS are measured.
func TestQuickEvents(t *testing.T) {
	testaws.MotoT(t).Stop() // skip (or fail under .ci/run) without moto_server
	t.Chdir("../..")
	devnull, _ := os.Open(os.DevNull)
	defer devnull.Close()
	res, err := runEventsOnly(context.Background(), options{quick: true, latency: 2e6, events: 12}, devnull)
	if err != nil {
		t.Fatal(err)
	}
	r := res.Events
	if r.Results["applied"] != 12 || r.Verified != 12 || len(r.VerifyErrors) != 0 || r.ExitCode != 0 {
		t.Fatalf("events run: %+v", r)
	}
	if r.DynamoPerEvent != 4 || r.PerEventByOp["UpdateContinuousBackups"] != 1 || r.PerEventByOp["DescribeContinuousBackups"] != 1 {
		t.Errorf("calls per event %v (by op %v), want 4: one each of DescribeTable, DescribeContinuousBackups, ListTagsOfResource, UpdateContinuousBackups", r.DynamoPerEvent, r.PerEventByOp)
	}
	if r.P50MS <= 0 || r.P99MS < r.P50MS || r.PeakRSSMB <= 0 {
		t.Errorf("p50 %v p99 %v peak RSS %v", r.P50MS, r.P99MS, r.PeakRSSMB)
	}
	if md := r.Markdown(2); !strings.Contains(md, "Target ≤ 4 AWS calls per event in the steady case: 4.000 DynamoDB calls per event — met") {
		t.Errorf("markdown:\n%s", md)
	}
}

// TestGenFakeAnswersLikeAWS reads the generated-facts fake with the real
// SDK: pages of ListTables, GetResources and ListAccounts, assume-role into
// a member, and the facts of one table, as computed from its name.
func TestGenFakeAnswersLikeAWS(t *testing.T) {
	e := Estate{Members: 2, PerRegion: 3, Hot: 250, ExtraMembers: 21, ExtraPerRegion: 1, Regions: []string{"us-east-1", "eu-west-1"}}
	g := newGenFake(e)
	defer g.Close()
	ctx := t.Context()
	s := testaws.NewSeeder(g.srv.URL)

	var names []string
	pg := dynamodb.NewListTablesPaginator(dynamodb.NewFromConfig(s.Config(ctx, testaws.ManagementAccount, "us-east-1")), &dynamodb.ListTablesInput{})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, out.TableNames...)
	}
	if len(names) != 250 || names[249] != "t-0249" || !slices.IsSorted(names) {
		t.Errorf("ListTables: %d names, last %q", len(names), names[len(names)-1])
	}
	tagged := 0
	tp := resourcegroupstaggingapi.NewGetResourcesPaginator(resourcegroupstaggingapi.NewFromConfig(s.Config(ctx, testaws.ManagementAccount, "us-east-1")),
		&resourcegroupstaggingapi.GetResourcesInput{ResourcesPerPage: aws.Int32(100)})
	for tp.HasMorePages() {
		out, err := tp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tagged += len(out.ResourceTagMappingList)
	}
	if want := 250 - (250+12)/13; tagged != want { // every 13th table is untagged
		t.Errorf("GetResources: %d tagged tables, want %d", tagged, want)
	}
	accts := 0
	op := organizations.NewListAccountsPaginator(organizations.NewFromConfig(s.Config(ctx, testaws.ManagementAccount, "us-east-1")), &organizations.ListAccountsInput{})
	for op.HasMorePages() {
		out, err := op.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		accts += len(out.Accounts)
	}
	if accts != 1+e.Members+e.ExtraMembers {
		t.Errorf("ListAccounts: %d accounts", accts)
	}

	member := dynamodb.NewFromConfig(s.Config(ctx, g.members[0], "eu-west-1"))
	dt, err := member.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("t-0001")})
	if err != nil {
		t.Fatal(err)
	}
	if arn := aws.ToString(dt.Table.TableArn); arn != "arn:aws:dynamodb:eu-west-1:"+g.members[0]+":table/t-0001" {
		t.Errorf("DescribeTable in the assumed member: ARN %s", arn)
	}
	cb, err := member.DescribeContinuousBackups(ctx, &dynamodb.DescribeContinuousBackupsInput{TableName: aws.String("t-0002")})
	if err != nil {
		t.Fatal(err)
	}
	if st := cb.ContinuousBackupsDescription.PointInTimeRecoveryDescription.PointInTimeRecoveryStatus; st != "DISABLED" { // tableSpec: i%10 == 2 is off
		t.Errorf("t-0002 PITR %s", st)
	}
	if _, err := member.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("t-0003")}); err == nil {
		t.Error("a table the estate does not hold was described")
	}
}

// TestQuickGenerated runs the generated-facts parts on a tiny estate: the
// memory runs read every table and report RSS and spill use; the shards
// audit disjoint accounts with the single process's verdicts and KPIs.
func TestQuickGenerated(t *testing.T) {
	t.Chdir("../..")
	devnull, _ := os.Open(os.DevNull)
	defer devnull.Close()
	res, err := runGenerated(context.Background(), options{quick: true, latency: 2e6, only: "memory,sharded-generated"}, devnull)
	if err != nil {
		t.Fatal(err)
	}
	mem := res.memoryRuns()
	if len(mem) != 2 {
		t.Fatalf("memory runs: %+v", res.Runs)
	}
	for i, e := range memoryEstates(true) {
		if r := mem[i]; r.Tables != e.AllTables() || r.PeakRSSMB <= 0 || r.SpillPeakMB <= 0 || r.Load == "" || r.Unknown != 0 {
			t.Errorf("%s: %d tables (want %d), RSS %v MB, spill %v MB, load %q, %d UNKNOWN", r.Name, r.Tables, e.AllTables(), r.PeakRSSMB, r.SpillPeakMB, r.Load, r.Unknown)
		}
	}
	sh := res.shardedRuns()
	if len(sh) != 2 {
		t.Fatalf("sharded runs: %+v", res.Runs)
	}
	for _, r := range sh {
		sc := r.Shard
		if !shardsOK(sc) || sc.Shards != 4 || r.Tables != estateFor(true).Tables() || sc.TablesCompared != r.Tables || r.FloorSeconds <= 0 {
			t.Errorf("%s: %+v, %d tables, floor %v", r.Name, sc, r.Tables, r.FloorSeconds)
		}
	}
	md := res.Markdown()
	for _, want := range []string{"## Memory (generated facts)", "## Shards", "peak RSS ≤ 150 MB, generated facts"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}
