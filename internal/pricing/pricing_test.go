package pricing

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuiltin(t *testing.T) {
	p := Builtin()
	for region, want := range map[string]float64{"us-east-1": 0.20, "us-west-2": 0.20, "eu-central-1": 0.24, "eu-west-1": 0.22} {
		got, est := p.PITRMonthly(region, 10*GiB)
		if math.Abs(got-want*10) > 1e-9 || est {
			t.Errorf("%s: 10 GiB = %v (estimated %v), want %v", region, got, est, want*10)
		}
		if p.Regions[region].Source == "" {
			t.Errorf("%s has no source", region)
		}
	}
	got, est := p.PITRMonthly("ap-south-2", GiB)
	if !est || math.Abs(got-0.20) > 1e-9 {
		t.Errorf("unknown region: %v estimated=%v, want us-east-1's 0.20 and estimated", got, est)
	}
	if c, _ := p.RestoreCost("us-east-1", 2*GiB); math.Abs(c-0.30) > 1e-9 {
		t.Errorf("restore 2 GiB = %v, want 0.30", c)
	}
}

func TestLoadOverride(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "p.yaml")
	os.WriteFile(f, []byte("regions:\n  ap-south-2:\n    pitr: 0.3\n    restore: 0.2\n    source: quote 42\n"), 0o644)
	p, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	if got, est := p.PITRMonthly("ap-south-2", GiB); est || math.Abs(got-0.3) > 1e-9 {
		t.Errorf("override: %v estimated=%v", got, est)
	}
	if got, _ := p.PITRMonthly("us-east-1", GiB); math.Abs(got-0.2) > 1e-9 {
		t.Errorf("built-in regions must stay: %v", got)
	}
	os.WriteFile(f, []byte("regions:\n  x:\n    pitr: -1\n"), 0o644)
	if _, err := Load(f); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Errorf("negative price: %v", err)
	}
	os.WriteFile(f, []byte("regionz: {}\n"), 0o644)
	if _, err := Load(f); err == nil || !strings.Contains(err.Error(), "regionz") {
		t.Errorf("unknown key: %v", err)
	}
}
