package main

import (
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pitrguard/pitrguard/internal/testaws"
)

// genFake is a wire fake of the AWS APIs an audit calls — STS, Organizations,
// DynamoDB and the Resource Groups Tagging API, in their real protocols — that
// computes each table from its account, region and name (tableSpec) instead of
// storing it. It needs no seeding, so the memory runs can audit 50,000 tables
// without moto (which takes minutes to seed and is the benchmark's slowest
// part). Everything on pitrguard's side is the real path: assume-role,
// listing, bulk tags, evaluation, the spill, the JSON report and SQLite.
// The benchmark puts its proxy (latency, AWS's rate limits, call counts) in
// front of it.
type genFake struct {
	estate  Estate
	members []string // member account ids: the estate's Members first, then ExtraMembers
	srv     *httptest.Server
}

// genCreated is every generated table's creation time: old enough that the
// tagging API's answer is trusted (inventory.RecentTableWindow).
var genCreated = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

func newGenFake(e Estate) *genFake {
	g := &genFake{estate: e}
	for i := range e.Members + e.ExtraMembers {
		g.members = append(g.members, fmt.Sprintf("%012d", 200000000000+i))
	}
	g.srv = httptest.NewServer(g)
	return g
}

func (g *genFake) Close() { g.srv.Close() }

// tables is how many tables an account-region holds.
func (g *genFake) tables(account, region string) int {
	if !slices.Contains(g.estate.Regions, region) {
		return 0
	}
	if account == testaws.ManagementAccount {
		if region == g.estate.Regions[0] {
			return g.estate.Hot
		}
		return 0
	}
	i := slices.Index(g.members, account)
	switch {
	case i < 0:
		return 0
	case i < g.estate.Members:
		return g.estate.PerRegion
	default:
		return g.estate.ExtraPerRegion
	}
}

// table is table i of an account-region (or false when there is none).
func (g *genFake) table(account, region, name string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimPrefix(name, "t-"))
	if err != nil || !strings.HasPrefix(name, "t-") || n < 0 || n >= g.tables(account, region) || name != tableSpec("t", n).Name {
		return 0, false
	}
	return n, true
}

func tableARN(account, region, name string) string {
	return "arn:aws:dynamodb:" + region + ":" + account + ":table/" + name
}

var genCredRE = regexp.MustCompile(`Credential=([^/]+)/\d+/([^/]+)/([^/]+)/`)

// genKeyPrefix starts the access key ids AssumeRole hands out; the account follows.
const genKeyPrefix = "ASIAGEN"

func (g *genFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	m := genCredRE.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		http.Error(w, "unsigned request", http.StatusForbidden)
		return
	}
	account, region := testaws.ManagementAccount, m[2]
	if a, ok := strings.CutPrefix(m[1], genKeyPrefix); ok {
		account = a
	}
	target := r.Header.Get("X-Amz-Target")
	op := target[strings.LastIndex(target, ".")+1:]
	var in map[string]any
	if target != "" {
		_ = json.Unmarshal(body, &in)
	}
	switch {
	case target == "":
		form, _ := url.ParseQuery(string(body))
		g.sts(w, form)
	case strings.HasPrefix(target, "DynamoDB_"):
		out, code := g.dynamodb(op, account, region, in)
		writeJSON(w, "application/x-amz-json-1.0", out, code)
	case strings.HasPrefix(target, "AWSOrganizations"):
		out, code := g.organizations(op, in)
		writeJSON(w, "application/x-amz-json-1.1", out, code)
	case strings.HasPrefix(target, "ResourceGroupsTaggingAPI"):
		out, code := g.tagging(op, account, region, in)
		writeJSON(w, "application/x-amz-json-1.1", out, code)
	default:
		writeJSON(w, "application/x-amz-json-1.1", errBody("UnknownOperationException", target), http.StatusBadRequest)
	}
}

func errBody(code, msg string) map[string]any { return map[string]any{"__type": code, "message": msg} }

func writeJSON(w http.ResponseWriter, ct string, v any, code int) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", ct)
	if ct == "application/x-amz-json-1.0" {
		w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(b)), 10))
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(code)
	w.Write(b)
}

