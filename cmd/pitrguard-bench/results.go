package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Machine describes where the benchmark ran.
type Machine struct {
	Host      string  `json:"host"`
	GOOS      string  `json:"goos"`
	GOARCH    string  `json:"goarch"`
	CPUs      int     `json:"cpus"`
	CPUModel  string  `json:"cpu_model"`
	MemoryGiB float64 `json:"memory_gib"`
	Go        string  `json:"go"`
	Moto      string  `json:"moto"`
}

// Target is one of the targets and whether it was met.
type Target struct {
	Name     string `json:"name"`
	Measured string `json:"measured"`
	Met      bool   `json:"met"`
	Why      string `json:"why,omitempty"`
}

// Results is the whole benchmark.
type Results struct {
	Machine     Machine    `json:"machine"`
	Estate      Estate     `json:"estate"`
	LatencyMS   float64    `json:"latency_ms"`
	StartedAt   time.Time  `json:"started_at"`
	FinishedAt  time.Time  `json:"finished_at"`
	SeedSeconds float64    `json:"seed_seconds"`
	WarmSeconds float64    `json:"warm_seconds"`
	Reused      bool       `json:"reused_seed"`
	Runs        []*Run     `json:"runs"`
	Targets     []Target   `json:"targets"`
	CLIError    string     `json:"aws_cli_error,omitempty"`
	Events      *EventsRun `json:"events,omitempty"`
}

func (r *Results) run(name string) *Run {
	for _, x := range r.Runs {
		if x.Name == name {
			return x
		}
	}
	return nil
}

func (r *Results) add(name, measured string, met bool, why string) {
	r.Targets = append(r.Targets, Target{Name: name, Measured: measured, Met: met, Why: why})
}

// evaluate extrapolates the partial runs and checks the targets.
func (r *Results) evaluate() {
	r.auditTargets()
	r.memoryTargets()
	r.shardTargets()
	r.configTargets()
}

