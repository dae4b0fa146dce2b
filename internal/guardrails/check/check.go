// Package check audits, per account and region, which of pitrguard's
// guardrails are really in force:
//
//	prevent  an SCP or RCP attached to the root, an OU on the account's path or
//	         the account itself whose text denies dynamodb:UpdateContinuousBackups
//	         to everyone but the allowed principals (read and analysed, never
//	         judged by its name); not_applicable for the management account,
//	         which SCPs and RCPs never govern;
//	detect   in every region in scope, an ACTIVE AWS Config rule
//	         DYNAMODB_PITR_ENABLED with a configuration recorder that is
//	         recording, or pitrguard's event handler (below);
//	correct  in every region in scope, automatic remediation of that rule with
//	         AWSConfigRemediation-EnablePITRForDynamoDbTable, or the handler;
//	trail    an organization CloudTrail trail (or the account's own) that is
//	         logging management events in every region in scope.
//
// pitrguard's event handler is "present" in an account-region when an ENABLED
// EventBridge rule on the default bus has an event pattern that matches source
// aws.dynamodb with eventName UpdateContinuousBackups or CreateTable (or no
// eventName filter), and at least one of its targets is a Lambda function
// that exists (lambda:GetFunction). A
// rule that only forwards to another event bus makes the status unknown: the
// central handler behind that bus is not verified from here.
//
// It only reads. Every AWS call goes through awsx (limiter, retries).
package check

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"golang.org/x/sync/errgroup"

	"github.com/pitrguard/pitrguard/internal/awsx"
	"github.com/pitrguard/pitrguard/internal/guardrails"
	"github.com/pitrguard/pitrguard/internal/inventory"
	"github.com/pitrguard/pitrguard/internal/model"
)

// Status of one control.
type Status string

// Statuses.
const (
	Yes           Status = "yes"
	No            Status = "no"
	Unknown       Status = "unknown"
	NotApplicable Status = "not_applicable"
)

// Control names used in Detail.Control.
const (
	ControlSCP         = "scp"
	ControlRCP         = "rcp"
	ControlConfigRule  = "config_rule"
	ControlRemediation = "config_remediation"
	ControlHandler     = "event_handler"
	ControlTrail       = "cloudtrail"
)

// Detail is the evidence for one control (in one region for regional ones).
type Detail struct {
	Control string `json:"control"`
	Region  string `json:"region"`
	Status  Status `json:"status"`
	Reason  string `json:"reason"`
}

// Account is the result for one account.
type Account struct {
	Account    string   `json:"account"`
	Management bool     `json:"management"`
	OUPath     []string `json:"ou_path"`
	Regions    []string `json:"regions"`
	Prevent    Status   `json:"prevent"`
	Detect     Status   `json:"detect"`
	Correct    Status   `json:"correct"`
	Trail      Status   `json:"trail"`
	Details    []Detail `json:"details"`
}

// FullyGuarded reports an account with all four controls (prevent may be
// not_applicable: SCPs and RCPs never govern the management account).
func (a Account) FullyGuarded() bool {
	return (a.Prevent == Yes || a.Prevent == NotApplicable) && a.Detect == Yes && a.Correct == Yes && a.Trail == Yes
}

// Has reports whether one of the account's four controls is s.
func (a Account) Has(s Status) bool {
	return slices.Contains([]Status{a.Prevent, a.Detect, a.Correct, a.Trail}, s)
}

// Summary is the guardrail-coverage KPI.
type Summary struct {
	Accounts     int     `json:"accounts"`
	FullyGuarded int     `json:"fully_guarded"`
	Coverage     float64 `json:"coverage"`
	Prevent      int     `json:"prevent"`
	Detect       int     `json:"detect"`
	Correct      int     `json:"correct"`
	Trail        int     `json:"trail"`
	Unknown      int     `json:"unknown"`
	Complete     bool    `json:"coverage_complete"`
}

// Report is the JSON document of `pitrguard guardrails check`.
type Report struct {
	SchemaVersion int               `json:"schema_version"`
	Accounts      []Account         `json:"accounts"`
	Summary       Summary           `json:"summary"`
	Errors        []model.ScanError `json:"errors"`
}

