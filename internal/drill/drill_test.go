package drill

import (
	"strings"
	"testing"
	"time"
)

func TestScratchName(t *testing.T) {
	at := time.Date(2026, 11, 24, 14, 3, 27, 0, time.UTC)
	if got := ScratchName("orders", at); got != "pitrguard-drill-orders-20261124t140327" {
		t.Errorf("got %s", got)
	}
	long := ScratchName(strings.Repeat("x", 300), at)
	if len(long) != 255 || !strings.HasPrefix(long, Prefix) || !strings.HasSuffix(long, "-20261124t140327") {
		t.Errorf("long name: %d %s", len(long), long)
	}
}

func TestPercentileAndSummary(t *testing.T) {
	xs := []float64{10, 1, 5, 3, 8, 2, 9, 4, 7, 6}
	if Percentile(xs, 50) != 5 || Percentile(xs, 90) != 9 || Percentile(nil, 50) != 0 || Percentile([]float64{3}, 90) != 3 {
		t.Errorf("percentiles: %v %v", Percentile(xs, 50), Percentile(xs, 90))
	}
	rs := []Result{
		{Result: "passed", RestoreSeconds: 60, SizeBytes: 100, Cleanup: "deleted"},
		{Result: "passed", RestoreSeconds: 600, SizeBytes: 20 << 30, Cleanup: "deleted"},
		{Result: "failed", RestoreSeconds: 0, Cleanup: "failed"},
	}
	s := Summarize(rs)
	if s.Drills != 3 || s.Passed != 2 || s.Failed != 1 || s.LeftBehind != 1 || s.MTTRMedian != 60 || s.MTTRP90 != 600 {
		t.Errorf("summary %+v", s)
	}
	if s.BySizeBucket["<1GiB"].Drills != 1 || s.BySizeBucket["10-100GiB"].MTTRMedian != 600 {
		t.Errorf("buckets %+v", s.BySizeBucket)
	}
	for b, want := range map[int64]string{0: "<1GiB", 5 << 30: "1-10GiB", 50 << 30: "10-100GiB", 500 << 30: ">=100GiB"} {
		if Bucket(b) != want {
			t.Errorf("Bucket(%d) = %s", b, Bucket(b))
		}
	}
}
