package awsx

import (
	"context"
	"errors"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/time/rate"
)

// Scope says which calls share one token bucket.
type Scope int

// Scopes of AWS's documented limits.
const (
	PerAccountRegion Scope = iota // e.g. DescribeContinuousBackups
	PerAccount                    // e.g. ListTagsOfResource ("per account")
)

// Rule is one documented rate limit.
type Rule struct {
	PerSecond float64
	Scope     Scope
}

// Limits paces calls per (account, region, API) with token buckets.
type Limits struct {
	rules map[string]Rule

	mu       sync.Mutex
	limiters map[limitKey]*rate.Limiter
}

type limitKey struct{ account, region, op string }

// DefaultLimits returns AWS's documented per-operation rates (DynamoDB API
// model op docs; reference/aws-dynamodb-pitr.md §5). APIs with no published
// rate are not paced here; the SDK retryer handles their throttling.
func DefaultLimits() *Limits {
	return NewLimits(map[string]Rule{
		"DescribeContinuousBackups":   {10, PerAccountRegion},
		"ListTagsOfResource":          {10, PerAccount},
		"ListBackups":                 {5, PerAccountRegion},
		"DescribeBackup":              {10, PerAccountRegion},
		"RestoreTableFromBackup":      {10, PerAccountRegion},
		"TagResource":                 {5, PerAccount},
		"UntagResource":               {5, PerAccount},
		"DescribeContributorInsights": {5, PerAccountRegion},
		"UpdateContributorInsights":   {5, PerAccountRegion},
	})
}

// NewLimits returns Limits with the given rules.
func NewLimits(rules map[string]Rule) *Limits {
	return &Limits{rules: rules, limiters: map[limitKey]*rate.Limiter{}}
}

// Limiter returns the bucket for an operation in (account, region), or nil
// when the operation is not paced.
func (l *Limits) Limiter(account, region, op string) *rate.Limiter {
	rule, ok := l.rules[op]
	if !ok {
		return nil
	}
	k := limitKey{account, region, op}
	if rule.Scope == PerAccount {
		k.region = ""
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.limiters[k]
	if lim == nil {
		// Burst 1: a steady 10/s, never a burst that the service would throttle.
		lim = rate.NewLimiter(rate.Limit(rule.PerSecond), 1)
		l.limiters[k] = lim
	}
	return lim
}

// Stats counts calls (attempts) and throttling responses per operation.
type Stats struct {
	mu        sync.Mutex
	calls     map[string]*atomic.Int64
	throttles map[string]*atomic.Int64
}

// NewStats returns empty counters.
func NewStats() *Stats { return newStats() }

func newStats() *Stats {
	return &Stats{calls: map[string]*atomic.Int64{}, throttles: map[string]*atomic.Int64{}}
}

func (s *Stats) counter(m map[string]*atomic.Int64, op string) *atomic.Int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := m[op]
	if c == nil {
		c = &atomic.Int64{}
		m[op] = c
	}
	return c
}

// OpCount is the number of calls and throttles of one operation.
type OpCount struct {
	Op        string `json:"op"`
	Calls     int64  `json:"calls"`
	Throttles int64  `json:"throttles"`
}

// Snapshot returns the counters sorted by operation.
func (s *Stats) Snapshot() []OpCount {
	if s == nil {
		return []OpCount{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]OpCount, 0, len(s.calls))
	for op, c := range s.calls {
		oc := OpCount{Op: op, Calls: c.Load()}
		if t := s.throttles[op]; t != nil {
			oc.Throttles = t.Load()
		}
		out = append(out, oc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Op < out[j].Op })
	return out
}

// apiOptions returns the SDK's own API options plus pitrguard's pacing and
// counting middleware for account.
func (p *Provider) apiOptions(account string) []func(*middleware.Stack) error {
	return append(slices.Clone(p.rawAPIOptions), func(st *middleware.Stack) error {
		// After Retry, so that every attempt — retries included — is paced.
		return st.Finalize.Insert(&paceMiddleware{account: account, limits: p.opts.Limits, stats: p.stats}, "Retry", middleware.After)
	})
}

type paceMiddleware struct {
	account string
	limits  *Limits
	stats   *Stats
}

func (m *paceMiddleware) ID() string { return "pitrguard.Pace" }

func (m *paceMiddleware) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	op := awsmiddleware.GetOperationName(ctx)
	if lim := m.limits.Limiter(m.account, awsmiddleware.GetRegion(ctx), op); lim != nil {
		if err := lim.Wait(ctx); err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return middleware.FinalizeOutput{}, middleware.Metadata{}, err
		}
	}
	m.stats.counter(m.stats.calls, op).Add(1)
	out, md, err := next.HandleFinalize(ctx, in)
	var ae smithy.APIError
	if err != nil && errors.As(err, &ae) && isThrottle(ae.ErrorCode()) {
		m.stats.counter(m.stats.throttles, op).Add(1)
	}
	return out, md, err
}
