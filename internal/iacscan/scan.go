// Package iacscan runs the IaC front ends over files and directories and
// fixes what they find: `pitrguard iac scan` and `pitrguard iac fix`.
package iacscan

import (
	"cmp"
	"context"
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
	// Env are Terraform's TF_VAR_name environment variables (name → value).
	Env    map[string]string
	Params map[string]string
	Rules  iac.Options
	Now    time.Time
	// Base makes reported paths relative to it (the repository root).
	Base string
	// MaxFileBytes caps the size of one file (0: iac.DefaultMaxFileBytes).
	MaxFileBytes int64
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
	Exempt        int `json:"exempt"`
}

// Report is the JSON document of `pitrguard iac scan`.
type Report struct {
	SchemaVersion int           `json:"schema_version"`
	Findings      []iac.Finding `json:"findings"`
	Summary       Summary       `json:"summary"`
	Errors        []FileError   `json:"errors"`
	// Scanned counts the Terraform modules, templates and plans read (0:
	// the paths hold no IaC file).
	Scanned int `json:"-"`
	// Interrupted is set when the scan was cancelled before it finished.
	Interrupted bool `json:"interrupted,omitempty"`
}

var skipDirs = map[string]bool{".terraform": true, "node_modules": true, ".git": true, "cdk.out.tmp": true}

// Scan scans paths (files or directories, recursively).
func Scan(paths []string, o Options) *Report { return ScanContext(context.Background(), paths, o) }

// ScanContext scans paths (files or directories, recursively) until ctx
// ends; an interrupted scan says so in Interrupted. Only regular files are
// read, each up to the size cap; a symbolic link is followed only when its
// target is inside a scanned tree (issue 9 #11, issue 16 #2).
func ScanContext(ctx context.Context, paths []string, o Options) *Report {
	s := &scanner{
		ctx: ctx, o: o, lim: o.limits(paths),
		r:      &Report{SchemaVersion: 1, Findings: []iac.Finding{}, Errors: []FileError{}},
		tfDirs: map[string]bool{},
	}
	for _, p := range paths {
		s.collect(p)
	}
	if ctx.Err() != nil || !s.scanModules() || !s.scanFiles() {
		return s.r.interrupted()
	}
	s.r.finish(o.Base)
	return s.r
}

// scanner holds the state of one ScanContext: what the walk found (the
// Terraform module directories and the other candidate files) and the report.
type scanner struct {
	ctx    context.Context
	o      Options
	lim    iac.Limits
	r      *Report
	tfDirs map[string]bool // directories holding a .tf or .tf.json file
	files  []string        // templates and plans to classify by content
}

func (s *scanner) fileErr(p string, err error) {
	msg := err.Error()
	if fe, ok := err.(*iac.FileError); ok {
		msg = fe.Msg
	}
	s.r.Errors = append(s.r.Errors, FileError{File: p, Message: msg})
}

// add records an IaC file: a Terraform file by its module directory (it is
// read, and checked, when its module is loaded), any other file as itself.
func (s *scanner) add(p string) {
	if isTF(p) {
		s.tfDirs[filepath.Dir(p)] = true
		return
	}
	s.files = append(s.files, p)
}

// collect records the IaC files of one given path: the file itself, or
// those found walking the directory.
func (s *scanner) collect(p string) {
	st, err := os.Stat(p)
	if err != nil {
		s.r.Errors = append(s.r.Errors, FileError{File: p, Message: "cannot read: " + errText(err)})
		return
	}
	if !st.IsDir() {
		if err := s.lim.CheckFile(p); err != nil {
			s.fileErr(p, err)
			return
		}
		s.add(p)
		return
	}
	_ = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil || s.ctx.Err() != nil {
			return nil
		}
		if d.IsDir() {
			if skipDirs[d.Name()] && path != p {
				return filepath.SkipDir
			}
			return nil
		}
		if !isTF(path) && !isTemplateName(path) {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 && s.skipLink(path) {
			return nil
		}
		s.add(path)
		return nil
	})
}

// skipLink reports whether the symbolic link path is not scanned through
// the link: its target leaves the scanned trees (an error is recorded), or
// it is a template whose target, a regular file in the tree, is scanned as
// itself.
func (s *scanner) skipLink(path string) bool {
	target, err := s.lim.Resolve(path)
	if err != nil {
		s.fileErr(path, err)
		return true
	}
	if isTF(path) {
		return false
	}
	fi, err := os.Stat(target)
	return err == nil && fi.Mode().IsRegular()
}

// rootModules lists, sorted, the Terraform directories to scan: a directory
// that another one calls as a local module is reported through that call
// (with its inputs), not again on its own.
func (s *scanner) rootModules() []string {
	called := map[string]bool{}
	for d := range s.tfDirs {
		for _, m := range terraform.LocalModuleDirs(d, s.lim) {
			if m != filepath.Clean(d) {
				called[m] = true
			}
		}
	}
	dirs := make([]string, 0, len(s.tfDirs))
	for d := range s.tfDirs {
		if !called[filepath.Clean(d)] {
			dirs = append(dirs, d)
		}
	}
	sort.Strings(dirs)
	return dirs
}

