// Package events is pitrguard's continuous control: it handles the CloudTrail
// events EventBridge delivers for DynamoDB ("AWS API Call via CloudTrail"),
// re-reads each table's live state (the event is a hint, the table is the
// truth), evaluates it with the same policy as the audit, closes PITR gaps
// through remediate, and alerts the table's owner. The CLI (handle-event) and
// the Lambda function share this code path.
package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/pitrguard/pitrguard/internal/model"
)

// Event is an EventBridge event carrying a CloudTrail record.
type Event struct {
	Version    string    `json:"version,omitempty"`
	ID         string    `json:"id"`
	DetailType string    `json:"detail-type"`
	Source     string    `json:"source"`
	Account    string    `json:"account"`
	Time       time.Time `json:"time"`
	Region     string    `json:"region"`
	Resources  []string  `json:"resources,omitempty"`
	Detail     Detail    `json:"detail"`

	// Attempt counts re-queues of this event (pitrguard's own field, set on
	// the SQS message that carries it back).
	Attempt int `json:"pitrguard_attempt,omitempty"`
}

// Detail is the CloudTrail record (lowerCamel keys, as DynamoDB logs them).
type Detail struct {
	EventVersion       string          `json:"eventVersion,omitempty"`
	EventID            string          `json:"eventID"`
	EventTime          time.Time       `json:"eventTime"`
	EventSource        string          `json:"eventSource"`
	EventName          string          `json:"eventName"`
	AWSRegion          string          `json:"awsRegion"`
	RecipientAccountID string          `json:"recipientAccountId"`
	UserIdentity       UserIdentity    `json:"userIdentity"`
	RequestParameters  json.RawMessage `json:"requestParameters,omitempty"`
	ResponseElements   json.RawMessage `json:"responseElements,omitempty"`
	ErrorCode          string          `json:"errorCode,omitempty"`
	ErrorMessage       string          `json:"errorMessage,omitempty"`
}

// UserIdentity is who made the call.
type UserIdentity struct {
	Type           string `json:"type,omitempty"`
	PrincipalID    string `json:"principalId,omitempty"`
	ARN            string `json:"arn"`
	AccountID      string `json:"accountId,omitempty"`
	SessionContext *struct {
		SessionIssuer struct {
			Type     string `json:"type,omitempty"`
			ARN      string `json:"arn,omitempty"`
			UserName string `json:"userName,omitempty"`
		} `json:"sessionIssuer"`
	} `json:"sessionContext,omitempty"`
}

// Event names the handler acts on.
const (
	CreateTable               = "CreateTable"
	RestoreTableToPointInTime = "RestoreTableToPointInTime"
	RestoreTableFromBackup    = "RestoreTableFromBackup"
	ImportTable               = "ImportTable"
	UpdateContinuousBackups   = "UpdateContinuousBackups"
	DeleteTable               = "DeleteTable"
	TagResource               = "TagResource"
	UntagResource             = "UntagResource"
)

// EventNames are the CloudTrail event names the handler acts on, sorted.
var EventNames = []string{CreateTable, DeleteTable, ImportTable, RestoreTableFromBackup, RestoreTableToPointInTime,
	TagResource, UntagResource, UpdateContinuousBackups}

// DetailType and Source of the events handled.
const (
	DetailTypeCloudTrail = "AWS API Call via CloudTrail"
	SourceDynamoDB       = "aws.dynamodb"
)

// Key is the event's idempotency key: CloudTrail's eventID, else EventBridge's id.
func (e *Event) Key() string {
	if e.Detail.EventID != "" {
		return e.Detail.EventID
	}
	return e.ID
}

// Validate says whether the event is one pitrguard can handle.
func (e *Event) Validate() error {
	if e.Source != SourceDynamoDB || e.DetailType != DetailTypeCloudTrail {
		return fmt.Errorf("not a DynamoDB CloudTrail event (source %q, detail-type %q); expected source %q and detail-type %q",
			e.Source, e.DetailType, SourceDynamoDB, DetailTypeCloudTrail)
	}
	if e.Key() == "" {
		return errors.New("the event has neither detail.eventID nor id; it cannot be handled idempotently")
	}
	if e.Detail.EventName == "" {
		return errors.New("the event has no detail.eventName")
	}
	return nil
}

// params returns requestParameters as a map ({} when absent).
func (d *Detail) params() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(d.RequestParameters, &m)
	if m == nil {
		m = map[string]any{}
	}
	return m
}

// get looks a key up case-insensitively on its first letter: CloudTrail
// writes lowerCamel (tableName), the API PascalCase (TableName). Both are
// accepted (reference/controls-events-backup.md §3).
func get(m map[string]any, key string) (any, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	alt := strings.ToUpper(key[:1]) + key[1:]
	v, ok := m[alt]
	return v, ok
}

func getString(m map[string]any, key string) string {
	v, _ := get(m, key)
	s, _ := v.(string)
	return s
}

func getMap(m map[string]any, key string) map[string]any {
	v, _ := get(m, key)
	mm, _ := v.(map[string]any)
	return mm
}

