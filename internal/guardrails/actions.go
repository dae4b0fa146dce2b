package guardrails

import (
	_ "embed"
	"slices"
	"strings"
	"sync"
)

// actionsTxt lists the real IAM actions of DynamoDB and AWS Backup, with its
// source in the file's header (botocore service models + the Service
// Authorization Reference for permission-only actions).
//
//go:embed assets/actions.txt
var actionsTxt string

var (
	actionsOnce sync.Once
	actionSet   map[string]string // lower-case → canonical spelling
)

func actions() map[string]string {
	actionsOnce.Do(func() {
		actionSet = map[string]string{}
		for line := range strings.SplitSeq(actionsTxt, "\n") {
			if i := strings.IndexByte(line, '#'); i >= 0 {
				line = line[:i]
			}
			line = strings.TrimSpace(line)
			if line != "" {
				actionSet[strings.ToLower(line)] = line
			}
		}
	})
	return actionSet
}

// KnownAction reports whether action (service:Name, any case) is a real
// DynamoDB or AWS Backup IAM action, and returns its canonical spelling.
func KnownAction(action string) (string, bool) {
	c, ok := actions()[strings.ToLower(action)]
	return c, ok
}

// ExpandAction returns the known actions an action pattern (with * and ?)
// matches, sorted.
func ExpandAction(pattern string) []string {
	var out []string
	for lower, canon := range actions() {
		if wildMatch(strings.ToLower(pattern), lower) {
			out = append(out, canon)
		}
	}
	slices.Sort(out)
	return out
}

// wildMatch matches IAM-style patterns: * is any run of characters, ? one
// character; everything else is literal. Case-sensitive (callers lower-case
// when the element is case-insensitive, as actions are).
func wildMatch(pattern, s string) bool {
	// Iterative matcher with backtracking on the last star.
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
