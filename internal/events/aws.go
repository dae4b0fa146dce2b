package events

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/pitrguard/pitrguard/internal/awsx"
)

// ProviderClients hands out DynamoDB clients through an awsx.Provider (the
// caller's own account, or the member role assumed in another account).
type ProviderClients struct {
	P *awsx.Provider

	mu    sync.Mutex
	cache map[[2]string]*dynamodb.Client
}

// DynamoDB implements Clients.
func (c *ProviderClients) DynamoDB(ctx context.Context, account, region string) (DynamoDB, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl := c.cache[[2]string{account, region}]; cl != nil {
		return cl, nil
	}
	cfg, err := c.P.Account(ctx, account)
	if err != nil {
		return nil, err
	}
	cl := dynamodb.NewFromConfig(awsx.ForRegion(cfg, region))
	if c.cache == nil {
		c.cache = map[[2]string]*dynamodb.Client{}
	}
	c.cache[[2]string{account, region}] = cl
	return cl, nil
}

// SQSSender is the SQS call re-queueing needs.
type SQSSender interface {
	SendMessage(context.Context, *sqs.SendMessageInput, ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// SQSRequeuer sends events back to the retry queue with a delay.
type SQSRequeuer struct {
	Client   SQSSender
	QueueURL string
}

// Requeue implements Requeuer.
func (q *SQSRequeuer) Requeue(ctx context.Context, ev Event, delay time.Duration) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	secs := int32(min(max(delay, 0), 15*time.Minute) / time.Second)
	_, err = q.Client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.QueueURL), MessageBody: aws.String(string(body)),
		DelaySeconds: secs, MessageAttributes: map[string]sqstypes.MessageAttributeValue{
			"pitrguard-event-id": {DataType: aws.String("String"), StringValue: aws.String(ev.Key())},
		}})
	if err != nil {
		return fmt.Errorf("sqs:SendMessage to %s: %w", q.QueueURL, err)
	}
	return nil
}

// QueueRegion is the region in an SQS queue URL (https://sqs.REGION.amazonaws.com/...), or "".
func QueueRegion(url string) string {
	host := url
	if i := strings.Index(host, "://"); i >= 0 {
		host = host[i+3:]
	}
	host, _, _ = strings.Cut(host, "/")
	parts := strings.Split(host, ".")
	if len(parts) >= 3 && parts[0] == "sqs" {
		return parts[1]
	}
	return ""
}