// scanModules scans the root Terraform modules; false if ctx ended first.
func (s *scanner) scanModules() bool {
	dirs := s.rootModules()
	s.r.Scanned = len(dirs)
	o := s.o
	for _, d := range dirs {
		if s.ctx.Err() != nil {
			return false
		}
		fs, diags := terraform.Scan(d, terraform.Options{VarFiles: o.VarFiles, Vars: o.Vars, Env: o.Env, Rules: o.Rules, Now: o.Now, Limits: s.lim})
		s.r.Findings = append(s.r.Findings, fs...)
		for _, dg := range diags {
			s.r.Errors = append(s.r.Errors, FileError{File: dg.File, Line: dg.Line, Message: dg.Msg})
		}
	}
	return true
}

// scanFiles scans the other files, sorted; false if ctx ended first.
func (s *scanner) scanFiles() bool {
	sort.Strings(s.files)
	for _, f := range s.files {
		if s.ctx.Err() != nil {
			return false
		}
		src, err := iac.ReadFile(f, s.lim)
		if err != nil {
			s.fileErr(f, err)
			continue
		}
		s.scanFile(f, src)
	}
	return true
}

// scanFile scans one file by what its content is: a Terraform plan (JSON),
// a CloudFormation template, or neither (ignored).
func (s *scanner) scanFile(f string, src []byte) {
	switch {
	case strings.HasSuffix(strings.ToLower(f), ".json") && terraform.IsPlan(src):
		s.r.Scanned++
		fs, err := terraform.ScanPlan(f, src, terraform.Options{Rules: s.o.Rules})
		if err != nil {
			s.r.Errors = append(s.r.Errors, FileError{File: f, Message: err.Error()})
		}
		s.r.Findings = append(s.r.Findings, fs...)
	case cloudformation.Kind(f, src) != "" || looksLikeTemplate(src):
		s.r.Scanned++
		fs, err := cloudformation.Scan(f, src, s.o.Params, s.o.Rules, s.o.Now)
		if e, ok := err.(*cloudformation.ParseError); ok {
			s.r.Errors = append(s.r.Errors, FileError{File: e.File, Line: e.Line, Message: e.Msg})
		} else if err != nil {
			s.r.Errors = append(s.r.Errors, FileError{File: f, Message: err.Error()})
		}
		s.r.Findings = append(s.r.Findings, fs...)
	}
}

// finish makes paths relative to base, sorts, and counts.
func (r *Report) finish(base string) {
	for i := range r.Findings {
		r.Findings[i].File = rel(base, r.Findings[i].File) // Fix.File keeps the real path for editing
	}
	for i := range r.Errors {
		r.Errors[i].File = rel(base, r.Errors[i].File)
	}
	iac.Sort(r.Findings)
	slices.SortStableFunc(r.Errors, func(a, b FileError) int {
		return cmp.Or(strings.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), strings.Compare(a.Message, b.Message))
	})
	r.Summary = summarize(r.Findings)
}

func (r *Report) interrupted() *Report {
	r.Interrupted = true
	r.finish("")
	return r
}

// limits is the read policy of one scan: the size cap, and symbolic links
// followed only into the scanned trees.
func (o Options) limits(paths []string) iac.Limits {
	roots := append([]string(nil), paths...)
	for _, vf := range o.VarFiles {
		roots = append(roots, filepath.Dir(vf)) // a var file given explicitly may be reached through links
	}
	return iac.Limits{MaxBytes: o.MaxFileBytes, Roots: roots}
}

// KeepTier keeps the findings of one policy tier (case-insensitive).
func (r *Report) KeepTier(tier string) {
	kept := r.Findings[:0]
	for _, f := range r.Findings {
		if strings.EqualFold(f.Tier, tier) {
			kept = append(kept, f)
		}
	}
	r.Findings = kept
	r.Summary = summarize(r.Findings)
}

func isTemplateName(p string) bool {
	switch strings.ToLower(filepath.Ext(p)) {
	case ".json", ".yaml", ".yml", ".template":
		return true
	}
	return false
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
		case iac.Exempt:
			s.Exempt++
		}
	}
	return s
}

// LoadParams reads a CloudFormation parameters file: the CLI's
// [{"ParameterKey","ParameterValue"}], {"Parameters": {...}}, or a flat map.
func LoadParams(path string, maxBytes int64) (map[string]string, error) {
	data, err := iac.ReadFile(path, iac.Limits{MaxBytes: maxBytes, Roots: []string{string(filepath.Separator)}})
	if err != nil {
		return nil, fmt.Errorf("parameters file %w", err)
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
