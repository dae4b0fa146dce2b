package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/pitrguard/pitrguard/internal/report"
	"github.com/pitrguard/pitrguard/internal/testaws"
)

type harness struct {
	bin     string
	dir     string
	proxy   *testaws.Proxy
	estate  Estate
	latency time.Duration
}

// Run is one measured run.
type Run struct {
	Name              string             `json:"name"`
	Args              []string           `json:"args"`
	Tables            int                `json:"tables"`
	WallSeconds       float64            `json:"wall_seconds"`
	FloorSeconds      float64            `json:"floor_seconds"`
	WallOverFloor     float64            `json:"wall_over_floor"`
	Calls             map[string]int     `json:"calls"`
	CallsTotal        int                `json:"calls_total"`
	CallsPerTable     float64            `json:"calls_per_table"`
	CallsPerTableByOp map[string]float64 `json:"calls_per_table_by_op"`
	Throttles         int                `json:"throttles"`
	ThrottlePct       float64            `json:"throttle_pct"`
	Unknown           int                `json:"unknown"`
	UnknownByReason   map[string]int     `json:"unknown_by_reason"`
	PeakRSSMB         float64            `json:"peak_rss_mb"`
	CPUSeconds        float64            `json:"cpu_seconds"`
	ExitCode          int                `json:"exit_code"`
	ScanErrors        int                `json:"scan_errors"`
	CoverageComplete  bool               `json:"coverage_complete"`
	Extrapolated      bool               `json:"extrapolated"`
	ExtrapolatedWall  float64            `json:"extrapolated_wall_seconds,omitempty"`
	Note              string             `json:"note,omitempty"`
	Fault             *FaultCheck        `json:"fault_check,omitempty"`

	verdicts map[string]string
	reasons  map[string][]string
	accounts map[string]bool
}

func (h *harness) env() []string {
	env := []string{"AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing", "AWS_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "HOME=" + h.dir, "PATH=" + os.Getenv("PATH")}
	return env
}

// audit runs the pitrguard binary and measures it with the proxy's counters
// and the process's resource usage.
func (h *harness) audit(ctx context.Context, name string, args ...string) (*Run, error) {
	out := filepath.Join(h.dir, name+".json")
	full := append([]string{"audit"}, args...)
	full = append(full, "--endpoint-url", h.proxy.URL, "--format", "json", "--output", out, "--db", filepath.Join(h.dir, name+".db"), "--quiet")
	h.proxy.Counts(true)
	cmd := exec.CommandContext(ctx, h.bin, full...)
	statsFile := filepath.Join(h.dir, name+".stats.json")
	cmd.Env = append(h.env(), "PITRGUARD_STATS_FILE="+statsFile)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	r := &Run{Name: name, Args: args, WallSeconds: round(wall.Seconds(), 2)}
	if cmd.ProcessState != nil {
		r.ExitCode = cmd.ProcessState.ExitCode()
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			r.CPUSeconds = round(time.Duration(ru.Utime.Nano()+ru.Stime.Nano()).Seconds(), 2)
		}
	}
	// Peak RSS comes from pitrguard's own VmHWM: the child's ru_maxrss would
	// include this harness's RSS, which Linux carries across vfork+exec.
	var st struct {
		VmHWMKB int64 `json:"vm_hwm_kb"`
	}
	if data, err := os.ReadFile(statsFile); err == nil && json.Unmarshal(data, &st) == nil {
		r.PeakRSSMB = round(float64(st.VmHWMKB)/1024, 1)
	}
	if err != nil && r.ExitCode != 1 {
		return nil, fmt.Errorf("%s: pitrguard %s: %v\n%s", name, strings.Join(full, " "), err, stderr.String())
	}
	throttled := h.proxy.Throttled()
	counts := h.proxy.Counts(false)
	data, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("%s: no report: %v\n%s", name, err, stderr.String())
	}
	var a report.Audit
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("%s: bad report: %v", name, err)
	}
	r.Tables = len(a.Tables)
	r.ScanErrors = len(a.Errors)
	r.CoverageComplete = a.Summary.CoverageComplete
	r.UnknownByReason = map[string]int{}
	r.verdicts, r.reasons, r.accounts = map[string]string{}, map[string][]string{}, map[string]bool{}
	for _, t := range a.Tables {
		key := t.Account + "/" + t.Region + "/" + t.Name
		r.verdicts[key] = string(t.Verdict)
		r.accounts[t.Account] = true
		for _, re := range t.Reasons {
			r.reasons[key] = append(r.reasons[key], string(re))
		}
		if t.Verdict == "UNKNOWN" {
			r.Unknown++
			for _, re := range t.Reasons {
				r.UnknownByReason[string(re)]++
			}
		}
	}
	r.Calls = map[string]int{}
	dcb := map[string]int{}
	lists := map[string]int{}
	for k, n := range counts {
		r.Calls[k.Op] += n
		r.CallsTotal += n
		switch k.Op {
		case "DescribeContinuousBackups":
			dcb[k.Account+"/"+k.Region] += n
		case "ListTables":
			lists[k.Account+"/"+k.Region] += n
		}
	}
	for _, n := range throttled {
		r.Throttles += n
	}
	if r.CallsTotal > 0 {
		r.ThrottlePct = round(100*float64(r.Throttles)/float64(r.CallsTotal), 2)
	}
	// The floor: DescribeContinuousBackups is limited to 10/s per
	// account-region, so the busiest account-region takes calls/10 seconds,
	// after one ListTables page chain.
	worst := 0.0
	for ar, n := range dcb {
		f := float64(n)/10 + float64(lists[ar])*h.latency.Seconds()
		if f > worst {
			worst = f
		}
	}
	r.FloorSeconds = round(worst, 2)
	if worst > 0 {
		r.WallOverFloor = round(wall.Seconds()/worst, 3)
	}
	if r.Tables > 0 {
		r.CallsPerTable = round(float64(r.CallsTotal)/float64(r.Tables), 3)
		r.CallsPerTableByOp = map[string]float64{}
		for op, n := range r.Calls {
			r.CallsPerTableByOp[op] = round(float64(n)/float64(r.Tables), 3)
		}
	}
	return r, nil
}