// AnyAccountHas reports whether some account has a control in status s.
func (r *Report) AnyAccountHas(s Status) bool {
	return slices.ContainsFunc(r.Accounts, func(a Account) bool { return a.Has(s) })
}

// Params configure a check.
type Params struct {
	Scope inventory.Scope
	// Allow are the principal patterns the preventive control may exempt.
	Allow []string
}

// Run checks every account and region in scope.
func Run(ctx context.Context, p *awsx.Provider, prm Params) *Report {
	targets, errs := inventory.Discover(ctx, p, prm.Scope)
	regions := map[string][]string{}
	for _, t := range targets {
		regions[t.Account] = append(regions[t.Account], t.Region)
	}
	accounts := map[string]bool{}
	for a := range regions {
		accounts[a] = true
	}
	for _, e := range errs {
		if e.Account != "" && e.Region == "" && !strings.HasPrefix(e.Message, "cannot list the organization") {
			accounts[e.Account] = true
		}
	}
	org := newOrgView(p)
	org.load(ctx)
	trails := newTrailView(p, org)

	var mu sync.Mutex
	var out []Account
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(prm.Scope.Concurrency, 1))
	for acct := range accounts {
		g.Go(func() error {
			a := checkAccount(gctx, p, org, trails, acct, regions[acct], prm.Allow)
			mu.Lock()
			out = append(out, a)
			mu.Unlock()
			return nil
		})
	}
	_ = g.Wait()
	slices.SortFunc(out, func(a, b Account) int { return strings.Compare(a.Account, b.Account) })
	rep := &Report{SchemaVersion: 1, Accounts: out, Errors: errs}
	if rep.Errors == nil {
		rep.Errors = []model.ScanError{}
	}
	if rep.Accounts == nil {
		rep.Accounts = []Account{}
	}
	rep.Summary = Summarise(out, len(errs) == 0)
	return rep
}

// Summarise computes the coverage KPI: accounts with all four controls / all accounts.
func Summarise(accts []Account, complete bool) Summary {
	s := Summary{Accounts: len(accts), Complete: complete}
	for _, a := range accts {
		if a.FullyGuarded() {
			s.FullyGuarded++
		}
		if a.Prevent == Yes || a.Prevent == NotApplicable {
			s.Prevent++
		}
		if a.Detect == Yes {
			s.Detect++
		}
		if a.Correct == Yes {
			s.Correct++
		}
		if a.Trail == Yes {
			s.Trail++
		}
		if slices.Contains([]Status{a.Prevent, a.Detect, a.Correct, a.Trail}, Unknown) {
			s.Unknown++
		}
	}
	if s.Accounts > 0 {
		s.Coverage = float64(int(float64(s.FullyGuarded)/float64(s.Accounts)*10000+0.5)) / 10000
	}
	return s
}

func checkAccount(ctx context.Context, p *awsx.Provider, org *orgView, trails *trailView, acct string, regions []string, allow []string) Account {
	slices.Sort(regions)
	a := Account{Account: acct, Regions: regions, OUPath: []string{}, Details: []Detail{}}
	if a.Regions == nil {
		a.Regions = []string{}
	}
	a.Management = org.err == nil && org.management == acct
	a.Prevent, a.OUPath, a.Details = org.prevent(ctx, acct, allow)

	cfg, err := p.Account(ctx, acct)
	if err != nil {
		_, _, msg := awsx.Classify(err)
		for _, c := range []string{ControlConfigRule, ControlRemediation, ControlHandler} {
			a.Details = append(a.Details, Detail{Control: c, Status: Unknown, Reason: "cannot enter the account: " + msg})
		}
		a.Detect, a.Correct = Unknown, Unknown
	} else {
		var detect, correct []Status
		for _, r := range regions {
			rc := awsx.ForRegion(cfg, r)
			rule, rem := configControls(ctx, rc)
			h := handler(ctx, rc)
			for _, d := range []*Detail{&rule, &rem, &h} {
				d.Region = r
			}
			a.Details = append(a.Details, rule, rem, h)
			detect = append(detect, either(rule.Status, h.Status))
			correct = append(correct, either(rem.Status, h.Status))
		}
		a.Detect, a.Correct = all(detect), all(correct)
	}
	td := trails.status(ctx, acct, cfg, err, regions)
	a.Details = append(a.Details, td)
	a.Trail = td.Status
	slices.SortStableFunc(a.Details, func(x, y Detail) int {
		return cmp.Or(strings.Compare(x.Region, y.Region), strings.Compare(x.Control, y.Control))
	})
	return a
}

