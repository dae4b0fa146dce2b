package awsx

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/pitrguard/pitrguard/internal/model"
)

var staticCreds = credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")

// fakeSTS answers GetCallerIdentity with a fixed identity and AssumeRole with
// the errors queued in fails (one per call), then with credentials.
type fakeSTS struct {
	mu      sync.Mutex
	arn     string
	fails   []error
	assumes []string // role ARNs asked for
}

func (f *fakeSTS) GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	a := f.arn
	if a == "" {
		a = "arn:aws:iam::999999999999:user/ops"
	}
	return &sts.GetCallerIdentityOutput{Account: aws.String(strings.Split(a, ":")[4]), Arn: aws.String(a)}, nil
}

func (f *fakeSTS) AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, _ ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.assumes = append(f.assumes, aws.ToString(in.RoleArn))
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(f.fails) > 0 {
		err := f.fails[0]
		f.fails = f.fails[1:]
		if err != nil {
			return nil, err
		}
	}
	exp := time.Now().Add(time.Hour)
	return &sts.AssumeRoleOutput{Credentials: &ststypes.Credentials{AccessKeyId: aws.String("ASIA"), SecretAccessKey: aws.String("s"),
		SessionToken: aws.String("t"), Expiration: &exp}}, nil
}

func (f *fakeSTS) calls() int { f.mu.Lock(); defer f.mu.Unlock(); return len(f.assumes) }

