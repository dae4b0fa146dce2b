package inventory

import (
	"context"
	"errors"
	"maps"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/configservice"

	"github.com/pitrguard/pitrguard/internal/model"
)

func TestParseConfigRow(t *testing.T) {
	captured := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		row     string
		want    ConfigRow
		wantErr bool
	}{
		{name: "full item, tags as key/value list",
			row: `{"accountId":"111111111111","awsRegion":"eu-west-1","resourceId":"orders","resourceName":"orders","configuration":{"tableStatus":"ACTIVE"},` +
				`"supplementaryConfiguration":{"ContinuousBackupsDescription":{"pointInTimeRecoveryDescription":{"pointInTimeRecoveryStatus":"ENABLED"}}},` +
				`"tags":[{"key":"tier","value":"critical","tag":"tier=critical"}],"configurationItemCaptureTime":"2026-11-24T10:00:00.000Z"}`,
			want: ConfigRow{Account: "111111111111", Region: "eu-west-1", Name: "orders", Status: "ACTIVE", PITRStatus: "ENABLED",
				Tags: map[string]string{"tier": "critical"}, Captured: captured}},
		{name: "PITR disabled, no tags recorded as an empty list",
			row: `{"accountId":"1","awsRegion":"r","resourceName":"t","configuration":{"tableStatus":"active"},` +
				`"supplementaryConfiguration":{"ContinuousBackupsDescription":{"pointInTimeRecoveryDescription":{"pointInTimeRecoveryStatus":"DISABLED"}}},` +
				`"tags":[],"configurationItemCaptureTime":"2026-11-24T10:00:00Z"}`,
			want: ConfigRow{Account: "1", Region: "r", Name: "t", Status: "ACTIVE", PITRStatus: "DISABLED", Tags: map[string]string{}, Captured: captured}},
		{name: "no supplementary PITR field: unknown, not off",
			row:  `{"accountId":"1","awsRegion":"r","resourceName":"t","configuration":{"tableStatus":"ACTIVE"},"tags":{"a":"b"},"configurationItemCaptureTime":"2026-11-24T10:00:00Z"}`,
			want: ConfigRow{Account: "1", Region: "r", Name: "t", Status: "ACTIVE", Tags: map[string]string{"a": "b"}, Captured: captured}},
		{name: "unexpected PITR value is unknown",
			row:  `{"accountId":"1","awsRegion":"r","resourceName":"t","supplementaryConfiguration":{"ContinuousBackupsDescription":{"pointInTimeRecoveryDescription":{"pointInTimeRecoveryStatus":"ENABLING"}}}}`,
			want: ConfigRow{Account: "1", Region: "r", Name: "t"}},
		{name: "name from resourceId; tags and time absent",
			row:  `{"accountId":"1","awsRegion":"r","resourceId":"t","configurationItemCaptureTime":"yesterday"}`,
			want: ConfigRow{Account: "1", Region: "r", Name: "t"}},
		{name: "tags in an unknown shape are unknown",
			row:  `{"accountId":"1","awsRegion":"r","resourceName":"t","tags":"tier=critical"}`,
			want: ConfigRow{Account: "1", Region: "r", Name: "t"}},
		{name: "no account", row: `{"awsRegion":"r","resourceName":"t"}`, wantErr: true},
		{name: "not JSON", row: `SELECT`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseConfigRow(tt.row)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got.Account != tt.want.Account || got.Region != tt.want.Region || got.Name != tt.want.Name || got.Status != tt.want.Status ||
				got.PITRStatus != tt.want.PITRStatus || !got.Captured.Equal(tt.want.Captured) ||
				(got.Tags == nil) != (tt.want.Tags == nil) || !maps.Equal(got.Tags, tt.want.Tags) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	fresh := ConfigRow{Account: "111111111111", Region: "eu-west-1", Name: "t", Status: "ACTIVE", PITRStatus: "ENABLED",
		Tags: map[string]string{}, Captured: now.Add(-time.Hour)}
	with := func(f func(*ConfigRow)) *ConfigRow { r := fresh; f(&r); return &r }
	never := func(*model.Table) bool { return false }
	always := func(*model.Table) bool { return true }
	tests := []struct {
		name        string
		row         *ConfigRow
		needsWindow func(*model.Table) bool
		wantReason  string
		wantPITR    string
	}{
		{name: "fresh, enabled, no window", row: &fresh, needsWindow: never, wantPITR: "ENABLED"},
		{name: "fresh, disabled, window tier: Config decides (off is off)", row: with(func(r *ConfigRow) { r.PITRStatus = "DISABLED" }), needsWindow: always, wantPITR: "DISABLED"},
		{name: "enabled in a window tier", row: &fresh, needsWindow: always, wantReason: LiveWindowRequired},
		{name: "no item", row: nil, needsWindow: never, wantReason: LiveNoItem},
		{name: "no PITR field", row: with(func(r *ConfigRow) { r.PITRStatus = "" }), needsWindow: never, wantReason: LiveIncompleteItem},
		{name: "no tags column", row: with(func(r *ConfigRow) { r.Tags = nil }), needsWindow: never, wantReason: LiveIncompleteItem},
		{name: "no status", row: with(func(r *ConfigRow) { r.Status = "" }), needsWindow: never, wantReason: LiveIncompleteItem},
		{name: "stale", row: with(func(r *ConfigRow) { r.Captured = now.Add(-25 * time.Hour) }), needsWindow: never, wantReason: LiveStale},
		{name: "exactly at the bound is fresh", row: with(func(r *ConfigRow) { r.Captured = now.Add(-24 * time.Hour) }), needsWindow: never, wantPITR: "ENABLED"},
		{name: "no capture time", row: with(func(r *ConfigRow) { r.Captured = time.Time{} }), needsWindow: never, wantReason: LiveStale},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.row, "aws", now, 24*time.Hour, tt.needsWindow)
			if d.LiveReason != tt.wantReason {
				t.Fatalf("live reason = %q, want %q", d.LiveReason, tt.wantReason)
			}
			if tt.wantReason != "" {
				if d.Table != nil {
					t.Fatalf("a table to read live was decided: %+v", d.Table)
				}
				return
			}
			tb := d.Table
			if tb == nil || tb.PITR.StatusString() != tt.wantPITR || tb.Source != model.SourceConfig || !tb.TagsKnown ||
				tb.SourceAge != now.Sub(tt.row.Captured) || tb.ARN != "arn:aws:dynamodb:eu-west-1:111111111111:table/t" || tb.PITR.RecoveryPeriodDays != 0 {
				t.Fatalf("decided table = %+v", tb)
			}
		})
	}
}

