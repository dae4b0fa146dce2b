package cli

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pitrguard/pitrguard/internal/awsx"
	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/inventory"
)

// TargetOptions are the targeting flags shared by audit and the commands
// built on it.
type TargetOptions struct {
	Org         bool
	Accounts    []string
	Regions     []string
	RoleName    string
	ExternalID  string
	Concurrency int
	ConfigFile  string
	PriceFile   string
}

func addTargetFlags(cmd *cobra.Command, t *TargetOptions) {
	fl := cmd.Flags()
	fl.BoolVar(&t.Org, "org", false, "scan every ACTIVE account of the AWS Organization (run from the management account or a delegated administrator)")
	fl.StringSliceVar(&t.Accounts, "accounts", nil, "comma-separated account ids to scan besides the caller's own, e.g. 111111111111,222222222222")
	fl.StringSliceVar(&t.Regions, "regions", []string{"all"}, "comma-separated regions, or `all` for every region enabled in each account")
	fl.StringVar(&t.RoleName, "role-name", awsx.DefaultRoleName, "role assumed in member accounts")
	fl.StringVar(&t.ExternalID, "external-id", "", "external id passed to sts:AssumeRole, if the member role requires one")
	fl.IntVar(&t.Concurrency, "concurrency", 16, "account-regions scanned at once")
	fl.StringVar(&t.ConfigFile, "config", "", "policy file (default: ./pitrguard.yaml if present, else built-in defaults)")
	fl.StringVar(&t.PriceFile, "price-file", "", "YAML file with per-region prices that override the built-in table")
}

var (
	// regionRE is the shape of a region name. Scans check names against the
	// SDK's partition metadata instead (checkRegions, awsx.CheckRegion).
	regionRE     = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)
	roleNameRE   = regexp.MustCompile(`^[\w+=,.@/-]+$`)
	externalIDRE = regexp.MustCompile(`^[\w+=,.@:/-]+$`)
)

// validate checks the targeting flags and returns the inventory scope.
func (t *TargetOptions) validate() (inventory.Scope, error) {
	s := inventory.Scope{Org: t.Org, Concurrency: t.Concurrency}
	if t.Concurrency < 1 || t.Concurrency > 256 {
		return s, FlagErrorf("--concurrency must be between 1 and 256, got %d", t.Concurrency)
	}
	for _, a := range t.Accounts {
		a = strings.TrimSpace(a)
		if !config.IsAccountID(a) {
			return s, FlagErrorf("--accounts: %q is not a 12-digit AWS account id", a)
		}
		s.Accounts = append(s.Accounts, a)
	}
	regions, err := checkRegions(t.Regions)
	if err != nil {
		return s, err
	}
	s.Regions = regions
	if !roleNameRE.MatchString(t.RoleName) || len(t.RoleName) > 512 {
		return s, FlagErrorf("--role-name %q is not a valid IAM role name (or path/name)", t.RoleName)
	}
	if t.ExternalID != "" && (!externalIDRE.MatchString(t.ExternalID) || len(t.ExternalID) < 2 || len(t.ExternalID) > 1224) {
		return s, FlagErrorf("--external-id must be 2–1224 characters of letters, digits and +=,.@:/-")
	}
	return s, nil
}

// checkRegions reads --regions: `all` (nil: every enabled region), or region
// names that the AWS SDK's partition metadata knows, all in one partition
// (one identity cannot reach two partitions). The result is sorted.
func checkRegions(in []string) ([]string, error) {
	all := false
	var out []string
	for _, r := range in {
		r = strings.TrimSpace(strings.ToLower(r))
		if r == "all" {
			all = true
			continue
		}
		if err := awsx.CheckRegion(r); err != nil {
			return nil, FlagErrorf("--regions: %v; name regions or use `all`", err)
		}
		out = append(out, r)
	}
	if all && len(out) > 0 {
		return nil, FlagErrorf("--regions: `all` cannot be combined with named regions")
	}
	if len(out) == 0 && !all {
		return nil, FlagErrorf("--regions is empty; name regions or use `all`")
	}
	slices.Sort(out)
	out = slices.Compact(out)
	for _, r := range out[min(1, len(out)):] {
		if p, q := awsx.PartitionOf(out[0]), awsx.PartitionOf(r); p != q {
			return nil, FlagErrorf("--regions: %s is in partition %s and %s in %s; one run covers one partition", out[0], p, r, q)
		}
	}
	return out, nil
}

func describeScope(s inventory.Scope) string {
	who := "the caller's account"
	if s.Org {
		who = "the organization's accounts"
	}
	if len(s.Accounts) > 0 {
		who += fmt.Sprintf(" + %d listed account(s)", len(s.Accounts))
	}
	where := "all enabled regions"
	if len(s.Regions) > 0 {
		where = strings.Join(s.Regions, ",")
	}
	return who + " in " + where
}
