package notify

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/testaws"
)

// TestSNSChannel publishes through moto's SNS to a subscribed SQS queue and
// reads the message back.
func TestSNSChannel(t *testing.T) {
	m := testaws.MotoT(t)
	ctx := context.Background()
	cfg := testaws.NewSeeder(m.URL).Config(ctx, testaws.ManagementAccount, "eu-west-1")
	sc, qc := sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	topic, err := sc.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("pitr")})
	if err != nil {
		t.Fatal(err)
	}
	q, err := qc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("pitr-inbox")})
	if err != nil {
		t.Fatal(err)
	}
	qa, err := qc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"QueueArn"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(qa.Attributes["QueueArn"])}); err != nil {
		t.Fatal(err)
	}
	ncfg := &config.Notify{Channels: []config.Channel{{Name: "finops", Type: "sns", TopicARN: aws.ToString(topic.TopicArn)}}, Default: config.StringList{"finops"}}
	var regions []string
	senders, errs := Build(ctx, ncfg, Deps{SNS: func(region string) SNSPublisher {
		regions = append(regions, region)
		c := cfg.Copy()
		c.Region = region
		return sns.NewFromConfig(c)
	}})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	ds := NewRouter(ncfg, senders, nil, nil).Send(ctx, []Message{msg(WindowLowered, "finops", "orders")})
	if len(ds) != 1 || ds[0].Result != "sent" || len(regions) != 1 || regions[0] != "eu-west-1" {
		t.Fatalf("deliveries %+v, client regions %v", ds, regions)
	}
	var body string
	deadline := time.Now().Add(10 * time.Second)
	for body == "" && time.Now().Before(deadline) {
		out, err := qc.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			body = aws.ToString(m.Body)
		}
	}
	var envelope struct{ Subject, Message string }
	if err := json.Unmarshal([]byte(body), &envelope); err != nil {
		t.Fatalf("SQS body %q: %v", body, err)
	}
	var got Message
	if err := json.Unmarshal([]byte(envelope.Message), &got); err != nil || got.Kind != WindowLowered || got.Table != "orders" || got.SchemaVersion != 1 {
		t.Fatalf("published message %q (%v)", envelope.Message, err)
	}
	if envelope.Subject != "pitrguard: window_lowered on orders" {
		t.Errorf("subject %q", envelope.Subject)
	}
}