// either combines two ways of providing a control in one region.
func either(x, y Status) Status {
	switch {
	case x == Yes || y == Yes:
		return Yes
	case x == Unknown || y == Unknown:
		return Unknown
	}
	return No
}

// all combines regions: yes only when every region is yes.
func all(ss []Status) Status {
	if len(ss) == 0 {
		return Unknown
	}
	out := Yes
	for _, s := range ss {
		switch {
		case s == No:
			return No
		case s == Unknown:
			out = Unknown
		}
	}
	return out
}

func unknownDetail(control string, op string, err error) Detail {
	_, code, msg := awsx.Classify(err)
	return Detail{Control: control, Status: Unknown, Reason: fmt.Sprintf("%s failed (%s): %s", op, code, msg)}
}

// configControls reads the Config rule, the recorder and the remediation.
func configControls(ctx context.Context, cfg aws.Config) (Detail, Detail) {
	c := configservice.NewFromConfig(cfg)
	var rules []cfgtypes.ConfigRule
	var token *string
	for {
		out, err := c.DescribeConfigRules(ctx, &configservice.DescribeConfigRulesInput{NextToken: token})
		if err != nil {
			d := unknownDetail(ControlConfigRule, "config:DescribeConfigRules", err)
			r := d
			r.Control = ControlRemediation
			return d, r
		}
		rules = append(rules, out.ConfigRules...)
		if aws.ToString(out.NextToken) == "" {
			break
		}
		token = out.NextToken
	}
	var names []string
	for _, r := range rules {
		if r.Source != nil && r.Source.Owner == cfgtypes.OwnerAws && aws.ToString(r.Source.SourceIdentifier) == guardrails.ConfigRuleIdentifier &&
			r.ConfigRuleState != cfgtypes.ConfigRuleStateDeleting && r.ConfigRuleState != cfgtypes.ConfigRuleStateDeletingResults {
			names = append(names, aws.ToString(r.ConfigRuleName))
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		no := "no AWS Config rule with source DYNAMODB_PITR_ENABLED"
		return Detail{Control: ControlConfigRule, Status: No, Reason: no},
			Detail{Control: ControlRemediation, Status: No, Reason: no + ", so nothing to remediate"}
	}
	rule := Detail{Control: ControlConfigRule, Status: Yes, Reason: "rule " + strings.Join(names, ", ") + " with a recording configuration recorder"}
	st, err := c.DescribeConfigurationRecorderStatus(ctx, &configservice.DescribeConfigurationRecorderStatusInput{})
	switch {
	case err != nil:
		rule = unknownDetail(ControlConfigRule, "config:DescribeConfigurationRecorderStatus", err)
	default:
		recording := false
		for _, s := range st.ConfigurationRecordersStatus {
			recording = recording || s.Recording
		}
		if !recording {
			rule = Detail{Control: ControlConfigRule, Status: No, Reason: "rule " + strings.Join(names, ", ") + " exists but no configuration recorder is recording, so it evaluates nothing"}
		}
	}
	rem := Detail{Control: ControlRemediation, Status: No}
	out, err := c.DescribeRemediationConfigurations(ctx, &configservice.DescribeRemediationConfigurationsInput{ConfigRuleNames: names})
	if err != nil {
		return rule, unknownDetail(ControlRemediation, "config:DescribeRemediationConfigurations", err)
	}
	var why []string
	for _, r := range out.RemediationConfigurations {
		name := aws.ToString(r.ConfigRuleName)
		switch {
		case aws.ToString(r.TargetId) != guardrails.RemediationDocument:
			why = append(why, fmt.Sprintf("rule %s is remediated by %s, not %s", name, aws.ToString(r.TargetId), guardrails.RemediationDocument))
		case !r.Automatic:
			why = append(why, fmt.Sprintf("rule %s has manual remediation only", name))
		default:
			rem.Status = Yes
			rem.Reason = fmt.Sprintf("rule %s remediates automatically with %s", name, guardrails.RemediationDocument)
		}
	}
	if rem.Status != Yes {
		if len(why) == 0 {
			why = []string{"rule " + strings.Join(names, ", ") + " has no remediation configuration"}
		}
		rem.Reason = strings.Join(why, "; ")
	}
	return rule, rem
}

// handler looks for pitrguard's EventBridge rule and Lambda target.
func handler(ctx context.Context, cfg aws.Config) Detail {
	c := eventbridge.NewFromConfig(cfg)
	d := Detail{Control: ControlHandler, Status: No, Reason: "no enabled EventBridge rule on the default bus matches aws.dynamodb UpdateContinuousBackups/CreateTable"}
	var token *string
	var forwards, missing, unread []string
	for {
		out, err := c.ListRules(ctx, &eventbridge.ListRulesInput{NextToken: token})
		if err != nil {
			return unknownDetail(ControlHandler, "events:ListRules", err)
		}
		for _, r := range out.Rules {
			if r.State != "ENABLED" || !MatchesPITREvents(aws.ToString(r.EventPattern)) {
				continue
			}
			ts, err := c.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: r.Name})
			if err != nil {
				return unknownDetail(ControlHandler, "events:ListTargetsByRule", err)
			}
			for _, t := range ts.Targets {
				arn := aws.ToString(t.Arn)
				switch {
				case strings.Contains(arn, ":lambda:") && strings.Contains(arn, ":function:"):
					// The rule is only half the handler: the function must exist.
					_, err := lambda.NewFromConfig(cfg).GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(arn)})
					if err == nil {
						return Detail{Control: ControlHandler, Status: Yes, Reason: fmt.Sprintf("rule %s sends DynamoDB PITR events to %s", aws.ToString(r.Name), arn)}
					}
					reason, code, msg := awsx.Classify(err)
					if reason == model.ReasonNotFound {
						missing = append(missing, fmt.Sprintf("rule %s targets %s, which does not exist", aws.ToString(r.Name), arn))
					} else {
						unread = append(unread, fmt.Sprintf("rule %s targets %s: lambda:GetFunction failed (%s): %s", aws.ToString(r.Name), arn, code, msg))
					}
				case strings.Contains(arn, ":events:") && strings.Contains(arn, ":event-bus/"):
					forwards = append(forwards, fmt.Sprintf("rule %s forwards to %s", aws.ToString(r.Name), arn))
				}
			}
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		token = out.NextToken
	}
	if len(forwards) > 0 {
		unread = append(unread, strings.Join(forwards, "; ")+"; the handler behind that bus is not verified from here")
	}
	if len(unread) > 0 {
		return Detail{Control: ControlHandler, Status: Unknown, Reason: strings.Join(append(unread, missing...), "; ")}
	}
	if len(missing) > 0 {
		d.Reason = strings.Join(missing, "; ")
	}
	return d
}

