// Package dashboard is `pitrguard serve`: a read-only web view of the history
// database and its Prometheus metrics.
//
// Pages (html/template from an embed.FS, inline CSS, no script and nothing
// fetched from elsewhere): the overview (the latest audit's KPIs overall and
// per tier, coverage, errors, MTTR, recent runs), the tables of the latest
// audit with filters and search, one table's history, the drills and the
// journal. /healthz answers "ok" while the database can be read; /metrics is
// the Prometheus text format from a registry of its own, whose collector
// reads the database at scrape time.
//
// The latest audit is the newest finished one, with the shards of a run group
// merged into one audit (package history); an audit still running is passed
// over until it ends. Nothing here changes anything: only GET and HEAD are
// answered. The server binds to loopback unless given a bearer token, which
// every request must then carry (ParseAddress tells the two apart).
package dashboard
