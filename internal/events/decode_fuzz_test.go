package events

import (
	"strings"
	"testing"
)

// FuzzDecode: no event input — one event, an array, NDJSON or an SQS batch,
// however malformed — panics the decoder or the accessors the handler uses.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		createTable,
		"[" + createTable + "]",
		createTable + "\n" + createTable,
		`{"Records":[{"messageId":"m1","eventSource":"aws:sqs","body":"{}"}]}`,
		`{"detail":{"eventName":"UpdateContinuousBackups","requestParameters":{"tableName":"arn:aws:dynamodb:us-east-1:111111111111:table/t","pointInTimeRecoverySpecification":{"pointInTimeRecoveryEnabled":false}}}}`,
		`{"detail":{"requestParameters":null,"userIdentity":7}}`,
		`{"detail-type":"AWS API Call via CloudTrail","detail":{"eventName":"DeleteTable","errorCode":"AccessDenied"}}`,
		"", "null", "[]", "{", `"x"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		items, err := Decode(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, it := range items {
			if it.Err != nil {
				continue
			}
			_ = it.Event.Key()
			_, _ = it.Event.TableRef()
		}
	})
}
