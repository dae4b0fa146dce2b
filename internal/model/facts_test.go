package model

import "testing"

func TestRecoveryDays(t *testing.T) {
	for raw, want := range map[int32]int{0: 35, -1: 35, 1: 1, 7: 7, 35: 35} {
		if got := RecoveryDays(raw); got != want {
			t.Errorf("RecoveryDays(%d) = %d, want %d", raw, got, want)
		}
	}
}

func TestParseTableARN(t *testing.T) {
	good := map[string]TableRef{
		"arn:aws:dynamodb:us-east-1:111111111111:table/orders":           {"aws", "111111111111", "us-east-1", "orders"},
		"arn:aws-us-gov:dynamodb:us-gov-west-1:222222222222:table/a.b-c": {"aws-us-gov", "222222222222", "us-gov-west-1", "a.b-c"},
	}
	for s, want := range good {
		got, err := ParseTableARN(s)
		if err != nil || got != want {
			t.Errorf("ParseTableARN(%q) = %+v, %v; want %+v", s, got, err, want)
		}
		if got.ARN() != s {
			t.Errorf("ARN() = %q, want %q", got.ARN(), s)
		}
	}
	for _, s := range []string{"", "orders", "arn:aws:s3:::bucket", "arn:aws:dynamodb:us-east-1:111111111111:table/",
		"arn:aws:dynamodb:us-east-1:111111111111:table/t/index/i", "arn:aws:dynamodb:us-east-1:12345:table/t",
		"arn:aws:dynamodb::111111111111:table/t", "arn:aws:dynamodb:us-east-1:111111111111:backup/b"} {
		if _, err := ParseTableARN(s); err == nil {
			t.Errorf("ParseTableARN(%q) accepted", s)
		}
	}
}

func TestRoundCents(t *testing.T) {
	for in, want := range map[float64]float64{0.125: 0.13, -0.125: -0.13, 2.499: 2.5, 0: 0, 1234.5678: 1234.57} {
		if got := RoundCents(in); got != want {
			t.Errorf("RoundCents(%v) = %v, want %v", in, got, want)
		}
	}
}
