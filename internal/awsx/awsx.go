// Package awsx builds AWS SDK configurations and clients for pitrguard: the
// caller's own account through the standard credential chain, member accounts
// through STS AssumeRole with a credentials cache (failures are cached only
// when asking again cannot help), an endpoint override for emulators (checked
// as a URL up front), a per-attempt request timeout, a retryer without a
// shared retry quota, and a rate limiter per (account, region, API) in front
// of every call. The SDK's own log lines go to a slog.Logger (debug level),
// never straight to stderr. Region names are checked against the SDK's
// partition metadata (regions.go). Error classification for the rest of the
// program lives here too, so SDK error types stop at this package and
// inventory.
package awsx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/middleware"

	"github.com/pitrguard/pitrguard/internal/model"
)

// Version is stamped into the SDK user agent (set by cli).
var Version = "dev"

// DefaultRoleName is the role Organizations creates in accounts it creates.
const DefaultRoleName = "OrganizationAccountAccessRole"

// Options configure how pitrguard reaches AWS.
type Options struct {
	Profile    string
	Region     string // home region for STS, Organizations and EC2 DescribeRegions
	Endpoint   string // --endpoint-url; AWS_ENDPOINT_URL is honoured by the SDK itself
	RoleName   string // role assumed in member accounts
	ExternalID string
	// MaxAttempts per call, including the first (SDK retries for throttling and 5xx).
	MaxAttempts int
	// MaxBackoff caps the delay between attempts.
	MaxBackoff time.Duration
	// SessionName is the RoleSessionName used with AssumeRole.
	SessionName string
	// Credentials replaces the standard chain (tests).
	Credentials aws.CredentialsProvider
	// Limits paces calls; nil means DefaultLimits().
	Limits *Limits
	// RequestTimeout bounds each attempt of each AWS call (connect, send,
	// wait for and read the answer); an attempt that runs out is retried like
	// any connection error, up to MaxAttempts. 0 means DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Logger receives the SDK's own log lines (retries, IMDS fallbacks,
	// body-close warnings) at debug level; nil discards them, so they never
	// reach stderr unasked.
	Logger *slog.Logger
	// NewSTS builds the STS client used for GetCallerIdentity and AssumeRole
	// (tests pass a fake); nil means sts.NewFromConfig.
	NewSTS func(aws.Config) STSClient
}

// STSClient is the part of STS a Provider uses.
type STSClient interface {
	GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
	stscreds.AssumeRoleAPIClient
}

// DefaultRequestTimeout bounds one attempt of one AWS call when
// Options.RequestTimeout is 0.
const DefaultRequestTimeout = 20 * time.Second

// Caller is the identity pitrguard runs as.
type Caller struct {
	Account   string
	ARN       string
	Partition string
}

// Provider hands out per-account AWS configurations.
type Provider struct {
	opts   Options
	base   aws.Config
	caller Caller
	stats  *Stats
	// rawAPIOptions are the SDK's own options, before pitrguard's middleware.
	rawAPIOptions []func(*middleware.Stack) error

	mu       sync.Mutex
	accounts map[string]*accountEntry
}

// accountEntry caches one account's configuration, or a failure that will
// not go away by asking again (access denied, no such role). Transient
// failures (cancelled, timed out, throttled, 5xx, network) are not kept.
type accountEntry struct {
	mu   sync.Mutex
	done bool
	cfg  aws.Config
	err  error
}

// CheckEndpoint refuses an --endpoint-url that is not an absolute http(s) URL
// with a host, before any call is made (the SDK would otherwise fail later
// with a message about credentials).
func CheckEndpoint(endpoint string) error {
	if endpoint == "" {
		return nil
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an endpoint URL; give an absolute http:// or https:// URL with a host, e.g. http://127.0.0.1:5000", endpoint)
	}
	return nil
}

