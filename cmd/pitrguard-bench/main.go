// Command pitrguard-bench measures pitrguard's audit at scale against an AWS
// emulation: moto_server seeded with an organization of thousands of tables,
// behind a proxy that adds a fixed latency per call and enforces AWS's
// documented rate limits with token buckets (answering ThrottlingException
// beyond them). It compares pitrguard's defaults, --concurrency 1 and the AWS
// CLI loop a user would write, checks fault tolerance, and writes the results
// to bench/results as markdown and JSON. `make bench` runs it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/pitrguard/pitrguard/internal/testaws"
)

type options struct {
	quick    bool
	reuse    bool
	latency  time.Duration
	out      string
	cache    string
	skipCLI  bool
	seqAccts int
	seedOnly bool
	runs     string
	only     string
	events   int
}

func main() {
	var o options
	flag.BoolVar(&o.quick, "quick", false, "a small estate (a smoke test of the harness, not a measurement)")
	flag.BoolVar(&o.reuse, "reuse", false, "reuse the emulator seeded by an earlier run with --reuse (and leave it running)")
	flag.DurationVar(&o.latency, "latency", 20*time.Millisecond, "latency the proxy adds to every call (a real round trip)")
	flag.StringVar(&o.out, "out", "bench/results", "directory for the results")
	flag.StringVar(&o.cache, "cache", "bench/cache/moto.json", "where --reuse remembers the seeded emulator")
	flag.BoolVar(&o.skipCLI, "skip-cli", false, "skip the AWS CLI comparison")
	flag.IntVar(&o.seqAccts, "sequential-accounts", 6, "member accounts the --concurrency 1 run covers (extrapolated per table)")
	flag.StringVar(&o.runs, "runs", "default,concurrency-1,default-org,source-config,faults,sharded,aws-cli-loop,events,memory,sharded-generated", "runs to do, comma-separated (source-config needs default-org; also: backup-org, AWS Backup required of critical tables)")
	flag.StringVar(&o.only, "only", "", "run only these parts, without the moto audit estate: events (on a fresh moto; writes bench/results/events.{md,json}), "+
		"memory and/or sharded-generated (generated facts, no moto; writes bench/results/<parts>.{md,json})")
	flag.IntVar(&o.events, "events", 1000, "CreateTable events the events run handles")
	flag.BoolVar(&o.seedOnly, "seed-only", false, "seed (or reuse) the emulator, print its URL and exit, leaving it running (implies --reuse)")
	flag.Parse()
	if o.seedOnly {
		o.reuse = true
	}
	if o.only != "" && o.only != "events" && !generatedOnly(o.only) {
		fmt.Fprintf(os.Stderr, "bench: --only %q: the parts that run alone are events, or memory and sharded-generated (comma-separated)\n", o.only)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if generatedOnly(o.only) {
		res, err := runGenerated(ctx, o, os.Stderr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		md := res.Markdown()
		fmt.Println(md)
		if !o.quick {
			if err := res.SaveAs(o.out, strings.ReplaceAll(o.only, ",", "+"), md); err != nil {
				fmt.Fprintln(os.Stderr, "bench:", err)
				os.Exit(1)
			}
		}
		return
	}
	if o.only == "events" {
		res, err := runEventsOnly(ctx, o, os.Stderr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		fmt.Println(res.Events.Markdown(res.LatencyMS))
		if !o.quick {
			if err := saveEvents(o.out, res.Events, res.Machine, res.LatencyMS, res.StartedAt); err != nil {
				fmt.Fprintln(os.Stderr, "bench:", err)
				os.Exit(1)
			}
		}
		return
	}
	res, err := run(ctx, o, os.Stderr)
	if errors.Is(err, errSeedOnly) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	md := res.Markdown()
	fmt.Println(md)
	if o.quick {
		return
	}
	if err := res.Save(o.out, md); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if res.Events != nil {
		if err := saveEvents(o.out, res.Events, res.Machine, res.LatencyMS, res.StartedAt); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
}

// runEventsOnly runs the events part alone on a fresh emulator: the audit
// estate is not seeded.
func runEventsOnly(ctx context.Context, o options, log *os.File) (*Results, error) {
	res := &Results{Machine: machine(), LatencyMS: float64(o.latency) / float64(time.Millisecond), StartedAt: time.Now().UTC()}
	dir, bin, logf, err := setUp(ctx, log)
	defer os.RemoveAll(dir)
	if err != nil {
		return nil, err
	}
	m, err := testaws.StartMoto(ctx)
	if err != nil {
		return nil, err
	}
	defer m.Stop()
	proxy, err := newBenchProxy(m.URL, o.latency)
	if err != nil {
		return nil, err
	}
	defer proxy.Close()
	h := &harness{bin: bin, dir: dir, proxy: proxy, latency: o.latency}
	if res.Events, err = h.events(ctx, m.URL, o.events, logf); err != nil {
		return nil, err
	}
	res.FinishedAt = time.Now().UTC()
	return res, nil
}

// generatedParts run on generated facts, without moto.
var generatedParts = []string{"memory", "sharded-generated"}

func generatedOnly(only string) bool {
	if only == "" {
		return false
	}
	for _, p := range strings.Split(only, ",") {
		if !slices.Contains(generatedParts, p) {
			return false
		}
	}
	return true
}

// setUp makes the benchmark's temporary directory (the caller removes it,
// also on error) and builds the binary under test into it.
func setUp(ctx context.Context, log *os.File) (dir, bin string, logf func(string, ...any), err error) {
	logf = func(format string, args ...any) { fmt.Fprintf(log, format+"\n", args...) }
	if dir, err = os.MkdirTemp("", "pitrguard-bench-"); err != nil {
		return "", "", logf, err
	}
	logf("Building pitrguard ...")
	bin = filepath.Join(dir, "pitrguard")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/pitrguard").CombinedOutput(); err != nil {
		return dir, "", logf, fmt.Errorf("go build: %v\n%s", err, out)
	}
	return dir, bin, logf, nil
}

// runGenerated runs only the generated-facts parts (--only memory,...).
func runGenerated(ctx context.Context, o options, log *os.File) (*Results, error) {
	res := &Results{Machine: machine(), Estate: estateFor(o.quick), LatencyMS: float64(o.latency) / float64(time.Millisecond), StartedAt: time.Now().UTC()}
	dir, bin, logf, err := setUp(ctx, log)
	defer os.RemoveAll(dir)
	if err != nil {
		return nil, err
	}
	h := &harness{bin: bin, dir: dir, estate: res.Estate, latency: o.latency}
	if err := h.generatedRuns(ctx, o, strings.Split(o.only, ","), res, logf); err != nil {
		return nil, err
	}
	res.FinishedAt = time.Now().UTC()
	res.evaluate()
	return res, nil
}

// generatedRuns adds the generated-facts runs named in parts to res.
func (h *harness) generatedRuns(ctx context.Context, o options, parts []string, res *Results, logf func(string, ...any)) error {
	if slices.Contains(parts, "memory") {
		runs, err := h.memory(ctx, o.quick, logf)
		res.Runs = append(res.Runs, runs...)
		if err != nil {
			return err
		}
	}
	if slices.Contains(parts, "sharded-generated") {
		return h.withGenerated(estateFor(o.quick), func(gh *harness, g *genFake) error {
			runs, err := gh.shardRuns(ctx, "gen-", g.members[:gh.estate.Members], logf)
			res.Runs = append(res.Runs, runs...)
			return err
		})
	}
	return nil
}

// newBenchProxy is the emulation proxy: a fixed latency per call and AWS's
// documented limits (DynamoDB API model) as token buckets whose burst equals
// one second's worth of tokens.
func newBenchProxy(target string, latency time.Duration) (*testaws.Proxy, error) {
	proxy, err := testaws.NewProxy(target)
	if err != nil {
		return nil, err
	}
	proxy.Record = false
	proxy.Latency = latency
	proxy.Limits = map[string]testaws.LimitRule{
		"DescribeContinuousBackups": {PerSecond: 10, Burst: 10},
		"ListTagsOfResource":        {PerSecond: 10, Burst: 10, PerAccount: true},
	}
	return proxy, nil
}

var errSeedOnly = errors.New("seed only")

func estateFor(quick bool) Estate {
	if quick {
		return Estate{Members: 3, PerRegion: 4, Hot: 30, ExtraMembers: 3, ExtraPerRegion: 6, Regions: []string{"us-east-1", "eu-west-1", "us-west-2"}}
	}
	return Estate{Members: 40, PerRegion: 25, Hot: 400, ExtraMembers: 80, ExtraPerRegion: 27, Regions: []string{"us-east-1", "eu-west-1", "us-west-2"}}
}

func run(ctx context.Context, o options, log *os.File) (*Results, error) {
	e := estateFor(o.quick)
	res := &Results{Machine: machine(), Estate: e, LatencyMS: float64(o.latency) / float64(time.Millisecond), StartedAt: time.Now().UTC()}
	dir, bin, logf, err := setUp(ctx, log)
	defer os.RemoveAll(dir)
	if err != nil {
		return nil, err
	}

	var sd *Seeded
	if o.reuse {
		sd = reuse(ctx, o.cache, e)
	}
	if sd == nil {
		logf("Starting moto_server and seeding %d tables in %d accounts (%d for the main estate) ...", e.AllTables(), 1+e.Members+e.ExtraMembers, e.Tables())
		m, err := testaws.StartMoto(ctx)
		if err != nil {
			return nil, err
		}
		if !o.reuse {
			defer m.Stop()
		}
		t0 := time.Now()
		members, extra, err := seed(ctx, m.URL, e)
		if err != nil {
			return nil, fmt.Errorf("seed: %w", err)
		}
		res.SeedSeconds = time.Since(t0).Seconds()
		sd = &Seeded{URL: m.URL, Pid: m.Pid(), Estate: e, Members: members, Extra: extra}
		if o.reuse {
			if err := saveCache(o.cache, sd); err != nil {
				return nil, err
			}
		}
		logf("Seeded in %.1fs.", res.SeedSeconds)
	} else {
		logf("Reusing the emulator at %s (seeded earlier).", sd.URL)
		res.Reused = true
	}

	if o.seedOnly {
		logf("Emulator: %s (members %s ...)", sd.URL, strings.Join(sd.Members[:min(3, len(sd.Members))], ","))
		return nil, errSeedOnly
	}
	t0 := time.Now()
	if err := warm(ctx, sd.URL, e, append(append([]string{}, sd.Members...), sd.Extra...)); err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}
	res.WarmSeconds = time.Since(t0).Seconds()
	logf("Warmed moto's tagging backends in %.1fs.", res.WarmSeconds)
	want := func(name string) bool { return slices.Contains(strings.Split(o.runs, ","), name) }

	proxy, err := newBenchProxy(sd.URL, o.latency)
	if err != nil {
		return nil, err
	}
	defer proxy.Close()
	h := &harness{bin: bin, dir: dir, proxy: proxy, estate: e, latency: o.latency, emulator: "moto", emuPid: sd.Pid}
	regions := strings.Join(e.Regions, ",")
	mainAccounts := strings.Join(sd.Members, ",")

	var base *Run
	if want("default") || want("faults") {
		logf("Run: pitrguard audit, default settings, %d tables ...", e.Tables())
		if base, err = h.audit(ctx, "default", "--accounts", mainAccounts, "--regions", regions); err != nil {
			return nil, err
		}
		res.Runs = append(res.Runs, base)
	}

	if want("concurrency-1") {
		seqAccts := sd.Members[:min(o.seqAccts, len(sd.Members))]
		logf("Run: --concurrency 1 on %d member accounts (extrapolated per table) ...", len(seqAccts))
		seq, err := h.audit(ctx, "concurrency-1", "--accounts", strings.Join(seqAccts, ","), "--regions", regions, "--concurrency", "1")
		if err != nil {
			return nil, err
		}
		seq.Extrapolated = true
		seq.Note = fmt.Sprintf("measured on %d tables (%d member accounts plus the caller's own account, which holds the hot account-region); wall extrapolated per table to %d tables — every account-region is paced at the same 10 tables/s, so time is linear in tables", seq.Tables, len(seqAccts), e.Tables())
		res.Runs = append(res.Runs, seq)
	}

	if want("default-org") {
		logf("Run: pitrguard audit --org, default settings, %d tables ...", e.AllTables())
		all, err := h.audit(ctx, "default-org", "--org", "--regions", regions)
		if err != nil {
			return nil, err
		}
		res.Runs = append(res.Runs, all)
	}

	if want("source-config") {
		if all := res.run("default-org"); all == nil {
			logf("Run: source-config skipped: it needs the default-org run (its estate and verdicts)")
		} else {
			runs, err := h.configRuns(ctx, all, logf)
			if err != nil {
				return nil, err
			}
			res.Runs = append(res.Runs, runs...)
		}
	}
	if all := res.run("default-org"); all != nil {
		all.report = nil
	}
	if want("backup-org") { // not in the default runs: issue 12's AWS Backup reads
		logf("Run: pitrguard audit --org with AWS Backup required of critical tables, %d tables ...", e.AllTables())
		bk, err := h.backupOrg(ctx, sd)
		if err != nil {
			return nil, err
		}
		res.Runs = append(res.Runs, bk)
	}

	if want("faults") {
		logf("Run: faults — 5%% of calls answered 500 or dropped, one member role cannot be assumed ...")
		proxy.RandomFaultRate = 0.05
		proxy.Add(&testaws.Rule{Op: "AssumeRole", Account: sd.Members[len(sd.Members)-1], Fault: testaws.FaultAccessDenied})
		faults, err := h.audit(ctx, "faults", "--accounts", mainAccounts, "--regions", regions, "--allow-partial")
		if err != nil {
			return nil, err
		}
		proxy.RandomFaultRate = 0
		proxy.Clear()
		faults.Fault = compareVerdicts(base, faults, sd.Members[len(sd.Members)-1])
		res.Runs = append(res.Runs, faults)
	}

	if want("sharded") {
		runs, err := h.shardRuns(ctx, "", sd.Members, logf)
		if err != nil {
			return nil, err
		}
		res.Runs = append(res.Runs, runs...)
	}

	if !o.skipCLI && want("aws-cli-loop") {
		logf("Run: the AWS CLI loop (list-tables, then describe-continuous-backups per table) on one account-region ...")
		cli, err := h.awsCLI(ctx, sd.Members[0], e.Regions[len(e.Regions)-1])
		if err != nil {
			res.CLIError = err.Error()
			logf("AWS CLI comparison skipped: %v", err)
		} else {
			res.Runs = append(res.Runs, cli)
		}
	}
	if want("events") {
		proxy.RandomFaultRate = 0
		proxy.Clear()
		if res.Events, err = h.events(ctx, sd.URL, o.events, logf); err != nil {
			return nil, err
		}
	}
	var parts []string
	for _, p := range generatedParts {
		if want(p) {
			parts = append(parts, p)
		}
	}
	if err := h.generatedRuns(ctx, o, parts, res, logf); err != nil {
		return nil, err
	}
	res.FinishedAt = time.Now().UTC()
	res.evaluate()
	return res, nil
}

func machine() Machine {
	m := Machine{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, CPUs: runtime.NumCPU(), Go: runtime.Version()}
	m.Host, _ = os.Hostname()
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		fmt.Sscanf(strings.SplitN(string(data), "\n", 2)[0], "MemTotal: %d kB", &kb)
		m.MemoryGiB = float64(kb) / (1 << 20)
	}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(l, "model name") {
				m.CPUModel = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	// moto_server has no --version; ask the Python next to it.
	if bin, err := exec.LookPath("moto_server"); err == nil {
		py := "python3"
		if out, err := exec.Command("head", "-1", bin).Output(); err == nil && strings.HasPrefix(string(out), "#!") && !strings.Contains(string(out), "bash") {
			py = strings.TrimSpace(strings.TrimPrefix(string(out), "#!"))
		}
		if out, err := exec.Command(py, "-c", "import moto; print(moto.__version__)").Output(); err == nil {
			m.Moto = "moto " + strings.TrimSpace(string(out))
		}
	}
	return m
}

// Save writes the results as markdown and JSON, dated, and as latest.*.
func (r *Results) Save(dir, md string) error {
	return r.SaveAs(dir, "latest", md)
}

// SaveAs writes the results as markdown and JSON, dated, and as name.*.
func (r *Results) SaveAs(dir, name, md string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	stamp := r.StartedAt.Format("2006-01-02T150405Z")
	js, _ := json.MarshalIndent(r, "", "  ")
	for _, n := range []string{stamp, name} {
		if err := os.WriteFile(filepath.Join(dir, n+".md"), []byte(md+"\n"), 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, n+".json"), append(js, '\n'), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "Wrote %s/%s.{md,json} and %s/%s.{md,json}\n", dir, stamp, dir, name)
	return nil
}
