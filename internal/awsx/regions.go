package awsx

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// partitionsJSON is a verbatim copy of the AWS SDK for Go v2's partition
// metadata (github.com/aws/aws-sdk-go-v2 internal/endpoints/awsrulesfn/
// partitions.json). The SDK keeps it in an internal package and exposes no
// public list of regions, so it is embedded here; TestPartitionsMatchSDK
// fails when it differs from the SDK version in go.mod (refresh it with
// `go test ./internal/awsx -run TestPartitionsMatchSDK -update`).
//
//go:embed partitions.json
var partitionsJSON []byte

// Partition is one AWS partition and the regions the SDK knows in it.
type Partition struct {
	ID      string
	Regions []string // sorted; the "<partition>-global" pseudo-regions are left out
	pattern *regexp.Regexp
}

var partitions = mustLoadPartitions(partitionsJSON)

func mustLoadPartitions(data []byte) []Partition {
	var doc struct {
		Partitions []struct {
			ID          string                     `json:"id"`
			RegionRegex string                     `json:"regionRegex"`
			Regions     map[string]json.RawMessage `json:"regions"`
		} `json:"partitions"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		panic("awsx: embedded partitions.json: " + err.Error())
	}
	out := make([]Partition, 0, len(doc.Partitions))
	for _, p := range doc.Partitions {
		part := Partition{ID: p.ID, pattern: regexp.MustCompile(p.RegionRegex)}
		for r := range p.Regions {
			if !strings.HasSuffix(r, "-global") {
				part.Regions = append(part.Regions, r)
			}
		}
		slices.Sort(part.Regions)
		out = append(out, part)
	}
	return out
}

// Partitions returns the partitions and regions this build knows.
func Partitions() []Partition { return slices.Clone(partitions) }

// PartitionOf returns the partition a region belongs to: the one that lists
// it, else the one whose naming pattern it follows, else "aws".
func PartitionOf(region string) string {
	for _, p := range partitions {
		if slices.Contains(p.Regions, region) {
			return p.ID
		}
	}
	// "aws" is first in the metadata and its pattern is the broadest; look
	// at the others first so that us-gov-x-1 is not taken for aws.
	for _, p := range partitions {
		if p.ID != "aws" && p.pattern.MatchString(region) {
			return p.ID
		}
	}
	return "aws"
}

// CheckRegion returns nil when region is a region of an AWS partition known to
// the SDK's metadata, and otherwise an error that says why and what to use.
func CheckRegion(region string) error {
	for _, p := range partitions {
		if slices.Contains(p.Regions, region) {
			return nil
		}
	}
	for _, p := range partitions {
		if p.pattern.MatchString(region) && (p.ID != "aws" || PartitionOf(region) == "aws") {
			return fmt.Errorf("%q is not a region name of partition %s in the AWS SDK's metadata (known: %s)", region, p.ID, strings.Join(p.Regions, ", "))
		}
	}
	return fmt.Errorf("%q is not a region name of any AWS partition (e.g. us-east-1, eu-west-1, cn-north-1, us-gov-west-1)", region)
}
