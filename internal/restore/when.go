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
//
// A wall-clock time that happens twice in loc (clocks going back) or never
// (clocks jumping forward) is refused: time.Date would silently pick one
// instant, and a restore to the wrong hour is worse than a question (issue 9 #6).
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
	for _, layout := range wallLayouts {
		if w, err := time.Parse(layout, s); err == nil {
			return inZone(s, w, loc)
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time pitrguard understands; use RFC3339 (2026-11-24T14:03:26Z or with an offset, +01:00), "+
		"\"2026-11-24 14:03:26\" in --tz (default UTC), or a relative time like -90m or -2h30m", s)
}

// wallLayouts are the wall-clock forms of a restore point (read in --tz).
var wallLayouts = []string{"2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04"}

// inZone maps the wall clock w (parsed as UTC) to the one instant it names
// in loc, or explains why there is not exactly one.
func inZone(s string, w time.Time, loc *time.Location) (time.Time, error) {
	cands := wallInstants(w, loc)
	switch len(cands) {
	case 1:
		return cands[0].UTC(), nil
	case 0:
		from, to, at := gapAround(w, loc)
		return time.Time{}, fmt.Errorf("%q does not exist in %s: clocks jumped from %s to %s (%s to %s) at %s, so no instant has that local time; "+
			"pick a time outside the gap, or give an explicit offset, e.g. %s",
			s, loc, from.Format("15:04"), to.Format("15:04"), from.Format("-07:00"), to.Format("-07:00"),
			at.UTC().Format(time.RFC3339), w.Format("2006-01-02T15:04:05")+from.Format("-07:00"))
	default:
		var alts []string
		for _, c := range cands {
			alts = append(alts, fmt.Sprintf("%s (%s)", c.UTC().Format(time.RFC3339), c.Format(time.RFC3339)))
		}
		return time.Time{}, fmt.Errorf("%q happens twice in %s (the clocks go back): %s; give the offset to choose one, e.g. --to %s",
			s, loc, strings.Join(alts, " or "), cands[0].Format(time.RFC3339))
	}
}

// wallInstants lists, earliest first, the instants whose wall clock in loc is w.
func wallInstants(w time.Time, loc *time.Location) []time.Time {
	seen := map[int]bool{}
	var out []time.Time
	for k := -12; k <= 12; k++ { // every offset loc uses within ±36h
		_, off := w.Add(time.Duration(k) * 3 * time.Hour).In(loc).Zone()
		if seen[off] {
			continue
		}
		seen[off] = true
		c := w.Add(-time.Duration(off) * time.Second).In(loc)
		if sameWall(c, w) {
			out = append(out, c)
		}
	}
	for i := 1; i < len(out); i++ { // at most a handful: insertion sort
		for j := i; j > 0 && out[j].Before(out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func sameWall(c, w time.Time) bool {
	y, m, d := c.Date()
	wy, wm, wd := w.Date()
	return y == wy && m == wm && d == wd && c.Hour() == w.Hour() && c.Minute() == w.Minute() && c.Second() == w.Second()
}

// gapAround finds the transition that skips the wall clock w: the local time
// just before it, the local time just after it, and the instant it happens.
func gapAround(w time.Time, loc *time.Location) (from, to, at time.Time) {
	lo, hi := w.Add(-36*time.Hour), w.Add(36*time.Hour)
	// The instant w would be under the earlier offset is after the jump, under
	// the later offset before it; search the first instant whose wall clock
	// is past w.
	for hi.Sub(lo) > time.Second {
		mid := lo.Add(hi.Sub(lo) / 2).Truncate(time.Second)
		if wallAfter(mid.In(loc), w) {
			hi = mid
		} else {
			lo = mid
		}
	}
	at = hi.In(loc)
	_, offBefore := lo.In(loc).Zone()
	from = at.In(time.FixedZone("", offBefore))
	return from, at, at
}

// wallAfter says whether c's wall clock is later than w's.
func wallAfter(c, w time.Time) bool {
	cw := time.Date(c.Year(), c.Month(), c.Day(), c.Hour(), c.Minute(), c.Second(), 0, time.UTC)
	return cw.After(w)
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
