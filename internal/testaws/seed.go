package testaws

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"golang.org/x/sync/errgroup"
)

// ManagementAccount is moto's default account (any static credentials map to it).
const ManagementAccount = "123456789012"

// Credentials are the static credentials used against moto.
var Credentials = credentials.NewStaticCredentialsProvider("testing", "testing", "")

// Seeder creates AWS state in moto through the real SDK.
type Seeder struct {
	Endpoint string
	RoleName string

	mu   sync.Mutex
	cfgs map[string]aws.Config
}

// NewSeeder returns a Seeder for the emulator at endpoint.
func NewSeeder(endpoint string) *Seeder {
	return &Seeder{Endpoint: endpoint, RoleName: "OrganizationAccountAccessRole", cfgs: map[string]aws.Config{}}
}

func (s *Seeder) base(ctx context.Context) aws.Config {
	cfg, _ := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"), config.WithBaseEndpoint(s.Endpoint),
		config.WithCredentialsProvider(Credentials))
	return cfg
}

// Config returns a configuration acting as account in region (assuming the
// member role for accounts other than the management account).
func (s *Seeder) Config(ctx context.Context, account, region string) aws.Config {
	s.mu.Lock()
	cfg, ok := s.cfgs[account]
	if !ok {
		cfg = s.base(ctx)
		if account != ManagementAccount {
			prov := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), fmt.Sprintf("arn:aws:iam::%s:role/%s", account, s.RoleName))
			cfg.Credentials = aws.NewCredentialsCache(prov)
		}
		s.cfgs[account] = cfg
	}
	s.mu.Unlock()
	c := cfg.Copy()
	c.Region = region
	return c
}

// CreateOrg creates an organization with n member accounts and returns their ids.
func (s *Seeder) CreateOrg(ctx context.Context, n int) ([]string, error) {
	c := organizations.NewFromConfig(s.base(ctx))
	if _, err := c.CreateOrganization(ctx, &organizations.CreateOrganizationInput{}); err != nil {
		return nil, fmt.Errorf("create organization: %w", err)
	}
	var ids []string
	for i := range n {
		out, err := c.CreateAccount(ctx, &organizations.CreateAccountInput{
			AccountName: aws.String(fmt.Sprintf("member-%02d", i+1)),
			Email:       aws.String(fmt.Sprintf("member-%02d@example.com", i+1)),
		})
		if err != nil {
			return nil, fmt.Errorf("create account: %w", err)
		}
		ids = append(ids, aws.ToString(out.CreateAccountStatus.AccountId))
	}
	return ids, nil
}

// TableSpec describes a table to create.
type TableSpec struct {
	Name               string
	Tags               map[string]string
	PITR               bool
	RecoveryDays       int // with PITR; 0 means the API default (35)
	DeletionProtection bool
	Items              int    // items to put (pk = "item-N")
	TTLAttribute       string // enable TTL on this attribute
	Stream             string // stream view type, e.g. NEW_AND_OLD_IMAGES
	LSI                bool   // add a local secondary index "by-sk"
	GSI                bool   // add a global secondary index "by-gsk"
}

// CreateTables creates tables in account/region, several at a time.
func (s *Seeder) CreateTables(ctx context.Context, account, region string, specs []TableSpec) error {
	db := dynamodb.NewFromConfig(s.Config(ctx, account, region))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, spec := range specs {
		g.Go(func() error { return CreateTable(ctx, db, spec) })
	}
	return g.Wait()
}

// CreateTable creates one table as spec says.
func CreateTable(ctx context.Context, db *dynamodb.Client, spec TableSpec) error {
	in := &dynamodb.CreateTableInput{
		TableName:                 aws.String(spec.Name),
		BillingMode:               ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions:      []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:                 []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
		DeletionProtectionEnabled: aws.Bool(spec.DeletionProtection),
	}
	if spec.LSI {
		in.AttributeDefinitions = append(in.AttributeDefinitions, ddbtypes.AttributeDefinition{AttributeName: aws.String("sk"), AttributeType: ddbtypes.ScalarAttributeTypeS})
		in.KeySchema = append(in.KeySchema, ddbtypes.KeySchemaElement{AttributeName: aws.String("sk"), KeyType: ddbtypes.KeyTypeRange})
		in.LocalSecondaryIndexes = []ddbtypes.LocalSecondaryIndex{{
			IndexName:  aws.String("by-lsk"),
			KeySchema:  []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}, {AttributeName: aws.String("lsk"), KeyType: ddbtypes.KeyTypeRange}},
			Projection: &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionTypeAll},
		}}
		in.AttributeDefinitions = append(in.AttributeDefinitions, ddbtypes.AttributeDefinition{AttributeName: aws.String("lsk"), AttributeType: ddbtypes.ScalarAttributeTypeS})
	}
	if spec.GSI {
		in.AttributeDefinitions = append(in.AttributeDefinitions, ddbtypes.AttributeDefinition{AttributeName: aws.String("gsk"), AttributeType: ddbtypes.ScalarAttributeTypeS})
		in.GlobalSecondaryIndexes = []ddbtypes.GlobalSecondaryIndex{{
			IndexName:  aws.String("by-gsk"),
			KeySchema:  []ddbtypes.KeySchemaElement{{AttributeName: aws.String("gsk"), KeyType: ddbtypes.KeyTypeHash}},
			Projection: &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionTypeAll},
		}}
	}
	if spec.Stream != "" {
		in.StreamSpecification = &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: ddbtypes.StreamViewType(spec.Stream)}
	}
	for k, v := range spec.Tags {
		in.Tags = append(in.Tags, ddbtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	if _, err := db.CreateTable(ctx, in); err != nil {
		return fmt.Errorf("create table %s: %w", spec.Name, err)
	}
	if spec.PITR {
		ps := &ddbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true)}
		if spec.RecoveryDays > 0 {
			ps.RecoveryPeriodInDays = aws.Int32(int32(spec.RecoveryDays))
		}
		if _, err := db.UpdateContinuousBackups(ctx, &dynamodb.UpdateContinuousBackupsInput{TableName: aws.String(spec.Name), PointInTimeRecoverySpecification: ps}); err != nil {
			return fmt.Errorf("enable PITR on %s: %w", spec.Name, err)
		}
	}
	if spec.TTLAttribute != "" {
		if _, err := db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String(spec.Name),
			TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{Enabled: aws.Bool(true), AttributeName: aws.String(spec.TTLAttribute)}}); err != nil {
			return fmt.Errorf("enable TTL on %s: %w", spec.Name, err)
		}
	}
	for i := range spec.Items {
		item := map[string]ddbtypes.AttributeValue{
			"pk":   &ddbtypes.AttributeValueMemberS{Value: fmt.Sprintf("item-%04d", i)},
			"data": &ddbtypes.AttributeValueMemberS{Value: fmt.Sprintf("value %d of %s", i, spec.Name)},
		}
		if spec.LSI {
			item["sk"] = &ddbtypes.AttributeValueMemberS{Value: "0"}
			item["lsk"] = &ddbtypes.AttributeValueMemberS{Value: fmt.Sprintf("l%04d", i)}
		}
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(spec.Name), Item: item}); err != nil {
			return fmt.Errorf("put item in %s: %w", spec.Name, err)
		}
	}
	return nil
}
