package restore

import (
	"strings"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	for _, tc := range []struct {
		in   string
		loc  *time.Location
		want time.Time
	}{
		{"2026-11-24T14:03:26Z", time.UTC, time.Date(2026, 11, 24, 14, 3, 26, 0, time.UTC)},
		{"2026-11-24T15:03:26+01:00", time.UTC, time.Date(2026, 11, 24, 14, 3, 26, 0, time.UTC)},
		{"2026-11-24 14:03:26", time.UTC, time.Date(2026, 11, 24, 14, 3, 26, 0, time.UTC)},
		{"2026-11-24 15:03:26", berlin, time.Date(2026, 11, 24, 14, 3, 26, 0, time.UTC)},
		{"2026-07-01 12:00:00", berlin, time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC)}, // summer time
		{"-90m", time.UTC, now.Add(-90 * time.Minute)},
		{"-2h30m", time.UTC, now.Add(-150 * time.Minute)},
	} {
		got, err := ParseTime(tc.in, tc.loc, now)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "yesterday", "-", "-x", "-0s", "24/11/2026 14:03", "2026-13-01 00:00:00"} {
		if _, err := ParseTime(bad, time.UTC, now); err == nil {
			t.Errorf("ParseTime(%q): no error", bad)
		}
	}
	w := Window{Earliest: now.Add(-time.Hour), Latest: now.Add(-5 * time.Minute)}
	if err := w.Check(now.Add(-30 * time.Minute)); err != nil {
		t.Error(err)
	}
	if err := w.Check(now); err == nil || !strings.Contains(err.Error(), "2026-11-24T14:00:00Z — 2026-11-24T14:55:00Z") {
		t.Errorf("out of window: %v", err)
	}
}
