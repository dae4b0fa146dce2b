package pricing

import (
	"strconv"
	"strings"
)

// BackupRule is what the storage of one AWS Backup rule's recovery points
// depends on.
type BackupRule struct {
	// Schedule is the rule's ScheduleExpression.
	Schedule string
	// DeleteAfterDays is the retention; 0 means never deleted.
	DeleteAfterDays int
	// ColdAfterDays moves points to cold storage (advanced features only); 0 never.
	ColdAfterDays int
	// CopyDeleteAfterDays is the retention of each copy action (0: never deleted).
	CopyDeleteAfterDays []int
}

// foreverDays is how many days of a rule that never deletes are costed: a
// year's accumulation (the cost keeps growing after it).
const foreverDays = 365

// BackupMonthly estimates the monthly AWS Backup storage of a table of
// billableBytes that rules back up, once their retention has filled up:
// every run keeps a full copy (DynamoDB backups are full backups, not
// incremental), warm until ColdAfterDays — cold storage needs advanced
// features — then cold until DeleteAfterDays; copies are kept warm for
// their own retention. estimated is true when the region's prices fall back
// to the default region's, a schedule could not be read (one run a day is
// assumed), or a rule never deletes (a year's copies are costed).
func (t *Table) BackupMonthly(region string, billableBytes int64, rules []BackupRule, advanced bool) (usd float64, estimated bool) {
	p, est := t.For(region)
	cold, coldEst := p.BackupCold, false
	if cold == 0 {
		def, _ := t.For(t.DefaultRegion)
		cold, coldEst = def.BackupCold, true
		if cold == 0 {
			cold = p.Backup // no cold price known: cost as warm
		}
	}
	gb := float64(billableBytes) / GiB
	for _, r := range rules {
		runs, ok := RunsPerDay(r.Schedule)
		est = est || !ok
		keep := r.DeleteAfterDays
		if keep <= 0 {
			keep, est = foreverDays, true
		}
		warmDays := keep
		if advanced && r.ColdAfterDays > 0 && r.ColdAfterDays < keep {
			warmDays, est = r.ColdAfterDays, est || coldEst
		}
		usd += gb * runs * (float64(warmDays)*p.Backup + float64(keep-warmDays)*cold)
		for _, c := range r.CopyDeleteAfterDays {
			if c <= 0 {
				c, est = foreverDays, true
			}
			usd += gb * runs * float64(c) * p.Backup
		}
	}
	return usd, est
}

// RunsPerDay reads how many times a day a rule's ScheduleExpression runs:
// rate(N minutes|hours|days) or cron(minutes hours day-of-month month
// day-of-week year), averaged over a week (MON-FRI is 5/7 a day), a month
// (a day of the month is 1/30) and a year (JAN-JUN is 6/12). ok is false,
// and 1 is returned, when the expression cannot be read (or names years).
func RunsPerDay(schedule string) (runs float64, ok bool) {
	s := strings.TrimSpace(schedule)
	switch {
	case strings.HasPrefix(s, "rate(") && strings.HasSuffix(s, ")"):
		f := strings.Fields(s[len("rate(") : len(s)-1])
		if len(f) != 2 {
			return 1, false
		}
		n, err := strconv.Atoi(f[0])
		if err != nil || n <= 0 {
			return 1, false
		}
		switch strings.TrimSuffix(f[1], "s") {
		case "minute":
			return 1440 / float64(n), true
		case "hour":
			return 24 / float64(n), true
		case "day":
			return 1 / float64(n), true
		}
	case strings.HasPrefix(s, "cron(") && strings.HasSuffix(s, ")"):
		f := strings.Fields(s[len("cron(") : len(s)-1])
		if len(f) != 6 {
			return 1, false
		}
		mins, ok1 := cronCount(f[0], 0, 59, nil)
		hours, ok2 := cronCount(f[1], 0, 23, nil)
		days, ok3 := dayShare(f[2], f[4])
		months, ok4 := cronCount(f[3], 1, 12, monthNames)
		// A year field other than * runs in some years only: its share of
		// the cost cannot be told from the expression alone.
		if ok1 && ok2 && ok3 && ok4 && f[5] == "*" {
			return float64(mins*hours) * days * float64(months) / 12, true
		}
	}
	return 1, false
}

// dayShare is the share of days a cron's day-of-month and day-of-week
// fields run on (one of them is "?" in AWS cron).
func dayShare(dom, dow string) (float64, bool) {
	switch {
	case (dom == "*" || dom == "?") && (dow == "*" || dow == "?"):
		return 1, true
	case dom == "*" || dom == "?":
		n, ok := cronCount(dow, 1, 7, weekdays)
		return float64(n) / 7, ok
	case dow == "*" || dow == "?":
		if dom == "L" {
			return 1.0 / 30, true
		}
		n, ok := cronCount(dom, 1, 31, nil)
		return float64(n) / 30, ok
	}
	return 1, false
}

var weekdays = map[string]int{"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}

var monthNames = map[string]int{"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}

// cronCount is how many values of [lo, hi] a cron field selects: *, N,
// N-M, and /STEP on either, comma-separated; names maps day names.
func cronCount(field string, lo, hi int, names map[string]int) (int, bool) {
	seen := map[int]bool{}
	num := func(s string) (int, bool) {
		if v, ok := names[strings.ToUpper(s)]; ok {
			return v, true
		}
		v, err := strconv.Atoi(s)
		return v, err == nil && v >= lo && v <= hi
	}
	for _, part := range strings.Split(field, ",") {
		rng, stepS, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			s, err := strconv.Atoi(stepS)
			if err != nil || s <= 0 {
				return 0, false
			}
			step = s
		}
		from, to := lo, hi
		switch a, b, isRange := strings.Cut(rng, "-"); {
		case rng == "*":
		case isRange:
			var ok1, ok2 bool
			if from, ok1 = num(a); !ok1 {
				return 0, false
			}
			if to, ok2 = num(b); !ok2 || to < from {
				return 0, false
			}
		default:
			v, ok := num(rng)
			if !ok {
				return 0, false
			}
			from = v
			if !hasStep {
				to = v
			}
		}
		for v := from; v <= to; v += step {
			seen[v] = true
		}
	}
	return len(seen), len(seen) > 0
}