// New loads the base configuration and identifies the caller.
func New(ctx context.Context, opts Options) (*Provider, error) {
	if opts.RoleName == "" {
		opts.RoleName = DefaultRoleName
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 8
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 20 * time.Second
	}
	if opts.SessionName == "" {
		opts.SessionName = "pitrguard"
	}
	if opts.Limits == nil {
		opts.Limits = DefaultLimits()
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	if opts.NewSTS == nil {
		opts.NewSTS = func(c aws.Config) STSClient { return sts.NewFromConfig(c) }
	}
	if err := CheckEndpoint(opts.Endpoint); err != nil {
		return nil, err
	}
	load := []func(*config.LoadOptions) error{
		config.WithAppID("pitrguard/" + Version),
		config.WithLogger(sdkLogger(opts.Logger)),
		// Every account in a region talks to the same endpoint host, and the
		// audit has up to concurrency × table-workers calls in flight. The
		// SDK's default keeps 10 idle connections per host, so the rest were
		// closed after each call and re-dialed (a TLS handshake per call on
		// AWS; measured: ~6,600 dials for 7,100 calls in the benchmark).
		//
		// The client timeout bounds each attempt, including reading the
		// answer: an endpoint that accepts and never answers cannot hold a
		// call (and the audit) forever (issue 16 #1). The SDK retries such an
		// attempt as a connection error.
		config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(opts.RequestTimeout).WithTransportOptions(func(tr *http.Transport) {
			tr.MaxIdleConns = 1024
			tr.MaxIdleConnsPerHost = 512
		})),
		config.WithRetryer(func() aws.Retryer { // a new instance per client (aws.Config.Retryer doc)
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = opts.MaxAttempts
				o.MaxBackoff = opts.MaxBackoff
				// No shared retry quota: under fan-out it turns throttling into
				// "retry quota exceeded" failures (aws-sdk-go-v2#543).
				o.RateLimiter = ratelimit.None
			})
		}),
	}
	if opts.Profile != "" {
		load = append(load, config.WithSharedConfigProfile(opts.Profile))
	}
	if opts.Region != "" {
		load = append(load, config.WithRegion(opts.Region))
	}
	if opts.Endpoint != "" {
		load = append(load, config.WithBaseEndpoint(opts.Endpoint))
	}
	if opts.Credentials != nil {
		load = append(load, config.WithCredentialsProvider(opts.Credentials))
	}
	base, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if base.Region == "" {
		base.Region = "us-east-1"
	}
	p := &Provider{opts: opts, base: base, stats: newStats(), accounts: map[string]*accountEntry{}}
	p.rawAPIOptions = base.APIOptions
	p.base.APIOptions = p.apiOptions("")
	out, err := opts.NewSTS(p.base).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return nil, &CallerError{Profile: opts.Profile, Endpoint: opts.Endpoint, Timeout: opts.RequestTimeout, Err: err}
	}
	p.caller = Caller{Account: aws.ToString(out.Account), ARN: aws.ToString(out.Arn), Partition: "aws"}
	p.base.APIOptions = p.apiOptions(p.caller.Account)
	if a, err := arn.Parse(p.caller.ARN); err == nil {
		p.caller.Partition = a.Partition
	}
	return p, nil
}

// CallerError says that sts:GetCallerIdentity failed, with a hint chosen by
// the kind of failure: credentials only when AWS said so.
type CallerError struct {
	Profile, Endpoint string
	Timeout           time.Duration
	Err               error
}

func (e *CallerError) Error() string {
	return fmt.Sprintf("identify the caller with sts:GetCallerIdentity (%s): %v", e.hint(), e.Err)
}

func (e *CallerError) Unwrap() error { return e.Err }

func (e *CallerError) hint() string {
	where := "AWS"
	if e.Endpoint != "" {
		where = e.Endpoint
	}
	reason, code, _ := Classify(e.Err)
	switch {
	case reason == model.ReasonTimeout:
		return fmt.Sprintf("%s did not answer within --request-timeout %s; check the endpoint and the network, or raise --request-timeout", where, e.Timeout)
	case code == "ConnectionRefused":
		return fmt.Sprintf("could not connect to %s: the connection was refused; check --endpoint-url / AWS_ENDPOINT_URL and that the service is running", where)
	case code == "NetworkError":
		return fmt.Sprintf("could not reach %s; check the endpoint, DNS and the network", where)
	case reason == model.ReasonAccessDenied || isCredentialError(e.Err):
		p := ""
		if e.Profile != "" {
			p = " --profile " + e.Profile
		}
		return "are AWS credentials set? try `aws sts get-caller-identity" + p + "`"
	case reason == model.ReasonThrottled:
		return "still throttled after the retries; try again later"
	}
	return "the call failed; run with --debug for the SDK's details"
}