var roleAccountRE = regexp.MustCompile(`^arn:aws:iam::(\d{12}):role/`)

func (g *genFake) sts(w http.ResponseWriter, form url.Values) {
	w.Header().Set("Content-Type", "text/xml")
	switch form.Get("Action") {
	case "GetCallerIdentity":
		fmt.Fprintf(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>`+
			`<Arn>arn:aws:iam::%[1]s:user/bench</Arn><UserId>AIDABENCH</UserId><Account>%[1]s</Account>`+
			`</GetCallerIdentityResult><ResponseMetadata><RequestId>gen</RequestId></ResponseMetadata></GetCallerIdentityResponse>`, testaws.ManagementAccount)
	case "AssumeRole":
		m := roleAccountRE.FindStringSubmatch(form.Get("RoleArn"))
		if m == nil || (m[1] != testaws.ManagementAccount && !slices.Contains(g.members, m[1])) {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>no such role</Message></Error><RequestId>gen</RequestId></ErrorResponse>`)
			return
		}
		fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials>`+
			`<AccessKeyId>%s%s</AccessKeyId><SecretAccessKey>gen</SecretAccessKey><SessionToken>gen</SessionToken><Expiration>%s</Expiration>`+
			`</Credentials><AssumedRoleUser><Arn>arn:aws:sts::%s:assumed-role/bench/%s</Arn><AssumedRoleId>AROABENCH:%s</AssumedRoleId></AssumedRoleUser>`+
			`</AssumeRoleResult><ResponseMetadata><RequestId>gen</RequestId></ResponseMetadata></AssumeRoleResponse>`,
			genKeyPrefix, m[1], time.Now().Add(time.Hour).UTC().Format(time.RFC3339), m[1], form.Get("RoleSessionName"), form.Get("RoleSessionName"))
	default:
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>%s</Message></Error><RequestId>gen</RequestId></ErrorResponse>`, form.Get("Action"))
	}
}

func (g *genFake) organizations(op string, in map[string]any) (any, int) {
	if op != "ListAccounts" {
		return errBody("UnknownOperationException", op), http.StatusBadRequest
	}
	all := append([]string{testaws.ManagementAccount}, g.members...)
	start, _ := strconv.Atoi(str(in["NextToken"]))
	end := min(start+20, len(all)) // AWS's page size
	accts := []map[string]any{}
	for _, id := range all[start:end] {
		accts = append(accts, map[string]any{"Id": id, "Arn": "arn:aws:organizations::" + testaws.ManagementAccount + ":account/o-bench/" + id,
			"Email": id + "@example.com", "Name": "bench-" + id, "Status": "ACTIVE", "State": "ACTIVE", "JoinedMethod": "CREATED",
			"JoinedTimestamp": float64(genCreated.Unix())})
	}
	out := map[string]any{"Accounts": accts}
	if end < len(all) {
		out["NextToken"] = strconv.Itoa(end)
	}
	return out, http.StatusOK
}

func str(v any) string { s, _ := v.(string); return s }

func (g *genFake) dynamodb(op, account, region string, in map[string]any) (any, int) {
	notFound := func(name string) (any, int) {
		return errBody("com.amazonaws.dynamodb.v20120810#ResourceNotFoundException", "Requested resource not found: Table: "+name+" not found"), http.StatusBadRequest
	}
	switch op {
	case "ListTables":
		n := g.tables(account, region)
		start := 0
		if s := str(in["ExclusiveStartTableName"]); s != "" {
			i, ok := g.table(account, region, s)
			if !ok {
				return notFound(s)
			}
			start = i + 1
		}
		limit := 100
		if l, ok := in["Limit"].(float64); ok && l > 0 {
			limit = int(l)
		}
		end := min(start+limit, n)
		names := []string{}
		for i := start; i < end; i++ {
			names = append(names, tableSpec("t", i).Name)
		}
		out := map[string]any{"TableNames": names}
		if end < n {
			out["LastEvaluatedTableName"] = names[len(names)-1]
		}
		return out, http.StatusOK
	case "DescribeTable", "DescribeContinuousBackups":
		name := str(in["TableName"])
		i, ok := g.table(account, region, name)
		if !ok {
			return notFound(name)
		}
		if op == "DescribeTable" {
			return map[string]any{"Table": g.describe(account, region, i)}, http.StatusOK
		}
		return map[string]any{"ContinuousBackupsDescription": g.pitr(i)}, http.StatusOK
	case "ListTagsOfResource":
		arn := str(in["ResourceArn"])
		name := arn[strings.LastIndex(arn, "/")+1:]
		i, ok := g.table(account, region, name)
		if !ok || arn != tableARN(account, region, name) {
			return notFound(arn)
		}
		return map[string]any{"Tags": tagList(tableSpec("t", i).Tags)}, http.StatusOK
	}
	return errBody("com.amazonaws.dynamodb.v20120810#UnknownOperationException", op), http.StatusBadRequest
}

