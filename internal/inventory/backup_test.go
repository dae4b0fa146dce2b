package inventory

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// userBackups pages DynamoDB ListBackups like the service (LastEvaluatedBackupArn).
type userBackups struct {
	pages [][]ddbtypes.BackupSummary
	calls int
	loop  bool // answer the same LastEvaluatedBackupArn forever
}

func (u *userBackups) ListBackups(_ context.Context, in *dynamodb.ListBackupsInput, _ ...func(*dynamodb.Options)) (*dynamodb.ListBackupsOutput, error) {
	u.calls++
	if in.BackupType != ddbtypes.BackupTypeFilterUser {
		panic("not a USER listing")
	}
	i := 0
	if in.ExclusiveStartBackupArn != nil && !u.loop {
		i = int(aws.ToString(in.ExclusiveStartBackupArn)[0] - '0')
	}
	out := &dynamodb.ListBackupsOutput{BackupSummaries: u.pages[i]}
	if i+1 < len(u.pages) || u.loop {
		out.LastEvaluatedBackupArn = aws.String(string(rune('0' + i + 1)))
	}
	return out, nil
}

func TestListUserBackups(t *testing.T) {
	at := func(d int) *time.Time { x := time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC); return &x }
	b := func(table string, d int, st ddbtypes.BackupStatus) ddbtypes.BackupSummary {
		return ddbtypes.BackupSummary{TableName: aws.String(table), BackupCreationDateTime: at(d), BackupStatus: st}
	}
	u := &userBackups{pages: [][]ddbtypes.BackupSummary{
		{b("archive", 1, ddbtypes.BackupStatusAvailable), b("orders", 3, ddbtypes.BackupStatusAvailable)},
		{b("archive", 5, ddbtypes.BackupStatusAvailable), b("archive", 9, ddbtypes.BackupStatusCreating)},
	}}
	m, err := listUserBackups(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	if u.calls != 2 || !m["archive"].Equal(*at(5)) || !m["orders"].Equal(*at(3)) || len(m) != 2 {
		t.Errorf("%d calls, %v: want every page, the newest AVAILABLE backup per table", u.calls, m)
	}
	u = &userBackups{pages: [][]ddbtypes.BackupSummary{{b("a", 1, ddbtypes.BackupStatusAvailable)}}, loop: true}
	if _, err := listUserBackups(t.Context(), u); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("a repeated page token must end the listing with an error: %v", err)
	}
}