// auditTargets are the targets of the moto audit runs.
func (r *Results) auditTargets() {
	base, seq, all, faults, cli := r.run("default"), r.run("concurrency-1"), r.run("default-org"), r.run("faults"), r.run("aws-cli-loop")
	for _, x := range []*Run{seq, cli} {
		if x != nil && x.Tables > 0 {
			x.ExtrapolatedWall = round(x.WallSeconds/float64(x.Tables)*float64(r.Estate.Tables()), 1)
		}
	}
	if base == nil {
		return
	}
	add := r.add
	add("wall time ≤ 1.2 × floor", fmt.Sprintf("%.2fs / %.2fs = %.3f×", base.WallSeconds, base.FloorSeconds, base.WallOverFloor), base.WallOverFloor <= 1.2, "")

	perTarget := 0.0
	if n := len(r.Estate.Regions) * (1 + r.Estate.Members); n > 0 {
		perTarget = float64(base.Calls["ListTables"]+base.Calls["GetResources"]) / float64(base.Tables)
	}
	add("≤ 2.05 AWS calls per table", fmt.Sprintf("%.3f (DescribeTable %.3f, DescribeContinuousBackups %.3f, ListTables+GetResources %.3f)",
		base.CallsPerTable, base.CallsPerTableByOp["DescribeTable"], base.CallsPerTableByOp["DescribeContinuousBackups"], perTarget),
		base.CallsPerTable <= 2.05,
		fmt.Sprintf("each table needs one DescribeTable (status, size, deletion protection) and one DescribeContinuousBackups (PITR): 2.0; each account-region adds at least one ListTables and one tagging-API page, and with %d tables per member account-region that alone is 2/%d = %.3f per table",
			r.Estate.PerRegion, r.Estate.PerRegion, 2/float64(r.Estate.PerRegion)))

	unk := 0
	for _, x := range []*Run{base, all} {
		if x != nil {
			unk += x.UnknownByReason["throttled"]
		}
	}
	add("0 tables UNKNOWN because of throttling", fmt.Sprintf("%d", unk), unk == 0, "")
	maxPct := base.ThrottlePct
	if all != nil && all.ThrottlePct > maxPct {
		maxPct = all.ThrottlePct
	}
	add("throttles ≤ 2% of calls", fmt.Sprintf("%.2f%% (default run: %d of %d calls)", maxPct, base.Throttles, base.CallsTotal), maxPct <= 2, "")
	if all != nil {
		rssRatio := all.PeakRSSMB / base.PeakRSSMB
		tableRatio := float64(all.Tables) / float64(base.Tables)
		add("peak RSS ≤ 150 MB", fmt.Sprintf("%.1f MB (%d tables), %.1f MB (%d tables)", base.PeakRSSMB, base.Tables, all.PeakRSSMB, all.Tables),
			base.PeakRSSMB <= 150 && all.PeakRSSMB <= 150, "")
		add("RSS grows sub-linearly", fmt.Sprintf("×%.2f RSS for ×%.2f tables", rssRatio, tableRatio), rssRatio < tableRatio, "")
	}
	if seq != nil {
		speed := seq.ExtrapolatedWall / base.WallSeconds
		add("≥ 20× faster than --concurrency 1", fmt.Sprintf("%.1f× (%.1fs extrapolated vs %.1fs)", speed, seq.ExtrapolatedWall, base.WallSeconds), speed >= 20,
			fmt.Sprintf("--concurrency 1 still paces DescribeContinuousBackups at 10/s per account-region, so it takes about %d tables ÷ 10/s = %.0fs, while the floor of the parallel run is the hot account-region's %d tables ÷ 10/s = %.0fs: the best possible ratio on this estate is %.1f×",
				r.Estate.Tables(), float64(r.Estate.Tables())/10, r.Estate.Hot, float64(r.Estate.Hot)/10, float64(r.Estate.Tables())/float64(r.Estate.Hot)))
	}
	if faults != nil && faults.Fault != nil {
		f := faults.Fault
		add("faults: no wrong verdict, no crash", fmt.Sprintf("%d compared: %d same, %d UNKNOWN with a reason, %d wrong, %d missing; exit %d",
			f.TablesCompared, f.Same, f.UnknownWithReason, f.Wrong, f.Missing, faults.ExitCode), f.Wrong == 0 && f.Missing == 0 && faults.ExitCode == 0, "")
		add("faults: unassumable account listed, others unaffected", fmt.Sprintf("listed in errors: %v, its tables reported: %d, coverage_complete: %v",
			f.DeniedAccountInError, f.DeniedAccountTables, faults.CoverageComplete), f.DeniedAccountInError && f.DeniedAccountTables == 0 && f.Missing == 0, "")
	}
	if cli != nil {
		add("(context) AWS CLI loop", fmt.Sprintf("%.2fs for %d tables → %.0fs extrapolated to %d tables (%.0f× pitrguard's wall)", cli.WallSeconds, cli.Tables,
			cli.ExtrapolatedWall, r.Estate.Tables(), cli.ExtrapolatedWall/base.WallSeconds), true, "")
	}
}

// runsWhere are the runs keep returns true for, in order.
func (r *Results) runsWhere(keep func(*Run) bool) []*Run {
	var out []*Run
	for _, x := range r.Runs {
		if keep(x) {
			out = append(out, x)
		}
	}
	return out
}

// memoryRuns are the generated-facts memory runs.
func (r *Results) memoryRuns() []*Run {
	return r.runsWhere(func(x *Run) bool { return strings.HasPrefix(x.Name, "memory-") })
}

func (r *Results) memoryTargets() {
	runs := r.memoryRuns()
	if len(runs) == 0 {
		return
	}
	var parts []string
	met := true
	for _, x := range runs {
		parts = append(parts, fmt.Sprintf("%.1f MB at %d tables (load %s)", x.PeakRSSMB, x.Tables, x.Load))
		met = met && x.PeakRSSMB > 0 && x.PeakRSSMB <= 150
	}
	r.add(fmt.Sprintf("peak RSS ≤ 150 MB, generated facts, --concurrency %d", memoryConcurrency), strings.Join(parts, "; "), met, "")
}

// shardedRuns are the sharded runs, each with its single-process comparison.
func (r *Results) shardedRuns() []*Run {
	return r.runsWhere(func(x *Run) bool { return x.Shard != nil })
}