// MatchesPITREvents reports whether an EventBridge event pattern lets
// CloudTrail's DynamoDB UpdateContinuousBackups or CreateTable events through.
func MatchesPITREvents(pattern string) bool {
	var p struct {
		Source []any `json:"source"`
		Detail struct {
			EventSource []any `json:"eventSource"`
			EventName   []any `json:"eventName"`
		} `json:"detail"`
	}
	if pattern == "" || json.Unmarshal([]byte(pattern), &p) != nil {
		return false
	}
	has := func(vals []any, want string) bool {
		for _, v := range vals {
			if s, ok := v.(string); ok && s == want {
				return true
			}
		}
		return false
	}
	source := has(p.Source, "aws.dynamodb") || (len(p.Source) == 0 && has(p.Detail.EventSource, "dynamodb.amazonaws.com"))
	if !source {
		return false
	}
	return len(p.Detail.EventName) == 0 || has(p.Detail.EventName, "UpdateContinuousBackups") || has(p.Detail.EventName, "CreateTable")
}

// orgView holds the organization's structure and policies, read once.
type orgView struct {
	p          *awsx.Provider
	c          *organizations.Client
	err        error
	management string
	rootID     string
	// enabled policy types on the root
	scpEnabled, rcpEnabled bool

	mu       sync.Mutex
	parents  map[string]parentResult
	policies map[string]policiesResult // target|type → policies
	content  map[string]contentResult  // policy id → text
}

