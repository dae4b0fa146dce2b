package testaws

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// CostGroup is one USAGE_TYPE group of a Cost Explorer answer, in USD.
type CostGroup struct {
	UsageType string
	Amount    string
}

// CostPage builds one GetCostAndUsage answer for month [start, end) grouped
// by usage type; next, if set, is its NextPageToken.
func CostPage(start, end, next string, groups ...CostGroup) map[string]any {
	gs := make([]map[string]any, 0, len(groups))
	for _, g := range groups {
		gs = append(gs, map[string]any{"Keys": []string{g.UsageType},
			"Metrics": map[string]any{"UnblendedCost": map[string]string{"Amount": g.Amount, "Unit": "USD"}}})
	}
	page := map[string]any{
		"ResultsByTime": []map[string]any{{"TimePeriod": map[string]string{"Start": start, "End": end},
			"Total": map[string]any{}, "Groups": gs, "Estimated": false}},
		"DimensionValueAttributes": []any{}, "GroupDefinitions": []map[string]string{{"Type": "DIMENSION", "Key": "USAGE_TYPE"}},
	}
	if next != "" {
		page["NextPageToken"] = next
	}
	return page
}

// QueueCostAndUsage queues answers of Cost Explorer's GetCostAndUsage in moto
// (POST /moto-api/static/ce/cost-and-usage-results): each distinct request
// takes the next page, so a paged read gets them in order. account is the
// account asking ("" = the management account).
func QueueCostAndUsage(ctx context.Context, motoURL, account string, pages ...map[string]any) error {
	if account == "" {
		account = ManagementAccount
	}
	body, err := json.Marshal(map[string]any{"account_id": account, "results": pages})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, motoURL+"/moto-api/static/ce/cost-and-usage-results", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("moto refused the Cost Explorer results: %s", resp.Status)
	}
	return nil
}
