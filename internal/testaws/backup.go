package testaws

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// AWS Backup speaks REST-JSON: the operation is the method and the path
// (service/backup's HTTP bindings), not a header. backupRoutes maps them to
// operation names so the proxy counts the calls and injects faults like any
// other's. Paths are matched with {x} standing for one segment.
var backupRoutes = []struct{ method, path, op string }{
	{"GET", "/backup/plans", "ListBackupPlans"},
	{"PUT", "/backup/plans", "CreateBackupPlan"},
	{"GET", "/backup/plans/{x}", "GetBackupPlan"},
	{"POST", "/backup/plans/{x}", "UpdateBackupPlan"},
	{"DELETE", "/backup/plans/{x}", "DeleteBackupPlan"},
	{"GET", "/backup/plans/{x}/selections", "ListBackupSelections"},
	{"PUT", "/backup/plans/{x}/selections", "CreateBackupSelection"},
	{"GET", "/backup/plans/{x}/selections/{x}", "GetBackupSelection"},
	{"DELETE", "/backup/plans/{x}/selections/{x}", "DeleteBackupSelection"},
	{"GET", "/account-settings", "DescribeRegionSettings"},
	{"PUT", "/account-settings", "UpdateRegionSettings"},
	{"GET", "/resources", "ListProtectedResources"},
	{"GET", "/resources/{x}/recovery-points", "ListRecoveryPointsByResource"},
	{"GET", "/backup-vaults", "ListBackupVaults"},
	{"GET", "/backup-vaults/{x}", "DescribeBackupVault"},
	{"PUT", "/backup-vaults/{x}", "CreateBackupVault"},
	{"DELETE", "/backup-vaults/{x}", "DeleteBackupVault"},
	{"PUT", "/backup-vaults/{x}/vault-lock", "PutBackupVaultLockConfiguration"},
}

// BackupOp names the AWS Backup operation of a REST request, with the
// unescaped path segments that stand for {x} ("" when it is none).
func BackupOp(method, escapedPath string) (op string, params []string) {
	segs := strings.Split(strings.Trim(escapedPath, "/"), "/")
	for _, r := range backupRoutes {
		want := strings.Split(strings.Trim(r.path, "/"), "/")
		if r.method != method || len(want) != len(segs) {
			continue
		}
		var ps []string
		ok := true
		for i, w := range want {
			switch {
			case w == "{x}":
				s, err := url.PathUnescape(segs[i])
				if err != nil {
					s = segs[i]
				}
				ps = append(ps, s)
			case w != segs[i]:
				ok = false
			}
		}
		if ok {
			return r.op, ps
		}
	}
	return "", nil
}

// BackupFake serves the AWS Backup calls moto lacks (moto.md: it answers
// CreateBackupSelection and ListBackupSelections with 500 NotImplemented,
// and has no region settings, protected resources or recovery points): the
// selections of plans (created with the real CreateBackupSelection),
// DescribeRegionSettings/UpdateRegionSettings, ListProtectedResources and
// ListRecoveryPointsByResource, each per account and region, shaped after
// the AWS Backup API reference, with paging. Plans and vaults stay in moto.
// Put it in a Proxy's Backup field: the proxy routes those calls here after
// its fault rules, so they are counted and can fail like any other.
type BackupFake struct {
	// PageSize caps every page (default 2, so that paging is exercised).
	PageSize int

	mu      sync.Mutex
	regions map[[2]string]*backupRegion
	nextID  int
}

type backupRegion struct {
	selections map[string][]fakeSelection // by plan id
	optIn      map[string]bool
	managed    map[string]bool
	points     map[string][]RecoveryPoint // by resource ARN
}

type fakeSelection struct {
	id, plan  string
	created   time.Time
	selection json.RawMessage // the BackupSelection as created
	name, iam string
}

// RecoveryPoint is a recovery point the fake lists for a resource.
type RecoveryPoint struct {
	Created time.Time
	// Status is COMPLETED, PARTIAL, EXPIRED, AVAILABLE, ...
	Status string
	Vault  string
}

// NewBackupFake returns an empty fake: every region opted in to DynamoDB,
// with advanced features on (AWS's defaults for new accounts).
func NewBackupFake() *BackupFake {
	return &BackupFake{regions: map[[2]string]*backupRegion{}}
}

func (f *BackupFake) region(account, region string) *backupRegion {
	k := [2]string{account, region}
	r := f.regions[k]
	if r == nil {
		r = &backupRegion{selections: map[string][]fakeSelection{}, points: map[string][]RecoveryPoint{},
			optIn: map[string]bool{"DynamoDB": true, "EBS": true, "RDS": true}, managed: map[string]bool{"DynamoDB": true}}
		f.regions[k] = r
	}
	return r
}

// AddRecoveryPoint adds a recovery point of resourceARN in account/region;
// ListProtectedResources then lists the resource with its newest point's time.
func (f *BackupFake) AddRecoveryPoint(account, region, resourceARN string, p RecoveryPoint) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.region(account, region)
	r.points[resourceARN] = append(r.points[resourceARN], p)
}

// Serves reports whether the fake answers op (the others go to moto).
func (f *BackupFake) Serves(op string) bool {
	switch op {
	case "CreateBackupSelection", "ListBackupSelections", "GetBackupSelection", "DeleteBackupSelection",
		"DescribeRegionSettings", "UpdateRegionSettings", "ListProtectedResources", "ListRecoveryPointsByResource":
		return true
	}
	return false
}

