package awsx

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"

	"github.com/pitrguard/pitrguard/internal/model"
)

// Classify turns an error from an AWS call into a stable reason code, the AWS
// error code (or "" when there is none) and a one-line message.
func Classify(err error) (reason model.Reason, code, message string) {
	if err == nil {
		return "", "", ""
	}
	if errors.Is(err, context.Canceled) {
		return model.ReasonInterrupted, "Interrupted", "interrupted before the call finished"
	}
	if isTimeout(err) {
		return model.ReasonTimeout, "Timeout", "no answer within the request timeout (after retries): " + err.Error()
	}
	var ar *AssumeRoleError
	if errors.As(err, &ar) {
		r, c, _ := Classify(ar.Err)
		if r != model.ReasonAccessDenied {
			r = model.ReasonAssumeRoleFailed
		}
		if c == "" || c == "Error" {
			c = "AssumeRoleFailed"
		}
		return r, c, ar.Error()
	}
	message = err.Error()
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
		if m := ae.ErrorMessage(); m != "" {
			message = m
		}
	}
	var qe *retry.MaxAttemptsError
	attemptsExhausted := errors.As(err, &qe)
	switch {
	case isThrottle(code):
		if attemptsExhausted {
			message = "still throttled after " + strconv.Itoa(qe.Attempt) + " attempts: " + message
		}
		return model.ReasonThrottled, code, message
	case code == "OptInRequired" || code == "InvalidRegion":
		return model.ReasonRegionDisabled, code, message
	case isAccessDenied(code):
		return model.ReasonAccessDenied, code, message
	case code == "ResourceNotFoundException" || code == "TableNotFoundException":
		return model.ReasonNotFound, code, message
	}
	var ne net.Error
	switch {
	case code == "" && errors.Is(err, syscall.ECONNREFUSED):
		code = "ConnectionRefused"
	case code == "" && errors.As(err, &ne):
		code = "NetworkError"
	}
	if code == "" {
		code = "Error"
	}
	return model.ReasonReadError, code, message
}

// isTimeout reports whether err is a deadline: the per-attempt client timeout
// (a net.Error whose Timeout() is true) or an expired context deadline.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return false // AWS answered
	}
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

func isThrottle(code string) bool {
	switch code {
	case "ThrottlingException", "Throttling", "ThrottledException", "RequestLimitExceeded",
		"TooManyRequestsException", "RequestThrottled", "RequestThrottledException",
		"ProvisionedThroughputExceededException", "SlowDown", "PriorRequestNotComplete":
		return true
	}
	return false
}

func isAccessDenied(code string) bool {
	switch code {
	case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnrecognizedClientException",
		"InvalidClientTokenId", "AuthFailure", "ExpiredToken", "ExpiredTokenException":
		return true
	}
	return strings.HasSuffix(code, "AccessDenied")
}