// isCredentialError reports whether err comes from resolving credentials (no
// credentials found, a broken profile), not from the call itself.
func isCredentialError(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return false
	}
	// The SDK exports no type for "no credentials"; its messages are stable.
	msg := err.Error()
	for _, s := range []string{"failed to retrieve credentials", "failed to refresh cached credentials", "no EC2 IMDS role found", "get credentials", "shared config profile"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// sdkLogger routes the SDK's log lines to l at debug level, keeping the SDK's
// own classification (WARN, DEBUG) as an attribute.
func sdkLogger(l *slog.Logger) logging.Logger {
	return logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
		if l == nil {
			return
		}
		l.Debug(fmt.Sprintf(format, v...), "source", "aws-sdk", "sdk_level", string(c))
	})
}

// Caller returns the identity pitrguard runs as.
func (p *Provider) Caller() Caller { return p.caller }

// HomeRegion is the region used for global services.
func (p *Provider) HomeRegion() string { return p.base.Region }

// Stats returns the call counters.
func (p *Provider) Stats() *Stats { return p.stats }

// Base returns the caller's own configuration.
func (p *Provider) Base() aws.Config { return p.base.Copy() }

// RoleARN is the role assumed in account.
func (p *Provider) RoleARN(account string) string {
	return arn.ARN{Partition: p.caller.Partition, Service: "iam", AccountID: account, Resource: "role/" + p.opts.RoleName}.String()
}

// Account returns the configuration for account: the caller's own for its
// account, otherwise assumed-role credentials (cached and refreshed five
// minutes before they expire, since role chaining caps sessions at one hour).
// The role is assumed once, up front, so an account that cannot be entered is
// reported before any table call.
func (p *Provider) Account(ctx context.Context, account string) (aws.Config, error) {
	if account == p.caller.Account {
		return p.base.Copy(), nil
	}
	if err := ctx.Err(); err != nil {
		return aws.Config{}, err
	}
	p.mu.Lock()
	e := p.accounts[account]
	if e == nil {
		e = &accountEntry{}
		p.accounts[account] = e
	}
	p.mu.Unlock()
	e.mu.Lock() // one AssumeRole per account at a time; the others wait for its answer
	defer e.mu.Unlock()
	if !e.done {
		cfg, err := p.assume(ctx, account)
		if err != nil && !permanent(ctx, err) {
			return aws.Config{}, err // not cached: the next caller asks again (issue 9 #14)
		}
		e.cfg, e.err, e.done = cfg, err, true
	}
	if e.err != nil {
		return aws.Config{}, e.err
	}
	return e.cfg.Copy(), nil
}

func (p *Provider) assume(ctx context.Context, account string) (aws.Config, error) {
	roleARN := p.RoleARN(account)
	prov := stscreds.NewAssumeRoleProvider(p.opts.NewSTS(p.base), roleARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = p.opts.SessionName
		if p.opts.ExternalID != "" {
			o.ExternalID = aws.String(p.opts.ExternalID)
		}
	})
	cfg := p.base.Copy()
	cfg.Credentials = aws.NewCredentialsCache(prov, func(o *aws.CredentialsCacheOptions) {
		o.ExpiryWindow, o.ExpiryWindowJitterFrac = 5*time.Minute, 0.5
	})
	cfg.APIOptions = p.apiOptions(account)
	// Retrieving the credentials performs the AssumeRole: a role that cannot
	// be assumed fails here, without an extra API call.
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return aws.Config{}, &AssumeRoleError{Account: account, RoleARN: roleARN, Err: err}
	}
	return cfg, nil
}

// permanent reports whether a failed AssumeRole will fail the same way if
// asked again: AWS answered with a client fault that is not throttling
// (access denied, no such role, bad external id). A cancelled or timed-out
// context, throttling, 5xx and network errors are transient.
func permanent(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) || isThrottle(ae.ErrorCode()) {
		return false
	}
	return ae.ErrorFault() != smithy.FaultServer
}

// ForRegion returns cfg set to region.
func ForRegion(cfg aws.Config, region string) aws.Config {
	c := cfg.Copy()
	c.Region = region
	return c
}

// AssumeRoleError says that a member account could not be entered.
type AssumeRoleError struct {
	Account, RoleARN string
	Err              error
}

func (e *AssumeRoleError) Error() string {
	return fmt.Sprintf("cannot assume %s: %v (check that the role exists in account %s, trusts the caller, and that --role-name/--external-id are right)", e.RoleARN, e.Err, e.Account)
}

func (e *AssumeRoleError) Unwrap() error { return e.Err }
