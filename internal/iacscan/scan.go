// Package iacscan runs the IaC front ends over files and directories and
// fixes what they find: `pitrguard iac scan` and `pitrguard iac fix`.
package iacscan

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pitrguard/pitrguard/internal/iac"
	"github.com/pitrguard/pitrguard/internal/iac/cloudformation"
	"github.com/pitrguard/pitrguard/internal/iac/terraform"
)

// Options for a scan.
type Options struct {
	VarFiles []string
	Vars     map[string]string
	Params   map[string]string
	Rules    iac.Options
	Now      time.Time
	// Base makes reported paths relative to it (the repository root).
	Base string
}

// FileError is a file that could not be read or parsed.
type FileError struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Message string `json:"message"`
}

// Summary counts findings by verdict.
type Summary struct {
	Pass          int `json:"pass"`
	Fail          int `json:"fail"`
	Unknown       int `json:"unknown"`
	Conditional   int `json:"conditional"`
	NotApplicable int `json:"not_applicable"`
	Suppressed    int `json:"suppressed"`
	Info          int `json:"info"`
}

// Report is the JSON document of `pitrguard iac scan`.
type Report struct {
	SchemaVersion int           `json:"schema_version"`
	Findings      []iac.Finding `json:"findings"`
	Summary       Summary       `json:"summary"`
	Errors        []FileError   `json:"errors"`
}

var skipDirs = map[string]bool{".terraform": true, "node_modules": true, ".git": true, "cdk.out.tmp": true}

// Scan scans paths (files or directories, recursively).
func Scan(paths []string, o Options) *Report {
	r := &Report{SchemaVersion: 1, Findings: []iac.Finding{}, Errors: []FileError{}}
	tfDirs := map[string]bool{}
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			r.Errors = append(r.Errors, FileError{File: p, Message: "cannot read: " + errText(err)})
			continue
		}
		if !st.IsDir() {
			if isTF(p) {
				tfDirs[filepath.Dir(p)] = true
			} else {
				files = append(files, p)
			}
			continue
		}
		_ = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if d.IsDir() {
				if skipDirs[d.Name()] && path != p {
					return filepath.SkipDir
				}
				return nil
			}
			if isTF(path) {
				tfDirs[filepath.Dir(path)] = true
			} else if ext := strings.ToLower(filepath.Ext(path)); ext == ".json" || ext == ".yaml" || ext == ".yml" || ext == ".template" {
				files = append(files, path)
			}
			return nil
		})
	}
	// A directory that another one calls as a local module is reported through
	// that call (with its inputs), not again on its own.
	called := map[string]bool{}
	for d := range tfDirs {
		for _, m := range terraform.LocalModuleDirs(d) {
			if m != filepath.Clean(d) {
				called[m] = true
			}
		}
	}
	dirs := make([]string, 0, len(tfDirs))
	for d := range tfDirs {
		if !called[filepath.Clean(d)] {
			dirs = append(dirs, d)
		}
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		fs, diags := terraform.Scan(d, terraform.Options{VarFiles: o.VarFiles, Vars: o.Vars, Rules: o.Rules, Now: o.Now})
		r.Findings = append(r.Findings, fs...)
		for _, dg := range diags {
			r.Errors = append(r.Errors, FileError{File: dg.File, Line: dg.Line, Message: dg.Msg})
		}
	}
	sort.Strings(files)
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			r.Errors = append(r.Errors, FileError{File: f, Message: errText(err)})
			continue
		}
		switch {
		case strings.HasSuffix(strings.ToLower(f), ".json") && terraform.IsPlan(src):
			fs, err := terraform.ScanPlan(f, src, terraform.Options{Rules: o.Rules})
			if err != nil {
				r.Errors = append(r.Errors, FileError{File: f, Message: err.Error()})
			}
			r.Findings = append(r.Findings, fs...)
		case cloudformation.Kind(f, src) != "" || looksLikeTemplate(src):
			fs, err := cloudformation.Scan(f, src, o.Params, o.Rules, o.Now)
			if e, ok := err.(*cloudformation.ParseError); ok {
				r.Errors = append(r.Errors, FileError{File: e.File, Line: e.Line, Message: e.Msg})
			} else if err != nil {
				r.Errors = append(r.Errors, FileError{File: f, Message: err.Error()})
			}
			r.Findings = append(r.Findings, fs...)
		}
	}
	for i := range r.Findings {
		r.Findings[i].File = rel(o.Base, r.Findings[i].File) // Fix.File keeps the real path for editing
	}
	for i := range r.Errors {
		r.Errors[i].File = rel(o.Base, r.Errors[i].File)
	}
	iac.Sort(r.Findings)
	slices.SortStableFunc(r.Errors, func(a, b FileError) int {
		return cmp.Or(strings.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line))
	})
	r.Summary = summarize(r.Findings)
	return r
}

// looksLikeTemplate catches templates that do not parse (so the error is
// reported rather than the file skipped).
func looksLikeTemplate(src []byte) bool {
	s := string(src)
	return strings.Contains(s, "AWSTemplateFormatVersion") || strings.Contains(s, "AWS::DynamoDB::")
}

func isTF(p string) bool { return strings.HasSuffix(p, ".tf") || strings.HasSuffix(p, ".tf.json") }

func errText(err error) string {
	if e, ok := err.(*fs.PathError); ok {
		return e.Err.Error()
	}
	return err.Error()
}

func rel(base, p string) string {
	if base == "" {
		return filepath.ToSlash(p)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return filepath.ToSlash(p)
	}
	r, err := filepath.Rel(base, abs)
	if err != nil || strings.HasPrefix(r, "..") {
		return filepath.ToSlash(p)
	}
	return filepath.ToSlash(r)
}

func summarize(fs []iac.Finding) Summary {
	var s Summary
	for _, f := range fs {
		switch f.Verdict {
		case iac.Pass:
			s.Pass++
		case iac.Fail:
			s.Fail++
		case iac.Unknown:
			s.Unknown++
		case iac.Conditional:
			s.Conditional++
		case iac.NotApplicable:
			s.NotApplicable++
		case iac.Suppressed:
			s.Suppressed++
		case iac.Info:
			s.Info++
		}
	}
	return s
}

// LoadParams reads a CloudFormation parameters file: the CLI's
// [{"ParameterKey","ParameterValue"}], {"Parameters": {...}}, or a flat map.
func LoadParams(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("parameters file %s: %s", path, errText(err))
	}
	out := map[string]string{}
	var list []struct{ ParameterKey, ParameterValue string }
	if json.Unmarshal(data, &list) == nil && len(list) > 0 {
		for _, p := range list {
			out[p.ParameterKey] = p.ParameterValue
		}
		return out, nil
	}
	var wrapped struct{ Parameters map[string]any }
	if json.Unmarshal(data, &wrapped) == nil && wrapped.Parameters != nil {
		for k, v := range wrapped.Parameters {
			out[k] = fmt.Sprint(v)
		}
		return out, nil
	}
	var flat map[string]any
	if err := json.Unmarshal(data, &flat); err != nil {
		return nil, fmt.Errorf("parameters file %s is not JSON in a form pitrguard reads ([{\"ParameterKey\":..,\"ParameterValue\":..}], {\"Parameters\":{..}} or {\"Key\":\"value\"}): %v", path, err)
	}
	for k, v := range flat {
		out[k] = fmt.Sprint(v)
	}
	return out, nil
}
