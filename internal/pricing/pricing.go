// Package pricing knows what PITR, backups and restores cost per region. The
// built-in table (prices.yaml, with a source per row) covers the regions whose
// prices could be verified; every other region falls back to the default
// region's price and is marked estimated. --price-file replaces or extends it.
package pricing

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"sort"

	"go.yaml.in/yaml/v3"
)

//go:embed prices.yaml
var builtin []byte

// GiB is the number of bytes in one billing GB (AWS bills DynamoDB storage per GB = 2^30 bytes).
const GiB = 1 << 30

// Price is one region's prices in USD.
type Price struct {
	PITR    float64 `yaml:"pitr"`    // per GB-month
	Backup  float64 `yaml:"backup"`  // per GB-month (on-demand backups; AWS Backup warm storage)
	Restore float64 `yaml:"restore"` // per GB restored
	// BackupCold is AWS Backup cold storage per GB-month (0: not given).
	BackupCold float64 `yaml:"backup_cold"`
	Source     string  `yaml:"source"`
}

// Table maps regions to prices.
type Table struct {
	DefaultRegion string           `yaml:"default_region"`
	Regions       map[string]Price `yaml:"regions"`
	Source        string           `yaml:"-"`
}

// Builtin returns the embedded price table.
func Builtin() *Table {
	t, err := parse("built-in price table", builtin)
	if err != nil {
		panic(err) // the embedded file is tested
	}
	return t
}

// Load returns the built-in table with the regions of path (if not "")
// layered over it.
func Load(path string) (*Table, error) {
	t := Builtin()
	if path == "" {
		return t, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("price file %s: %w", path, errors.Unwrap(err))
	}
	o, err := parse(path, data)
	if err != nil {
		return nil, err
	}
	for r, p := range o.Regions {
		t.Regions[r] = p
	}
	if o.DefaultRegion != "" {
		t.DefaultRegion = o.DefaultRegion
	}
	t.Source = "built-in price table + " + path
	return t, t.check(path)
}

func parse(name string, data []byte) (*Table, error) {
	var t Table
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("price file %s: %v (expected `default_region:` and `regions: {<region>: {pitr, backup, backup_cold, restore, source}}`)", name, err)
	}
	t.Source = name
	if t.Regions == nil {
		t.Regions = map[string]Price{}
	}
	return &t, t.check(name)
}

func (t *Table) check(name string) error {
	regions := make([]string, 0, len(t.Regions))
	for r := range t.Regions {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	for _, r := range regions {
		p := t.Regions[r]
		if p.PITR < 0 || p.Backup < 0 || p.Restore < 0 || p.BackupCold < 0 {
			return fmt.Errorf("price file %s: region %s has a negative price", name, r)
		}
	}
	if t.DefaultRegion != "" && len(t.Regions) > 0 {
		if _, ok := t.Regions[t.DefaultRegion]; !ok {
			return fmt.Errorf("price file %s: default_region %s has no prices", name, t.DefaultRegion)
		}
	}
	return nil
}

// For returns the prices of region and whether they are an estimate (the
// region is not in the table, so the default region's price was used).
func (t *Table) For(region string) (Price, bool) {
	if p, ok := t.Regions[region]; ok {
		return p, false
	}
	return t.Regions[t.DefaultRegion], true
}

// PITRMonthly is the monthly PITR cost of billableBytes in region.
func (t *Table) PITRMonthly(region string, billableBytes int64) (usd float64, estimated bool) {
	p, est := t.For(region)
	return float64(billableBytes) / GiB * p.PITR, est
}

// RestoreCost is the one-off cost of restoring bytes in region.
func (t *Table) RestoreCost(region string, bytes int64) (usd float64, estimated bool) {
	p, est := t.For(region)
	return float64(bytes) / GiB * p.Restore, est
}
