package check

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
)

func TestMatchesPITREvents(t *testing.T) {
	cases := map[string]bool{
		`{"source":["aws.dynamodb"],"detail":{"eventName":["UpdateContinuousBackups"]}}`:   true,
		`{"source":["aws.dynamodb"],"detail":{"eventName":["CreateTable","DeleteTable"]}}`: true,
		`{"source":["aws.dynamodb"]}`: true, // every DynamoDB event
		`{"detail":{"eventSource":["dynamodb.amazonaws.com"],"eventName":["CreateTable"]}}`: true,
		`{"source":["aws.dynamodb"],"detail":{"eventName":["DeleteTable"]}}`:                false,
		`{"source":["aws.s3"],"detail":{"eventName":["CreateTable"]}}`:                      false,
		`{"source":[{"prefix":"aws."}],"detail":{"eventName":["CreateTable"]}}`:             false,
		``:         false,
		`not json`: false,
	}
	for p, want := range cases {
		if got := MatchesPITREvents(p); got != want {
			t.Errorf("MatchesPITREvents(%s) = %v, want %v", p, got, want)
		}
	}
}

func TestLogsManagement(t *testing.T) {
	sel := func(mgmt bool, rw cttypes.ReadWriteType) []cttypes.EventSelector {
		return []cttypes.EventSelector{{IncludeManagementEvents: aws.Bool(mgmt), ReadWriteType: rw}}
	}
	adv := func(cat string) []cttypes.AdvancedEventSelector {
		return []cttypes.AdvancedEventSelector{{FieldSelectors: []cttypes.AdvancedFieldSelector{{Field: aws.String("eventCategory"), Equals: []string{cat}}}}}
	}
	cases := []struct {
		name   string
		custom bool
		basic  []cttypes.EventSelector
		adv    []cttypes.AdvancedEventSelector
		want   bool
	}{
		{"default selectors", false, nil, nil, true},
		{"all management", true, sel(true, cttypes.ReadWriteTypeAll), nil, true},
		{"write-only management", true, sel(true, cttypes.ReadWriteTypeWriteOnly), nil, true},
		{"read-only management misses UpdateContinuousBackups", true, sel(true, cttypes.ReadWriteTypeReadOnly), nil, false},
		{"data events only", true, sel(false, cttypes.ReadWriteTypeAll), nil, false},
		{"advanced management", true, nil, adv("Management"), true},
		{"advanced data only", true, nil, adv("Data"), false},
	}
	for _, c := range cases {
		if got := logsManagement(c.custom, c.basic, c.adv); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestCombineAndSummarise(t *testing.T) {
	if either(No, Yes) != Yes || either(No, Unknown) != Unknown || either(No, No) != No {
		t.Error("either")
	}
	if all([]Status{Yes, Yes}) != Yes || all([]Status{Yes, Unknown}) != Unknown || all([]Status{Unknown, No}) != No || all(nil) != Unknown {
		t.Error("all")
	}
	accts := []Account{
		{Account: "1", Prevent: NotApplicable, Detect: Yes, Correct: Yes, Trail: Yes},
		{Account: "2", Prevent: Yes, Detect: Yes, Correct: Yes, Trail: Yes},
		{Account: "3", Prevent: Yes, Detect: Unknown, Correct: Yes, Trail: Yes},
	}
	s := Summarise(accts, true)
	if s.Accounts != 3 || s.FullyGuarded != 2 || s.Coverage != 0.6667 || s.Unknown != 1 || s.Prevent != 3 || s.Detect != 2 {
		t.Errorf("summary = %+v", s)
	}
	if z := Summarise(nil, false); z.Coverage != 0 || z.Complete {
		t.Errorf("empty summary = %+v", z)
	}
}
