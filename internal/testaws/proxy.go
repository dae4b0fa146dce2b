package testaws

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Fault is what the proxy does instead of (or to) moto's answer.
type Fault string

// Faults the proxy can inject.
const (
	FaultNone               Fault = ""
	FaultThrottle           Fault = "ThrottlingException"
	FaultAccessDenied       Fault = "AccessDeniedException"
	FaultNotFound           Fault = "ResourceNotFoundException"
	FaultInternal           Fault = "InternalServerError"
	FaultBackupsUnavailable Fault = "ContinuousBackupsUnavailableException"
	FaultDrop               Fault = "drop" // close the connection without an answer
	// FaultStall accepts the call and never answers: the proxy holds it until
	// the client gives up (its timeout) or the proxy closes.
	FaultStall Fault = "stall"
)

// Rule matches calls and says what to do with them.
type Rule struct {
	Op      string // operation name, e.g. DescribeContinuousBackups; "" = any
	Account string // "" = any; for AssumeRole, the account of the role
	Region  string // "" = any
	Table   string // "" = any; matched against TableName (or the name in an ARN)
	// TablePrefix, if set, matches table names that start with it (names
	// with a random part, like the drill's scratch tables).
	TablePrefix string
	// Times limits the rule to the first Times matching calls; 0 means every call.
	Times int
	// Fault answers with an error (or drops the connection) instead of moto.
	Fault Fault
	// Code and Message override the error's code and message.
	Code, Message string
	// Mutate rewrites moto's successful JSON answer (DynamoDB and other JSON protocols).
	Mutate func(resp map[string]any)
	// Inspect sees a JSON-protocol request before it is forwarded.
	Inspect func(req map[string]any)
	// Respond answers a JSON-protocol call itself (a wire fake), given the
	// request body, instead of forwarding it to moto.
	Respond func(req map[string]any) map[string]any

	hits int
}

// SetTableStatus makes DescribeTable answer with status (e.g. CREATING).
func SetTableStatus(status string) func(map[string]any) {
	return func(m map[string]any) {
		if t, ok := m["Table"].(map[string]any); ok {
			t["TableStatus"] = status
		}
	}
}

// SetTableSize makes DescribeTable report sizeBytes (moto always says 0).
func SetTableSize(sizeBytes int64) func(map[string]any) {
	return func(m map[string]any) {
		if t, ok := m["Table"].(map[string]any); ok {
			t["TableSizeBytes"] = sizeBytes
		}
	}
}

// Call is one request seen by the proxy.
type Call struct {
	// Service is the SigV4 signing name (dynamodb, sts, ec2, organizations, tagging, ...).
	Service, Op, Account, Region, Table string
	Fault                               Fault
}

// LimitRule is a token bucket the proxy enforces like AWS does.
type LimitRule struct {
	PerSecond  float64
	Burst      int
	PerAccount bool // one bucket per account rather than per account-region
}

// Proxy is a reverse proxy in front of moto that injects faults, adds
// latency, enforces rate limits and records every call.
type Proxy struct {
	URL    string
	target *url.URL
	srv    *http.Server
	ln     net.Listener
	client *http.Client

	mu        sync.Mutex
	rules     []*Rule
	calls     []Call
	keys      map[string]string // access key id → account
	buckets   map[string]*rate.Limiter
	throttled map[string]int
	counts    map[CountKey]int

	// Latency is added to every call (the benchmark's stand-in for a round trip).
	Latency time.Duration
	// Limits are enforced per operation, answering ThrottlingException beyond them.
	Limits map[string]LimitRule
	// RandomFaultRate answers that share of calls (0–1) with a 500 or a dropped
	// connection, half each.
	RandomFaultRate float64
	// Record turns off call recording when false (the benchmark's long runs);
	// NewProxy sets it to true.
	Record bool
	// Backup, if set, answers the AWS Backup calls moto lacks (after the
	// fault rules, so they are counted and can fail like any other).
	Backup *BackupFake
}

// NewProxy starts a proxy in front of target (moto's URL).
func NewProxy(target string) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{
		URL: "http://" + ln.Addr().String(), target: u, ln: ln,
		client:    &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 0}},
		keys:      map[string]string{},
		buckets:   map[string]*rate.Limiter{},
		throttled: map[string]int{},
		counts:    map[CountKey]int{},
		Record:    true,
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go p.srv.Serve(ln)
	return p, nil
}

// Close stops the proxy.
func (p *Proxy) Close() { p.srv.Close() }

// Add installs rules; the first matching rule with hits left applies.
func (p *Proxy) Add(rules ...*Rule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = append(p.rules, rules...)
}

// Clear removes all rules and recorded calls.
func (p *Proxy) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules, p.calls = nil, nil
}

// Calls returns the recorded calls.
func (p *Proxy) Calls() []Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Call(nil), p.calls...)
}

