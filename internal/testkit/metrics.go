package testkit

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Metrics is one scrape of a Prometheus text exposition, parsed with
// prometheus/common's text parser, by metric family name.
type Metrics map[string]*dto.MetricFamily

// ParseMetrics parses the Prometheus text format.
func ParseMetrics(r io.Reader) (Metrics, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	return Metrics(fams), err
}

// Scrape GETs url (a /metrics endpoint) and parses the answer; it fails
// the test on any error.
func Scrape(t testing.TB, client *http.Client, url string) Metrics {
	t.Helper()
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("scraping %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scraping %s: %s", url, resp.Status)
	}
	m, err := ParseMetrics(resp.Body)
	if err != nil {
		t.Fatalf("parsing %s: %v", url, err)
	}
	return m
}

// Value returns the value of the one series of name whose labels include
// the given name/value pairs: a counter's or gauge's value, a histogram's
// sample count. ok is false if no series matches; more than one match is
// summed.
func (m Metrics) Value(name string, labelPairs ...string) (v float64, ok bool) {
	fam := m[name]
	if fam == nil {
		return 0, false
	}
	for _, s := range fam.GetMetric() {
		if !hasLabels(s, labelPairs) {
			continue
		}
		ok = true
		switch {
		case s.Counter != nil:
			v += s.Counter.GetValue()
		case s.Gauge != nil:
			v += s.Gauge.GetValue()
		case s.Histogram != nil:
			v += float64(s.Histogram.GetSampleCount())
		case s.Untyped != nil:
			v += s.Untyped.GetValue()
		}
	}
	return v, ok
}

// Get is Value that treats a missing series as 0.
func (m Metrics) Get(name string, labelPairs ...string) float64 {
	v, _ := m.Value(name, labelPairs...)
	return v
}

// LabelValues lists the distinct values of label across name's series.
func (m Metrics) LabelValues(name, label string) []string {
	seen := map[string]bool{}
	for _, s := range m[name].GetMetric() {
		for _, l := range s.GetLabel() {
			if l.GetName() == label {
				seen[l.GetValue()] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// String lists every series, for failure messages.
func (m Metrics) String() string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		for _, s := range m[n].GetMetric() {
			v, _ := Metrics{n: &dto.MetricFamily{Metric: []*dto.Metric{s}}}.Value(n)
			fmt.Fprintf(&b, "%s%s %g\n", n, labelString(s), v)
		}
	}
	return b.String()
}

func labelString(s *dto.Metric) string {
	if len(s.GetLabel()) == 0 {
		return ""
	}
	parts := make([]string, 0, len(s.GetLabel()))
	for _, l := range s.GetLabel() {
		parts = append(parts, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func hasLabels(s *dto.Metric, pairs []string) bool {
	for i := 0; i+1 < len(pairs); i += 2 {
		found := false
		for _, l := range s.GetLabel() {
			if l.GetName() == pairs[i] && l.GetValue() == pairs[i+1] {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
