package evidence

import (
	_ "embed"
	"html/template"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
)

//go:embed report.html.tmpl
var htmlSource string

var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"day": day, "stamp": stamp, "stampPtr": stampPtr, "ids": ids, "join": join, "state": state,
	"pct": pct, "pctOf": pctOf, "share": share, "usd": usd, "count": count, "secs": secs, "kpiValue": kpiValue,
	"deref": func(p *int) int {
		if p == nil {
			return 0
		}
		return *p
	},
	// The plot area of a chart, and where its y labels end.
	"plotLeft": func() int { return padL }, "plotRight": func() int { return chartW - padR }, "labelRight": func() int { return padL - 4 },
	"kpi": func(name, label, text string, v any) kpiCard {
		return kpiCard{Name: name, Label: label, Text: text, Value: kpiValue(v)}
	},
}).Parse(htmlSource))

type kpiCard struct{ Name, Label, Text, Value string }

// htmlView is what the template renders.
type htmlView struct {
	R         *Report
	Charts    []chart
	RunKinds  []string
	ScopeLine string
}

// WriteHTML writes the report as one self-contained HTML page: inline CSS
// and SVG, nothing fetched, a print stylesheet with a running header.
func WriteHTML(w io.Writer, r *Report) error {
	return htmlTemplate.Execute(w, htmlView{R: r, Charts: r.charts(), RunKinds: slices.Sorted(maps.Keys(r.Scope.Runs)), ScopeLine: scopeLine(r)})
}

// scopeLine is the scope in a few words, for page headers.
func scopeLine(r *Report) string {
	s := r.Scope
	if !s.Measured {
		return "scope " + NotMeasured
	}
	return strings.Join([]string{plural(s.Tables, "table"), plural(len(s.Accounts), "account"), plural(len(s.Regions), "region")}, ", ")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}
