// Package glob matches the shell-style patterns used in the policy file:
// `*` matches any run of characters (including `/` and `:`, so one pattern
// can cover ARNs), `?` matches one character and `[...]` a character class
// (`[!...]` negates). Matching is case-insensitive.
package glob

import (
	"errors"
	"regexp"
	"strings"
	"sync"
)

var cache sync.Map // pattern → *regexp.Regexp

// Validate reports why a pattern is malformed, or nil.
func Validate(pattern string) error {
	_, err := compile(pattern)
	return err
}

// Match reports whether s matches pattern. A malformed pattern matches nothing
// (patterns are validated when the policy is loaded).
func Match(pattern, s string) bool {
	if v, ok := cache.Load(pattern); ok {
		return v.(*regexp.Regexp).MatchString(s)
	}
	re, err := compile(pattern)
	if err != nil {
		return false
	}
	cache.Store(pattern, re)
	return re.MatchString(s)
}

func compile(pattern string) (*regexp.Regexp, error) {
	if pattern == "" {
		return nil, errors.New("empty pattern")
	}
	var b strings.Builder
	b.WriteString("(?is)^")
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; c {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		case '[':
			end := strings.IndexByte(pattern[i+1:], ']')
			if end < 0 {
				return nil, errors.New("unterminated character class: `[` without `]`")
			}
			class := pattern[i+1 : i+1+end]
			if class == "" || class == "!" {
				return nil, errors.New("empty character class `[]`")
			}
			b.WriteByte('[')
			if class[0] == '!' {
				b.WriteByte('^')
				class = class[1:]
			}
			for _, r := range class {
				if r == '\\' || r == '[' || r == ']' || r == '^' {
					b.WriteByte('\\')
				}
				b.WriteRune(r)
			}
			b.WriteByte(']')
			i += end + 1
		case ']':
			return nil, errors.New("`]` without `[`")
		default:
			b.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}
