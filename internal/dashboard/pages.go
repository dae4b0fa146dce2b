package dashboard

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pitrguard/pitrguard/internal/history"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/policy"
	"github.com/pitrguard/pitrguard/internal/report"
	"github.com/pitrguard/pitrguard/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

// Page sizes and history depths.
const (
	pageSize       = 500  // table rows per page of /tables
	recentRuns     = 15   // runs on the overview
	tableHistory   = 100  // audits of one table on its page
	listLimit      = 200  // drills, journal entries
	tableLookBack  = 1000 // recent drills and changes searched for one table's
	maxErrorsShown = 50   // audit errors on the overview
)

// pageNames are the templates, each rendered inside layout.html.
var pageNames = []string{"overview", "tables", "table", "drills", "journal", "error"}

var funcs = template.FuncMap{
	"pct":  func(rate float64) string { return strconv.FormatFloat(rate*100, 'f', 1, 64) + "%" },
	"usd":  func(v float64) string { return "$" + strconv.FormatFloat(v, 'f', 2, 64) },
	"secs": func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) + " s" },
	"when": when,
	"whenp": func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return when(*t)
	},
	"tableURL": tableURL,
	"lower":    func(v any) string { return strings.ToLower(fmt.Sprint(v)) },
	"days": func(d *int) string {
		if d == nil {
			return "-"
		}
		return strconv.Itoa(*d)
	},
	"reasons": func(rs []model.Reason) string {
		s := make([]string, len(rs))
		for i, r := range rs {
			s[i] = string(r)
		}
		return strings.Join(s, ", ")
	},
	"opt":  func(v *float64) float64 { return *v },
	"size": size,
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// size is a byte count in IEC units (1.5 GiB).
func size(b int64) string {
	const unit = 1024
	if b < unit {
		return strconv.FormatInt(b, 10) + " B"
	}
	div, exp := int64(unit), 0
	for n := b / unit; n >= unit && exp < 5; n /= unit {
		div *= unit
		exp++
	}
	return strconv.FormatFloat(float64(b)/float64(div), 'f', 1, 64) + " " + string("KMGTPE"[exp]) + "iB"
}

func tableURL(account, region, name string) string {
	return "/tables/" + url.PathEscape(account) + "/" + url.PathEscape(region) + "/" + url.PathEscape(name)
}

func parsePages() (map[string]*template.Template, error) {
	out := map[string]*template.Template{}
	for _, p := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+p+".html")
		if err != nil {
			return nil, fmt.Errorf("dashboard template %s: %w", p, err)
		}
		out[p] = t
	}
	return out, nil
}

// site answers the pages.
type site struct {
	db      store.Store
	data    *loader
	now     func() time.Time
	log     *slog.Logger
	pages   map[string]*template.Template
	version string
}

// frame is what every page shows around its content.
type frame struct {
	Title   string
	Nav     string
	Version string
	DB      string
	Now     time.Time
	Content any
}

