package iacscan

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pitrguard/pitrguard/internal/iac"
)

// Change is one file the fixer changed.
type Change struct {
	File   string
	Before []byte
	After  []byte
	Fixes  []string
}

// FixResult says what `iac fix` did.
type FixResult struct {
	Changes []Change
	// Manual lists failing findings a person has to fix, and why.
	Manual []string
	// Remaining is the scan after fixing.
	Remaining *Report
}

// Fix makes the minimal edits that turn FAIL findings into PASS. It works on
// a temporary copy: each edit is applied, the copy re-parsed and re-scanned,
// and the edit is kept only if that finding now passes and no file stopped
// parsing. With dryRun nothing is written; otherwise changed files are
// replaced atomically.
func Fix(paths []string, o Options, dryRun bool) (*FixResult, error) {
	tmp, err := os.MkdirTemp("", "pitrguard-fix-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	// Copy each path into the scratch tree; map scratch paths back.
	var scratch []string
	back := map[string]string{} // scratch file → original file
	for i, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		dst := filepath.Join(tmp, fmt.Sprint(i), filepath.Base(abs))
		if err := copyTree(abs, dst, back); err != nil {
			return nil, fmt.Errorf("copy %s: %w", p, err)
		}
		scratch = append(scratch, dst)
	}
	so := o
	so.Base = tmp
	before := Scan(scratch, so)
	brokenBefore := len(before.Errors)
	tried := map[string]bool{}
	res := &FixResult{}
	applied := map[string][]string{}
	for range 200 {
		cur := Scan(scratch, so)
		var next *iac.Finding
		for i := range cur.Findings {
			f := &cur.Findings[i]
			if f.Verdict != iac.Fail || f.Fix == nil || f.Fix.Edit == nil || tried[key(f)] {
				continue
			}
			next = f
			break
		}
		if next == nil {
			break
		}
		tried[key(next)] = true
		file := next.Fix.File
		if !filepath.IsAbs(file) {
			file = filepath.Join(tmp, file)
		}
		orig, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		edited, err := next.Fix.Edit(orig)
		if err != nil || bytes.Equal(edited, orig) {
			continue
		}
		if err := os.WriteFile(file, edited, 0o644); err != nil {
			return nil, err
		}
		after := Scan(scratch, so)
		ok := len(after.Errors) <= brokenBefore
		for _, f := range after.Findings {
			if key(&f) == key(next) && f.Verdict != iac.Pass {
				ok = false
			}
		}
		if !ok {
			_ = os.WriteFile(file, orig, 0o644) // the edit would not make it pass: drop it
			continue
		}
		applied[file] = append(applied[file], fmt.Sprintf("%s%s: %s", next.Resource, region(next), next.Fix.Desc))
	}
	final := Scan(scratch, so)
	for _, f := range final.Findings {
		if f.Verdict == iac.Fail || f.Verdict == iac.Conditional {
			why := "no automatic fix"
			if f.Fix != nil && f.Fix.Manual != "" {
				why = f.Fix.Manual
			} else if f.Fix != nil && f.Fix.Edit != nil {
				why = "the automatic edit did not make it pass; fix it by hand"
			}
			res.Manual = append(res.Manual, fmt.Sprintf("%s:%d %s%s (%s): %s", backPath(back, tmp, f.File), f.Line, f.Resource, region(&f), f.Verdict, why))
		}
	}
	for i := range final.Findings {
		final.Findings[i].File = backPath(back, tmp, final.Findings[i].File)
	}
	res.Remaining = final
	files := make([]string, 0, len(applied))
	for f := range applied {
		files = append(files, f)
	}
	sort.Strings(files)
	for _, f := range files {
		origPath := back[f]
		was, err := os.ReadFile(origPath)
		if err != nil {
			return nil, err
		}
		now, _ := os.ReadFile(f)
		res.Changes = append(res.Changes, Change{File: origPath, Before: was, After: now, Fixes: applied[f]})
		if !dryRun {
			if err := atomicWrite(origPath, now); err != nil {
				return nil, fmt.Errorf("write %s: %w", origPath, err)
			}
		}
	}
	return res, nil
}

func region(f *iac.Finding) string {
	if f.ReplicaRegion == "" {
		return ""
	}
	return " (replica " + f.ReplicaRegion + ")"
}

func key(f *iac.Finding) string { return f.File + "|" + f.Resource + "|" + f.ReplicaRegion }

func backPath(back map[string]string, tmp, rel string) string {
	if p, ok := back[filepath.Join(tmp, rel)]; ok {
		if wd, err := os.Getwd(); err == nil {
			if r, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(r, "..") {
				return filepath.ToSlash(r)
			}
		}
		return p
	}
	return rel
}

func copyTree(src, dst string, back map[string]string) error {
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return copyFile(src, dst, back)
	}
	return filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		relp, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, relp)
		if info.IsDir() {
			switch info.Name() {
			case ".git", "node_modules", "providers":
				if p != src {
					return filepath.SkipDir
				}
			}
			return os.MkdirAll(target, 0o755)
		}
		if info.Mode().IsRegular() {
			return copyFile(p, target, back)
		}
		return nil
	})
}

func copyFile(src, dst string, back map[string]string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	back[dst] = src
	return out.Close()
}

// atomicWrite replaces a file through a temporary file and a rename.
func atomicWrite(path string, data []byte) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".pitrguard-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(st.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
