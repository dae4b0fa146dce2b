// Command pitrguard-demo audits a demo organization in a local emulator: it
// starts moto_server, seeds an organization (a management account and four
// members, two regions, a region with more than 100 tables), puts the
// emulation proxy in front of moto to report realistic table sizes (moto
// always says 0 bytes), runs `pitrguard audit` on it, writes the JSON report,
// and stops moto. `make demo` runs it.
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

	f := &cli.Factory{IO: iostreams.System(), Credentials: testaws.Credentials}
	common := []string{"--org", "--regions", "us-east-1,eu-west-1", "--endpoint-url", proxy.URL, "--config", policy, "--db", db}
	fmt.Fprintf(os.Stderr, "$ pitrguard audit %s\n", joinArgs(common))
	if code := cli.Run(ctx, append([]string{"audit"}, common...), f); code != cli.ExitOK {
		return fmt.Errorf("audit exited %d", code)
	}
	jsonPath := filepath.Join(out, "audit.json")
	fmt.Fprintf(os.Stderr, "\n$ pitrguard audit ... --format json --output %s\n", jsonPath)
	if code := cli.Run(ctx, append([]string{"audit", "--format", "json", "--output", jsonPath, "--quiet"}, common...), f); code != cli.ExitOK {
		return fmt.Errorf("audit (json) exited %d", code)
	}
	fmt.Fprintf(os.Stderr, "Wrote %s\n\n$ pitrguard history --db %s\n", jsonPath, db)
	if code := cli.Run(ctx, []string{"history", "--db", db}, f); code != cli.ExitOK {
		return fmt.Errorf("history exited %d", code)
	}
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
	t["ItemCount"] = int64(gib * 2_000_000)
}