type parentResult struct {
	id, typ string
	err     error
}

type policiesResult struct {
	list []orgtypes.PolicySummary
	err  error
}

type contentResult struct {
	text string
	err  error
}

func newOrgView(p *awsx.Provider) *orgView {
	return &orgView{p: p, c: organizations.NewFromConfig(p.Base()), parents: map[string]parentResult{},
		policies: map[string]policiesResult{}, content: map[string]contentResult{}}
}

func (o *orgView) load(ctx context.Context) {
	d, err := o.c.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil {
		o.err = err
		return
	}
	o.management = aws.ToString(d.Organization.MasterAccountId)
	roots, err := o.c.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		o.err = err
		return
	}
	if len(roots.Roots) == 0 {
		o.err = fmt.Errorf("the organization has no root")
		return
	}
	root := roots.Roots[0]
	o.rootID = aws.ToString(root.Id)
	for _, pt := range root.PolicyTypes {
		if pt.Status != orgtypes.PolicyTypeStatusEnabled {
			continue
		}
		switch pt.Type {
		case orgtypes.PolicyTypeServiceControlPolicy:
			o.scpEnabled = true
		case orgtypes.PolicyTypeResourceControlPolicy:
			o.rcpEnabled = true
		}
	}
}

func (o *orgView) parent(ctx context.Context, child string) parentResult {
	o.mu.Lock()
	r, ok := o.parents[child]
	o.mu.Unlock()
	if ok {
		return r
	}
	out, err := o.c.ListParents(ctx, &organizations.ListParentsInput{ChildId: aws.String(child)})
	switch {
	case err != nil:
		r = parentResult{err: err}
	case len(out.Parents) == 0:
		r = parentResult{err: fmt.Errorf("organizations:ListParents returned no parent for %s", child)}
	default:
		r = parentResult{id: aws.ToString(out.Parents[0].Id), typ: string(out.Parents[0].Type)}
	}
	o.mu.Lock()
	o.parents[child] = r
	o.mu.Unlock()
	return r
}

func (o *orgView) policiesFor(ctx context.Context, target string, kind guardrails.Kind) policiesResult {
	key := target + "|" + string(kind)
	o.mu.Lock()
	r, ok := o.policies[key]
	o.mu.Unlock()
	if ok {
		return r
	}
	pg := organizations.NewListPoliciesForTargetPaginator(o.c, &organizations.ListPoliciesForTargetInput{
		TargetId: aws.String(target), Filter: orgtypes.PolicyType(kind.OrgType())})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			r = policiesResult{err: err}
			break
		}
		r.list = append(r.list, out.Policies...)
	}
	o.mu.Lock()
	o.policies[key] = r
	o.mu.Unlock()
	return r
}

func (o *orgView) text(ctx context.Context, id string) contentResult {
	o.mu.Lock()
	r, ok := o.content[id]
	o.mu.Unlock()
	if ok {
		return r
	}
	out, err := o.c.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: aws.String(id)})
	if err != nil {
		r = contentResult{err: err}
	} else {
		r = contentResult{text: aws.ToString(out.Policy.Content)}
	}
	o.mu.Lock()
	o.content[id] = r
	o.mu.Unlock()
	return r
}

// path returns the targets from the root down to the account.
func (o *orgView) path(ctx context.Context, acct string) ([]string, error) {
	chain := []string{acct}
	cur := acct
	for range 10 { // Organizations nests OUs at most five deep
		p := o.parent(ctx, cur)
		if p.err != nil {
			return nil, p.err
		}
		chain = append([]string{p.id}, chain...)
		if p.typ == string(orgtypes.ParentTypeRoot) {
			return chain, nil
		}
		cur = p.id
	}
	return nil, fmt.Errorf("the OU path of %s is deeper than Organizations allows", acct)
}

