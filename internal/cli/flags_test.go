package cli

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	day := 24 * time.Hour
	good := map[string]time.Duration{"90d": 90 * day, "2w": 14 * day, "12h": 12 * time.Hour, "1d12h": 36 * time.Hour,
		"30m": 30 * time.Minute, "1h30m": 90 * time.Minute, "1w2d": 9 * day, "6h0m0s": 6 * time.Hour}
	for in, want := range good {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
		if back, err := ParseDuration(FormatDuration(got)); err != nil || back != got {
			t.Errorf("FormatDuration(%v) = %q does not read back (%v, %v)", got, FormatDuration(got), back, err)
		}
	}
	for _, in := range []string{"", "0d", "0", "-1d", "d", "90", "90x", "1.5d", "abc", "1d-2h", "99999999999d"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) accepted", in)
		}
	}
}

func TestCheckOutputPath(t *testing.T) {
	dir := t.TempDir()
	if err := checkOutputPath("output", filepath.Join(dir, "a.json")); err != nil {
		t.Errorf("writable directory refused: %v", err)
	}
	if err := checkOutputPath("output", ""); err != nil {
		t.Errorf("stdout refused: %v", err)
	}
	for _, p := range []string{filepath.Join(dir, "missing", "a.json"), dir} {
		if err := checkOutputPath("output", p); err == nil || exitCode(err) != ExitUsage {
			t.Errorf("checkOutputPath(%q) = %v, want a usage error", p, err)
		}
	}
	f := filepath.Join(dir, "file")
	os.WriteFile(f, nil, 0o600)
	if err := checkOutputPath("output", filepath.Join(f, "a.json")); err == nil {
		t.Errorf("a file as directory accepted")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the probe left files behind: %v", entries)
	}
}

func TestCheckFormat(t *testing.T) {
	if err := checkFormat("json", "table", "json"); err != nil {
		t.Error(err)
	}
	err := checkFormat("xml", "table", "json")
	if err == nil || exitCode(err) != ExitUsage || err.Error() != `--format "xml" is not supported; use table or json` {
		t.Errorf("checkFormat(xml) = %v", err)
	}
}