// Ops returns the distinct operations called, sorted.
func (p *Proxy) Ops() []string {
	seen := map[string]bool{}
	for _, c := range p.Calls() {
		seen[c.Op] = true
	}
	ops := make([]string, 0, len(seen))
	for op := range seen {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	return ops
}

// Count returns how many calls of op were seen (all ops when op is "").
func (p *Proxy) Count(op string) int {
	n := 0
	for _, c := range p.Calls() {
		if op == "" || c.Op == op {
			n++
		}
	}
	return n
}

// CountKey identifies a counter: an operation in an account-region.
type CountKey struct{ Op, Account, Region string }

// Counts returns how many calls were seen per operation and account-region
// (kept even when Record is false), and resets the counters and throttle
// counts when reset is true.
func (p *Proxy) Counts(reset bool) map[CountKey]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.counts
	if reset {
		p.counts = map[CountKey]int{}
		p.throttled = map[string]int{}
	} else {
		out = make(map[CountKey]int, len(p.counts))
		for k, v := range p.counts {
			out[k] = v
		}
	}
	return out
}

// Throttled returns how many calls the rate limits answered with ThrottlingException, per op.
func (p *Proxy) Throttled() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.throttled))
	for k, v := range p.throttled {
		out[k] = v
	}
	return out
}

type request struct {
	service, op, protocol, region, akid, account, table, roleAccount string
}

var (
	credRE     = regexp.MustCompile(`Credential=([^/]+)/\d+/([^/]+)/([^/]+)/`)
	accessKeyR = regexp.MustCompile(`<AccessKeyId>([^<]+)</AccessKeyId>`)
	roleARNRE  = regexp.MustCompile(`^arn:[^:]+:iam::(\d{12}):role/`)
)

func (p *Proxy) parse(r *http.Request, body []byte) request {
	var q request
	if m := credRE.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		q.akid, q.region, q.service = m[1], m[2], m[3]
	}
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		q.op = t[strings.LastIndex(t, ".")+1:]
		q.protocol = "json11"
		if strings.HasPrefix(t, "DynamoDB_") {
			q.protocol = "json10"
		}
		var in map[string]any
		if json.Unmarshal(body, &in) == nil {
			for _, k := range []string{"TableName", "ResourceArn", "SourceTableName", "SourceTableArn"} {
				if s, ok := in[k].(string); ok && s != "" {
					q.table = s[strings.LastIndex(s, "/")+1:]
					break
				}
			}
		}
	} else if i := strings.Index(r.URL.Path, "/operation/"); i >= 0 {
		q.op, q.protocol = r.URL.Path[i+len("/operation/"):], "json11"
	} else if q.service == "backup" {
		var params []string
		q.op, params = BackupOp(r.Method, r.URL.EscapedPath())
		q.protocol = "restjson"
		if q.op == "ListRecoveryPointsByResource" && len(params) == 1 && strings.Contains(params[0], ":table/") {
			q.table = params[0][strings.LastIndex(params[0], "/")+1:]
		}
	} else {
		form, _ := url.ParseQuery(string(body))
		q.op, q.protocol = form.Get("Action"), "query"
		if m := roleARNRE.FindStringSubmatch(form.Get("RoleArn")); m != nil {
			q.roleAccount = m[1]
		}
	}
	p.mu.Lock()
	q.account = p.keys[q.akid]
	p.mu.Unlock()
	if q.account == "" {
		q.account = ManagementAccount
	}
	if q.op == "AssumeRole" && q.roleAccount != "" {
		q.account = q.roleAccount
	}
	return q
}

func (p *Proxy) match(q request) *Rule {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.rules {
		if (r.Op == "" || r.Op == q.op) && (r.Account == "" || r.Account == q.account) &&
			(r.Region == "" || r.Region == q.region) && (r.Table == "" || r.Table == q.table) &&
			strings.HasPrefix(q.table, r.TablePrefix) && (r.Times == 0 || r.hits < r.Times) {
			r.hits++
			return r
		}
	}
	return nil
}

func (p *Proxy) overLimit(q request) bool {
	lr, ok := p.Limits[q.op]
	if !ok {
		return false
	}
	key := q.op + "|" + q.account
	if !lr.PerAccount {
		key += "|" + q.region
	}
	p.mu.Lock()
	b := p.buckets[key]
	if b == nil {
		b = rate.NewLimiter(rate.Limit(lr.PerSecond), max(lr.Burst, 1))
		p.buckets[key] = b
	}
	allowed := b.Allow()
	if !allowed {
		p.throttled[q.op]++
	}
	p.mu.Unlock()
	return !allowed
}

