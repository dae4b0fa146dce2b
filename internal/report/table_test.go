package report

import (
	"bytes"
	"strings"
	"testing"
)

func TestTableAlignsByVisibleWidth(t *testing.T) {
	var b bytes.Buffer
	red := ansiRed + "NON_COMPLIANT" + ansiReset
	if err := Table(&b, Style{Aligned: true}, []string{"A", "VERDICT", "Z"}, [][]string{{"x", red, "1"}, {"yy", "OK", "2"}}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	want := []string{"A   VERDICT        Z", "x   NON_COMPLIANT  1", "yy  OK             2"}
	for i, l := range lines {
		if got := strings.ReplaceAll(strings.ReplaceAll(l, ansiRed, ""), ansiReset, ""); got != want[i] {
			t.Errorf("line %d = %q, want %q", i, got, want[i])
		}
	}
}

func TestTableFitsWidth(t *testing.T) {
	var b bytes.Buffer
	rows := [][]string{{"111111111111", strings.Repeat("r", 60), "owner-team", "9.99"}}
	st := Style{Aligned: true, Width: 40, Shrink: []int{1, 2}, Optional: []int{3}}
	if err := Table(&b, st, []string{"ACCOUNT", "REASONS", "OWNER", "COST"}, rows); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
		if n := len([]rune(l)); n > 40 {
			t.Errorf("%d columns: %q", n, l)
		}
	}
	if !strings.Contains(b.String(), "…") || !strings.Contains(b.String(), "111111111111") {
		t.Errorf("output:\n%s", b.String())
	}
	if got := truncate("abcdef", 4); got != "abc…" {
		t.Errorf("truncate = %q", got)
	}
	if visibleWidth(ansiGreen+"OK"+ansiReset) != 2 {
		t.Error("visibleWidth counts escape codes")
	}
}
