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

// Issue 9 #6: a local time that happens twice (DST fold) or never (DST gap)
// is refused, naming both instants or the gap and how to give an offset.
func TestParseTimeDST(t *testing.T) {
	now := time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in   string
		loc  *time.Location
		want []string
	}{
		{"2026-10-25 02:30:00", berlin, []string{"happens twice", "2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z", "+02:00", "+01:00"}},
		{"2026-10-25 02:00", berlin, []string{"happens twice", "2026-10-25T00:00:00Z", "2026-10-25T01:00:00Z"}},
		{"2026-03-29 02:30:00", berlin, []string{"does not exist", "02:00", "03:00", "+01:00"}},
		{"2026-03-29T02:00:00", berlin, []string{"does not exist"}},
		{"2026-11-01 01:30:00", newYork, []string{"happens twice", "2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z"}},
		{"2026-03-08 02:15:00", newYork, []string{"does not exist"}},
	} {
		_, err := ParseTime(tc.in, tc.loc, now)
		if err == nil {
			t.Errorf("ParseTime(%q, %s): accepted", tc.in, tc.loc)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("ParseTime(%q, %s): %q lacks %q", tc.in, tc.loc, err, w)
			}
		}
	}
	// Just outside the fold and the gap, and with an explicit offset: accepted.
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"2026-10-25 01:59:59", time.Date(2026, 10, 24, 23, 59, 59, 0, time.UTC)},
		{"2026-10-25 03:00:00", time.Date(2026, 10, 25, 2, 0, 0, 0, time.UTC)},
		{"2026-03-29 01:59:59", time.Date(2026, 3, 29, 0, 59, 59, 0, time.UTC)},
		{"2026-03-29 03:00:00", time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)},
		{"2026-10-25T02:30:00+01:00", time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC)},
	} {
		got, err := ParseTime(tc.in, berlin, now)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// FuzzParseTime: no input panics, and an accepted time is UTC and, when it
// was a wall-clock time, reads back as the same wall clock in the zone.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2026-10-25 02:30:00", "2026-03-29 02:30", "-90m", "2026-11-24T14:03:26Z", "-", "", "2026-02-30 00:00:00", "-9999999999h"} {
		f.Add(s)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTime(s, berlin, now)
		if err != nil {
			if err.Error() == "" {
				t.Errorf("empty error for %q", s)
			}
			return
		}
		if got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v, not UTC", s, got)
		}
		for _, layout := range wallLayouts {
			if w, err := time.Parse(layout, strings.TrimSpace(s)); err == nil && !got.In(berlin).Equal(time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, berlin)) {
				t.Errorf("ParseTime(%q) = %v, which is %v in Berlin", s, got, got.In(berlin))
			}
		}
	})
}