type fakeSelector struct {
	pages [][]string
	calls int
	token func(i int) string // token returned after page i ("" on the last)
	err   error
}

func (f *fakeSelector) SelectAggregateResourceConfig(_ context.Context, in *configservice.SelectAggregateResourceConfigInput, _ ...func(*configservice.Options)) (*configservice.SelectAggregateResourceConfigOutput, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	i := 0
	if in.NextToken != nil {
		i, _ = strconv.Atoi(*in.NextToken)
	}
	if in.Limit != ConfigPageSize || aws.ToString(in.ConfigurationAggregatorName) != "agg" || aws.ToString(in.Expression) != ConfigQuery {
		return nil, errors.New("unexpected request")
	}
	out := &configservice.SelectAggregateResourceConfigOutput{Results: f.pages[i]}
	if tok := f.token(i); tok != "" {
		out.NextToken = aws.String(tok)
	}
	return out, nil
}

func TestQueryConfigPages(t *testing.T) {
	row := func(n string) string { return `{"accountId":"1","awsRegion":"r","resourceName":"` + n + `"}` }
	f := &fakeSelector{pages: [][]string{{row("a"), row("b")}, {row("c")}, {}}, token: func(i int) string {
		if i < 2 {
			return strconv.Itoa(i + 1)
		}
		return ""
	}}
	rows, err := QueryConfig(context.Background(), f, "agg")
	if err != nil || len(rows) != 3 || rows[2].Name != "c" || f.calls != 3 {
		t.Fatalf("rows %+v, err %v, calls %d", rows, err, f.calls)
	}

	loop := &fakeSelector{pages: [][]string{{row("a")}, {row("b")}}, token: func(int) string { return "1" }}
	if _, err := QueryConfig(context.Background(), loop, "agg"); err == nil || loop.calls != 2 {
		t.Fatalf("a repeated token must stop the query with an error; err %v after %d calls", err, loop.calls)
	}
	bad := &fakeSelector{pages: [][]string{{`{"resourceName":"x"}`}}, token: func(int) string { return "" }}
	if _, err := QueryConfig(context.Background(), bad, "agg"); err == nil {
		t.Fatal("a row without account/region must fail the query")
	}
	failing := &fakeSelector{err: errors.New("NoSuchConfigurationAggregatorException")}
	if _, err := QueryConfig(context.Background(), failing, "agg"); err == nil {
		t.Fatal("the API error must be returned")
	}
}
