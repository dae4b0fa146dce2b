package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/pitrguard/pitrguard/internal/report"
	"github.com/pitrguard/pitrguard/internal/rungroup"
)

type mergeOptions struct {
	Files        []string
	Format       string
	Output       string
	AllowPartial bool
}

func newMergeCmd(f *Factory) *cobra.Command {
	o := &mergeOptions{}
	cmd := &cobra.Command{
		Use:     "merge SHARD.json...",
		GroupID: "audit",
		Short:   "Merge the JSON outputs of a sharded audit into one report",
		Long: `Merge reads the JSON outputs of the shards of one audit (pitrguard audit
--shard K/N --format json --output FILE) and prints the report a single audit
of the whole estate would have printed: every table once, errors together,
KPIs recomputed, and coverage complete only when every shard is there and was
complete itself. A missing shard is named in errors, and the command exits 1
unless --allow-partial is given.`,
		Example: `  pitrguard merge shard-*.json --format json --output audit.json
  pitrguard merge shard-1.json shard-2.json shard-3.json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Files = args
			if err := checkFormat(o.Format, report.Formats...); err != nil {
				return err
			}
			if err := checkOutputPath("output", o.Output); err != nil {
				return err
			}
			return mergeRun(cmd.Context(), f, o)
		},
	}
	formatFlag(cmd, &o.Format, report.Formats...)
	outputFlag(cmd, &o.Output, "the merged report")
	cmd.Flags().BoolVar(&o.AllowPartial, "allow-partial", false, "exit 0 even when a shard is missing or incomplete")
	return cmd
}

// maxShardFile bounds one shard's JSON (about 4 KB per table: 1 GiB is
// 250,000 tables in one shard).
const maxShardFile = 1 << 30

func mergeRun(_ context.Context, f *Factory, o *mergeOptions) error {
	parts := make([]rungroup.Part, 0, len(o.Files))
	for _, name := range o.Files {
		a, err := readShardFile(name)
		if err != nil {
			return &ExitError{Code: ExitUsage, Err: err}
		}
		parts = append(parts, rungroup.Part{Source: name, Audit: a})
	}
	merged, err := rungroup.Merge(parts)
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	return writeMerged(f, o.Format, o.Output, o.AllowPartial, merged)
}

func readShardFile(name string) (*report.Audit, error) {
	fh, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	var a report.Audit
	dec := json.NewDecoder(io.LimitReader(fh, maxShardFile))
	if err := dec.Decode(&a); err != nil {
		return nil, fmt.Errorf("%s is not the JSON output of pitrguard audit: %v", name, err)
	}
	if a.SchemaVersion != report.SchemaVersion {
		return nil, fmt.Errorf("%s has schema_version %d; this pitrguard reads %d", name, a.SchemaVersion, report.SchemaVersion)
	}
	return &a, nil
}

// writeMerged prints a merged run like the audit prints its report, and
// fails (exit 1) when coverage is incomplete, unless allowPartial.
func writeMerged(f *Factory, format, output string, allowPartial bool, a *report.Audit) error {
	if err := writeOutput(f, output, func(w io.Writer) error { return writeAudit(w, f, format, output != "", false, a) }); err != nil {
		return err
	}
	if !a.Summary.CoverageComplete && !allowPartial {
		var missing []string
		for _, e := range a.Errors {
			if e.Code == rungroup.CodeShardMissing || e.Code == rungroup.CodeShardIncomplete {
				missing = append(missing, e.Message)
			}
		}
		msg := "coverage incomplete (see errors)"
		if len(missing) > 0 {
			msg = "coverage incomplete: " + missing[0]
			if len(missing) > 1 {
				msg += fmt.Sprintf(" (and %d more)", len(missing)-1)
			}
		}
		return &ExitError{Code: ExitFailure, Err: errors.New(msg + "; pass --allow-partial to exit 0 anyway")}
	}
	return nil
}
