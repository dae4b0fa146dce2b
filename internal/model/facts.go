package model

import (
	"fmt"
	"math"
	"strings"
)

// DefaultRecoveryDays is the recovery period of a table whose PITR was enabled
// without one (or before periods were configurable): DynamoDB reports
// RecoveryPeriodInDays absent or 0 and keeps 35 days.
const DefaultRecoveryDays = 35

// MinRecoveryDays and MaxRecoveryDays bound RecoveryPeriodInDays (DynamoDB API model).
const (
	MinRecoveryDays = 1
	MaxRecoveryDays = 35
)

// RecoveryDays decodes DynamoDB's RecoveryPeriodInDays of an enabled PITR:
// absent or 0 means the default 35 days. This is the only place that rule lives.
func RecoveryDays(raw int32) int {
	if raw <= 0 {
		return DefaultRecoveryDays
	}
	return int(raw)
}

// TableRef names one table by account, region and name, as parsed from an ARN.
type TableRef struct {
	Partition string
	Account   string
	Region    string
	Name      string
}

// ParseTableARN parses arn:PARTITION:dynamodb:REGION:ACCOUNT:table/NAME. Only a
// table ARN is accepted (not an index, stream, backup or export ARN).
func ParseTableARN(s string) (TableRef, error) {
	bad := fmt.Errorf("%q is not a DynamoDB table ARN (arn:aws:dynamodb:REGION:ACCOUNT:table/NAME)", s)
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] != "dynamodb" || parts[3] == "" {
		return TableRef{}, bad
	}
	name, ok := strings.CutPrefix(parts[5], "table/")
	if !ok || name == "" || strings.Contains(name, "/") || !IsAccountID(parts[4]) {
		return TableRef{}, bad
	}
	return TableRef{Partition: parts[1], Region: parts[3], Account: parts[4], Name: name}, nil
}

// ARN is the table's ARN in its partition ("aws" when unset).
func (r TableRef) ARN() string {
	p := r.Partition
	if p == "" {
		p = "aws"
	}
	return fmt.Sprintf("arn:%s:dynamodb:%s:%s:table/%s", p, r.Region, r.Account, r.Name)
}

// IsAccountID reports whether s is a 12-digit AWS account id.
func IsAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// RoundCents rounds an amount of money (or a duration in seconds) to two
// decimals, half away from zero.
func RoundCents(f float64) float64 { return math.Round(f*100) / 100 }
