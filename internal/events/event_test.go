package events

import (
	"strings"
	"testing"
)

const createTable = `{"version":"0","id":"eb-1","detail-type":"AWS API Call via CloudTrail","source":"aws.dynamodb","account":"111111111111",
 "time":"2026-11-24T12:00:00Z","region":"eu-west-1","resources":[],
 "detail":{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111111111111:assumed-role/deployer/ci",
  "sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111111111111:role/deployer","userName":"deployer"}}},
  "eventTime":"2026-11-24T12:00:00Z","eventSource":"dynamodb.amazonaws.com","eventName":"CreateTable","awsRegion":"eu-west-1",
  "requestParameters":{"tableName":"orders","billingMode":"PAY_PER_REQUEST"},
  "responseElements":{"tableDescription":{"tableName":"orders","tableArn":"arn:aws:dynamodb:eu-west-1:111111111111:table/orders","tableStatus":"CREATING"}},
  "eventID":"ct-1","recipientAccountId":"111111111111"}}`

func TestDecodeShapes(t *testing.T) {
	one := createTable
	arr := "[" + createTable + "," + createTable + "]"
	nd := createTable + "\n" + createTable + "\n"
	sqs := `{"Records":[{"messageId":"m1","eventSource":"aws:sqs","body":` + quote(createTable) + `},{"messageId":"m2","body":"{}"}]}`
	for name, tc := range map[string]struct {
		in   string
		n    int
		errs int
	}{"one": {one, 1, 0}, "array": {arr, 2, 0}, "ndjson": {nd, 2, 0}, "sqs": {sqs, 2, 1}} {
		items, err := Decode(strings.NewReader(tc.in))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		errs := 0
		for _, it := range items {
			if it.Err != nil {
				errs++
			}
		}
		if len(items) != tc.n || errs != tc.errs {
			t.Errorf("%s: %d items, %d errors; want %d, %d", name, len(items), errs, tc.n, tc.errs)
		}
		if name == "sqs" && (items[0].MessageID != "m1" || items[0].Event.Key() != "ct-1") {
			t.Errorf("sqs item %+v", items[0])
		}
	}
	if _, err := Decode(strings.NewReader("  ")); err == nil {
		t.Error("empty input accepted")
	}
	if _, err := Decode(strings.NewReader("{oops")); err == nil {
		t.Error("bad JSON accepted")
	}
}

func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

func TestTableRefAndSpec(t *testing.T) {
	items, _ := Decode(strings.NewReader(createTable))
	ev := items[0].Event
	ref, err := ev.TableRef()
	if err != nil || ref.Account != "111111111111" || ref.Region != "eu-west-1" || ref.Name != "orders" || ref.Partition != "aws" {
		t.Fatalf("ref %+v, %v", ref, err)
	}
	// PascalCase (the API's member names) is accepted too, and an ARN in tableName.
	pascal := strings.Replace(createTable, `"eventName":"CreateTable"`, `"eventName":"UpdateContinuousBackups"`, 1)
	pascal = strings.Replace(pascal, `{"tableName":"orders","billingMode":"PAY_PER_REQUEST"}`,
		`{"TableName":"arn:aws:dynamodb:us-east-2:222222222222:table/t2","PointInTimeRecoverySpecification":{"PointInTimeRecoveryEnabled":true,"RecoveryPeriodInDays":7}}`, 1)
	items, _ = Decode(strings.NewReader(pascal))
	ev = items[0].Event
	ref, err = ev.TableRef()
	if err != nil || ref.Account != "222222222222" || ref.Region != "us-east-2" || ref.Name != "t2" {
		t.Fatalf("ARN ref %+v, %v", ref, err)
	}
	if s := ev.RequestedPITR(); !s.Present || !s.Enabled || s.Days != 7 {
		t.Errorf("spec %+v", s)
	}
	restore := strings.Replace(createTable, `"eventName":"CreateTable"`, `"eventName":"RestoreTableToPointInTime"`, 1)
	restore = strings.Replace(restore, `{"tableName":"orders","billingMode":"PAY_PER_REQUEST"}`, `{"sourceTableName":"orders","targetTableName":"orders-r"}`, 1)
	items, _ = Decode(strings.NewReader(restore))
	if ref, _ := items[0].Event.TableRef(); ref.Name != "orders-r" {
		t.Errorf("restore acts on %q, want the target table", ref.Name)
	}
	bad := strings.Replace(createTable, `"source":"aws.dynamodb"`, `"source":"aws.s3"`, 1)
	if items, _ := Decode(strings.NewReader(bad)); items[0].Err == nil || !strings.Contains(items[0].Err.Error(), "not a DynamoDB CloudTrail event") {
		t.Errorf("an S3 event was accepted: %v", items[0].Err)
	}
}

func TestOwnCalls(t *testing.T) {
	h := New(Deps{}, Options{IgnoreRoles: []string{"service-role/pitrguard-handler"}, MemberRole: "OrganizationAccountAccessRole"})
	for arn, want := range map[string]bool{
		"arn:aws:sts::1:assumed-role/pitrguard-handler/fn":                    true,
		"arn:aws:sts::1:assumed-role/OrganizationAccountAccessRole/pitrguard": true,
		"arn:aws:sts::1:assumed-role/OrganizationAccountAccessRole/alice":     false, // a human using the same role
		"arn:aws:iam::1:user/pitrguard-handler":                               false,
		"arn:aws:sts::1:assumed-role/pitrguard-handler-evil/pitrguard":        false,
	} {
		if got := h.own(UserIdentity{ARN: arn}); got != want {
			t.Errorf("own(%s) = %v, want %v", arn, got, want)
		}
	}
}
