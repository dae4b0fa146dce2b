package evidence

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pitrguard/pitrguard/internal/trend"
)

// Formatting shared by the HTML and Markdown writers. A figure that was not
// measured prints as "not measured yet", never as a zero.

func pct(v *float64) string {
	if v == nil {
		return NotMeasured
	}
	return fmt.Sprintf("%.1f%%", *v*100)
}

func pctOf(v float64) string { return pct(&v) }

// NoSpend is the share of a month in which Cost Explorer measured no
// DynamoDB spend at all (nothing to divide by; measured, not missing).
const NoSpend = "n/a (no DynamoDB spend)"

// share is the resilience share of measured spend: NoSpend when there was
// no DynamoDB spend, "not measured yet" when Cost Explorer was not read.
func share(s Spend) string {
	if s.Measured && s.ResilienceCostShare == nil {
		return NoSpend
	}
	return pct(s.ResilienceCostShare)
}

func usd(v *float64) string {
	if v == nil {
		return NotMeasured
	}
	return fmt.Sprintf("$%.2f", *v)
}

func count(v *int) string {
	if v == nil {
		return NotMeasured
	}
	return strconv.Itoa(*v)
}

func secs(v *float64) string {
	if v == nil {
		return NotMeasured
	}
	if *v < 10 { // a restore of a small table (or in an emulator) takes well under a second
		return fmt.Sprintf("%.2f s", *v)
	}
	return fmt.Sprintf("%.1f s", *v)
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

func stampPtr(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return stamp(*t)
}

func ids(v []int64) string {
	s := make([]string, len(v))
	for i, id := range v {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ", ")
}

func join(v []string) string {
	if len(v) == 0 {
		return "-"
	}
	return strings.Join(v, ", ")
}

// state prints a stored before/after JSON value compactly.
func state(raw json.RawMessage) string {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return "-"
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) == nil {
		if en, ok := m["enabled"].(bool); ok && len(m) <= 2 {
			if !en {
				return "PITR off"
			}
			if d, ok := m["days"].(float64); ok {
				return fmt.Sprintf("PITR on, %g days", d)
			}
			return "PITR on"
		}
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return s
	}
	return b.String()
}

// kpiValue is a figure's value as its JSON form writes it ("" when not measured).
func kpiValue(v any) string {
	switch x := v.(type) {
	case *float64:
		if x == nil {
			return ""
		}
		return strconv.FormatFloat(*x, 'g', -1, 64)
	case *int:
		if x == nil {
			return ""
		}
		return strconv.Itoa(*x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case int:
		return strconv.Itoa(x)
	case string:
		return x
	}
	return fmt.Sprint(v)
}

// Chart geometry (SVG user units).
const (
	chartW, chartH         = 640, 180
	padL, padR, padT, padB = 72, 12, 12, 28 // padL holds a y label such as "$22924.00"
)

type chart struct {
	ID, Title string
	W, H      int
	Series    []series
	YTicks    []tick
	XTicks    []tick
	Points    int
}

type series struct {
	Name, Class, Line string
	Dots              []dot
}

type dot struct {
	X, Y         float64
	Value, Title string
}

type tick struct {
	Pos    float64
	Label  string
	Anchor string // SVG text-anchor of an x label: the ends stay inside the chart
}

// lineChart scales values (one per point) into the chart; lo/hi bound the y axis.
func lineChart(id, title string, points []trend.Point, lo, hi float64, format func(float64) string, sers ...seriesSpec) chart {
	c := chart{ID: id, Title: title, W: chartW, H: chartH, Points: len(points)}
	n := len(points)
	x := func(i int) float64 {
		if n == 1 {
			return float64(padL+chartW-padR) / 2
		}
		return padL + float64(i)*float64(chartW-padL-padR)/float64(n-1)
	}
	if hi <= lo {
		hi = lo + 1
	}
	y := func(v float64) float64 { return padT + (hi-v)/(hi-lo)*float64(chartH-padT-padB) }
	for _, v := range []float64{lo, (lo + hi) / 2, hi} {
		c.YTicks = append(c.YTicks, tick{Pos: round1(y(v)), Label: format(v)})
	}
	for i, p := range points {
		if i == 0 || i == n-1 || n <= 8 {
			anchor := "middle"
			switch {
			case n > 1 && i == 0:
				anchor = "start"
			case n > 1 && i == n-1:
				anchor = "end"
			}
			c.XTicks = append(c.XTicks, tick{Pos: round1(x(i)), Label: p.At.Format("01-02"), Anchor: anchor})
		}
	}
	for _, sp := range sers {
		s := series{Name: sp.name, Class: sp.class}
		var line []string
		for i, p := range points {
			v, ok := sp.value(p)
			if !ok {
				continue
			}
			d := dot{X: round1(x(i)), Y: round1(y(v)), Value: strconv.FormatFloat(v, 'g', -1, 64),
				Title: fmt.Sprintf("%s %s: %s", stamp(p.At), sp.name, format(v))}
			s.Dots = append(s.Dots, d)
			line = append(line, fmt.Sprintf("%g,%g", d.X, d.Y))
		}
		s.Line = strings.Join(line, " ")
		c.Series = append(c.Series, s)
	}
	return c
}

type seriesSpec struct {
	name, class string
	value       func(trend.Point) (float64, bool)
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

// charts are the trend charts of section 2: the overall compliance rate
// (points of class pt) with one line per tier (class tpt), snapshot-gap
// tables, and the PITR cost estimate.
func (r *Report) charts() []chart {
	ps := r.Trend.Points
	if len(ps) == 0 {
		return nil
	}
	tiers := map[string]bool{}
	maxGap, maxCost := 1.0, 1.0
	for _, p := range ps {
		for t := range p.ByTier {
			tiers[t] = true
		}
		maxGap = math.Max(maxGap, float64(p.SnapshotGapTables))
		maxCost = math.Max(maxCost, p.PITRMonthlyCostUSD)
	}
	rate := []seriesSpec{{name: "all tables", class: "pt", value: func(p trend.Point) (float64, bool) { return p.ComplianceRate, true }}}
	for _, t := range sortedKeys(tiers) {
		rate = append(rate, seriesSpec{name: "tier " + t, class: "tpt", value: func(p trend.Point) (float64, bool) { v, ok := p.ByTier[t]; return v, ok }})
	}
	return []chart{
		lineChart("compliance", "Compliance rate per audit", ps, 0, 1, func(v float64) string { return pctOf(v) }, rate...),
		lineChart("gaps", "Critical tables without PITR (snapshot gap) per audit", ps, 0, math.Ceil(maxGap), func(v float64) string { return fmt.Sprintf("%g", math.Round(v*10)/10) },
			seriesSpec{name: "snapshot-gap tables", class: "pt", value: func(p trend.Point) (float64, bool) { return float64(p.SnapshotGapTables), true }}),
		lineChart("cost", "PITR cost estimate per audit ($/month)", ps, 0, maxCost, func(v float64) string { return fmt.Sprintf("$%.2f", v) },
			seriesSpec{name: "PITR $/month", class: "pt", value: func(p trend.Point) (float64, bool) { return p.PITRMonthlyCostUSD, true }}),
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