// prevent judges the SCPs and RCPs that govern acct.
func (o *orgView) prevent(ctx context.Context, acct string, allow []string) (Status, []string, []Detail) {
	if o.err != nil {
		_, code, msg := awsx.Classify(o.err)
		r := fmt.Sprintf("cannot read the organization (%s: %s); run from the management account or a delegated administrator", code, msg)
		return Unknown, []string{}, []Detail{{Control: ControlSCP, Status: Unknown, Reason: r}, {Control: ControlRCP, Status: Unknown, Reason: r}}
	}
	if acct == o.management {
		r := "SCPs and RCPs never apply to the management account"
		return NotApplicable, []string{o.rootID}, []Detail{{Control: ControlSCP, Status: NotApplicable, Reason: r}, {Control: ControlRCP, Status: NotApplicable, Reason: r}}
	}
	chain, err := o.path(ctx, acct)
	if err != nil {
		d := unknownDetail(ControlSCP, "organizations:ListParents", err)
		r := d
		r.Control = ControlRCP
		return Unknown, []string{}, []Detail{d, r}
	}
	ouPath := chain[:len(chain)-1]
	var details []Detail
	var statuses []Status
	for _, kind := range []guardrails.Kind{guardrails.SCP, guardrails.RCP} {
		d := o.judge(ctx, chain, kind, allow)
		details = append(details, d)
		statuses = append(statuses, d.Status)
	}
	return either(statuses[0], statuses[1]), ouPath, details
}

func (o *orgView) judge(ctx context.Context, chain []string, kind guardrails.Kind, allow []string) Detail {
	control := ControlSCP
	enabled := o.scpEnabled
	if kind == guardrails.RCP {
		control, enabled = ControlRCP, o.rcpEnabled
	}
	if !enabled {
		return Detail{Control: control, Status: No, Reason: fmt.Sprintf("the %s policy type is not enabled on the root, so no %s applies", kind.OrgType(), strings.ToUpper(string(kind)))}
	}
	var misses []string
	for _, target := range chain {
		pr := o.policiesFor(ctx, target, kind)
		if pr.err != nil {
			return unknownDetail(control, "organizations:ListPoliciesForTarget "+target, pr.err)
		}
		for _, pol := range pr.list {
			if pol.AwsManaged {
				continue // FullAWSAccess / RCPFullAWSAccess allow; they deny nothing
			}
			id := aws.ToString(pol.Id)
			ct := o.text(ctx, id)
			if ct.err != nil {
				return unknownDetail(control, "organizations:DescribePolicy "+id, ct.err)
			}
			as := guardrails.Analyse(ct.text, kind, allow)
			label := fmt.Sprintf("%s %q on %s", id, aws.ToString(pol.Name), target)
			if as.Denies {
				return Detail{Control: control, Status: Yes, Reason: fmt.Sprintf("%s (statement %s) %s", label, as.Statement, as.Reason)}
			}
			if as.Statement != "" {
				misses = append(misses, fmt.Sprintf("%s statement %s: %s", label, as.Statement, as.Reason))
			}
		}
	}
	if len(misses) == 0 {
		return Detail{Control: control, Status: No, Reason: fmt.Sprintf("no %s on the account's path (%s) names %s", strings.ToUpper(string(kind)), strings.Join(chain, " > "), guardrails.ControlAction)}
	}
	return Detail{Control: control, Status: No, Reason: "does not prevent: " + strings.Join(misses, "; ")}
}

// trailView finds organization trails once (from the caller's account).
type trailView struct {
	p    *awsx.Provider
	org  *orgView
	once sync.Once
	org0 []trailInfo
	err  error
}

type trailInfo struct {
	arn, home string
	multi     bool
	org       bool
	logging   bool
	mgmt      bool
	err       error
}

func newTrailView(p *awsx.Provider, org *orgView) *trailView { return &trailView{p: p, org: org} }

