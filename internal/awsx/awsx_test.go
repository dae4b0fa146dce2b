package awsx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"

	"github.com/pitrguard/pitrguard/internal/model"
)

func TestClassify(t *testing.T) {
	api := func(code string) error {
		return fmt.Errorf("operation error DynamoDB: x: %w", &smithy.GenericAPIError{Code: code, Message: "m " + code})
	}
	for _, tc := range []struct {
		err    error
		reason model.Reason
		code   string
	}{
		{api("ThrottlingException"), model.ReasonThrottled, "ThrottlingException"},
		{&retry.MaxAttemptsError{Attempt: 3, Err: api("ThrottlingException")}, model.ReasonThrottled, "ThrottlingException"},
		{api("AccessDeniedException"), model.ReasonAccessDenied, "AccessDeniedException"},
		{api("UnrecognizedClientException"), model.ReasonAccessDenied, "UnrecognizedClientException"},
		{api("ResourceNotFoundException"), model.ReasonNotFound, "ResourceNotFoundException"},
		{api("OptInRequired"), model.ReasonRegionDisabled, "OptInRequired"},
		{api("InternalServerError"), model.ReasonReadError, "InternalServerError"},
		{context.Canceled, model.ReasonInterrupted, "Interrupted"},
		{&AssumeRoleError{Account: "1", RoleARN: "arn:r", Err: api("AccessDenied")}, model.ReasonAccessDenied, "AccessDenied"},
		{&AssumeRoleError{Account: "1", RoleARN: "arn:r", Err: errors.New("boom")}, model.ReasonAssumeRoleFailed, "AssumeRoleFailed"},
		{errors.New("plain"), model.ReasonReadError, "Error"},
		{fmt.Errorf("op: %w", context.DeadlineExceeded), model.ReasonTimeout, "Timeout"},
		{&retry.MaxAttemptsError{Attempt: 2, Err: &url.Error{Op: "Post", URL: "http://x", Err: timeoutErr{}}}, model.ReasonTimeout, "Timeout"},
		{&url.Error{Op: "Post", URL: "http://x", Err: &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}, model.ReasonReadError, "ConnectionRefused"},
	} {
		r, c, msg := Classify(tc.err)
		if r != tc.reason || c != tc.code || msg == "" {
			t.Errorf("Classify(%v) = %s, %s, %q; want %s, %s", tc.err, r, c, msg, tc.reason, tc.code)
		}
	}
	if _, _, msg := Classify(&retry.MaxAttemptsError{Attempt: 3, Err: api("ThrottlingException")}); msg != "still throttled after 3 attempts: m ThrottlingException" {
		t.Errorf("message: %q", msg)
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string { return "Client.Timeout exceeded while awaiting headers" }
func (timeoutErr) Timeout() bool { return true }

func TestLimitsScopes(t *testing.T) {
	l := DefaultLimits()
	if l.Limiter("1", "us-east-1", "DescribeTable") != nil {
		t.Error("DescribeTable has no published rate and must not be paced here")
	}
	a := l.Limiter("1", "us-east-1", "DescribeContinuousBackups")
	if a == nil || a != l.Limiter("1", "us-east-1", "DescribeContinuousBackups") {
		t.Fatal("same key must give the same bucket")
	}
	if a == l.Limiter("1", "eu-west-1", "DescribeContinuousBackups") || a == l.Limiter("2", "us-east-1", "DescribeContinuousBackups") {
		t.Error("DescribeContinuousBackups is per account-region")
	}
	if l.Limiter("1", "us-east-1", "ListTagsOfResource") != l.Limiter("1", "eu-west-1", "ListTagsOfResource") {
		t.Error("ListTagsOfResource is per account")
	}
}

func TestLimiterPaces(t *testing.T) {
	lim := NewLimits(map[string]Rule{"X": {PerSecond: 50, Scope: PerAccountRegion}}).Limiter("a", "r", "X")
	start := time.Now()
	for range 11 {
		if err := lim.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// 11 calls at 50/s with burst 1: at least 10 intervals of 20 ms.
	if el := time.Since(start); el < 190*time.Millisecond {
		t.Errorf("11 calls at 50/s took %s, want ≥ 200ms", el)
	}
}

func TestPartitionOf(t *testing.T) {
	for r, p := range map[string]string{"us-east-1": "aws", "cn-north-1": "aws-cn", "us-gov-west-1": "aws-us-gov", "eu-west-1": "aws",
		"eu-isoe-west-1": "aws-iso-e", "us-isof-south-1": "aws-iso-f", "us-isob-east-1": "aws-iso-b", "us-gov-east-9": "aws-us-gov"} {
		if got := PartitionOf(r); got != p {
			t.Errorf("%s: %s, want %s", r, got, p)
		}
	}
}
