package trend

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// blocks are the eight heights of a sparkline.
var blocks = []rune("▁▂▃▄▅▆▇█")

// Sparkline draws values as one block character each, scaled between lo and
// hi (a flat series sits at the bottom). At most width values are drawn:
// a longer series is sampled evenly, always keeping its first and last value.
func Sparkline(values []float64, lo, hi float64, width int) string {
	values = sample(values, width)
	var b strings.Builder
	for _, v := range values {
		i := 0
		if hi > lo {
			i = int((v-lo)/(hi-lo)*float64(len(blocks)-1) + 0.5)
		}
		b.WriteRune(blocks[max(0, min(len(blocks)-1, i))])
	}
	return b.String()
}

func sample(values []float64, width int) []float64 {
	n := len(values)
	if width < 2 || n <= width {
		return values
	}
	out := make([]float64, width)
	for i := range width {
		out[i] = values[i*(n-1)/(width-1)]
	}
	return out
}

// Width is how many audits a terminal sparkline shows at most.
const Width = 60

// Write prints the compact terminal view: one sparkline each for the
// compliance rate (scaled 0–100%) and the snapshot-gap tables (scaled 0 to
// the series' maximum), with the first and last values.
func Write(w io.Writer, points []Point) error {
	if len(points) == 0 {
		return nil
	}
	rates := make([]float64, len(points))
	gaps := make([]float64, len(points))
	for i, p := range points {
		rates[i], gaps[i] = p.ComplianceRate, float64(p.SnapshotGapTables)
	}
	first, last := points[0], points[len(points)-1]
	sampled := ""
	if len(points) > Width {
		sampled = fmt.Sprintf(", %d shown", Width)
	}
	if _, err := fmt.Fprintf(w, "%d audit(s) from %s to %s (run groups merged%s)\n", len(points),
		first.At.Format("2006-01-02 15:04"), last.At.Format("2006-01-02 15:04"), sampled); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "compliance rate   %-*s  %5.1f%% → %5.1f%%\nsnapshot gaps     %-*s  %d → %d\n",
		min(len(points), Width), Sparkline(rates, 0, 1, Width), first.ComplianceRate*100, last.ComplianceRate*100,
		min(len(points), Width), Sparkline(gaps, 0, slices.Max(gaps), Width), first.SnapshotGapTables, last.SnapshotGapTables)
	return err
}
