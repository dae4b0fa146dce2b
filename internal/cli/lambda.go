package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/spf13/cobra"

	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/events"
)

// Environment of the Lambda function (set by the deployment templates).
const (
	envLambdaAPI   = "AWS_LAMBDA_RUNTIME_API"
	envConfig      = "PITRGUARD_CONFIG"       // a file in the package, or ssm:/parameter/name
	envQueueURL    = "PITRGUARD_QUEUE_URL"    // the retry queue
	envRoleName    = "PITRGUARD_ROLE_NAME"    // role assumed in member accounts
	envExternalID  = "PITRGUARD_EXTERNAL_ID"  // its external id, if any
	envIgnoreRoles = "PITRGUARD_IGNORE_ROLES" // comma-separated; default: the function's own role
	envWait        = "PITRGUARD_WAIT"         // longest wait within one invocation (default: until 15s before the deadline)
	envDB          = "PITRGUARD_DB"           // history database (default /tmp/pitrguard.db)
	envBackoff     = "PITRGUARD_BACKOFF"      // first retry delay within an invocation (tests)
)

func newLambdaCmd(f *Factory, g *GlobalOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "lambda",
		GroupID: "act",
		Short:   "Serve the AWS Lambda Runtime API: the event handler as a function (provided.al2023)",
		Long: `Lambda runs the event handler as an AWS Lambda function with a custom runtime
(provided.al2023, the binary deployed as 'bootstrap'). Run with no arguments
while AWS_LAMBDA_RUNTIME_API is set, pitrguard does this by itself.

Input: an EventBridge event, or an SQS batch of them (from the retry queue;
failed items are reported with batchItemFailures). Configuration comes from
the environment:
  PITRGUARD_CONFIG        policy file in the package, or ssm:/parameter/name
  PITRGUARD_QUEUE_URL     retry queue for work that outlives the invocation
  PITRGUARD_ROLE_NAME     role assumed in member accounts (--org deployments)
  PITRGUARD_EXTERNAL_ID   its external id, if any
  PITRGUARD_IGNORE_ROLES  roles whose calls are ignored (default: the function's role)
  PITRGUARD_DB            history database (default /tmp/pitrguard.db)
  AWS_ENDPOINT_URL        the SDK's endpoint override (emulators)`,
		Example: `  # What the deployed bootstrap does
  AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001 PITRGUARD_CONFIG=pitrguard.yaml pitrguard`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.Getenv(envLambdaAPI) == "" {
				return &ExitError{Code: ExitUsage, Err: errors.New("AWS_LAMBDA_RUNTIME_API is not set: `pitrguard lambda` runs inside AWS Lambda; use `pitrguard handle-event --file` locally")}
			}
			return lambdaRun(cmd.Context(), f, g)
		},
	}
}

func lambdaRun(ctx context.Context, f *Factory, g *GlobalOptions) error {
	log := slog.New(slog.NewJSONHandler(f.IO.ErrOut, nil))
	if g.DBPath == "" {
		g.DBPath = f.Getenv(envDB)
		if g.DBPath == "" {
			g.DBPath = "/tmp/pitrguard.db" // the only writable place in Lambda
		}
	}
	role := f.Getenv(envRoleName)
	p, err := f.awsProvider(ctx, g, &TargetOptions{RoleName: role, ExternalID: f.Getenv(envExternalID)})
	if err != nil {
		return err
	}
	cfg, err := lambdaConfig(ctx, f.Getenv(envConfig), ssm.NewFromConfig(p.Base()))
	if err != nil {
		return err
	}
	db, err := f.openStore(ctx, g)
	if err != nil {
		return err
	}
	s := handlerSetup{Config: cfg, RoleName: role, QueueURL: f.Getenv(envQueueURL), Wait: 14 * time.Minute}
	if v := f.Getenv(envIgnoreRoles); v != "" {
		s.IgnoreRoles = strings.Split(v, ",")
	}
	if v := f.Getenv(envWait); v != "" {
		if s.Wait, err = ParseDuration(v); err != nil {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%s: %w", envWait, err)}
		}
	}
	if v := f.Getenv(envBackoff); v != "" {
		if s.Backoff, err = time.ParseDuration(v); err != nil {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%s: %w", envBackoff, err)}
		}
	}
	env := newHandlerEnv(ctx, f, g, p, db, s)
	defer env.Close()
	for _, w := range env.warnings {
		log.Warn(w)
	}
	lambda.StartWithOptions(lambdaHandler(env.handler, log), lambda.WithContext(ctx))
	return nil
}

// lambdaConfig loads the policy from a file or an SSM parameter.
func lambdaConfig(ctx context.Context, src string, c *ssm.Client) (*config.Config, error) {
	name, ok := strings.CutPrefix(src, "ssm:")
	if !ok {
		return loadConfig(src)
	}
	out, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("%s=%s: read the policy from SSM: %w", envConfig, src, err)
	}
	cfg, err := config.Parse(src, []byte(aws.ToString(out.Parameter.Value)))
	if err != nil {
		return nil, &ExitError{Code: ExitUsage, Err: fmt.Errorf("policy file: %w", err)}
	}
	return cfg, nil
}

// sqsBatchResponse is Lambda's partial batch failure answer.
type sqsBatchResponse struct {
	BatchItemFailures []sqsItemFailure `json:"batchItemFailures"`
}

type sqsItemFailure struct {
	ItemIdentifier string `json:"itemIdentifier"`
}

// lambdaHandler handles one invocation: an EventBridge event or an SQS batch.
func lambdaHandler(h *events.Handler, log *slog.Logger) func(context.Context, json.RawMessage) (any, error) {
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		items := events.DecodeOne(raw)
		b := h.HandleAll(ctx, items)
		for _, o := range b.Outcomes {
			log.Info("event", "event_id", o.EventID, "event_name", o.EventName, "account", o.Account, "region", o.Region,
				"table", o.Table, "action", o.Action, "result", o.Result, "message", o.Message)
		}
		for _, d := range b.Notifications {
			if d.Result == "failed" {
				log.Error("notification failed", "channel", d.Channel, "kind", string(d.Kind), "owner", d.Owner, "error", d.Error)
			}
		}
		isBatch := len(items) > 0 && items[0].MessageID != ""
		if isBatch {
			resp := sqsBatchResponse{BatchItemFailures: []sqsItemFailure{}}
			for _, o := range b.Outcomes {
				if o.Retryable() {
					resp.BatchItemFailures = append(resp.BatchItemFailures, sqsItemFailure{ItemIdentifier: o.MessageID})
				}
			}
			return resp, nil
		}
		for _, o := range b.Outcomes {
			if o.Retryable() {
				// An error makes Lambda retry the asynchronous invocation, then
				// send it to the dead-letter queue.
				return b, fmt.Errorf("event %s (%s %s): %s", o.EventID, o.EventName, o.Table, o.Message)
			}
		}
		return b, nil
	}
}

// lambdaMode reports whether pitrguard was started as a Lambda bootstrap.
func lambdaMode(args []string, getenv func(string) string) bool {
	return len(args) == 0 && getenv(envLambdaAPI) != ""
}