func (s *site) render(w http.ResponseWriter, r *http.Request, status int, page, title string, content any) {
	var buf bytes.Buffer
	f := frame{Title: title, Nav: page, Version: s.version, DB: s.db.Path(), Now: s.now(), Content: content}
	if err := s.pages[page].Execute(&buf, f); err != nil {
		s.fail(w, r, fmt.Errorf("render %s: %w", page, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}

// fail answers 500 and logs why; the page says only that the history could
// not be read (the log has the details).
func (s *site) fail(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("dashboard request failed", "path", r.URL.Path, "err", err)
	http.Error(w, "500 internal error: the history database could not be read (see the server's log)", http.StatusInternalServerError)
}

type errorPage struct {
	Status  int
	Message string
}

func (s *site) problem(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.render(w, r, status, "error", http.StatusText(status), errorPage{Status: status, Message: msg})
}

func (s *site) notFound(w http.ResponseWriter, r *http.Request) {
	s.problem(w, r, http.StatusNotFound, fmt.Sprintf("There is no page %s.", r.URL.Path))
}

func (s *site) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if _, err := s.db.Runs(ctx, "", 1); err != nil {
		s.log.Error("health check: the history database cannot be read", "err", err)
		http.Error(w, "history database unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// overviewPage is the content of /.
type overviewPage struct {
	Latest  *latest
	Tiers   []tierRow
	Errors  []model.ScanError
	More    int
	MTTR    MTTR
	HasMTTR bool
	Runs    []runRow
}

type tierRow struct {
	Name string
	policy.TierSummary
}

type runRow struct {
	history.Entry
	IsAudit bool
}

func (s *site) overview(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	l, err := s.data.latest(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := overviewPage{Latest: l}
	if l != nil {
		for _, name := range slices.Sorted(maps.Keys(l.Audit.Summary.ByTier)) {
			p.Tiers = append(p.Tiers, tierRow{Name: name, TierSummary: *l.Audit.Summary.ByTier[name]})
		}
		p.Errors = l.Audit.Errors
		if len(p.Errors) > maxErrorsShown {
			p.Errors, p.More = p.Errors[:maxErrorsShown], len(p.Errors)-maxErrorsShown
		}
	}
	if p.MTTR, p.HasMTTR, err = recentMTTR(ctx, s.db, s.now()); err != nil {
		s.fail(w, r, err)
		return
	}
	es, err := history.Recent(ctx, s.db, "", recentRuns)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, e := range es {
		p.Runs = append(p.Runs, runRow{Entry: e, IsAudit: e.Kind == history.KindAudit})
	}
	s.render(w, r, http.StatusOK, "overview", "Overview", p)
}

// noOwner is the owner filter's value for tables without an owner.
const noOwner = "-"

// filter is the query of /tables.
type filter struct {
	Verdict, Tier, Account, Owner, Q string
	Page                             int
}

// parseVerdict accepts a verdict as the JSON spells it, in lower case, or
// with dashes (non-compliant, as --fail-on does).
func parseVerdict(s string) (model.Verdict, bool) {
	v := model.Verdict(strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), "-", "_")))
	return v, slices.Contains(verdicts, v)
}

func parseFilter(q url.Values) (filter, error) {
	f := filter{Tier: q.Get("tier"), Account: q.Get("account"), Owner: q.Get("owner"), Q: strings.TrimSpace(q.Get("q")), Page: 1}
	if v := q.Get("verdict"); v != "" {
		verdict, ok := parseVerdict(v)
		if !ok {
			names := make([]string, len(verdicts))
			for i, v := range verdicts {
				names[i] = strings.ToLower(string(v))
			}
			return f, fmt.Errorf("verdict %q is not a verdict; use one of %s", v, strings.Join(names, ", "))
		}
		f.Verdict = string(verdict)
	}
	if p := q.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return f, fmt.Errorf("page %q is not a page number (1, 2, …)", p)
		}
		f.Page = n
	}
	return f, nil
}

func (f filter) match(t *report.TableResult) bool {
	switch {
	case f.Verdict != "" && string(t.Verdict) != f.Verdict,
		f.Tier != "" && t.Tier != f.Tier,
		f.Account != "" && t.Account != f.Account,
		f.Owner == noOwner && t.Owner != "",
		f.Owner != "" && f.Owner != noOwner && t.Owner != f.Owner:
		return false
	case f.Q == "":
		return true
	}
	q := strings.ToLower(f.Q)
	for _, s := range []string{t.Name, t.ARN, t.Account, t.Region, t.Owner, t.Tier} {
		if strings.Contains(strings.ToLower(s), q) {
			return true
		}
	}
	return false
}

// query is the filter as a URL query, on page n.
func (f filter) query(n int) string {
	v := url.Values{}
	for k, s := range map[string]string{"verdict": strings.ToLower(f.Verdict), "tier": f.Tier, "account": f.Account, "owner": f.Owner, "q": f.Q} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if n > 1 {
		v.Set("page", strconv.Itoa(n))
	}
	if len(v) == 0 {
		return "/tables"
	}
	return "/tables?" + v.Encode()
}

// tablesPage is the content of /tables.
type tablesPage struct {
	Latest                   *latest
	Filter                   filter
	Verdicts                 []string
	Tiers, Accounts, Owners  []string
	Rows                     []report.TableResult
	Matched, Total           int
	NoOwner                  string
	First, Last              int
	PrevURL, NextURL, AllURL string
}

func (s *site) tables(w http.ResponseWriter, r *http.Request) {
	f, err := parseFilter(r.URL.Query())
	if err != nil {
		s.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	l, err := s.data.latest(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := tablesPage{Latest: l, Filter: f, AllURL: "/tables", NoOwner: noOwner}
	for _, v := range verdicts {
		p.Verdicts = append(p.Verdicts, string(v))
	}
	if l == nil {
		s.render(w, r, http.StatusOK, "tables", "Tables", p)
		return
	}
	tiers, accounts, owners := map[string]bool{}, map[string]bool{}, map[string]bool{}
	var matched []report.TableResult
	for i := range l.Audit.Tables {
		t := &l.Audit.Tables[i]
		tiers[t.Tier], accounts[t.Account], owners[t.Owner] = true, true, true
		if f.match(t) {
			matched = append(matched, *t)
		}
	}
	p.Tiers, p.Accounts, p.Owners = slices.Sorted(maps.Keys(tiers)), slices.Sorted(maps.Keys(accounts)), slices.Sorted(maps.Keys(owners))
	p.Matched, p.Total = len(matched), len(l.Audit.Tables)
	start := (f.Page - 1) * pageSize
	if start > len(matched) && len(matched) > 0 {
		s.problem(w, r, http.StatusNotFound, fmt.Sprintf("Page %d is past the last page of %d tables.", f.Page, len(matched)))
		return
	}
	end := min(start+pageSize, len(matched))
	p.Rows = matched[start:end]
	if len(p.Rows) > 0 {
		p.First, p.Last = start+1, end
	}
	if f.Page > 1 {
		p.PrevURL = f.query(f.Page - 1)
	}
	if end < len(matched) {
		p.NextURL = f.query(f.Page + 1)
	}
	s.render(w, r, http.StatusOK, "tables", "Tables", p)
}

// tablePage is the content of /tables/{account}/{region}/{name}.
type tablePage struct {
	Account, Region, Name string
	Now                   *store.Facts
	NowSeen               time.Time
	History               []snapshotRow
	Drills                []store.Drill
	Journal               []store.JournalEntry
}

type snapshotRow struct {
	RunID   int64
	SeenAt  time.Time
	Verdict model.Verdict
	Tier    string
	Owner   string
	PITR    string
	Days    *int
	Reasons []model.Reason
}

func (s *site) table(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := tablePage{Account: r.PathValue("account"), Region: r.PathValue("region"), Name: r.PathValue("name")}
	snaps, err := s.db.TableSnapshots(ctx, p.Account, p.Region, p.Name, tableHistory)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(snaps) == 0 {
		s.problem(w, r, http.StatusNotFound, fmt.Sprintf("No audit recorded table %s in account %s, region %s.", p.Name, p.Account, p.Region))
		return
	}
	for i, rec := range snaps {
		f, err := rec.Snapshot()
		if err != nil {
			s.fail(w, r, fmt.Errorf("run %d, table %s/%s/%s: %w", rec.RunID, rec.Account, rec.Region, rec.Name, err))
			return
		}
		if i == 0 {
			p.Now, p.NowSeen = f, rec.SeenAt
		}
		row := snapshotRow{RunID: rec.RunID, SeenAt: rec.SeenAt, Verdict: model.Verdict(rec.Verdict), Tier: rec.Tier, Owner: rec.Owner,
			PITR: rec.PITRStatus, Days: rec.RecoveryDays}
		for _, re := range f.Reasons {
			row.Reasons = append(row.Reasons, model.Reason(re))
		}
		p.History = append(p.History, row)
	}
	// Drills and changes of the table among the most recent ones.
	ds, err := s.db.Drills(ctx, tableLookBack)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.Drills = slices.DeleteFunc(ds, func(d store.Drill) bool { return d.Account != p.Account || d.Region != p.Region || d.Table != p.Name })
	js, err := s.db.Journal(ctx, 0, tableLookBack)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.Journal = slices.DeleteFunc(js, func(j store.JournalEntry) bool {
		return j.Account != p.Account || j.Region != p.Region || j.Table != p.Name
	})
	s.render(w, r, http.StatusOK, "table", p.Name, p)
}

// drillsPage is the content of /drills.
type drillsPage struct {
	Drills  []store.Drill
	MTTR    MTTR
	HasMTTR bool
	Limit   int
}

func (s *site) drills(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ds, err := s.db.Drills(ctx, listLimit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := drillsPage{Drills: ds, Limit: listLimit}
	if p.MTTR, p.HasMTTR, err = recentMTTR(ctx, s.db, s.now()); err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "drills", "Drills", p)
}

// journalPage is the content of /journal.
type journalPage struct {
	Entries []store.JournalEntry
	Limit   int
}

func (s *site) journal(w http.ResponseWriter, r *http.Request) {
	es, err := s.db.Journal(r.Context(), 0, listLimit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "journal", "Journal", journalPage{Entries: es, Limit: listLimit})
}
