package spend

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	ce "github.com/aws/aws-sdk-go-v2/service/costexplorer"

	"github.com/pitrguard/pitrguard/internal/policy"
	"github.com/pitrguard/pitrguard/internal/testaws"
)

var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func TestClassify(t *testing.T) {
	for usage, want := range map[string]Kind{
		"TimedPITRStorage-ByteHrs":          KindPITR,
		"USE1-TimedPITRStorage-ByteHrs":     KindPITR,
		"EUW1-TimedBackupStorage-ByteHrs":   KindBackup,
		"TimedBackupStorage-ByteHrs":        KindBackup,
		"EUW1-TimedStorage-ByteHrs":         KindOther,
		"USE1-ReadRequestUnits":             KindOther,
		"TimedPITRStorage-ByteHrs-Extra":    KindOther,
		"USE1-RestoreDataSize-Bytes":        KindOther,
		"APN1-TimedPITRStorage-ByteHrsXXXX": KindOther,
	} {
		if got := Classify(usage); got != want {
			t.Errorf("Classify(%q) = %s, want %s", usage, got, want)
		}
	}
}

func TestLastFullMonth(t *testing.T) {
	for _, c := range []struct {
		now        time.Time
		start, end string
	}{
		{now, "2026-10-01", "2026-11-01"},
		{time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), "2026-12-01", "2027-01-01"},
		{time.Date(2026, 3, 31, 23, 0, 0, 0, time.FixedZone("x", -5*3600)), "2026-03-01", "2026-04-01"}, // April 1st in UTC
	} {
		s, e := LastFullMonth(c.now)
		if s.Format(time.DateOnly) != c.start || e.Format(time.DateOnly) != c.end {
			t.Errorf("LastFullMonth(%s) = %s..%s, want %s..%s", c.now, s.Format(time.DateOnly), e.Format(time.DateOnly), c.start, c.end)
		}
	}
}

// TestMeasureAgainstMoto reads two pages of results through the real SDK and
// moto's Cost Explorer, and checks the request pitrguard sends.
func TestMeasureAgainstMoto(t *testing.T) {
	m := testaws.MotoT(t)
	ctx := context.Background()
	if err := testaws.QueueCostAndUsage(ctx, m.URL, "",
		testaws.CostPage("2026-10-01", "2026-11-01", "page-2",
			testaws.CostGroup{UsageType: "TimedPITRStorage-ByteHrs", Amount: "12.5"},
			testaws.CostGroup{UsageType: "USE1-ReadRequestUnits", Amount: "50.25"}),
		testaws.CostPage("2026-10-01", "2026-11-01", "",
			testaws.CostGroup{UsageType: "EUW1-TimedPITRStorage-ByteHrs", Amount: "2.5"},
			testaws.CostGroup{UsageType: "EUW1-TimedBackupStorage-ByteHrs", Amount: "5"},
			testaws.CostGroup{UsageType: "EUW1-TimedStorage-ByteHrs", Amount: "29.75"}),
	); err != nil {
		t.Fatal(err)
	}
	px := testaws.ProxyT(t, m.URL)
	var seen []map[string]any
	px.Add(&testaws.Rule{Op: "GetCostAndUsage", Inspect: func(req map[string]any) { seen = append(seen, req) }})
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(Region), config.WithBaseEndpoint(px.URL), config.WithCredentialsProvider(testaws.Credentials))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Measure(ctx, ce.NewFromConfig(cfg), now)
	if err != nil {
		t.Fatal(err)
	}
	if s.Pages != 2 || s.Month != "2026-10" || s.DynamoDB != 100 || s.PITR != 15 || s.Backup != 5 {
		t.Errorf("spend = %+v, want 2 pages of 2026-10, DynamoDB 100, PITR 15, backup 5", s)
	}
	if sh := s.ResilienceShare(); sh == nil || math.Abs(*sh-0.2) > 1e-9 {
		t.Errorf("share = %v, want 0.2", sh)
	}
	if len(seen) != 2 {
		t.Fatalf("%d GetCostAndUsage calls seen, want 2", len(seen))
	}
	first := seen[0]
	tp, _ := first["TimePeriod"].(map[string]any)
	filter, _ := first["Filter"].(map[string]any)
	dims, _ := filter["Dimensions"].(map[string]any)
	groups, _ := first["GroupBy"].([]any)
	if tp["Start"] != "2026-10-01" || tp["End"] != "2026-11-01" || first["Granularity"] != "MONTHLY" ||
		dims["Key"] != "SERVICE" || len(dims["Values"].([]any)) != 1 || dims["Values"].([]any)[0] != Service ||
		len(groups) != 1 || groups[0].(map[string]any)["Key"] != "USAGE_TYPE" || first["NextPageToken"] != nil {
		t.Errorf("first request: %v", first)
	}
	if seen[1]["NextPageToken"] != "page-2" {
		t.Errorf("second request did not carry the page token: %v", seen[1])
	}
	var sum policy.Summary
	s.Apply(&sum)
	if sum.SpendMonth != "2026-10" || *sum.DynamoDBSpendUSD != 100 || *sum.PITRSpendUSD != 15 || *sum.BackupSpendUSD != 5 || math.Abs(*sum.ResilienceCostShare-0.2) > 1e-9 {
		t.Errorf("summary = %+v", sum)
	}
}

type loopAPI struct{ calls int }

func (l *loopAPI) GetCostAndUsage(context.Context, *ce.GetCostAndUsageInput, ...func(*ce.Options)) (*ce.GetCostAndUsageOutput, error) {
	l.calls++
	return &ce.GetCostAndUsageOutput{NextPageToken: aws.String("same")}, nil
}

func TestMeasureStopsOnARepeatedToken(t *testing.T) {
	api := &loopAPI{}
	if _, err := Measure(context.Background(), api, now); err == nil || api.calls != 2 {
		t.Errorf("err %v after %d calls; want an error after the token repeats (2 calls)", err, api.calls)
	}
}

func TestNoDynamoDBSpendHasNoShare(t *testing.T) {
	s := &Spend{}
	if s.ResilienceShare() != nil {
		t.Error("a share of zero spend")
	}
	var sum policy.Summary
	s.Apply(&sum)
	if sum.ResilienceCostShare != nil || sum.DynamoDBSpendUSD == nil || *sum.DynamoDBSpendUSD != 0 {
		t.Errorf("summary = %+v", sum)
	}
}
