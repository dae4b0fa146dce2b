// Command pitrguard-demo audits a demo organization in a local emulator: it
// starts moto_server, seeds an organization (a management account and four
// members, two regions, a region with more than 100 tables, an AWS Backup
// plan for the business-critical tier), puts the emulation proxy in front of
// moto to report realistic table sizes (moto always says 0 bytes) and to
// answer the AWS Backup calls moto lacks, runs `pitrguard audit` on it,
// writes the JSON report, then closes one team's gaps with `enable`, proves a
// restore with `drill`, checks the guardrails, audits again and writes the
// evidence report (demo-output/evidence.html), and stops moto. `make demo`
// runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"hash/fnv"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/pitrguard/pitrguard/internal/cli"
	"github.com/pitrguard/pitrguard/internal/iostreams"
	"github.com/pitrguard/pitrguard/internal/testaws"
)

func main() {
	out := flag.String("out", "demo-output", "directory for the JSON report and the history database")
	policy := flag.String("config", "examples/pitrguard.yaml", "policy file")
	keep := flag.Bool("keep", false, "keep the emulator running after the audit (Ctrl-C to stop)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *out, *policy, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out, policy string, keep bool) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	db := filepath.Join(out, "history.db")
	_ = os.Remove(db)
	fmt.Fprintln(os.Stderr, "Starting moto_server ...")
	m, err := testaws.StartMoto(ctx)
	if err != nil {
		return err
	}
	defer m.Stop()
	proxy, err := testaws.NewProxy(m.URL)
	if err != nil {
		return err
	}
	defer proxy.Close()
	proxy.Record = false
	proxy.Add(&testaws.Rule{Op: "DescribeTable", Mutate: demoSize})

	t0 := time.Now()
	seed := testaws.NewSeeder(m.URL)
	members, err := seed.CreateOrg(ctx, 4)
	if err != nil {
		return err
	}
	n, err := seedEstate(ctx, seed, members)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "Seeded an organization of %d accounts with %d tables in us-east-1 and eu-west-1 (%s).\n\n",
		len(members)+1, n, time.Since(t0).Round(100*time.Millisecond))

	bfake := testaws.NewBackupFake()
	proxy.Backup = bfake
	if err := seedBackups(ctx, testaws.NewSeeder(proxy.URL), bfake, members[1], time.Now()); err != nil {
		return err
	}
	if err := queueSpend(ctx, m.URL, time.Now()); err != nil {
		return err
	}

	f := &cli.Factory{IO: iostreams.System(), Credentials: testaws.Credentials}
	aws := []string{"--endpoint-url", proxy.URL, "--db", db}
	common := append([]string{"--org", "--regions", "us-east-1,eu-west-1", "--config", policy}, aws...)
	jsonPath := filepath.Join(out, "audit.json")
	evidence := filepath.Join(out, "evidence.html")
	steps := []struct {
		say  string
		args []string
	}{
		{"", append([]string{"audit"}, common...)},
		{"and again as JSON, with last month's spend from Cost Explorer", append([]string{"audit", "--format", "json", "--output", jsonPath, "--cost-explorer", "--quiet"}, common...)},
		{"close the payments team's gaps (plan, apply, read back, journal)", append([]string{"enable", "--owner", "payments", "--apply", "--yes"}, common...)},
		{"prove a restore of the ledger (scratch restore, validate, time, clean up)", append([]string{"drill", "--table", "ledger", "--yes", "--poll", "50ms"}, common...)},
		// The demo organization has no SCP or RCP yet: the check reports
		// every account as unprotected, which exits 0 without --fail-on.
		{"which accounts have the preventive guardrails in place", append([]string{"guardrails", "check", "--org", "--regions", "us-east-1,eu-west-1"}, aws...)},
		{"audit after the changes", append([]string{"audit", "--format", "json", "--output", filepath.Join(out, "audit-after.json"), "--quiet"}, common...)},
		{"", []string{"history", "--db", db}},
		{"the compliance trend per audit", []string{"history", "--trend", "--db", db}},
		{"evidence for auditors (open it in a browser; print it to PDF)", []string{"report", "--config", policy, "--db", db, "--output", evidence}},
	}
	for _, st := range steps {
		if st.say != "" {
			fmt.Fprintf(os.Stderr, "\n# %s\n", st.say)
		}
		fmt.Fprintf(os.Stderr, "$ pitrguard %s\n", joinArgs(st.args))
		code := cli.Run(ctx, st.args, f)
		// audit exits 0 here (complete coverage, no --fail-on); enable and
		// drill too. Anything else is a demo failure worth stopping for.
		if code != cli.ExitOK {
			return fmt.Errorf("pitrguard %s exited %d", st.args[0], code)
		}
	}
	fmt.Fprintf(os.Stderr, "\nWrote %s and %s (history: %s)\n", jsonPath, evidence, db)
	if keep {
		fmt.Fprintf(os.Stderr, "\nThe emulator keeps running at %s (sizes via proxy %s). Try:\n  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test go run ./cmd/pitrguard audit --org --regions us-east-1,eu-west-1 --endpoint-url %s --config %s\nCtrl-C stops it.\n", m.URL, proxy.URL, proxy.URL, policy)
		<-ctx.Done()
	}
	fmt.Fprintln(os.Stderr, "\nStopping moto_server.")
	return nil
}

func joinArgs(a []string) string {
	s := ""
	for i, x := range a {
		if i > 0 {
			s += " "
		}
		s += x
	}
	return s
}

// demoSize gives each table a stable, realistic size between 0.5 and 400 GiB
// (moto reports 0 bytes for every table). The size is derived from the table's
// region and name only: moto gives member accounts new random ids on every
// run, so hashing the ARN would change the demo's costs from run to run.
func demoSize(resp map[string]any) {
	t, ok := resp["Table"].(map[string]any)
	if !ok {
		return
	}
	name, _ := t["TableName"].(string)
	arn, _ := t["TableArn"].(string)
	region := ""
	if parts := strings.SplitN(arn, ":", 5); len(parts) == 5 {
		region = parts[3]
	}
	h := fnv.New32a()
	h.Write([]byte(region + "/" + name))
	gib := 0.5 + float64(h.Sum32()%4000)/10
	t["TableSizeBytes"] = int64(gib * (1 << 30))
	// ItemCount stays moto's real count: the drill compares the scratch
	// restore's items with it.
}