func (r *Results) shardTargets() {
	for _, x := range r.shardedRuns() {
		sc := x.Shard
		args := "defaults"
		if len(sc.ShardArgs) > 0 {
			args = strings.Join(sc.ShardArgs, " ") + " per shard"
		}
		measured := fmt.Sprintf("%.2fs / %.2fs = %.3f× (one process: %.3f×); %d tables, %d accounts in two shards, %d verdicts differ, %d missing; load %s",
			x.WallSeconds, x.FloorSeconds, x.WallOverFloor, sc.SingleWallOverFloor, x.Tables, sc.AccountsInTwoShards, sc.VerdictsDiffer, sc.MissingFromShards, x.Load)
		why := ""
		if x.EmulatorCPUSeconds > 0 {
			measured += fmt.Sprintf("; moto CPU %.1fs in %.1fs (%.0f%% of one core)", x.EmulatorCPUSeconds, x.WallSeconds, 100*x.EmulatorCPUSeconds/x.WallSeconds)
			why = "the four processes share one moto_server (one Python process: at most one core of the 2-core VM, shared with the harness, the four pitrguard processes and other work). " +
				"While the three small shards run (their walls above), all four send requests at once, moto's queue grows, and the busiest account-region's calls wait in it long enough to fall below its 10/s pace; " +
				"it is not a shared token bucket (the shards' accounts are disjoint, and each process has its own limiters)"
			if g := r.run("gen-" + x.Name); g != nil {
				why += fmt.Sprintf("; the same four processes against the generated-facts emulator, which costs little CPU, took %.3f× the floor", g.WallOverFloor)
			}
		}
		r.add(fmt.Sprintf("sharded 4 × --shard (%s, %s): wall ≤ 1.1 × floor, same verdicts", x.Emulator, args), measured,
			x.WallOverFloor <= 1.1 && shardsOK(sc), why)
	}
}

// configRuns are the --source config runs.
func (r *Results) configRuns() []*Run {
	return r.runsWhere(func(x *Run) bool { return x.Config != nil })
}

func (r *Results) configTargets() {
	for _, x := range r.configRuns() {
		c := x.Config
		measured := fmt.Sprintf("%.3f calls per table (%d SelectAggregateResourceConfig, %d tables decided by Config, %d read live), %.2fs; live --org: %.3f calls per table, %.2fs; %d of %d verdicts differ; load %s",
			x.CallsPerTable, c.SelectCalls, c.FromConfig, x.Tables-c.FromConfig, x.WallSeconds, c.LiveCallsPerTable, c.LiveWallSeconds, c.VerdictsDiffer, c.TablesCompared, x.Load)
		if x.Name == "source-config-no-window" {
			r.add("--source config: ≤ 0.2 AWS calls per table (policy without a window), verdicts = live", measured, x.CallsPerTable <= 0.2 && c.VerdictsDiffer == 0, "")
		} else {
			r.add("(context) --source config with the default policy, verdicts = live", measured, c.VerdictsDiffer == 0, "")
		}
	}
}

