package pricing

import (
	"math"
	"testing"
)

func TestRunsPerDay(t *testing.T) {
	cases := []struct {
		expr string
		want float64
		ok   bool
	}{
		{"cron(0 5 ? * * *)", 1, true},
		{"cron(0 5 * * ? *)", 1, true},
		{"cron(0 0/12 ? * * *)", 2, true},
		{"cron(0 */6 ? * * *)", 4, true},
		{"cron(0 1,13 ? * * *)", 2, true},
		{"cron(0 * ? * * *)", 24, true},
		{"cron(0 5 ? * MON-FRI *)", 5.0 / 7, true},
		{"cron(0 5 ? * SUN *)", 1.0 / 7, true},
		{"cron(0 5 1 * ? *)", 1.0 / 30, true},
		{"cron(0 5 L * ? *)", 1.0 / 30, true},
		// The month field counts too: a quarterly rule runs 4 days a year.
		{"cron(0 5 1 1,4,7,10 ? *)", 4.0 / 12 / 30, true},
		{"cron(0 5 ? JAN-JUN MON *)", 6.0 / 12 / 7, true},
		{"cron(0 5 ? * * 2027)", 1, false}, // a year: unknown share
		{"cron(0 5 ? 13 * *)", 1, false},
		{"rate(1 day)", 1, true},
		{"rate(12 hours)", 2, true},
		{"rate(7 days)", 1.0 / 7, true},
		{"rate(60 minutes)", 24, true},
		{"", 1, false},
		{"cron(0 5 * *)", 1, false},
		{"rate(often)", 1, false},
		{"cron(0 25 ? * * *)", 1, false},
	}
	for _, c := range cases {
		got, ok := RunsPerDay(c.expr)
		if ok != c.ok || math.Abs(got-c.want) > 1e-9 {
			t.Errorf("RunsPerDay(%q) = %v, %v; want %v, %v", c.expr, got, ok, c.want, c.ok)
		}
	}
}

func TestBackupMonthly(t *testing.T) {
	p := Builtin()
	if p.Regions["us-east-1"].BackupCold != 0.03 || p.Regions["us-east-1"].Source == "" {
		t.Fatalf("us-east-1 cold price: %+v", p.Regions["us-east-1"])
	}
	daily := "cron(0 5 ? * * *)"
	// 1 GiB, daily, 30 days warm: 30 copies × $0.10.
	if got, est := p.BackupMonthly("us-east-1", GiB, []BackupRule{{Schedule: daily, DeleteAfterDays: 30}}, true); math.Abs(got-3) > 1e-9 || est {
		t.Errorf("30 daily = %v (est %v), want 3", got, est)
	}
	// 400 days, cold after 30: 30 × 0.10 + 370 × 0.03 = 14.1.
	if got, _ := p.BackupMonthly("us-east-1", GiB, []BackupRule{{Schedule: daily, DeleteAfterDays: 400, ColdAfterDays: 30}}, true); math.Abs(got-14.1) > 1e-9 {
		t.Errorf("400 days cold after 30 = %v, want 14.1", got)
	}
	// Without advanced features there is no cold storage: 400 × 0.10.
	if got, _ := p.BackupMonthly("us-east-1", GiB, []BackupRule{{Schedule: daily, DeleteAfterDays: 400, ColdAfterDays: 30}}, false); math.Abs(got-40) > 1e-9 {
		t.Errorf("no advanced features = %v, want 40", got)
	}
	// A copy kept 7 days adds 7 warm copies; twice a day doubles everything.
	if got, _ := p.BackupMonthly("us-east-1", 2*GiB, []BackupRule{{Schedule: "rate(12 hours)", DeleteAfterDays: 10, CopyDeleteAfterDays: []int{7}}}, true); math.Abs(got-2*2*(10+7)*0.10) > 1e-9 {
		t.Errorf("copies = %v", got)
	}
	// Never deleted, unreadable schedule, region without a cold price: estimated.
	if _, est := p.BackupMonthly("us-east-1", GiB, []BackupRule{{Schedule: daily}}, true); !est {
		t.Error("a rule that never deletes must be estimated")
	}
	if _, est := p.BackupMonthly("us-east-1", GiB, []BackupRule{{Schedule: "at noon", DeleteAfterDays: 1}}, true); !est {
		t.Error("an unreadable schedule must be estimated")
	}
	if got, est := p.BackupMonthly("eu-west-1", GiB, []BackupRule{{Schedule: daily, DeleteAfterDays: 40, ColdAfterDays: 10}}, true); !est || math.Abs(got-(10*0.11+30*0.03)) > 1e-9 {
		t.Errorf("eu-west-1 falls back to us-east-1's cold price: %v est %v", got, est)
	}
}
