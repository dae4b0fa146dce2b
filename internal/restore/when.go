package restore

import (
	"fmt"
	"strings"
	"time"
)

// ParseTime reads a restore point: RFC3339 with any offset
// ("2026-11-24T14:03:26Z", "2026-11-24T15:03:26+01:00"), a wall-clock time
// "2006-01-02 15:04:05" in loc, or a time relative to now ("-90m", "-2h30m",
// "-45s"). The result is in UTC.
func ParseTime(s string, loc *time.Location, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("empty time")
	}
	if strings.HasPrefix(s, "-") {
		d, err := time.ParseDuration(s[1:])
		if err != nil || d <= 0 {
			return time.Time{}, fmt.Errorf("%q is not a relative time; write it like -90m or -2h30m", s)
		}
		return now.Add(-d).UTC().Truncate(time.Second), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time pitrguard understands; use RFC3339 (2026-11-24T14:03:26Z or with an offset, +01:00), "+
		"\"2026-11-24 14:03:26\" in --tz (default UTC), or a relative time like -90m or -2h30m", s)
}

// Window is the span a table can be restored to.
type Window struct {
	Earliest, Latest time.Time
}

// Check refuses a time outside the window, saying what the window is.
func (w Window) Check(t time.Time) error {
	if t.Before(w.Earliest) || t.After(w.Latest) {
		return fmt.Errorf("%s is outside the restorable window %s — %s (UTC); pick a time inside it, or use --latest",
			t.UTC().Format(time.RFC3339), w.Earliest.UTC().Format(time.RFC3339), w.Latest.UTC().Format(time.RFC3339))
	}
	return nil
}