// TableRef is the table an event is about.
func (e *Event) TableRef() (model.TableRef, error) {
	p := e.Detail.params()
	var name string
	switch e.Detail.EventName {
	case RestoreTableToPointInTime, RestoreTableFromBackup:
		name = getString(p, "targetTableName")
	case ImportTable:
		name = getString(getMap(p, "tableCreationParameters"), "tableName")
	case TagResource, UntagResource:
		name = getString(p, "resourceArn")
	default:
		name = getString(p, "tableName")
	}
	if name == "" {
		// Fall back on the response (tableDescription.tableArn / tableName).
		var r map[string]any
		_ = json.Unmarshal(e.Detail.ResponseElements, &r)
		for _, k := range []string{"tableDescription", "importTableDescription"} {
			if td := getMap(r, k); td != nil {
				if name = getString(td, "tableArn"); name == "" {
					name = getString(td, "tableName")
				}
				break
			}
		}
	}
	if name == "" {
		return model.TableRef{}, fmt.Errorf("%s event %s names no table in requestParameters", e.Detail.EventName, e.Key())
	}
	if strings.HasPrefix(name, "arn:") {
		ref, err := model.ParseTableARN(name)
		if err != nil {
			return model.TableRef{}, fmt.Errorf("%s event %s: %w", e.Detail.EventName, e.Key(), err)
		}
		return ref, nil
	}
	ref := model.TableRef{Partition: partitionOf(e.Detail.UserIdentity.ARN), Account: e.Detail.RecipientAccountID, Region: e.Detail.AWSRegion, Name: name}
	if ref.Account == "" {
		ref.Account = e.Account
	}
	if ref.Region == "" {
		ref.Region = e.Region
	}
	if !model.IsAccountID(ref.Account) || ref.Region == "" {
		return model.TableRef{}, fmt.Errorf("%s event %s has no recipientAccountId/awsRegion to place table %s", e.Detail.EventName, e.Key(), name)
	}
	return ref, nil
}

func partitionOf(a string) string {
	if parts := strings.SplitN(a, ":", 3); len(parts) == 3 && parts[0] == "arn" && parts[1] != "" {
		return parts[1]
	}
	return "aws"
}

// PITRSpec is what an UpdateContinuousBackups call asked for.
type PITRSpec struct {
	Present bool
	Enabled bool
	Days    int // 0: not given (DynamoDB then keeps 35)
}

// RequestedPITR reads pointInTimeRecoverySpecification from the request.
func (e *Event) RequestedPITR() PITRSpec {
	spec := getMap(e.Detail.params(), "pointInTimeRecoverySpecification")
	if spec == nil {
		return PITRSpec{}
	}
	s := PITRSpec{Present: true}
	switch v, _ := get(spec, "pointInTimeRecoveryEnabled"); b := v.(type) {
	case bool:
		s.Enabled = b
	case string:
		s.Enabled = strings.EqualFold(b, "true")
	}
	switch v, _ := get(spec, "recoveryPeriodInDays"); n := v.(type) {
	case float64:
		s.Days = int(n)
	case string:
		s.Days, _ = strconv.Atoi(n)
	}
	return s
}

// Decode reads events: one JSON event, a JSON array of events, NDJSON (or
// concatenated JSON), or an SQS batch ({"Records": [...]}) whose bodies are
// events. Each element is returned with its own decoding error, so one bad
// event never hides the others.
func Decode(r io.Reader) ([]Item, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, errors.New("no events in the input; give one EventBridge event, a JSON array of them, or one per line")
	}
	var raws []json.RawMessage
	if data[0] == '[' {
		if err := json.Unmarshal(data, &raws); err != nil {
			return nil, fmt.Errorf("the input is not a JSON array of events: %w", err)
		}
	} else {
		dec := json.NewDecoder(bytes.NewReader(data))
		for {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err == io.EOF {
				break
			} else if err != nil {
				return nil, fmt.Errorf("event %d: not JSON: %w", len(raws)+1, err)
			}
			raws = append(raws, raw)
		}
	}
	var items []Item
	for _, raw := range raws {
		items = append(items, DecodeOne(raw)...)
	}
	return items, nil
}

// Item is one event to handle, or why it could not be read.
type Item struct {
	Event Event
	Err   error
	// MessageID is the SQS message it came in (for batchItemFailures).
	MessageID string
}

// sqsBatch is the Lambda SQS event shape.
type sqsBatch struct {
	Records []struct {
		MessageID   string `json:"messageId"`
		Body        string `json:"body"`
		EventSource string `json:"eventSource"`
	} `json:"Records"`
}

// DecodeOne reads one JSON value: an event or an SQS batch of events.
func DecodeOne(raw json.RawMessage) []Item {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil {
		return []Item{{Err: fmt.Errorf("not a JSON object: %w", err)}}
	}
	if _, ok := probe["Records"]; ok {
		var b sqsBatch
		if err := json.Unmarshal(raw, &b); err != nil {
			return []Item{{Err: fmt.Errorf("not an SQS batch: %w", err)}}
		}
		var items []Item
		for _, r := range b.Records {
			it := decodeEvent([]byte(r.Body))
			it.MessageID = r.MessageID
			items = append(items, it)
		}
		return items
	}
	return []Item{decodeEvent(raw)}
}

func decodeEvent(raw []byte) Item {
	var e Event
	if err := json.Unmarshal(raw, &e); err != nil {
		return Item{Err: fmt.Errorf("not an EventBridge event: %w", err)}
	}
	if err := e.Validate(); err != nil {
		return Item{Event: e, Err: err}
	}
	return Item{Event: e}
}
