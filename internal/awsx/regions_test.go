package awsx

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "refresh partitions.json from the SDK in go.mod")

// TestPartitionsMatchSDK keeps the embedded region table equal to the SDK's
// own partitions.json, so that a bump of aws-sdk-go-v2 that adds regions
// cannot leave pitrguard refusing them.
func TestPartitionsMatchSDK(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-sdk-go-v2").Output()
	if err != nil {
		t.Fatalf("locate the SDK module: %v", err)
	}
	sdk, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "internal", "endpoints", "awsrulesfn", "partitions.json"))
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("partitions.json", sdk, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(sdk, partitionsJSON) {
		t.Fatal("internal/awsx/partitions.json differs from the SDK's; run: go test ./internal/awsx -run TestPartitionsMatchSDK -update")
	}
}

func TestCheckRegion(t *testing.T) {
	for _, r := range []string{"us-east-1", "eu-west-1", "ap-southeast-7", "cn-north-1", "us-gov-west-1", "us-isob-east-1", "eusc-de-east-1", "me-west-1"} {
		if err := CheckRegion(r); err != nil {
			t.Errorf("CheckRegion(%s) = %v, want nil", r, err)
		}
	}
	for r, want := range map[string]string{
		"us-east-9":     "not a region name of partition aws ",
		"cn-south-7":    "not a region name of partition aws-cn ",
		"us-gov-east-5": "not a region name of partition aws-us-gov ",
		"mars":          "not a region name of any AWS partition",
		"aws-global":    "not a region name of any AWS partition",
		"":              "not a region name of any AWS partition",
	} {
		err := CheckRegion(r)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckRegion(%q) = %v, want an error containing %q", r, err, want)
		}
	}
}
