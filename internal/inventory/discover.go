// Package inventory discovers the accounts and regions to scan and collects
// facts about every DynamoDB table in them (model.Table). It only reads: no
// function here calls a mutating API. Per table it makes one DescribeTable
// and one DescribeContinuousBackups; tags come in bulk from the Resource
// Groups Tagging API, with ListTagsOfResource only when that fails or for a
// table created in the last hour that it does not list yet. It reaches AWS
// through narrow interfaces (Provider, Clients), so tests can use the
// in-memory estate of package inventorytest.
package inventory

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"golang.org/x/sync/errgroup"

	"github.com/pitrguard/pitrguard/internal/awsx"
	"github.com/pitrguard/pitrguard/internal/model"
)

// Scope says what to scan.
type Scope struct {
	// Org adds every ACTIVE account of the organization.
	Org bool
	// Accounts are explicit account ids (the caller's own is always scanned).
	Accounts []string
	// Regions to scan; empty means every region enabled in each account.
	Regions []string
	// Concurrency bounds account set-up in parallel.
	Concurrency int
	// AccountFilter, if set, keeps only the accounts it returns true for
	// (a shard's share of the estate); the others are not entered at all.
	AccountFilter func(account string) bool
	// Clients builds the service clients (zero value: the SDK's).
	Clients Clients
}

// Discover resolves the scope to (account, region) targets. Accounts or
// regions that cannot be entered are returned as errors, never dropped.
func Discover(ctx context.Context, p Provider, s Scope) ([]model.Target, []model.ScanError) {
	self := p.Caller().Account
	accounts := []string{self}
	var errs []model.ScanError
	if s.Org {
		ids, err := orgAccounts(ctx, s.Clients.organizations(p.Base()))
		if err != nil {
			reason, code, msg := awsx.Classify(err)
			errs = append(errs, model.ScanError{Account: self, Code: code, Reason: reason,
				Message: "cannot list the organization's accounts (organizations:ListAccounts works only from the management account or a delegated administrator): " + msg})
		}
		accounts = append(accounts, ids...)
	}
	accounts = append(accounts, s.Accounts...)
	slices.Sort(accounts)
	accounts = slices.Compact(accounts)
	if s.AccountFilter != nil {
		accounts = slices.DeleteFunc(accounts, func(a string) bool { return !s.AccountFilter(a) })
	}

	var (
		mu      sync.Mutex
		targets []model.Target
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(s.Concurrency, 1))
	for _, acct := range accounts {
		g.Go(func() error {
			ts, es := accountTargets(gctx, p, s.Clients, acct, s.Regions)
			mu.Lock()
			targets = append(targets, ts...)
			errs = append(errs, es...)
			mu.Unlock()
			return nil
		})
	}
	_ = g.Wait() // workers record their failures as errors
	slices.SortFunc(targets, func(a, b model.Target) int { return model.Compare(a.Account, a.Region, "", b.Account, b.Region, "") })
	SortErrors(errs)
	return targets, errs
}

// SortErrors orders errors by account, region, table, code.
func SortErrors(errs []model.ScanError) {
	slices.SortStableFunc(errs, func(a, b model.ScanError) int {
		return cmp.Or(model.Compare(a.Account, a.Region, a.Table, b.Account, b.Region, b.Table), strings.Compare(a.Code, b.Code))
	})
}

// orgAccounts lists the ACTIVE accounts of the organization. It uses State,
// not the Status field that AWS retired on 2026-09-09.
func orgAccounts(ctx context.Context, c AccountLister) ([]string, error) {
	var ids []string
	pg := organizations.NewListAccountsPaginator(c, &organizations.ListAccountsInput{})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			return ids, err
		}
		for _, a := range out.Accounts {
			if a.State == orgtypes.AccountStateActive {
				ids = append(ids, aws.ToString(a.Id))
			}
		}
	}
	return ids, nil
}

func accountTargets(ctx context.Context, p Provider, clients Clients, acct string, want []string) ([]model.Target, []model.ScanError) {
	cfg, err := p.Account(ctx, acct)
	if err != nil {
		reason, code, msg := awsx.Classify(err)
		return nil, []model.ScanError{{Account: acct, Code: code, Reason: reason, Message: msg}}
	}
	if len(want) > 0 {
		// Named regions are scanned as asked; a disabled one is diagnosed only
		// if its first call fails (Collector.diagnose), saving a call per account.
		targets := make([]model.Target, len(want))
		for i, r := range want {
			targets[i] = model.Target{Account: acct, Region: r}
		}
		return targets, nil
	}
	enabled, err := enabledRegions(ctx, clients.ec2(cfg), p.Caller().Partition)
	if err != nil {
		reason, code, msg := awsx.Classify(err)
		return nil, []model.ScanError{{Account: acct, Code: code, Reason: reason,
			Message: "cannot list enabled regions (ec2:DescribeRegions); grant it or pass --regions: " + msg}}
	}
	targets := make([]model.Target, len(enabled))
	for i, r := range enabled {
		targets[i] = model.Target{Account: acct, Region: r}
	}
	return targets, nil
}

// regionDisabled reports whether region is not enabled in the account of cfg
// (false when that cannot be told).
func regionDisabled(ctx context.Context, c RegionLister, partition, region string) bool {
	enabled, err := enabledRegions(ctx, c, partition)
	return err == nil && !slices.Contains(enabled, region)
}

func enabledRegions(ctx context.Context, c RegionLister, partition string) ([]string, error) {
	out, err := c.DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
	if err != nil {
		return nil, err
	}
	var regions []string
	for _, r := range out.Regions {
		name := aws.ToString(r.RegionName)
		if awsx.PartitionOf(name) == partition {
			regions = append(regions, name)
		}
	}
	slices.Sort(regions)
	return regions, nil
}
