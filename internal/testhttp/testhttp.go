// Package testhttp makes HTTP requests for tests and reads the Prometheus
// text format with the parser Prometheus itself uses
// (github.com/prometheus/common/expfmt).
package testhttp

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Samples are the gauge and counter values of one scrape, keyed by
// name{label="value",…} with the labels sorted by name.
type Samples map[string]float64

// Parse reads a scrape in the text format. Only gauges, counters and
// untyped samples are kept (summaries and histograms have no single value).
func Parse(r io.Reader) (Samples, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("not the Prometheus text format: %w", err)
	}
	out := Samples{}
	for name, fam := range fams {
		for _, m := range fam.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			var v float64
			switch fam.GetType() {
			case dto.MetricType_GAUGE:
				v = m.GetGauge().GetValue()
			case dto.MetricType_COUNTER:
				v = m.GetCounter().GetValue()
			case dto.MetricType_UNTYPED:
				v = m.GetUntyped().GetValue()
			default:
				continue
			}
			out[Key(name, labels)] = v
		}
	}
	return out, nil
}

// Key is the key of a sample: Key("x", map[string]string{"b": "2", "a": "1"})
// is `x{a="1",b="2"}`.
func Key(name string, labels map[string]string) string {
	if len(labels) == 0 {
		return name
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		parts = append(parts, fmt.Sprintf("%s=%q", k, labels[k]))
	}
	return name + "{" + strings.Join(parts, ",") + "}"
}

// Get returns the value of name with the labels given as pairs
// ("tier", "critical", …), and whether the scrape has it.
func (s Samples) Get(name string, labelPairs ...string) (float64, bool) {
	labels := map[string]string{}
	for i := 0; i+1 < len(labelPairs); i += 2 {
		labels[labelPairs[i]] = labelPairs[i+1]
	}
	v, ok := s[Key(name, labels)]
	return v, ok
}

// WithPrefix returns the samples whose name starts with prefix.
func (s Samples) WithPrefix(prefix string) Samples {
	out := Samples{}
	for k, v := range s {
		if strings.HasPrefix(k, prefix) {
			out[k] = v
		}
	}
	return out
}

// Do sends a request without a body, with headers given as pairs
// ("Authorization", "Bearer x", …), and returns the status, body and headers.
func Do(t testing.TB, client *http.Client, method, url string, header ...string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

// Scrape GETs a /metrics URL and returns its samples whose names start with
// prefix; the test fails unless the answer is 200 in the text format.
func Scrape(t testing.TB, client *http.Client, url, prefix string, header ...string) Samples {
	t.Helper()
	code, body, _ := Do(t, client, http.MethodGet, url, header...)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", url, code, body)
	}
	s, err := Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("GET %s: %v\n%s", url, err, body)
	}
	return s.WithPrefix(prefix)
}
