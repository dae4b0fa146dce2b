package glob

import "testing"

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		p, s string
		want bool
	}{
		{"tmp-*", "tmp-import", true},
		{"tmp-*", "TMP-import", true},
		{"tmp-*", "xtmp-import", false},
		{"*-cache", "session-cache", true},
		{"arn:aws:dynamodb:*:111111111111:table/scratch-*", "arn:aws:dynamodb:eu-west-1:111111111111:table/scratch-9", true},
		{"arn:aws:dynamodb:*:111111111111:table/scratch-*", "arn:aws:dynamodb:eu-west-1:222222222222:table/scratch-9", false},
		{"*", "a/b:c", true},
		{"t?", "t1", true},
		{"t?", "t12", false},
		{"t[0-9]", "t5", true},
		{"t[!0-9]", "t5", false},
		{"a.b", "axb", false},
		{"a+b", "a+b", true},
		{"é*", "éclair", true},
	} {
		if got := Match(tc.p, tc.s); got != tc.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.p, tc.s, got, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, p := range []string{"", "a[", "a]", "[]", "[!]"} {
		if Validate(p) == nil {
			t.Errorf("Validate(%q) = nil, want an error", p)
		}
	}
	if err := Validate("x-[ab]*"); err != nil {
		t.Errorf("Validate: %v", err)
	}
}
