package iacscan

import (
	"bytes"
	"fmt"
	"io/fs"
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
// a temporary copy of the paths and of the --var-file files: each edit is
// applied to the copy, the copy re-parsed and re-scanned, and the edit is
// kept only if that finding now passes and no file stopped parsing. With
// dryRun nothing is written anywhere but the temporary copy; otherwise each
// changed file is replaced atomically. An edit of a file that is not one of
// the given paths (or under them), once symbolic links are resolved, is
// refused and listed for a person (issue 9 #3).
func Fix(paths []string, o Options, dryRun bool) (*FixResult, error) {
	tmp, err := os.MkdirTemp("", "pitrguard-fix-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	lim := o.limits(paths)
	// Copy each path into the scratch tree; map scratch paths back.
	var scratch []string
	var roots []string          // the given paths, symbolic links resolved
	back := map[string]string{} // scratch file → original file
	var skipped []FileError
	for i, p := range paths {
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %s", p, errText(err))
		}
		real, err = filepath.Abs(real)
		if err != nil {
			return nil, err
		}
		roots = append(roots, real)
		dst := filepath.Join(tmp, fmt.Sprint(i), filepath.Base(real))
		sk, err := copyTree(real, dst, back, lim)
		if err != nil {
			return nil, fmt.Errorf("copy %s: %w", p, err)
		}
		skipped = append(skipped, sk...)
		scratch = append(scratch, dst)
	}
	so := o
	so.Base = tmp
	// --var-file files are edited in their copy too (a variable's value can
	// live there); they may be written back only if they lie under a given path.
	so.VarFiles = nil
	for i, vf := range o.VarFiles {
		src, err := iac.ReadFile(vf, iac.Limits{MaxBytes: o.MaxFileBytes, Roots: append(append([]string{}, paths...), filepath.Dir(vf))})
		if err != nil {
			return nil, fmt.Errorf("--var-file %w", err)
		}
		dst := filepath.Join(tmp, "var-files", fmt.Sprint(i), filepath.Base(vf))
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(dst, src, 0o600); err != nil {
			return nil, err
		}
		if real, err := filepath.EvalSymlinks(vf); err == nil {
			if abs, err := filepath.Abs(real); err == nil {
				back[dst] = abs
			}
		}
		so.VarFiles = append(so.VarFiles, dst)
	}
	tmpReal, err := filepath.EvalSymlinks(tmp)
	if err != nil {
		return nil, err
	}
	// allowed reports whether the original of a scratch file may be written:
	// it is one of the given paths or lies under one.
	allowed := func(orig string) bool {
		for _, r := range roots {
			if iac.Within(r, orig) {
				return true
			}
		}
		return false
	}
	before := Scan(scratch, so)
	brokenBefore := len(before.Errors)
	tried := map[string]bool{}
	res := &FixResult{}
	refused := map[string]string{} // finding key → why its edit was refused
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
		// Only the scratch copy of a given file is ever edited.
		real, err := filepath.EvalSymlinks(file)
		orig, known := back[file]
		switch {
		case err != nil || !iac.Within(tmpReal, real) || !known:
			refused[key(next)] = fmt.Sprintf("the fix would edit %s, which is not one of the paths given to fix; refusing (fix that file by hand, or pass it to fix)", displayPath(next.Fix.File))
			continue
		case !allowed(orig):
			refused[key(next)] = fmt.Sprintf("the fix would edit %s, which is not one of the paths given to fix; refusing (fix it by hand, or pass it to fix)", orig)
			continue
		}
		was, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		edited, err := next.Fix.Edit(was)
		if err != nil || bytes.Equal(edited, was) {
			continue
		}
		if err := os.WriteFile(file, edited, 0o600); err != nil {
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
			if err := os.WriteFile(file, was, 0o600); err != nil { // the edit would not make it pass: drop it
				return nil, err
			}
			continue
		}
		applied[file] = append(applied[file], fmt.Sprintf("%s%s: %s", next.Resource, region(next), next.Fix.Desc))
	}
	final := Scan(scratch, so)
	for _, f := range final.Findings {
		if f.Verdict == iac.Fail || f.Verdict == iac.Conditional {
			why := "no automatic fix"
			switch {
			case refused[key(&f)] != "":
				why = refused[key(&f)]
			case f.Fix != nil && f.Fix.Manual != "":
				why = f.Fix.Manual
			case f.Fix != nil && f.Fix.Edit != nil:
				why = "the automatic edit did not make it pass; fix it by hand"
			}
			res.Manual = append(res.Manual, fmt.Sprintf("%s:%d %s%s (%s): %s", backPath(back, tmp, f.File), f.Line, f.Resource, region(&f), f.Verdict, why))
		}
	}
	for i := range final.Findings {
		final.Findings[i].File = backPath(back, tmp, final.Findings[i].File)
	}
	for i := range final.Errors {
		final.Errors[i].File = backPath(back, tmp, final.Errors[i].File)
	}
	final.Errors = append(final.Errors, skipped...)
	res.Remaining = final
	files := make([]string, 0, len(applied))
	for f := range applied {
		files = append(files, f)
	}
	sort.Strings(files)
	for _, f := range files {
		origPath := back[f]
		was, err := iac.ReadFile(origPath, iac.Limits{MaxBytes: o.MaxFileBytes, Roots: roots})
		if err != nil {
			return nil, err
		}
		now, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		res.Changes = append(res.Changes, Change{File: origPath, Before: was, After: now, Fixes: applied[f]})
	}
	if dryRun {
		return res, nil
	}
	for _, c := range res.Changes {
		if err := atomicWrite(c.File, c.After); err != nil {
			return nil, fmt.Errorf("write %s: %w", c.File, err)
		}
	}
	return res, nil
}

func displayPath(p string) string {
	if p == "" {
		return "a file"
	}
	return p
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

// copyTree copies the regular files of src into dst. Symbolic links are not
// copied (one into the tree is copied as its target; one out of it is
// never followed), nor are special or oversized files: those are returned.
func copyTree(src, dst string, back map[string]string, lim iac.Limits) ([]FileError, error) {
	st, err := os.Stat(src)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		if err := lim.CheckFile(src); err != nil {
			return nil, err
		}
		return nil, copyFile(src, dst, back, lim)
	}
	var skipped []FileError
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		relp, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, relp)
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules", "providers":
				if p != src {
					return filepath.SkipDir
				}
			}
			return os.MkdirAll(target, 0o700)
		}
		if !isTF(p) && !isTemplateName(p) && !strings.Contains(p, ".tfvars") && d.Name() != "modules.json" {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			if _, err := lim.Resolve(p); err != nil {
				skipped = append(skipped, FileError{File: p, Message: err.(*iac.FileError).Msg})
			}
			return nil
		}
		if err := lim.CheckFile(p); err != nil {
			skipped = append(skipped, FileError{File: p, Message: err.(*iac.FileError).Msg})
			return nil
		}
		return copyFile(p, target, back, lim)
	})
	return skipped, err
}

func copyFile(src, dst string, back map[string]string, lim iac.Limits) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	data, err := iac.ReadFile(src, lim)
	if err != nil {
		return err
	}
	if err := os.WriteFile(dst, data, 0o600); err != nil {
		return err
	}
	abs, err := filepath.Abs(src)
	if err != nil {
		return err
	}
	back[dst] = abs
	return nil
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
