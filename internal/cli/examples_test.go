package cli

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/pitrguard/pitrguard/internal/iostreams"
)

// parseAuditArgs runs argv (without the program name) through the real
// command tree, with the audit command's work replaced by capturing its
// options: unknown flags, bad values and shard resolution fail here as they
// would in the pod.
func parseAuditArgs(t *testing.T, argv []string, env map[string]string) (*AuditOptions, error) {
	t.Helper()
	ios, _, _, _ := iostreams.Test()
	f := &Factory{IO: ios, Getenv: func(k string) string { return env[k] }}
	root := NewRootCmd(f)
	for _, c := range root.Commands() {
		if c.Name() == "audit" {
			root.RemoveCommand(c)
		}
	}
	var got *AuditOptions
	root.AddCommand(newAuditCmd(f, &GlobalOptions{}, func(_ context.Context, o *AuditOptions) error { got = o; return nil }))
	root.SetArgs(argv)
	root.SetOut(io.Discard)
	root.SetErr(io.Discard)
	if err := root.ExecuteContext(context.Background()); err != nil {
		return nil, err
	}
	if got == nil {
		return nil, errors.New("the audit command did not run")
	}
	return got, nil
}

func yamlDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	dec := yaml.NewDecoder(fh)
	var docs []map[string]any
	for {
		var d map[string]any
		if err := dec.Decode(&d); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		docs = append(docs, d)
	}
	return docs
}

func dig(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v: not a map at %q", path, k)
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || len(l) <= k {
				t.Fatalf("%v: no item %d", path, k)
			}
			v = l[k]
		}
	}
	return v
}

var k8sVarRE = regexp.MustCompile(`\$\(([A-Z_][A-Z0-9_]*)\)`)

// TestKubernetesExamples checks the Indexed Job and the CronJob: the args are
// real flags, --shards equals the Job's completions, each index becomes its
// shard, the run group is the Job's name, the database URL comes from the
// Secret and credentials from the ServiceAccount's IAM role.
func TestKubernetesExamples(t *testing.T) {
	job := yamlDocs(t, "../../examples/kubernetes/audit-indexed-job.yaml")
	cron := yamlDocs(t, "../../examples/kubernetes/audit-cronjob.yaml")
	kinds := map[string]map[string]any{}
	for _, d := range append(append([]map[string]any{}, job...), cron...) {
		kinds[d["kind"].(string)] = d
	}
	sa, secret := kinds["ServiceAccount"], kinds["Secret"]
	if sa == nil || secret == nil || kinds["Job"] == nil || kinds["CronJob"] == nil {
		t.Fatalf("kinds found: %v", kinds)
	}
	if arn, _ := dig(t, sa, "metadata", "annotations", "eks.amazonaws.com/role-arn").(string); !strings.HasPrefix(arn, "arn:aws:iam::") {
		t.Errorf("the ServiceAccount has no IRSA role: %q", arn)
	}
	secretName := dig(t, secret, "metadata", "name").(string)
	if u, _ := dig(t, secret, "stringData", "url").(string); !strings.HasPrefix(u, "postgres://") {
		t.Errorf("the Secret's url is not a postgres URL: %q", u)
	}

	for name, spec := range map[string]any{
		"Job":     dig(t, kinds["Job"], "spec"),
		"CronJob": dig(t, kinds["CronJob"], "spec", "jobTemplate", "spec"),
	} {
		t.Run(name, func(t *testing.T) {
			if dig(t, spec, "completionMode") != "Indexed" {
				t.Fatal("completionMode must be Indexed (JOB_COMPLETION_INDEX)")
			}
			completions := dig(t, spec, "completions").(int)
			pod := dig(t, spec, "template", "spec")
			if dig(t, pod, "serviceAccountName") != dig(t, sa, "metadata", "name") {
				t.Errorf("serviceAccountName %v is not the IRSA ServiceAccount", dig(t, pod, "serviceAccountName"))
			}
			c := dig(t, pod, "containers", 0)
			if cmd := dig(t, c, "command", 0); cmd != "pitrguard" {
				t.Errorf("command %v", cmd)
			}
			env := map[string]string{}
			for _, x := range dig(t, c, "env").([]any) {
				e := x.(map[string]any)
				n := e["name"].(string)
				from, _ := e["valueFrom"].(map[string]any)
				switch {
				case e["value"] != nil:
					env[n] = e["value"].(string)
				case from["secretKeyRef"] != nil:
					ref := dig(t, e, "valueFrom", "secretKeyRef").(map[string]any)
					if ref["name"] != secretName {
						t.Errorf("%s from Secret %v, want %s", n, ref["name"], secretName)
					}
					env[n] = dig(t, secret, "stringData", ref["key"].(string)).(string)
				case from["fieldRef"] != nil:
					path := dig(t, e, "valueFrom", "fieldRef", "fieldPath").(string)
					if path != "metadata.labels['batch.kubernetes.io/job-name']" {
						t.Errorf("%s from %s", n, path)
					}
					env[n] = "pitrguard-daily-audit-29389000" // what Kubernetes puts in the label
				}
			}
			if !strings.HasPrefix(env["PITRGUARD_DB"], "postgres://") {
				t.Errorf("PITRGUARD_DB is not the Secret's postgres URL: %q", env["PITRGUARD_DB"])
			}
			var argv []string
			for _, a := range dig(t, c, "args").([]any) {
				// Kubernetes expands $(VAR) from the container's env.
				argv = append(argv, k8sVarRE.ReplaceAllStringFunc(a.(string), func(m string) string { return env[m[2:len(m)-1]] }))
			}
			for idx := range completions {
				env["JOB_COMPLETION_INDEX"] = strconv.Itoa(idx)
				o, err := parseAuditArgs(t, argv, env)
				if err != nil {
					t.Fatalf("index %d: %v (args %q)", idx, err, argv)
				}
				if o.Shard.N != completions || o.Shard.K != idx+1 || o.Shard.RunGroup != "pitrguard-daily-audit-29389000" {
					t.Errorf("index %d: shard %d/%d group %q (completions %d)", idx, o.Shard.K, o.Shard.N, o.Shard.RunGroup, completions)
				}
			}
			env["JOB_COMPLETION_INDEX"] = strconv.Itoa(completions)
			if _, err := parseAuditArgs(t, argv, env); err == nil {
				t.Error("an index past --shards must be refused")
			}
		})
	}
}

