package trend

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestSparkline(t *testing.T) {
	for _, c := range []struct {
		values []float64
		lo, hi float64
		width  int
		want   string
	}{
		{[]float64{0, 0.5, 1}, 0, 1, 60, "▁▅█"},
		{[]float64{3, 3, 3}, 0, 0, 60, "▁▁▁"}, // flat zero scale
		{[]float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 0, 9, 4, "▁▃▆█"},
		{[]float64{2, -1}, 0, 1, 60, "█▁"}, // clamped
	} {
		if got := Sparkline(c.values, c.lo, c.hi, c.width); got != c.want {
			t.Errorf("Sparkline(%v, %v, %v, %d) = %q, want %q", c.values, c.lo, c.hi, c.width, got, c.want)
		}
	}
}

func TestWrite(t *testing.T) {
	at := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	ps := []Point{{At: at, ComplianceRate: 0.25, SnapshotGapTables: 4}, {At: at.Add(24 * time.Hour), ComplianceRate: 0.75, SnapshotGapTables: 2},
		{At: at.Add(48 * time.Hour), ComplianceRate: 1, SnapshotGapTables: 0}}
	var b bytes.Buffer
	if err := Write(&b, ps); err != nil {
		t.Fatal(err)
	}
	want := "3 audit(s) from 2026-11-01 08:00 to 2026-11-03 08:00 (run groups merged)\n" +
		"compliance rate   ▃▆█   25.0% → 100.0%\n" +
		"snapshot gaps     █▅▁  4 → 0\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	long := make([]Point, 100)
	for i := range long {
		long[i] = Point{At: at.Add(time.Duration(i) * time.Hour), ComplianceRate: float64(i) / 99}
	}
	if err := Write(&b, long); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	if !strings.Contains(lines[0], "100 audit(s)") || !strings.Contains(lines[0], "60 shown") ||
		!strings.Contains(lines[1], "▁") || strings.Count(lines[1], "")-1 < Width {
		t.Errorf("long series:\n%s", b.String())
	}
	if spark := strings.Fields(lines[1])[2]; len([]rune(spark)) != Width || !strings.HasPrefix(spark, "▁") || !strings.HasSuffix(spark, "█") {
		t.Errorf("long sparkline %q: want %d blocks from ▁ to █", spark, Width)
	}
}
