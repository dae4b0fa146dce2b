package cli

// Shared flag vocabulary (README "Conventions", docs/conventions.md). Every
// command registers its common flags through these helpers so that names,
// types, defaults, help wording and completion stay the same everywhere.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// ParseDuration reads a duration with day and week units (90d, 2w, 1d12h)
// as well as Go's (12h, 90m, 1h30m). Zero and negative durations are refused.
func ParseDuration(s string) (time.Duration, error) {
	bad := fmt.Errorf("%q is not a duration: use a number with a unit, e.g. 90d, 2w, 12h, 30m or 1h30m", s)
	rest := strings.TrimSpace(s)
	if rest == "" {
		return 0, bad
	}
	total, rest, ok := peelDaysWeeks(rest)
	if !ok {
		return 0, bad
	}
	if rest != "" {
		d, err := time.ParseDuration(rest)
		if err != nil || d <= 0 || strings.ContainsAny(rest, "+-") {
			return 0, bad
		}
		total += d
	}
	if total <= 0 {
		return 0, fmt.Errorf("%q: the duration must be greater than zero", s)
	}
	return total, nil
}

// dayWeekUnits are the units ParseDuration adds to Go's.
var dayWeekUnits = map[byte]time.Duration{'d': 24 * time.Hour, 'w': 7 * 24 * time.Hour}

// peelDaysWeeks consumes the leading NNw / NNd terms of s and returns their
// sum with what is left for time.ParseDuration; ok is false for a count that
// is out of range.
func peelDaysWeeks(s string) (total time.Duration, rest string, ok bool) {
	rest = s
	for rest != "" {
		i := leadingDigits(rest)
		if i == 0 || i == len(rest) {
			break
		}
		unit, isDayWeek := dayWeekUnits[rest[i]]
		if !isDayWeek {
			break
		}
		n, err := strconv.Atoi(rest[:i])
		if err != nil || n > 100000 {
			return 0, "", false
		}
		total += time.Duration(n) * unit
		rest = rest[i+1:]
	}
	return total, rest, true
}

// leadingDigits is the number of ASCII digits s starts with.
func leadingDigits(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// FormatDuration prints a duration the way ParseDuration reads it, preferring
// whole days (90d) and falling back to Go's form (6h0m0s → 6h).
func FormatDuration(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// durationValue is a pflag.Value for ParseDuration.
type durationValue struct{ p *time.Duration }

func (v durationValue) Set(s string) error {
	d, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*v.p = d
	return nil
}
func (v durationValue) String() string { return FormatDuration(*v.p) }
func (v durationValue) Type() string   { return "duration" }

// durationFlag registers a duration flag that accepts 90d, 2w, 12h, 1h30m.
func durationFlag(fl *pflag.FlagSet, p *time.Duration, name string, def time.Duration, usage string) {
	*p = def
	fl.Var(durationValue{p}, name, usage+" (e.g. 90d, 12h, 30m)")
}

// formatFlag registers --format/-f with its allowed values, their completion,
// and the help wording every command shares. The first value is the default.
func formatFlag(cmd *cobra.Command, p *string, allowed ...string) {
	cmd.Flags().StringVarP(p, "format", "f", allowed[0], "output format: "+orList(allowed))
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(allowed, cobra.ShellCompDirectiveNoFileComp))
}

// checkFormat refuses a --format value that is not allowed (exit 2).
func checkFormat(got string, allowed ...string) error {
	if slices.Contains(allowed, got) {
		return nil
	}
	return FlagErrorf("--format %q is not supported; use %s", got, orList(allowed))
}

// outputFlag registers --output/-o: the file the command's main output goes to.
func outputFlag(cmd *cobra.Command, p *string, what string) {
	cmd.Flags().StringVarP(p, "output", "o", "", "write "+what+" to this file instead of stdout (written atomically; the directory must exist)")
}

// deprecatedAlias registers an old spelling of a string flag that writes the
// same variable, hidden from --help and warned about when used.
func deprecatedAlias(fl *pflag.FlagSet, p *string, old, replacement string) {
	fl.StringVar(p, old, "", "")
	_ = fl.MarkDeprecated(old, "use --"+replacement+" instead")
}

// checkOutputPath checks, before any work starts, that path can be written:
// its directory exists and is a directory, and path itself is not a directory.
// An empty path (stdout) is always fine.
func checkOutputPath(flag, path string) error {
	if path == "" || path == "-" {
		return nil
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return FlagErrorf("--%s %s is a directory; give a file name", flag, path)
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return FlagErrorf("--%s %s: the directory %s does not exist; create it first", flag, path, dir)
	case err != nil:
		return FlagErrorf("--%s %s: %v", flag, path, err)
	case !fi.IsDir():
		return FlagErrorf("--%s %s: %s is not a directory", flag, path, dir)
	}
	probe, err := os.CreateTemp(dir, ".pitrguard-probe-*")
	if err != nil {
		return FlagErrorf("--%s %s: the directory %s is not writable: %v", flag, path, dir, err)
	}
	probe.Close()
	os.Remove(probe.Name())
	return nil
}

// orList joins values as "a, b or c".
func orList(v []string) string {
	if len(v) <= 1 {
		return strings.Join(v, "")
	}
	return strings.Join(v[:len(v)-1], ", ") + " or " + v[len(v)-1]
}
