// Package spend measures what DynamoDB actually cost, from AWS Cost Explorer,
// so that the seed's KPI "data resilience cost" — continuous backup storage
// as a share of all DynamoDB spend — rests on billed figures, not only on the
// estimate from table sizes.
//
// One query: GetCostAndUsage for the last full calendar month, service
// "Amazon DynamoDB", grouped by USAGE_TYPE, paged. Usage types ending in
// TimedPITRStorage-ByteHrs are PITR storage, those ending in
// TimedBackupStorage-ByteHrs are backup storage (on-demand and AWS Backup warm
// storage); both carry a region prefix such as USE1- outside us-east-1. Cost
// Explorer is served from us-east-1 and, from the management account, answers
// for the whole organization (its payer account), not for a subset of accounts.
package spend

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ce "github.com/aws/aws-sdk-go-v2/service/costexplorer"
	"github.com/aws/aws-sdk-go-v2/service/costexplorer/types"

	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/policy"
)

// Region is where Cost Explorer is served (it is global).
const Region = "us-east-1"

// Service is Cost Explorer's name of DynamoDB (the SERVICE dimension).
const Service = "Amazon DynamoDB"

// Metric is the cost metric read: what was billed, before credits are
// spread across an organization (blended costs average rates over accounts).
const Metric = "UnblendedCost"

// Usage-type suffixes of resilience storage.
const (
	PITRSuffix   = "TimedPITRStorage-ByteHrs"
	BackupSuffix = "TimedBackupStorage-ByteHrs"
)

// maxPages bounds the paging loop (a token that never ends is a bug upstream).
const maxPages = 1000

// API is the part of the Cost Explorer client spend uses.
type API interface {
	GetCostAndUsage(ctx context.Context, in *ce.GetCostAndUsageInput, optFns ...func(*ce.Options)) (*ce.GetCostAndUsageOutput, error)
}

var _ API = (*ce.Client)(nil)

// Kind is what a usage type pays for.
type Kind string

// Kinds of usage type.
const (
	KindPITR   Kind = "pitr"
	KindBackup Kind = "backup"
	KindOther  Kind = "other"
)

// Classify says what a DynamoDB usage type pays for; the region prefix
// (USE1-, EUW1-, ...) does not matter.
func Classify(usageType string) Kind {
	switch {
	case strings.HasSuffix(usageType, PITRSuffix):
		return KindPITR
	case strings.HasSuffix(usageType, BackupSuffix):
		return KindBackup
	}
	return KindOther
}

// Spend is one month of DynamoDB spend, split by what it paid for.
type Spend struct {
	// Month is the calendar month measured, e.g. 2026-10; Start and End
	// are its bounds as Cost Explorer takes them (End exclusive).
	Month      string
	Start, End string
	DynamoDB   float64
	PITR       float64
	Backup     float64
	// UsageTypes is the cost of every usage type seen, for the record.
	UsageTypes map[string]float64
	// Pages is how many GetCostAndUsage calls it took.
	Pages int
}

// ResilienceShare is (PITR + backup) ÷ DynamoDB spend; nil when there was no
// DynamoDB spend to divide by.
func (s *Spend) ResilienceShare() *float64 {
	if s.DynamoDB <= 0 {
		return nil
	}
	v := (s.PITR + s.Backup) / s.DynamoDB
	return &v
}

// LastFullMonth is the calendar month before now's (UTC): [start, end).
func LastFullMonth(now time.Time) (start, end time.Time) {
	now = now.UTC()
	end = time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	return end.AddDate(0, -1, 0), end
}

// Measure reads the last full month's DynamoDB spend, every page of it.
func Measure(ctx context.Context, api API, now time.Time) (*Spend, error) {
	start, end := LastFullMonth(now)
	s := &Spend{Month: start.Format("2006-01"), Start: start.Format(time.DateOnly), End: end.Format(time.DateOnly), UsageTypes: map[string]float64{}}
	in := &ce.GetCostAndUsageInput{
		TimePeriod:  &types.DateInterval{Start: aws.String(s.Start), End: aws.String(s.End)},
		Granularity: types.GranularityMonthly,
		Metrics:     []string{Metric},
		Filter:      &types.Expression{Dimensions: &types.DimensionValues{Key: types.DimensionService, Values: []string{Service}}},
		GroupBy:     []types.GroupDefinition{{Type: types.GroupDefinitionTypeDimension, Key: aws.String(string(types.DimensionUsageType))}},
	}
	seen := map[string]bool{}
	for {
		out, err := api.GetCostAndUsage(ctx, in)
		if err != nil {
			return nil, err
		}
		s.Pages++
		if err := s.add(out.ResultsByTime); err != nil {
			return nil, err
		}
		next := aws.ToString(out.NextPageToken)
		if next == "" {
			break
		}
		if seen[next] || s.Pages >= maxPages {
			return nil, fmt.Errorf("cost explorer kept answering page token %q: stopped after %d pages", next, s.Pages)
		}
		seen[next] = true
		in.NextPageToken = aws.String(next)
	}
	s.DynamoDB, s.PITR, s.Backup = model.RoundCents(s.DynamoDB), model.RoundCents(s.PITR), model.RoundCents(s.Backup)
	return s, nil
}

// add sums one page's groups by kind.
func (s *Spend) add(results []types.ResultByTime) error {
	for _, r := range results {
		for _, g := range r.Groups {
			usage := strings.Join(g.Keys, "/")
			m, ok := g.Metrics[Metric]
			if !ok || m.Amount == nil {
				continue
			}
			if u := aws.ToString(m.Unit); u != "" && u != "USD" {
				return fmt.Errorf("cost explorer answered %s in %s; pitrguard reports USD only", usage, u)
			}
			v, err := strconv.ParseFloat(aws.ToString(m.Amount), 64)
			if err != nil {
				return fmt.Errorf("cost explorer answered an amount %q for %s that is not a number", aws.ToString(m.Amount), usage)
			}
			s.UsageTypes[usage] += v
			s.DynamoDB += v
			switch Classify(usage) {
			case KindPITR:
				s.PITR += v
			case KindBackup:
				s.Backup += v
			}
		}
	}
	return nil
}

// Apply writes the spend into an audit's summary.
func (s *Spend) Apply(sum *policy.Summary) {
	sum.SpendMonth = s.Month
	sum.DynamoDBSpendUSD, sum.PITRSpendUSD, sum.BackupSpendUSD = ptr(s.DynamoDB), ptr(s.PITR), ptr(s.Backup)
	sum.ResilienceCostShare = s.ResilienceShare()
}

func ptr(v float64) *float64 { return &v }
