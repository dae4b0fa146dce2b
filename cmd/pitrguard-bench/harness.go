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
	"strconv"
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
	// emulator names what answers behind the proxy (moto, or generated
	// facts); emuPid is moto_server's process, whose CPU each run reports.
	emulator string
	emuPid   int
}

// Run is one measured run.
type Run struct {
	Name              string             `json:"name"`
	Emulator          string             `json:"emulator,omitempty"`
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
	// SpillPeakMB is the most $TMPDIR space the audit's spill used at once.
	SpillPeakMB float64 `json:"spill_peak_mb,omitempty"`
	// EmulatorCPUSeconds is moto_server's CPU time during the run (one
	// Python process: near WallSeconds means it was saturated).
	EmulatorCPUSeconds float64 `json:"emulator_cpu_seconds,omitempty"`
	// Load is the machine's load average (1, 5, 15 min) when the run ended.
	Load             string       `json:"load_avg"`
	ExitCode         int          `json:"exit_code"`
	ScanErrors       int          `json:"scan_errors"`
	CoverageComplete bool         `json:"coverage_complete"`
	Extrapolated     bool         `json:"extrapolated"`
	ExtrapolatedWall float64      `json:"extrapolated_wall_seconds,omitempty"`
	Note             string       `json:"note,omitempty"`
	Fault            *FaultCheck  `json:"fault_check,omitempty"`
	Shard            *ShardCheck  `json:"shard_check,omitempty"`
	Config           *ConfigCheck `json:"config_check,omitempty"`

	verdicts map[string]string
	reasons  map[string][]string
	accounts map[string]bool
	report   *report.Audit
}

func (h *harness) env() []string {
	env := []string{"AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing", "AWS_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "HOME=" + h.dir, "PATH=" + os.Getenv("PATH"),
		"TMPDIR=" + h.dir}
	return env
}

// proc is one pitrguard process of a measured run.
type proc struct {
	name, out, stats string
	full             []string
	cmd              *exec.Cmd
	stderr           bytes.Buffer
	start            time.Time
	wall             time.Duration
	err              error
}

// start runs `pitrguard audit ARGS` against the proxy with a JSON report,
// its own history database and a stats file for its peak RSS.
func (h *harness) start(ctx context.Context, name string, args ...string) (*proc, error) {
	p := &proc{name: name, out: filepath.Join(h.dir, name+".json"), stats: filepath.Join(h.dir, name+".stats.json")}
	p.full = append(append([]string{"audit"}, args...), "--endpoint-url", h.proxy.URL, "--format", "json", "--output", p.out,
		"--db", filepath.Join(h.dir, name+".db"), "--quiet")
	p.cmd = exec.CommandContext(ctx, h.bin, p.full...)
	p.cmd.Env = append(h.env(), "PITRGUARD_STATS_FILE="+p.stats)
	p.cmd.Stderr = &p.stderr
	p.start = time.Now()
	return p, p.cmd.Start()
}

func (p *proc) wait() {
	p.err = p.cmd.Wait()
	p.wall = time.Since(p.start)
}

// audit runs the pitrguard binary and measures it with the proxy's counters
// and the process's resource usage.
func (h *harness) audit(ctx context.Context, name string, args ...string) (*Run, error) {
	h.proxy.Counts(true)
	cpu0 := cpuSeconds(h.emuPid)
	p, err := h.start(ctx, name, args...)
	if err != nil {
		return nil, err
	}
	p.wait()
	r, err := h.result(p, args)
	if err != nil {
		return nil, err
	}
	h.measure(r, p.wall, cpu0)
	return r, nil
}

// result reads one process's report and resource usage into a Run.
func (h *harness) result(p *proc, args []string) (*Run, error) {
	r := &Run{Name: p.name, Emulator: h.emulator, Args: args, WallSeconds: round(p.wall.Seconds(), 2)}
	if ps := p.cmd.ProcessState; ps != nil {
		r.ExitCode = ps.ExitCode()
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			r.CPUSeconds = round(time.Duration(ru.Utime.Nano()+ru.Stime.Nano()).Seconds(), 2)
		}
	}
	// Peak RSS comes from pitrguard's own VmHWM: the child's ru_maxrss would
	// include this harness's RSS, which Linux carries across vfork+exec.
	var st struct {
		VmHWMKB        int64 `json:"vm_hwm_kb"`
		SpillPeakBytes int64 `json:"spill_peak_bytes"`
	}
	if data, err := os.ReadFile(p.stats); err == nil && json.Unmarshal(data, &st) == nil {
		r.PeakRSSMB = round(float64(st.VmHWMKB)/1024, 1)
		r.SpillPeakMB = round(float64(st.SpillPeakBytes)/(1<<20), 1)
	}
	if p.err != nil && r.ExitCode != 1 {
		return nil, fmt.Errorf("%s: pitrguard %s: %v\n%s", p.name, strings.Join(p.full, " "), p.err, p.stderr.String())
	}
	data, err := os.ReadFile(p.out)
	if err != nil {
		return nil, fmt.Errorf("%s: no report: %v\n%s", p.name, err, p.stderr.String())
	}
	var a report.Audit
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("%s: bad report: %v", p.name, err)
	}
	r.report = &a
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
	return r, nil
}

// measure adds the proxy's counts since the last reset, the floor, the
// emulator's CPU since cpu0 and the machine's load to r.
func (h *harness) measure(r *Run, wall time.Duration, cpu0 float64) {
	throttled := h.proxy.Throttled()
	counts := h.proxy.Counts(false)
	if h.emuPid != 0 {
		r.EmulatorCPUSeconds = round(cpuSeconds(h.emuPid)-cpu0, 2)
	}
	r.Load = loadAvg()
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
}

// cpuSeconds is a process's user+system CPU time (0 for pid 0 or when it
// cannot be read).
func cpuSeconds(pid int) float64 {
	if pid == 0 {
		return 0
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may contain spaces) in parentheses.
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ is 100 on Linux
}

// loadAvg is the machine's load average, "1m 5m 15m".
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
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