// describe is DescribeTable's answer for table i: sizes and settings vary
// with i, so the report's rows differ from each other as real ones do.
func (g *genFake) describe(account, region string, i int) map[string]any {
	s := tableSpec("t", i)
	size := int64(i%97+1) << 20
	t := map[string]any{
		"TableName": s.Name, "TableArn": tableARN(account, region, s.Name), "TableId": fmt.Sprintf("gen-%s-%s-%d", account, region, i),
		"TableStatus": "ACTIVE", "TableSizeBytes": size, "ItemCount": size / 512,
		"CreationDateTime": float64(genCreated.Unix()), "DeletionProtectionEnabled": i%4 == 0,
		"KeySchema":            []map[string]any{{"AttributeName": "pk", "KeyType": "HASH"}},
		"AttributeDefinitions": []map[string]any{{"AttributeName": "pk", "AttributeType": "S"}},
		"BillingModeSummary":   map[string]any{"BillingMode": []string{"PAY_PER_REQUEST", "PROVISIONED"}[i%2]},
	}
	if i%5 == 0 {
		t["StreamSpecification"] = map[string]any{"StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES"}
	}
	return t
}

func (g *genFake) pitr(i int) map[string]any {
	s := tableSpec("t", i)
	p := map[string]any{"PointInTimeRecoveryStatus": "DISABLED"}
	if s.PITR {
		latest := time.Now().UTC().Truncate(time.Second)
		p = map[string]any{"PointInTimeRecoveryStatus": "ENABLED", "RecoveryPeriodInDays": s.RecoveryDays,
			"EarliestRestorableDateTime": float64(latest.AddDate(0, 0, -s.RecoveryDays).Unix()), "LatestRestorableDateTime": float64(latest.Unix())}
	}
	return map[string]any{"ContinuousBackupsStatus": "ENABLED", "PointInTimeRecoveryDescription": p}
}

func tagList(tags map[string]string) []map[string]string {
	out := []map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, map[string]string{"Key": k, "Value": tags[k]})
	}
	return out
}

// tagging answers GetResources: the tagged tables of an account-region,
// ResourcesPerPage at a time (untagged tables are absent, as in AWS).
func (g *genFake) tagging(op, account, region string, in map[string]any) (any, int) {
	if op != "GetResources" {
		return errBody("UnknownOperationException", op), http.StatusBadRequest
	}
	per := 100
	if p, ok := in["ResourcesPerPage"].(float64); ok && p > 0 {
		per = int(p)
	}
	start, _ := strconv.Atoi(str(in["PaginationToken"]))
	n := g.tables(account, region)
	list := []map[string]any{}
	i := start
	for ; i < n && len(list) < per; i++ {
		s := tableSpec("t", i)
		if s.Tags == nil {
			continue
		}
		list = append(list, map[string]any{"ResourceARN": tableARN(account, region, s.Name), "Tags": tagList(s.Tags)})
	}
	out := map[string]any{"ResourceTagMappingList": list, "PaginationToken": ""}
	if i < n {
		out["PaginationToken"] = strconv.Itoa(i)
	}
	return out, http.StatusOK
}