// ServeHTTP implements http.Handler.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	q := p.parse(r, body)
	if p.Latency > 0 {
		time.Sleep(p.Latency)
	}
	rule := p.match(q)
	fault := FaultNone
	if rule != nil {
		fault = rule.Fault
	}
	if fault == FaultNone && p.overLimit(q) {
		fault = FaultThrottle
	}
	if fault == FaultNone && p.RandomFaultRate > 0 && rand.Float64() < p.RandomFaultRate {
		fault = FaultInternal
		if rand.IntN(2) == 0 {
			fault = FaultDrop
		}
	}
	p.mu.Lock()
	p.counts[CountKey{Op: q.op, Account: q.account, Region: q.region}]++
	if p.Record {
		p.calls = append(p.calls, Call{Service: q.service, Op: q.op, Account: q.account, Region: q.region, Table: q.table, Fault: fault})
	}
	p.mu.Unlock()
	if rule != nil && rule.Inspect != nil && q.protocol != "query" {
		var in map[string]any
		_ = json.Unmarshal(body, &in)
		rule.Inspect(in)
	}
	if rule != nil && rule.Respond != nil && fault == FaultNone && q.protocol != "query" {
		var in map[string]any
		_ = json.Unmarshal(body, &in)
		out, _ := json.Marshal(rule.Respond(in))
		ct := "application/x-amz-json-1.1"
		if q.protocol == "json10" {
			ct = "application/x-amz-json-1.0"
			w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(out)), 10))
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Content-Length", strconv.Itoa(len(out)))
		w.WriteHeader(http.StatusOK)
		w.Write(out)
		return
	}
	switch fault {
	case FaultNone:
		if q.service == "backup" && p.Backup != nil && p.Backup.Serves(q.op) {
			p.Backup.serve(w, r, q.op, q.account, q.region, body)
			return
		}
	case FaultStall:
		<-r.Context().Done() // ends when the client hangs up or Close closes the connection
		return
	case FaultDrop:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		w.WriteHeader(http.StatusBadGateway)
		return
	default:
		code, msg := string(fault), "injected by the pitrguard test proxy"
		if rule != nil && rule.Code != "" {
			code = rule.Code
		}
		if rule != nil && rule.Message != "" {
			msg = rule.Message
		}
		writeError(w, q, code, msg)
		return
	}
	p.forward(w, r, q, body, rule)
}

func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, q request, body []byte, rule *Rule) {
	u := *p.target
	u.Path, u.RawQuery = r.URL.Path, r.URL.RawQuery
	out, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	out.Header = r.Header.Clone()
	resp, err := p.client.Do(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if q.op == "AssumeRole" && resp.StatusCode == http.StatusOK {
		if m := accessKeyR.FindSubmatch(rb); m != nil {
			p.mu.Lock()
			p.keys[string(m[1])] = q.roleAccount
			p.mu.Unlock()
		}
	}
	if rule != nil && rule.Mutate != nil && resp.StatusCode == http.StatusOK && q.protocol != "query" {
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(rb))
		dec.UseNumber()
		if dec.Decode(&m) == nil {
			rule.Mutate(m)
			if nb, err := json.Marshal(m); err == nil {
				rb = nb
			}
		}
	}
	for k, vs := range resp.Header {
		if k == "Content-Length" || k == "X-Amz-Crc32" {
			continue
		}
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if q.protocol == "json10" {
		w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(rb)), 10))
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(rb)))
	w.WriteHeader(resp.StatusCode)
	w.Write(rb)
}

// writeError answers in the error shape of the call's protocol.
func writeError(w http.ResponseWriter, q request, code, msg string) {
	status := http.StatusBadRequest
	if code == string(FaultInternal) || code == "InternalFailure" || code == "ServiceUnavailable" {
		status = http.StatusInternalServerError
	}
	var body []byte
	switch q.protocol {
	case "restjson":
		switch code {
		case string(FaultAccessDenied), "AccessDenied":
			status = http.StatusForbidden
		case string(FaultThrottle):
			status = http.StatusTooManyRequests
		case string(FaultNotFound):
			status = http.StatusNotFound
		}
		restError(w, status, code, msg)
		return
	case "json10":
		body, _ = json.Marshal(map[string]string{"__type": "com.amazonaws.dynamodb.v20120810#" + code, "message": msg})
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
	case "json11":
		body, _ = json.Marshal(map[string]string{"__type": code, "message": msg})
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-Errortype", code)
	default:
		if code == string(FaultAccessDenied) {
			code = "AccessDenied" // the query protocols' spelling
		}
		if code == "AccessDenied" {
			status = http.StatusForbidden
		}
		if strings.Contains(q.op, "Region") || q.op == "DescribeInstances" { // EC2 shape
			body = fmt.Appendf(nil, `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>pitrguard-proxy</RequestID></Response>`, code, msg)
		} else {
			body = fmt.Appendf(nil, `<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>pitrguard-proxy</RequestId></ErrorResponse>`, code, msg)
		}
		w.Header().Set("Content-Type", "text/xml")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}
