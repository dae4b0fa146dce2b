package drill

import (
	"math"
	"slices"
	"sort"
)

// Summary is the drills' KPIs.
type Summary struct {
	Drills       int                    `json:"drills"`
	Passed       int                    `json:"passed"`
	Failed       int                    `json:"failed"`
	LeftBehind   int                    `json:"scratch_tables_left"`
	MTTRMedian   float64                `json:"mttr_seconds_median"`
	MTTRP90      float64                `json:"mttr_seconds_p90"`
	BySizeBucket map[string]BucketStats `json:"by_size_bucket"`
}

// BucketStats are restore times for one size bucket.
type BucketStats struct {
	Drills     int     `json:"drills"`
	MTTRMedian float64 `json:"mttr_seconds_median"`
	MTTRP90    float64 `json:"mttr_seconds_p90"`
}

// Bucket names a table size range.
func Bucket(bytes int64) string {
	const gib = 1 << 30
	switch {
	case bytes < gib:
		return "<1GiB"
	case bytes < 10*gib:
		return "1-10GiB"
	case bytes < 100*gib:
		return "10-100GiB"
	}
	return ">=100GiB"
}

// Summarize computes passed/failed and MTTR (restore request → ACTIVE) of
// every drill that timed its restore (a drill whose checks failed after the
// restore still measured how long the restore took), overall and by size
// bucket.
func Summarize(rs []Result) Summary {
	s := Summary{Drills: len(rs), BySizeBucket: map[string]BucketStats{}}
	var all []float64
	by := map[string][]float64{}
	for _, r := range rs {
		if r.Result == "passed" {
			s.Passed++
		} else {
			s.Failed++
		}
		if r.Cleanup == "failed" {
			s.LeftBehind++
		}
		if r.RestoreSeconds > 0 {
			all = append(all, r.RestoreSeconds)
			by[Bucket(r.SizeBytes)] = append(by[Bucket(r.SizeBytes)], r.RestoreSeconds)
		}
	}
	s.MTTRMedian, s.MTTRP90 = Percentile(all, 50), Percentile(all, 90)
	for b, xs := range by {
		s.BySizeBucket[b] = BucketStats{Drills: len(xs), MTTRMedian: Percentile(xs, 50), MTTRP90: Percentile(xs, 90)}
	}
	return s
}

// Percentile is the p-th percentile (nearest rank) of xs; 0 for none.
func Percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[max(rank, 1)-1]
}