// TestAWSBatchExample checks the array job: the command is real flags,
// --shards equals the array size, AWS_BATCH_JOB_ARRAY_INDEX picks the shard,
// the run group defaults to the parent job's id, the database URL is a
// secret, and credentials come from the job role.
func TestAWSBatchExample(t *testing.T) {
	var def struct {
		ContainerProperties struct {
			Command    []string `json:"command"`
			JobRoleArn string   `json:"jobRoleArn"`
			Secrets    []struct {
				Name, ValueFrom string
			} `json:"secrets"`
		} `json:"containerProperties"`
	}
	var submit struct {
		JobDefinition   string `json:"jobDefinition"`
		ArrayProperties struct {
			Size int `json:"size"`
		} `json:"arrayProperties"`
	}
	for path, v := range map[string]any{"../../examples/aws-batch/job-definition.json": &def, "../../examples/aws-batch/submit-job.json": &submit} {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		if err := dec.Decode(v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	cp := def.ContainerProperties
	if !strings.HasPrefix(cp.JobRoleArn, "arn:aws:iam::") {
		t.Errorf("no job role: %q", cp.JobRoleArn)
	}
	hasDB := false
	for _, s := range cp.Secrets {
		hasDB = hasDB || (s.Name == "PITRGUARD_DB" && strings.HasPrefix(s.ValueFrom, "arn:aws:secretsmanager:"))
	}
	if !hasDB {
		t.Error("PITRGUARD_DB must come from a Secrets Manager secret")
	}
	if len(cp.Command) < 2 || cp.Command[0] != "pitrguard" {
		t.Fatalf("command %q", cp.Command)
	}
	n := submit.ArrayProperties.Size
	if n < 2 {
		t.Fatalf("array size %d", n)
	}
	for idx := range n {
		env := map[string]string{"AWS_BATCH_JOB_ARRAY_INDEX": strconv.Itoa(idx), "AWS_BATCH_JOB_ID": "8f2c1e7a-55aa-4f0e-9b1d-0c5e8b7d2a11:" + strconv.Itoa(idx)}
		o, err := parseAuditArgs(t, cp.Command[1:], env)
		if err != nil {
			t.Fatalf("index %d: %v", idx, err)
		}
		if o.Shard.N != n || o.Shard.K != idx+1 || o.Shard.RunGroup != "8f2c1e7a-55aa-4f0e-9b1d-0c5e8b7d2a11" {
			t.Errorf("index %d: shard %d/%d group %q", idx, o.Shard.K, o.Shard.N, o.Shard.RunGroup)
		}
	}
}