// sectionsMarkdown renders the memory, shard and --source config runs.
func (r *Results) sectionsMarkdown(b *strings.Builder) {
	if runs := r.memoryRuns(); len(runs) > 0 {
		b.WriteString("\n## Memory (generated facts)\n\n")
		b.WriteString("`go run ./cmd/pitrguard-bench --only memory`: a wire fake of STS, Organizations, DynamoDB and the tagging API computes each table from its name (no moto, no seeding), behind the same proxy (latency, limits); pitrguard still assumes roles, lists, reads, evaluates, spills, writes the JSON report and SQLite.\n\n")
		b.WriteString("| run | tables | peak RSS MB | KB/table | spill peak MB (KB/table) | wall s | calls/table | CPU s | load (1/5/15 min) |\n|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
		for _, x := range runs {
			fmt.Fprintf(b, "| %s | %d | %.1f | %.2f | %.1f (%.2f) | %.2f | %.3f | %.2f | %s |\n", x.Name, x.Tables, x.PeakRSSMB, x.PeakRSSMB*1024/float64(max(x.Tables, 1)),
				x.SpillPeakMB, x.SpillPeakMB*1024/float64(max(x.Tables, 1)), x.WallSeconds, x.CallsPerTable, x.CPUSeconds, x.Load)
		}
	}
	if runs := r.shardedRuns(); len(runs) > 0 {
		b.WriteString("\n## Shards: 4 × `--shard k/4` at once vs one process\n\n")
		b.WriteString("| run | emulator | per-shard flags | wall s | floor s | wall ÷ floor | one process ÷ floor | shard walls s | shard tables | shard RSS MB | accounts in 2 shards | verdicts differ | merged KPIs = one process | moto CPU s | load |\n")
		b.WriteString("|---|---|---|---:|---:|---:|---:|---|---|---|---:|---:|---|---:|---|\n")
		for _, x := range runs {
			sc := x.Shard
			fmt.Fprintf(b, "| %s | %s | %s | %.2f | %.2f | %.3f | %.3f | %v | %v | %v | %d | %d | %v | %s | %s |\n", x.Name, x.Emulator, strings.Join(sc.ShardArgs, " "),
				x.WallSeconds, x.FloorSeconds, x.WallOverFloor, sc.SingleWallOverFloor, sc.ShardWalls, sc.ShardTables, sc.ShardRSSMB,
				sc.AccountsInTwoShards, sc.VerdictsDiffer, sc.MergedSummaryEqual, dash(x.EmulatorCPUSeconds), x.Load)
		}
	}
	if runs := r.configRuns(); len(runs) > 0 {
		b.WriteString("\n## `--source config:AGGREGATOR` on the organization\n\n")
		b.WriteString("SelectAggregateResourceConfig is answered by a wire fake holding one item per table of the live `default-org` run (its PITR status and tags, captured 1 h earlier); everything else is moto.\n\n")
		b.WriteString("| run | policy | tables | calls/table | Select calls | decided by Config | read live (why) | wall s | live wall s | live calls/table | verdicts differ | load |\n")
		b.WriteString("|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---|\n")
		for _, x := range runs {
			c := x.Config
			var why []string
			for k, v := range c.ReadLive {
				why = append(why, fmt.Sprintf("%s %d", k, v))
			}
			sort.Strings(why)
			fmt.Fprintf(b, "| %s | %s | %d | %.3f | %d | %d | %s | %.2f | %.2f | %.3f | %d of %d | %s |\n", x.Name, c.Policy, x.Tables, x.CallsPerTable, c.SelectCalls,
				c.FromConfig, strings.Join(why, ", "), x.WallSeconds, c.LiveWallSeconds, c.LiveCallsPerTable, c.VerdictsDiffer, c.TablesCompared, x.Load)
		}
	}
}

// Markdown renders the results.
func (r *Results) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# pitrguard audit benchmark — %s\n\n", r.StartedAt.Format("2006-01-02 15:04 UTC"))
	m := r.Machine
	fmt.Fprintf(&b, "Machine: %s, %d CPUs (%s), %.1f GiB, %s %s/%s, %s.\n", m.Host, m.CPUs, m.CPUModel, m.MemoryGiB, m.Go, m.GOOS, m.GOARCH, m.Moto)
	if !slices.ContainsFunc(r.Runs, func(x *Run) bool { return x.Emulator == "moto" }) {
		fmt.Fprintf(&b, "Emulation: a proxy adding %.0f ms per call and enforcing DescribeContinuousBackups 10/s per account-region and ListTagsOfResource 10/s per account, in front of generated facts (no moto).\n", r.LatencyMS)
		r.sectionsMarkdown(&b)
		r.targetsMarkdown(&b)
		return b.String()
	}
	fmt.Fprintf(&b, "Estate: %d member accounts × %d regions × %d tables + a hot account-region of %d tables = **%d tables**; "+
		"the ~10k run adds %d accounts × %d regions × %d tables = %d tables in all. Seeding: %s.\n",
		r.Estate.Members, len(r.Estate.Regions), r.Estate.PerRegion, r.Estate.Hot, r.Estate.Tables(),
		r.Estate.ExtraMembers, len(r.Estate.Regions), r.Estate.ExtraPerRegion, r.Estate.AllTables(), seedText(r))
	fmt.Fprintf(&b, "Before the measured runs, one GetResources per account-region went straight to moto (%.1fs): moto builds each account-region's backends lazily on first use, a cost AWS does not have.\n", r.WarmSeconds)
	fmt.Fprintf(&b, "Emulation: moto_server behind a proxy adding %.0f ms per call and enforcing DescribeContinuousBackups 10/s per account-region and ListTagsOfResource 10/s per account (token buckets, burst = 1 s of tokens), answering ThrottlingException (HTTP 400) beyond them.\n\n", r.LatencyMS)

	b.WriteString("| run | tables | wall s | floor s | wall ÷ floor | calls/table | DescribeTable/t | DescribeContinuousBackups/t | throttles | UNKNOWN | peak RSS MB | CPU s | load |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, x := range r.Runs {
		wall := fmt.Sprintf("%.2f", x.WallSeconds)
		if x.Extrapolated && x.ExtrapolatedWall > 0 {
			wall = fmt.Sprintf("%.2f (→ %.0f for %d, extrapolated)", x.WallSeconds, x.ExtrapolatedWall, r.Estate.Tables())
		}
		unknown := fmt.Sprintf("%d", x.Unknown)
		if len(x.UnknownByReason) > 0 {
			var parts []string
			for k, v := range x.UnknownByReason {
				parts = append(parts, fmt.Sprintf("%s %d", k, v))
			}
			sort.Strings(parts)
			unknown += " (" + strings.Join(parts, ", ") + ")"
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %.3f | %s | %s | %d (%.2f%%) | %s | %s | %s | %s |\n",
			x.Name, x.Tables, wall, dash(x.FloorSeconds), dash(x.WallOverFloor), x.CallsPerTable,
			dash(x.CallsPerTableByOp["DescribeTable"]), dash(x.CallsPerTableByOp["DescribeContinuousBackups"]),
			x.Throttles, x.ThrottlePct, unknown, dash(x.PeakRSSMB), dash(x.CPUSeconds), x.Load)
	}
	b.WriteString("\nRuns: `default` = `pitrguard audit --accounts <40 members> --regions <3>` plus the caller's own account (default settings); " +
		"`concurrency-1` = the same with `--concurrency 1` on a subset; `default-org` = `--org` over all accounts (~10k tables); " +
		"`faults` = `default` with 5% of calls answered 500 or dropped and one member's role unassumable; `aws-cli-loop` = the shell loop; " +
		"`single`/`sharded-4*` = the `default` estate by one process, then by 4 × `--shard k/4` at once (`gen-*`: the same on generated facts); " +
		"`source-config*` = `--org --source config:AGGREGATOR`; `memory-*` = `--org` on generated facts. The load column is the machine's load average when the run ended.\n")
	for _, x := range r.Runs {
		if x.Note != "" {
			fmt.Fprintf(&b, "- %s: %s\n", x.Name, x.Note)
		}
	}
	b.WriteString("\nCalls by operation (default run): ")
	if base := r.run("default"); base != nil {
		ops := make([]string, 0, len(base.Calls))
		for op := range base.Calls {
			ops = append(ops, op)
		}
		sort.Strings(ops)
		for i, op := range ops {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s %d", op, base.Calls[op])
		}
	}
	b.WriteString("\n")
	r.sectionsMarkdown(&b)
	r.targetsMarkdown(&b)
	if f := r.run("faults"); f != nil && f.Fault != nil && len(f.Fault.WrongExamples) > 0 {
		fmt.Fprintf(&b, "\nWrong verdicts under faults: %s\n", strings.Join(f.Fault.WrongExamples, "; "))
	}
	if r.CLIError != "" {
		fmt.Fprintf(&b, "\nAWS CLI comparison not run: %s\n", r.CLIError)
	}
	if r.Events != nil {
		b.WriteString("\n" + r.Events.Markdown(r.LatencyMS) + "\n(Also in [events.md](events.md).)\n")
	}
	fmt.Fprintf(&b, "\nTotal benchmark time: %s.\n", r.FinishedAt.Sub(r.StartedAt).Round(time.Second))
	return b.String()
}

// targetsMarkdown renders the targets, and why the ones not met were not.
func (r *Results) targetsMarkdown(b *strings.Builder) {
	b.WriteString("\n## Targets\n\n| target | measured | met |\n|---|---|---|\n")
	for _, t := range r.Targets {
		met := "yes"
		if !t.Met {
			met = "**no**"
		}
		fmt.Fprintf(b, "| %s | %s | %s |\n", t.Name, t.Measured, met)
	}
	for _, t := range r.Targets {
		if !t.Met && t.Why != "" {
			fmt.Fprintf(b, "\n*%s* — not met: %s.\n", t.Name, t.Why)
		}
	}
}

func seedText(r *Results) string {
	if r.Reused {
		return "reused from an earlier run"
	}
	return fmt.Sprintf("%.1fs", r.SeedSeconds)
}

func dash(f float64) string {
	if f == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3g", f)
}