// serve answers one call of op from account/region.
func (f *BackupFake) serve(w http.ResponseWriter, r *http.Request, op, account, region string, body []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, params := BackupOp(r.Method, r.URL.EscapedPath())
	st := f.region(account, region)
	q := r.URL.Query()
	switch op {
	case "CreateBackupSelection":
		var in struct {
			BackupSelection json.RawMessage
		}
		var sel struct{ SelectionName, IamRoleArn string }
		if json.Unmarshal(body, &in) != nil || json.Unmarshal(in.BackupSelection, &sel) != nil || sel.SelectionName == "" || sel.IamRoleArn == "" {
			restError(w, http.StatusBadRequest, "InvalidParameterValueException", "BackupSelection needs SelectionName and IamRoleArn")
			return
		}
		f.nextID++
		s := fakeSelection{id: fmt.Sprintf("sel-%04d", f.nextID), plan: params[0], created: time.Now().UTC(), selection: in.BackupSelection,
			name: sel.SelectionName, iam: sel.IamRoleArn}
		st.selections[s.plan] = append(st.selections[s.plan], s)
		restJSON(w, map[string]any{"SelectionId": s.id, "BackupPlanId": s.plan, "CreationDate": epoch(s.created)})
	case "ListBackupSelections":
		var items []any
		for _, s := range st.selections[params[0]] {
			items = append(items, map[string]any{"SelectionId": s.id, "SelectionName": s.name, "BackupPlanId": s.plan,
				"CreationDate": epoch(s.created), "IamRoleArn": s.iam})
		}
		f.page(w, q, "BackupSelectionsList", items)
	case "GetBackupSelection":
		for _, s := range st.selections[params[0]] {
			if s.id == params[1] {
				restJSON(w, map[string]any{"BackupSelection": s.selection, "SelectionId": s.id, "BackupPlanId": s.plan, "CreationDate": epoch(s.created)})
				return
			}
		}
		restError(w, http.StatusNotFound, "ResourceNotFoundException", "no selection "+params[1]+" in plan "+params[0])
	case "DeleteBackupSelection":
		st.selections[params[0]] = slices.DeleteFunc(st.selections[params[0]], func(s fakeSelection) bool { return s.id == params[1] })
		restJSON(w, map[string]any{})
	case "DescribeRegionSettings":
		restJSON(w, map[string]any{"ResourceTypeOptInPreference": st.optIn, "ResourceTypeManagementPreference": st.managed})
	case "UpdateRegionSettings":
		var in struct{ ResourceTypeOptInPreference, ResourceTypeManagementPreference map[string]bool }
		if json.Unmarshal(body, &in) != nil {
			restError(w, http.StatusBadRequest, "InvalidParameterValueException", "bad body")
			return
		}
		for k, v := range in.ResourceTypeOptInPreference {
			st.optIn[k] = v
		}
		for k, v := range in.ResourceTypeManagementPreference {
			st.managed[k] = v
		}
		restJSON(w, map[string]any{})
	case "ListProtectedResources":
		f.page(w, q, "Results", st.protectedResources())
	case "ListRecoveryPointsByResource":
		arn := params[0]
		var items []any
		for i, p := range st.points[arn] {
			items = append(items, map[string]any{"RecoveryPointArn": fmt.Sprintf("arn:aws:backup:%s:%s:recovery-point:%s-%d", region, account, strings.ReplaceAll(arn[strings.LastIndex(arn, "/")+1:], ":", "-"), i),
				"CreationDate": epoch(p.Created), "Status": p.Status, "BackupVaultName": p.Vault, "BackupSizeBytes": 1024})
		}
		f.page(w, q, "RecoveryPoints", items)
	}
}

// protectedResources lists every resource with a recovery point, with the
// time of its newest (whatever its status, as AWS lists the last backup).
func (r *backupRegion) protectedResources() []any {
	arns := make([]string, 0, len(r.points))
	for a := range r.points {
		arns = append(arns, a)
	}
	sort.Strings(arns)
	var out []any
	for _, a := range arns {
		var last RecoveryPoint
		for _, p := range r.points[a] {
			if p.Created.After(last.Created) {
				last = p
			}
		}
		out = append(out, map[string]any{"ResourceArn": a, "ResourceType": "DynamoDB", "LastBackupTime": epoch(last.Created),
			"ResourceName": a[strings.LastIndex(a, "/")+1:]})
	}
	return out
}

// page answers one page of items under key, honouring maxResults and
// nextToken (an offset) like the service.
func (f *BackupFake) page(w http.ResponseWriter, q url.Values, key string, items []any) {
	size := f.PageSize
	if size <= 0 {
		size = 2
	}
	if m, err := strconv.Atoi(q.Get("maxResults")); err == nil && m > 0 && m < size {
		size = m
	}
	start := 0
	if t := q.Get("nextToken"); t != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(t, "page-"))
		if err != nil || n < 0 || n > len(items) {
			restError(w, http.StatusBadRequest, "InvalidParameterValueException", "bad nextToken "+t)
			return
		}
		start = n
	}
	end := min(start+size, len(items))
	out := map[string]any{key: append([]any{}, items[start:end]...)}
	if end < len(items) {
		out["NextToken"] = fmt.Sprintf("page-%d", end)
	}
	restJSON(w, out)
}

func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func restJSON(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// restError answers in the REST-JSON error shape: the code in the
// X-Amzn-Errortype header, the message in the body.
func restError(w http.ResponseWriter, status int, code, msg string) {
	b, _ := json.Marshal(map[string]string{"Message": msg, "Code": code})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", code)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}
