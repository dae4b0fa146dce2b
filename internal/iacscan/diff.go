package iacscan

import (
	"fmt"
	"strings"
)

// diffOp is one line of an edit script: kept (' '), removed ('-') or
// added ('+').
type diffOp struct {
	kind byte // ' ', '-', '+'
	text string
}

// diffContext is the number of unchanged lines shown around a change.
const diffContext = 3

// UnifiedDiff returns a unified diff (3 lines of context) of two texts.
func UnifiedDiff(name string, a, b []byte) string {
	ops := editScript(splitLines(string(a)), splitLines(string(b)))
	var out strings.Builder
	fmt.Fprintf(&out, "--- a/%s\n+++ b/%s\n", name, name)
	for k := 0; k < len(ops); {
		if ops[k].kind == ' ' {
			k++
			continue
		}
		start, end := max(0, k-diffContext), hunkEnd(ops, k)
		writeHunk(&out, ops, start, end)
		k = end
	}
	return out.String()
}

// editScript turns x into y: the common prefix and suffix are kept as they
// are, and the middle is diffed by longest common subsequence.
func editScript(x, y []string) []diffOp {
	pre := 0
	for pre < len(x) && pre < len(y) && x[pre] == y[pre] {
		pre++
	}
	suf := 0
	for suf < len(x)-pre && suf < len(y)-pre && x[len(x)-1-suf] == y[len(y)-1-suf] {
		suf++
	}
	mx, my := x[pre:len(x)-suf], y[pre:len(y)-suf]
	var ops []diffOp
	for i := range pre {
		ops = append(ops, diffOp{' ', x[i]})
	}
	lcs := lcsTable(mx, my)
	i, j := 0, 0
	for i < len(mx) || j < len(my) {
		switch {
		case i < len(mx) && j < len(my) && mx[i] == my[j]:
			ops = append(ops, diffOp{' ', mx[i]})
			i, j = i+1, j+1
		case i < len(mx) && (j == len(my) || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, diffOp{'-', mx[i]})
			i++
		default:
			ops = append(ops, diffOp{'+', my[j]})
			j++
		}
	}
	for k := len(x) - suf; k < len(x); k++ {
		ops = append(ops, diffOp{' ', x[k]})
	}
	return ops
}

// lcsTable holds at [i][j] the length of the longest common subsequence of
// x[i:] and y[j:].
func lcsTable(x, y []string) [][]int {
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	return lcs
}

// hunkEnd is the end (exclusive) of the hunk whose first change is ops[k]:
// changes separated by at most 2×context unchanged lines share a hunk,
// which ends context lines after its last change.
func hunkEnd(ops []diffOp, k int) int {
	end := k
	for end < len(ops) {
		if ops[end].kind != ' ' {
			end++
			continue
		}
		run := end
		for run < len(ops) && ops[run].kind == ' ' {
			run++
		}
		if run-end > 2*diffContext || run == len(ops) {
			return min(len(ops), end+diffContext)
		}
		end = run
	}
	return end
}

// sideLengths counts the lines of ops on the old (a) and new (b) side.
func sideLengths(ops []diffOp) (a, b int) {
	for _, o := range ops {
		if o.kind != '+' {
			a++
		}
		if o.kind != '-' {
			b++
		}
	}
	return a, b
}

// writeHunk writes ops[start:end] as one hunk with its @@ header.
func writeHunk(out *strings.Builder, ops []diffOp, start, end int) {
	al, bl := sideLengths(ops[:start])
	ac, bc := sideLengths(ops[start:end])
	fmt.Fprintf(out, "@@ -%d,%d +%d,%d @@\n", al+1, ac, bl+1, bc)
	for _, o := range ops[start:end] {
		out.WriteByte(o.kind)
		out.WriteString(o.text)
		out.WriteByte('\n')
	}
}

func splitLines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