func newTestProvider(t *testing.T, f *fakeSTS) *Provider {
	t.Helper()
	p, err := New(t.Context(), Options{Region: "us-east-1", Credentials: staticCreds, NewSTS: func(aws.Config) STSClient { return f }})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProviderIdentifiesCallerAndPartition(t *testing.T) {
	f := &fakeSTS{arn: "arn:aws-cn:iam::123456789012:user/ops"}
	p := newTestProvider(t, f)
	c := p.Caller()
	if c.Account != "123456789012" || c.Partition != "aws-cn" || c.ARN != f.arn {
		t.Errorf("caller %+v", c)
	}
	if got := p.RoleARN("111111111111"); got != "arn:aws-cn:iam::111111111111:role/OrganizationAccountAccessRole" {
		t.Errorf("role ARN %s: want the caller's partition", got)
	}
	// The caller's own account needs no AssumeRole.
	if _, err := p.Account(t.Context(), "123456789012"); err != nil || f.calls() != 0 {
		t.Errorf("own account: err %v, AssumeRole calls %d", err, f.calls())
	}
}

// TestAccountDoesNotCacheTransientFailures is issue 9 #14: a throttled,
// failing (5xx) or cancelled AssumeRole used to be kept for the whole process.
func TestAccountDoesNotCacheTransientFailures(t *testing.T) {
	for name, first := range map[string]error{
		"throttled": &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded", Fault: smithy.FaultClient},
		"5xx":       &smithy.GenericAPIError{Code: "InternalFailure", Fault: smithy.FaultServer},
		"network":   &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")},
		"cancelled": context.Canceled,
	} {
		t.Run(name, func(t *testing.T) {
			f := &fakeSTS{fails: []error{first}}
			p := newTestProvider(t, f)
			if _, err := p.Account(t.Context(), "111111111111"); err == nil {
				t.Fatal("first AssumeRole failed, Account did not")
			}
			cfg, err := p.Account(t.Context(), "111111111111")
			if err != nil {
				t.Fatalf("second Account: %v (the transient failure was cached)", err)
			}
			if f.calls() != 2 {
				t.Errorf("AssumeRole calls = %d, want 2", f.calls())
			}
			// Success is cached.
			if _, err := p.Account(t.Context(), "111111111111"); err != nil || f.calls() != 2 {
				t.Errorf("third Account: err %v, AssumeRole calls %d (want the cached success)", err, f.calls())
			}
			if v, err := cfg.Credentials.Retrieve(t.Context()); err != nil || v.AccessKeyID != "ASIA" {
				t.Errorf("credentials %v %v", v, err)
			}
		})
	}
}

func TestAccountCachesPermanentFailure(t *testing.T) {
	f := &fakeSTS{fails: []error{&smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized", Fault: smithy.FaultClient}}}
	p := newTestProvider(t, f)
	for range 3 {
		_, err := p.Account(t.Context(), "111111111111")
		var ar *AssumeRoleError
		if !errors.As(err, &ar) || ar.Account != "111111111111" {
			t.Fatalf("err %v, want an AssumeRoleError", err)
		}
		if r, _, _ := Classify(err); r != model.ReasonAccessDenied {
			t.Errorf("reason %s", r)
		}
	}
	if f.calls() != 1 {
		t.Errorf("AssumeRole calls = %d, want 1 (access denied does not change by asking again)", f.calls())
	}
}

func TestAccountCancelledWhileWaiting(t *testing.T) {
	f := &fakeSTS{}
	p := newTestProvider(t, f)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := p.Account(ctx, "222222222222"); err == nil {
		t.Fatal("cancelled context: no error")
	}
	if _, err := p.Account(t.Context(), "222222222222"); err != nil {
		t.Fatalf("after a cancelled attempt: %v", err)
	}
}

// stallingListener accepts connections and never answers.
func stallingListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return "http://" + ln.Addr().String()
}

// TestNewBoundedByRequestTimeout is issue 16 #1 at the lowest level: an
// endpoint that accepts and never answers used to hold the first call forever.
func TestNewBoundedByRequestTimeout(t *testing.T) {
	ep := stallingListener(t)
	start := time.Now()
	_, err := New(t.Context(), Options{Region: "us-east-1", Endpoint: ep, Credentials: staticCreds,
		RequestTimeout: 150 * time.Millisecond, MaxAttempts: 2, MaxBackoff: time.Millisecond})
	el := time.Since(start)
	if err == nil {
		t.Fatal("no error from a stalled endpoint")
	}
	if el > 3*time.Second {
		t.Errorf("took %s, want about 2 × 150ms", el)
	}
	if r, _, _ := Classify(err); r != model.ReasonTimeout {
		t.Errorf("reason %s, want timeout (%v)", r, err)
	}
	if !strings.Contains(err.Error(), "did not answer within --request-timeout") || strings.Contains(err.Error(), "credentials") {
		t.Errorf("hint: %v", err)
	}
}

func TestCallerErrorHints(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String()
	ln.Close()
	_, err = New(t.Context(), Options{Region: "us-east-1", Endpoint: refused, Credentials: staticCreds, MaxAttempts: 1})
	if err == nil || !strings.Contains(err.Error(), "connection was refused") || strings.Contains(err.Error(), "credentials set") {
		t.Errorf("connection refused: %v", err)
	}
	denied := &CallerError{Err: &smithy.GenericAPIError{Code: "InvalidClientTokenId", Fault: smithy.FaultClient}}
	if !strings.Contains(denied.Error(), "are AWS credentials set?") {
		t.Errorf("invalid token: %v", denied)
	}
	for _, bad := range []string{"not-a-url", "ftp://x", "http://", "://x"} {
		if _, err := New(t.Context(), Options{Endpoint: bad, Credentials: staticCreds}); err == nil || !strings.Contains(err.Error(), "is not an endpoint URL") {
			t.Errorf("endpoint %q: %v", bad, err)
		}
	}
}

// TestSDKLogsGoToTheLogger: the SDK's own lines reach pitrguard's logger at
// debug level, never stderr directly (issue 16 #10).
func TestSDKLogsGoToTheLogger(t *testing.T) {
	var buf strings.Builder
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sdkLogger(l).Logf("WARN", "falling back to IMDSv1: %s", "x")
	if !strings.Contains(buf.String(), "falling back to IMDSv1: x") || !strings.Contains(buf.String(), "level=DEBUG") || !strings.Contains(buf.String(), "sdk_level=WARN") {
		t.Errorf("log: %s", buf.String())
	}
	sdkLogger(nil).Logf("WARN", "dropped") // must not panic
}