func readTrails(ctx context.Context, cfg aws.Config, home string) ([]trailInfo, error) {
	c := cloudtrail.NewFromConfig(awsx.ForRegion(cfg, home))
	out, err := c.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(true)})
	if err != nil {
		return nil, err
	}
	var ts []trailInfo
	for _, t := range out.TrailList {
		ti := trailInfo{arn: aws.ToString(t.TrailARN), home: aws.ToString(t.HomeRegion), multi: aws.ToBool(t.IsMultiRegionTrail), org: aws.ToBool(t.IsOrganizationTrail)}
		if ti.home == "" {
			ti.home = home
		}
		rc := cloudtrail.NewFromConfig(awsx.ForRegion(cfg, ti.home))
		st, err := rc.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: t.TrailARN})
		if err != nil {
			ti.err = err
			ts = append(ts, ti)
			continue
		}
		ti.logging = aws.ToBool(st.IsLogging)
		sel, err := rc.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: t.TrailARN})
		if err != nil {
			ti.err = err
			ts = append(ts, ti)
			continue
		}
		ti.mgmt = logsManagement(aws.ToBool(t.HasCustomEventSelectors), sel.EventSelectors, sel.AdvancedEventSelectors)
		ts = append(ts, ti)
	}
	return ts, nil
}

// logsManagement reports whether a trail's selectors log write management
// events (a trail without custom selectors logs all management events).
func logsManagement(custom bool, basic []cttypes.EventSelector, adv []cttypes.AdvancedEventSelector) bool {
	if !custom && len(basic) == 0 && len(adv) == 0 {
		return true
	}
	for _, s := range basic {
		if aws.ToBool(s.IncludeManagementEvents) && s.ReadWriteType != cttypes.ReadWriteTypeReadOnly {
			return true
		}
	}
	for _, s := range adv {
		for _, f := range s.FieldSelectors {
			if aws.ToString(f.Field) == "eventCategory" && slices.Contains(f.Equals, "Management") {
				return true
			}
		}
	}
	return false
}

func (v *trailView) status(ctx context.Context, acct string, cfg aws.Config, cfgErr error, regions []string) Detail {
	v.once.Do(func() {
		ts, err := readTrails(ctx, v.p.Base(), v.p.HomeRegion())
		v.err = err
		for _, t := range ts {
			if t.org {
				v.org0 = append(v.org0, t)
			}
		}
	})
	inOrg := v.org.err == nil
	var partial []string
	unknown := false
	var ownErr error
	judge := func(cands []trailInfo) *Detail {
		for _, t := range cands {
			if d := judgeTrail(t, regions, &partial, &unknown); d != nil {
				return d
			}
		}
		return nil
	}
	if inOrg {
		// An organization trail covers every member: no per-account call needed.
		if d := judge(v.org0); d != nil {
			return *d
		}
	}
	if cfgErr == nil {
		var own []trailInfo
		own, ownErr = readTrails(ctx, cfg, v.p.HomeRegion())
		if d := judge(own); d != nil {
			return *d
		}
	}
	if (v.err != nil && inOrg) || ownErr != nil || cfgErr != nil {
		unknown = true
		for _, e := range []error{v.err, ownErr, cfgErr} {
			if e != nil {
				_, code, msg := awsx.Classify(e)
				partial = append(partial, fmt.Sprintf("cloudtrail:DescribeTrails failed (%s: %s)", code, msg))
				break
			}
		}
	}
	st := No
	if unknown {
		st = Unknown
	}
	if len(partial) == 0 {
		partial = []string{"no organization or account trail logging management events"}
	}
	return Detail{Control: ControlTrail, Status: st, Reason: strings.Join(partial, "; ")}
}

// judgeTrail returns a yes Detail when t covers the regions, else notes why not.
func judgeTrail(t trailInfo, regions []string, partial *[]string, unknown *bool) *Detail {
	kind := "organization trail"
	if !t.org {
		kind = "account trail"
	}
	switch {
	case t.err != nil:
		*unknown = true
		_, code, msg := awsx.Classify(t.err)
		*partial = append(*partial, fmt.Sprintf("%s %s could not be read (%s: %s)", kind, t.arn, code, msg))
	case !t.logging:
		*partial = append(*partial, fmt.Sprintf("%s %s is not logging", kind, t.arn))
	case !t.mgmt:
		*partial = append(*partial, fmt.Sprintf("%s %s does not log write management events", kind, t.arn))
	case !t.multi && !(len(regions) == 1 && regions[0] == t.home):
		*partial = append(*partial, fmt.Sprintf("%s %s covers only %s", kind, t.arn, t.home))
	default:
		return &Detail{Control: ControlTrail, Status: Yes, Reason: fmt.Sprintf("%s %s logs management events in every region", kind, t.arn)}
	}
	return nil
}