// FaultCheck compares the fault run's verdicts with the clean run's.
type FaultCheck struct {
	TablesCompared       int      `json:"tables_compared"`
	Same                 int      `json:"same_verdict"`
	UnknownWithReason    int      `json:"unknown_with_reason"`
	Wrong                int      `json:"wrong_verdict"`
	WrongExamples        []string `json:"wrong_examples"`
	Missing              int      `json:"missing_from_reachable_accounts"`
	DeniedAccount        string   `json:"denied_account"`
	DeniedAccountInError bool     `json:"denied_account_listed_in_errors"`
	DeniedAccountTables  int      `json:"denied_account_tables_reported"`
}

func compareVerdicts(base, faults *Run, denied string) *FaultCheck {
	fc := &FaultCheck{DeniedAccount: denied, WrongExamples: []string{}}
	for key, v := range base.verdicts {
		if strings.HasPrefix(key, denied+"/") {
			continue
		}
		got, ok := faults.verdicts[key]
		if !ok {
			fc.Missing++
			continue
		}
		fc.TablesCompared++
		switch {
		case got == v:
			fc.Same++
		case got == "UNKNOWN" && len(faults.reasons[key]) > 0:
			fc.UnknownWithReason++
		default:
			fc.Wrong++
			if len(fc.WrongExamples) < 5 {
				fc.WrongExamples = append(fc.WrongExamples, fmt.Sprintf("%s: %s, was %s", key, got, v))
			}
		}
	}
	for key := range faults.verdicts {
		if strings.HasPrefix(key, denied+"/") {
			fc.DeniedAccountTables++
		}
	}
	fc.DeniedAccountInError = faults.ScanErrors > 0 && !faults.CoverageComplete
	return fc
}

// awsCLI times the loop a user would write with the AWS CLI on one
// account-region: list-tables, then describe-continuous-backups per table.
func (h *harness) awsCLI(ctx context.Context, account, region string) (*Run, error) {
	aws, err := exec.LookPath("aws")
	if err != nil {
		if os.Geteuid() != 0 {
			return nil, fmt.Errorf("the aws CLI is not installed (apt-get install awscli)")
		}
		if out, err := exec.CommandContext(ctx, "sh", "-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq awscli").CombinedOutput(); err != nil {
			return nil, fmt.Errorf("install awscli from Debian packages: %v\n%s", err, out)
		}
		if aws, err = exec.LookPath("aws"); err != nil {
			return nil, err
		}
	}
	// The member account's credentials, through the proxy (so it counts the
	// calls against that account), exported the way a script would.
	creds, err := testaws.NewSeeder(h.proxy.URL).Config(ctx, account, region).Credentials.Retrieve(ctx)
	if err != nil {
		return nil, err
	}
	env := append(h.env(), "AWS_ACCESS_KEY_ID="+creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+creds.SecretAccessKey,
		"AWS_SESSION_TOKEN="+creds.SessionToken, "AWS_DEFAULT_REGION="+region, "AWS_PAGER=")
	call := func(args ...string) ([]byte, error) {
		cmd := exec.CommandContext(ctx, aws, append(args, "--endpoint-url", h.proxy.URL, "--region", region, "--output", "json")...)
		cmd.Env = env
		return cmd.Output()
	}
	h.proxy.Counts(true)
	start := time.Now()
	out, err := call("dynamodb", "list-tables")
	if err != nil {
		return nil, fmt.Errorf("aws dynamodb list-tables: %v", err)
	}
	var lt struct{ TableNames []string }
	if err := json.Unmarshal(out, &lt); err != nil {
		return nil, err
	}
	sort.Strings(lt.TableNames)
	for _, t := range lt.TableNames {
		if _, err := call("dynamodb", "describe-continuous-backups", "--table-name", t); err != nil {
			return nil, fmt.Errorf("aws dynamodb describe-continuous-backups %s: %v", t, err)
		}
	}
	wall := time.Since(start).Seconds()
	r := &Run{Name: "aws-cli-loop", Args: []string{"list-tables", "describe-continuous-backups × " + fmt.Sprint(len(lt.TableNames))},
		Tables: len(lt.TableNames), WallSeconds: round(wall, 2), Extrapolated: true, Calls: map[string]int{}}
	for k, n := range h.proxy.Counts(false) {
		r.Calls[k.Op] += n
		r.CallsTotal += n
	}
	r.CallsPerTable = round(float64(r.CallsTotal)/float64(max(r.Tables, 1)), 3)
	r.Note = fmt.Sprintf("one account-region (%d tables), one process per call; wall extrapolated per table to %d tables; reads PITR status only (no size, tags or deletion protection)", r.Tables, h.estate.Tables())
	return r, nil
}

func round(f float64, places int) float64 {
	p := 1.0
	for range places {
		p *= 10
	}
	return float64(int64(f*p+0.5)) / p
}
