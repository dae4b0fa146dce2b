package guardrails

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Kind is an Organizations authorization policy type pitrguard generates.
type Kind string

// Policy kinds.
const (
	SCP Kind = "scp"
	RCP Kind = "rcp"
)

// OrgType is the Organizations policy type name (CreatePolicy, ListPoliciesForTarget).
func (k Kind) OrgType() string {
	if k == RCP {
		return "RESOURCE_CONTROL_POLICY"
	}
	return "SERVICE_CONTROL_POLICY"
}

// MaxPolicyChars is the Organizations quota for SCP and RCP documents
// (orgs_reference_limits: 5,120 characters; whitespace counts unless removed).
const MaxPolicyChars = 5120

// ControlAction is the action pitrguard's preventive control reserves for
// the allowed principals.
const ControlAction = "dynamodb:UpdateContinuousBackups"

// DeleteActions are denied on protected-tier resources with --protect-deletes.
var DeleteActions = []string{"dynamodb:DeleteTable", "dynamodb:DeleteBackup", "backup:DeleteRecoveryPoint"}

// rcpServices are the service prefixes among DynamoDB and AWS Backup that
// RCPs support (Organizations user guide, "List of AWS services that support
// RCPs": dynamodb is listed, backup is not).
var rcpServices = []string{"dynamodb"}

// DefaultProtectTags are the built-in policy's production tags
// (ARCHITECTURE.md: env/environment/stage = prod/production/prd).
var DefaultProtectTags = map[string][]string{
	"env":         {"prod", "production", "prd"},
	"environment": {"prod", "production", "prd"},
	"stage":       {"prod", "production", "prd"},
}

// PolicyOptions say what to generate.
type PolicyOptions struct {
	Kind Kind
	// AllowPrincipals are aws:PrincipalArn patterns (IAM role or user ARNs,
	// * and ? allowed) that keep the right to call the denied actions.
	AllowPrincipals []string
	// ProtectDeletes adds the deny on deleting protected tables and backups.
	ProtectDeletes bool
	// ProtectTags are the tag key → values of the protected tier.
	ProtectTags map[string][]string
}

// Statement is one policy statement as pitrguard writes it.
type Statement struct {
	Sid       string                    `json:"Sid,omitempty"`
	Effect    string                    `json:"Effect"`
	Principal any                       `json:"Principal,omitempty"`
	Action    []string                  `json:"Action"`
	Resource  string                    `json:"Resource"`
	Condition map[string]map[string]any `json:"Condition,omitempty"`
}

// Document is an SCP or RCP document.
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

