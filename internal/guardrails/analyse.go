package guardrails

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Assessment says whether a policy document denies what pitrguard's control
// denies: dynamodb:UpdateContinuousBackups on every table, for every principal
// except the allowed ones.
type Assessment struct {
	Denies bool
	// Statement is the Sid (or position) of the statement that denies, or of
	// the closest one that does not.
	Statement string
	// Reason explains the verdict in one sentence.
	Reason string
}

// Probes used to decide coverage: a policy covers "every table" when its
// resource patterns match tables in unrelated accounts and regions, and an
// exemption is too broad when it matches ordinary roles and users.
var (
	probeTables = []string{
		"arn:aws:dynamodb:us-east-1:111122223333:table/orders",
		"arn:aws:dynamodb:eu-west-1:444455556666:table/x-probe_table.9",
	}
	probePrincipals = []string{
		"arn:aws:iam::111122223333:role/developer",
		"arn:aws:iam::111122223333:role/Admin",
		"arn:aws:iam::111122223333:user/alice",
	}
)

type looseStatement struct {
	Sid         string          `json:"Sid"`
	Effect      string          `json:"Effect"`
	Principal   json.RawMessage `json:"Principal"`
	Action      json.RawMessage `json:"Action"`
	NotAction   json.RawMessage `json:"NotAction"`
	Resource    json.RawMessage `json:"Resource"`
	NotResource json.RawMessage `json:"NotResource"`
	Condition   json.RawMessage `json:"Condition"`
}

// Analyse reads a policy's text (never its name) and decides whether it
// denies ControlAction as pitrguard's control does. allow is the list of
// principal patterns the organization means to exempt; an exemption outside
// it (or one that matches ordinary roles) weakens the control. An empty allow
// skips the list check and keeps only the ordinary-role probe.
func Analyse(content string, kind Kind, allow []string) Assessment {
	var doc struct {
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(content), &doc); err != nil {
		return Assessment{Reason: "the policy text is not valid JSON: " + err.Error()}
	}
	var stmts []looseStatement
	trimmed := bytes.TrimSpace(doc.Statement)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var one looseStatement
		if err := json.Unmarshal(trimmed, &one); err != nil {
			return Assessment{Reason: "the Statement element is malformed: " + err.Error()}
		}
		stmts = []looseStatement{one}
	} else if err := json.Unmarshal(trimmed, &stmts); err != nil {
		return Assessment{Reason: "the Statement element is malformed: " + err.Error()}
	}
	best := Assessment{Reason: "no Deny statement names " + ControlAction}
	bestScore := -1
	for i, s := range stmts {
		name := s.Sid
		if name == "" {
			name = fmt.Sprintf("#%d", i+1)
		}
		score, reason := judgeStatement(s, kind, allow)
		if score == 100 {
			return Assessment{Denies: true, Statement: name, Reason: reason}
		}
		if score > bestScore {
			best, bestScore = Assessment{Statement: name, Reason: reason}, score
		}
	}
	return best
}

// judgeStatement scores how close a statement comes to the control (100 =
// it is the control) and says why it falls short.
func judgeStatement(s looseStatement, kind Kind, allow []string) (int, string) {
	acts, _ := stringOrList(s.Action)
	notActs, _ := stringOrList(s.NotAction)
	if !elementCovers(acts, notActs, func(a string) bool { return wildMatch(strings.ToLower(a), strings.ToLower(ControlAction)) }) {
		return 0, "no Deny statement names " + ControlAction
	}
	if !strings.EqualFold(s.Effect, "Deny") {
		return 10, fmt.Sprintf("the statement naming %s has Effect %q, not Deny", ControlAction, s.Effect)
	}
	if kind == RCP && !principalIsEveryone(s.Principal) {
		return 20, `the statement does not apply to "Principal": "*"`
	}
	res, _ := stringOrList(s.Resource)
	notRes, _ := stringOrList(s.NotResource)
	for _, t := range probeTables {
		if !elementCovers(res, notRes, func(r string) bool { return wildMatch(r, t) }) {
			return 30, fmt.Sprintf("the deny covers only some tables (Resource %s)", strings.Join(append(res, notRes...), ", "))
		}
	}
	conds, err := parseConditions(s.Condition)
	if err != nil {
		return 40, "the Condition element is malformed: " + err.Error()
	}
	exempt, unconditional := exemptions(conds)
	if unconditional != "" {
		return 50, unconditional
	}
	return judgeExemptions(exempt, allow)
}

// elementCovers reports whether an element and its Not form (Action and
// NotAction, Resource and NotResource) cover a value: one entry of list
// matches it, or, with list empty, no entry of notList does. Both empty
// covers nothing.
func elementCovers(list, notList []string, matches func(string) bool) bool {
	switch {
	case len(list) > 0:
		return slices.ContainsFunc(list, matches)
	case len(notList) > 0:
		return !slices.ContainsFunc(notList, matches)
	}
	return false
}

// exemptions returns the principals a statement's conditions exempt, or,
// for the first condition that is not a principal exemption (nor the
// harmless aws:PrincipalIsAWSService false), why the deny does not hold for
// every call.
func exemptions(conds []condition) (exempt []string, unconditional string) {
	for _, c := range conds {
		switch {
		case isPrincipalExemption(c):
			exempt = append(exempt, c.Values...)
		case strings.EqualFold(c.Key, "aws:PrincipalIsAWSService") && strings.HasPrefix(c.Op, "Bool") &&
			len(c.Values) == 1 && strings.EqualFold(c.Values[0], "false"):
			// Leaves AWS service principals to the service; harmless here.
		default:
			return nil, fmt.Sprintf("the deny applies only when %s %s %s, so it does not hold for every call", c.Op, c.Key, strings.Join(c.Values, ","))
		}
	}
	return exempt, ""
}

// judgeExemptions scores a Deny that covers every table and call but for
// the exempted principals: each must be narrow (match no ordinary
// principal) and, when allow is given, among the allowed ones.
func judgeExemptions(exempt, allow []string) (int, string) {
	if len(exempt) == 0 {
		return 100, "denies " + ControlAction + " on every table to every principal (no exemption: pitrguard itself is blocked too)"
	}
	for _, e := range exempt {
		for _, p := range probePrincipals {
			if wildMatch(e, p) {
				return 60, fmt.Sprintf("the exemption %s also matches ordinary principals such as %s", e, p)
			}
		}
		if len(allow) > 0 && !coveredBy(e, allow) {
			return 70, fmt.Sprintf("the exemption %s is not among the allowed principals (%s)", e, strings.Join(allow, ", "))
		}
	}
	return 100, fmt.Sprintf("denies %s on every table except to %s", ControlAction, strings.Join(exempt, ", "))
}

func coveredBy(exemption string, allow []string) bool {
	for _, a := range allow {
		if wildMatch(a, exemption) {
			return true
		}
	}
	return false
}

func principalIsEveryone(raw json.RawMessage) bool {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s == "*"
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) == nil {
		if v, ok := m["AWS"]; ok {
			vals, _ := stringOrList(v)
			return len(vals) == 1 && vals[0] == "*"
		}
	}
	return false
}
