package check

import "testing"

func TestAnyAccountHas(t *testing.T) {
	guarded := Account{Account: "111111111111", Prevent: NotApplicable, Detect: Yes, Correct: Yes, Trail: Yes}
	noTrail := Account{Account: "222222222222", Prevent: Yes, Detect: Yes, Correct: Yes, Trail: No}
	unknownDetect := Account{Account: "333333333333", Prevent: Yes, Detect: Unknown, Correct: Yes, Trail: Yes}
	cases := map[string]struct {
		accounts []Account
		status   Status
		want     bool
	}{
		"no account":              {nil, No, false},
		"all guarded, no missing": {[]Account{guarded}, No, false},
		"trail missing":           {[]Account{guarded, noTrail}, No, true},
		"missing is not unknown":  {[]Account{noTrail}, Unknown, false},
		"detect unknown":          {[]Account{guarded, unknownDetect}, Unknown, true},
		"not applicable prevent":  {[]Account{guarded}, NotApplicable, true},
	}
	for name, c := range cases {
		r := &Report{Accounts: c.accounts}
		if got := r.AnyAccountHas(c.status); got != c.want {
			t.Errorf("%s: AnyAccountHas(%s) = %v, want %v", name, c.status, got, c.want)
		}
	}
}
