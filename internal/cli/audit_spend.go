package cli

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/costexplorer"

	"github.com/pitrguard/pitrguard/internal/awsx"
	"github.com/pitrguard/pitrguard/internal/inventory"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/report"
	"github.com/pitrguard/pitrguard/internal/spend"
)

// auditSpend adds the last full month's DynamoDB spend from Cost Explorer to
// the audit's summary (audit --cost-explorer). A failure is an error of the
// run and leaves the spend null; it says nothing about the tables, so the
// coverage is unchanged.
func auditSpend(ctx context.Context, p *awsx.Provider, a *report.Audit, now time.Time) {
	api := costexplorer.NewFromConfig(awsx.ForRegion(p.Base(), spend.Region))
	s, err := spend.Measure(ctx, api, now)
	if err != nil {
		// Its reason says what failed (the code says why): it is no gap in
		// the coverage (model.ScanError.Gap), every table was read.
		_, code, msg := awsx.Classify(err)
		a.Errors = append(a.Errors, model.ScanError{Account: p.Caller().Account, Region: spend.Region, Code: code, Reason: model.ReasonSpendUnreadable,
			Message: "cannot read the DynamoDB spend from Cost Explorer (ce:GetCostAndUsage, served from us-east-1; run from the management account, " +
				"with Cost Explorer enabled): " + msg + "; the spend KPIs are left null"})
		inventory.SortErrors(a.Errors)
		return
	}
	s.Apply(&a.Summary)
}