var principalRE = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b|\*):iam::(\d{12}|\*):(role|user)/[\w+=,.@/*?-]+$`)

// CheckPrincipal says why pattern is not usable as an allowed principal.
func CheckPrincipal(pattern string) error {
	switch {
	case strings.Contains(pattern, ":sts::") || strings.Contains(pattern, ":assumed-role/"):
		return fmt.Errorf("%q is a session ARN; aws:PrincipalArn carries the role's ARN: use arn:aws:iam::ACCOUNT:role/NAME", pattern)
	case !principalRE.MatchString(pattern):
		return fmt.Errorf("%q is not an IAM role or user ARN pattern such as arn:aws:iam::*:role/pitrguard-*", pattern)
	}
	name := pattern[strings.Index(pattern, ":role/")+1:]
	if strings.HasPrefix(name, "user/") || strings.HasPrefix(name, "role/") {
		name = name[5:]
	}
	if strings.Trim(name, "*?/") == "" {
		return fmt.Errorf("%q matches every role or user, so the control would prevent nothing; name the roles", pattern)
	}
	return nil
}

// Generate builds the policy document and validates it.
func Generate(o PolicyOptions) (*Document, []byte, error) {
	if o.Kind != SCP && o.Kind != RCP {
		return nil, nil, fmt.Errorf("unknown policy kind %q", o.Kind)
	}
	if len(o.AllowPrincipals) == 0 {
		return nil, nil, errors.New("no allowed principal: the control would lock out pitrguard and break-glass access too")
	}
	allow := slices.Clone(o.AllowPrincipals)
	slices.Sort(allow)
	allow = slices.Compact(allow)
	for _, p := range allow {
		if err := CheckPrincipal(p); err != nil {
			return nil, nil, err
		}
	}
	exempt := func() map[string]map[string]any {
		c := map[string]map[string]any{"ArnNotLike": {"aws:PrincipalArn": allow}}
		if o.Kind == RCP {
			// RCPs also apply to AWS service principals calling with their own
			// identity; leave those to the service (AWS's RCP examples do the same).
			c["BoolIfExists"] = map[string]any{"aws:PrincipalIsAWSService": "false"}
		}
		return c
	}
	var principal any
	if o.Kind == RCP {
		principal = "*"
	}
	doc := &Document{Version: "2012-10-17", Statement: []Statement{{
		Sid: "PitrguardOnlyAllowedPrincipalsChangePITR", Effect: "Deny", Principal: principal,
		Action: []string{ControlAction}, Resource: "*", Condition: exempt(),
	}}}
	if o.ProtectDeletes {
		tags := o.ProtectTags
		if len(tags) == 0 {
			tags = DefaultProtectTags
		}
		keys := make([]string, 0, len(tags))
		for k := range tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var acts []string
		for _, a := range DeleteActions {
			if o.Kind == RCP && !slices.Contains(rcpServices, service(a)) {
				continue
			}
			acts = append(acts, a)
		}
		// One statement per tag key: keys inside one condition block are ANDed,
		// and the tier is "any of these tags".
		for i, k := range keys {
			vals := slices.Clone(tags[k])
			slices.Sort(vals)
			c := exempt()
			c["StringEqualsIgnoreCase"] = map[string]any{"aws:ResourceTag/" + k: vals}
			doc.Statement = append(doc.Statement, Statement{
				Sid: fmt.Sprintf("PitrguardProtectTierDeletes%d", i+1), Effect: "Deny", Principal: principal,
				Action: acts, Resource: "*", Condition: c,
			})
		}
	}
	raw, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, nil, err
	}
	if err := Validate(raw, o.Kind, allow); err != nil {
		return nil, nil, fmt.Errorf("generated policy failed validation: %w", err)
	}
	return doc, raw, nil
}

func service(action string) string {
	s, _, _ := strings.Cut(action, ":")
	return strings.ToLower(s)
}

// Minify removes the whitespace outside strings, as AWS suggests for large policies.
func Minify(raw []byte) ([]byte, error) {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// strictStatement is the grammar of an SCP/RCP statement.
type strictStatement struct {
	Sid          string          `json:"Sid"`
	Effect       string          `json:"Effect"`
	Principal    json.RawMessage `json:"Principal"`
	NotPrincipal json.RawMessage `json:"NotPrincipal"`
	Action       json.RawMessage `json:"Action"`
	NotAction    json.RawMessage `json:"NotAction"`
	Resource     json.RawMessage `json:"Resource"`
	NotResource  json.RawMessage `json:"NotResource"`
	Condition    json.RawMessage `json:"Condition"`
}

// Validate checks a policy document before pitrguard prints it: the JSON
// grammar of the policy language, the size quota, that every action is a real
// DynamoDB or AWS Backup action (and, in an RCP, of a service RCPs support),
// the kind's own restrictions, and that no Deny statement can catch the
// allowed principals.
func Validate(raw []byte, kind Kind, allow []string) error {
	min, err := Minify(raw)
	if err != nil {
		return fmt.Errorf("not valid JSON: %w", err)
	}
	if n := len(min); n > MaxPolicyChars {
		return fmt.Errorf("the policy has %d characters without whitespace, over the %d-character quota for %s documents; allow fewer principal patterns or protect fewer tag keys", n, MaxPolicyChars, strings.ToUpper(string(kind)))
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var doc struct {
		Version   string            `json:"Version"`
		Statement []strictStatement `json:"Statement"`
	}
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("not a policy document: %w", err)
	}
	if doc.Version != "2012-10-17" {
		return fmt.Errorf(`"Version" must be "2012-10-17", got %q`, doc.Version)
	}
	if len(doc.Statement) == 0 {
		return errors.New(`"Statement" is empty`)
	}
	sids := map[string]bool{}
	for i, s := range doc.Statement {
		where := fmt.Sprintf("statement %d", i+1)
		if s.Sid != "" {
			where = fmt.Sprintf("statement %q", s.Sid)
			if sids[s.Sid] {
				return fmt.Errorf("%s: duplicate Sid", where)
			}
			sids[s.Sid] = true
		}
		if err := validateStatement(where, s, kind, allow); err != nil {
			return err
		}
	}
	return nil
}

// validateStatement checks one statement (where names it in errors): a
// Deny whose principal, actions, resources and conditions the kind allows,
// and which cannot catch the allowed principals.
func validateStatement(where string, s strictStatement, kind Kind, allow []string) error {
	if s.Effect != "Deny" {
		// An RCP may only Allow in the AWS-managed RCPFullAWSAccess; an SCP
		// Allow would need FullAWSAccess semantics pitrguard does not write.
		return fmt.Errorf("%s: Effect must be Deny, got %q", where, s.Effect)
	}
	if err := validatePrincipal(where, s, kind); err != nil {
		return err
	}
	acts, err := stringOrList(s.Action)
	if err != nil || len(acts) == 0 {
		return fmt.Errorf("%s: Action must be a string or a non-empty list of strings", where)
	}
	for _, a := range acts {
		if err := validateAction(where, a, kind); err != nil {
			return err
		}
	}
	if res, err := stringOrList(s.Resource); err != nil || len(res) == 0 {
		return fmt.Errorf("%s: Resource must be a string or a non-empty list of strings", where)
	}
	conds, err := parseConditions(s.Condition)
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	if err := checkNoLockout(conds, allow); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	return nil
}

// validatePrincipal checks the principal elements the kind allows: none in
// an SCP, "Principal": "*" (and no NotAction) in an RCP, never NotPrincipal.
func validatePrincipal(where string, s strictStatement, kind Kind) error {
	if len(s.NotPrincipal) > 0 {
		return fmt.Errorf("%s: NotPrincipal is not supported in %ss; use an aws:PrincipalArn condition", where, strings.ToUpper(string(kind)))
	}
	switch kind {
	case SCP:
		if len(s.Principal) > 0 {
			return fmt.Errorf("%s: SCPs cannot contain Principal", where)
		}
	case RCP:
		var p string
		if json.Unmarshal(s.Principal, &p) != nil || p != "*" {
			return fmt.Errorf(`%s: an RCP statement needs "Principal": "*" (narrow it with conditions)`, where)
		}
		if len(s.NotAction) > 0 {
			return fmt.Errorf("%s: NotAction is not supported in RCPs", where)
		}
	}
	return nil
}

// validateAction checks that an action (or pattern) names real DynamoDB or
// AWS Backup actions, of a service RCPs support in an RCP.
func validateAction(where, a string, kind Kind) error {
	if strings.ContainsAny(a, "*?") {
		if len(ExpandAction(a)) == 0 {
			return fmt.Errorf("%s: %q matches no DynamoDB or AWS Backup action", where, a)
		}
	} else if _, ok := KnownAction(a); !ok {
		return fmt.Errorf("%s: %q is not a DynamoDB or AWS Backup action", where, a)
	}
	if kind == RCP && !slices.Contains(rcpServices, service(a)) {
		return fmt.Errorf("%s: %q: RCPs do not support the %s service", where, a, service(a))
	}
	return nil
}

// checkNoLockout refuses a Deny statement whose principal exemption does not
// cover every allowed principal (or that has none).
func checkNoLockout(conds []condition, allow []string) error {
	var exempt []string
	for _, c := range conds {
		if isPrincipalExemption(c) {
			exempt = append(exempt, c.Values...)
		}
	}
	if len(exempt) == 0 {
		return errors.New("it exempts no principal, so it would lock out pitrguard and break-glass access; add an ArnNotLike aws:PrincipalArn condition")
	}
	for _, a := range allow {
		covered := false
		for _, e := range exempt {
			if wildMatch(e, a) {
				covered = true
				break
			}
		}
		if !covered {
			return fmt.Errorf("it would deny the allowed principal %s: its exemption lists only %s", a, strings.Join(exempt, ", "))
		}
	}
	return nil
}

// stringOrList reads a policy element that is a string or a list of strings.
func stringOrList(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, errors.New("expected a string or a list of strings")
	}
	return many, nil
}

// condition is one operator/key pair of a Condition block.
type condition struct {
	Op, Key string
	Values  []string
}

func parseConditions(raw json.RawMessage) ([]condition, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var m map[string]map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, errors.New("Condition must map operators to {key: value(s)}")
	}
	var out []condition
	for op, keys := range m {
		for k, v := range keys {
			var vals []string
			var one any
			if err := json.Unmarshal(v, &one); err != nil {
				return nil, fmt.Errorf("Condition %s %s: %v", op, k, err)
			}
			switch x := one.(type) {
			case []any:
				for _, e := range x {
					vals = append(vals, fmt.Sprint(e))
				}
			default:
				vals = []string{fmt.Sprint(x)}
			}
			out = append(out, condition{Op: op, Key: k, Values: vals})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Op != out[j].Op {
			return out[i].Op < out[j].Op
		}
		return out[i].Key < out[j].Key
	})
	return out, nil
}

// isPrincipalExemption reports a condition that takes principals matching
// its values out of a Deny: a negated ARN or string match on aws:PrincipalArn.
func isPrincipalExemption(c condition) bool {
	if !strings.EqualFold(c.Key, "aws:PrincipalArn") {
		return false
	}
	switch strings.TrimSuffix(c.Op, "IfExists") {
	case "ArnNotLike", "ArnNotEquals", "StringNotLike", "StringNotEquals":
		return true
	}
	return false
}
