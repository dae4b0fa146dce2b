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
	fx := &fixer{
		o: o, tmp: tmp,
		back:    map[string]string{},
		tried:   map[string]bool{},
		refused: map[string]string{},
		applied: map[string][]string{},
	}
	if err := fx.copyPaths(paths); err != nil {
		return nil, err
	}
	if err := fx.copyVarFiles(paths); err != nil {
		return nil, err
	}
	if fx.tmpReal, err = filepath.EvalSymlinks(tmp); err != nil {
		return nil, err
	}
	if err := fx.applyAll(); err != nil {
		return nil, err
	}
	final := Scan(fx.scratch, fx.so)
	res := &FixResult{Manual: fx.manual(final), Remaining: fx.remaining(final)}
	if res.Changes, err = fx.changes(); err != nil {
		return nil, err
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

// fixer holds the state of one Fix run: the scratch copy, the map back to
// the original files, and what was tried, refused and applied.
type fixer struct {
	o       Options // as given
	so      Options // o, pointed at the scratch copy
	tmp     string  // the scratch directory
	tmpReal string  // tmp, symbolic links resolved
	scratch []string
	roots   []string          // the given paths, symbolic links resolved
	back    map[string]string // scratch file → original file
	skipped []FileError

	brokenBefore int                 // files that did not parse before any edit
	tried        map[string]bool     // finding key → its edit was tried
	refused      map[string]string   // finding key → why its edit was refused
	applied      map[string][]string // scratch file → the fixes kept in it
}

// copyPaths copies each given path into the scratch tree.
func (fx *fixer) copyPaths(paths []string) error {
	lim := fx.o.limits(paths)
	for i, p := range paths {
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			return fmt.Errorf("%s: %s", p, errText(err))
		}
		real, err = filepath.Abs(real)
		if err != nil {
			return err
		}
		fx.roots = append(fx.roots, real)
		dst := filepath.Join(fx.tmp, fmt.Sprint(i), filepath.Base(real))
		sk, err := copyTree(real, dst, fx.back, lim)
		if err != nil {
			return fmt.Errorf("copy %s: %w", p, err)
		}
		fx.skipped = append(fx.skipped, sk...)
		fx.scratch = append(fx.scratch, dst)
	}
	return nil
}

// copyVarFiles copies the --var-file files into the scratch tree and points
// the scan options at the copy: they are edited in their copy too (a
// variable's value can live there) and may be written back only if they lie
// under a given path.
func (fx *fixer) copyVarFiles(paths []string) error {
	fx.so = fx.o
	fx.so.Base = fx.tmp
	fx.so.VarFiles = nil
	for i, vf := range fx.o.VarFiles {
		src, err := iac.ReadFile(vf, iac.Limits{MaxBytes: fx.o.MaxFileBytes, Roots: append(append([]string{}, paths...), filepath.Dir(vf))})
		if err != nil {
			return fmt.Errorf("--var-file %w", err)
		}
		dst := filepath.Join(fx.tmp, "var-files", fmt.Sprint(i), filepath.Base(vf))
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(dst, src, 0o600); err != nil {
			return err
		}
		if real, err := filepath.EvalSymlinks(vf); err == nil {
			if abs, err := filepath.Abs(real); err == nil {
				fx.back[dst] = abs
			}
		}
		fx.so.VarFiles = append(fx.so.VarFiles, dst)
	}
	return nil
}

// allowed reports whether the original of a scratch file may be written:
// it is one of the given paths or lies under one.
func (fx *fixer) allowed(orig string) bool {
	for _, r := range fx.roots {
		if iac.Within(r, orig) {
			return true
		}
	}
	return false
}

// applyAll tries, one at a time, the edit of each failing finding that has
// one, re-scanning after each, until none is left untried.
func (fx *fixer) applyAll() error {
	fx.brokenBefore = len(Scan(fx.scratch, fx.so).Errors)
	for range 200 {
		next := fx.nextFixable()
		if next == nil {
			return nil
		}
		fx.tried[key(next)] = true
		if err := fx.try(next); err != nil {
			return err
		}
	}
	return nil
}

// nextFixable is the first failing finding of a fresh scan with an edit not
// yet tried, or nil.
func (fx *fixer) nextFixable() *iac.Finding {
	cur := Scan(fx.scratch, fx.so)
	for i := range cur.Findings {
		f := &cur.Findings[i]
		if f.Verdict == iac.Fail && f.Fix != nil && f.Fix.Edit != nil && !fx.tried[key(f)] {
			return f
		}
	}
	return nil
}

// try applies the edit of next to its scratch file and keeps it only if the
// finding then passes and no more files fail to parse.
func (fx *fixer) try(next *iac.Finding) error {
	file := next.Fix.File
	if !filepath.IsAbs(file) {
		file = filepath.Join(fx.tmp, file)
	}
	if why := fx.refusal(next, file); why != "" {
		fx.refused[key(next)] = why
		return nil
	}
	was, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	edited, err := next.Fix.Edit(was)
	if err != nil || bytes.Equal(edited, was) {
		return nil
	}
	if err := os.WriteFile(file, edited, 0o600); err != nil {
		return err
	}
	if !fx.verified(next) {
		return os.WriteFile(file, was, 0o600) // the edit would not make it pass: drop it
	}
	fx.applied[file] = append(fx.applied[file], fmt.Sprintf("%s%s: %s", next.Resource, region(next), next.Fix.Desc))
	return nil
}

// refusal says why the edit of next, which would change the scratch file
// file, must not be made, or "" if it may: only the scratch copy of a given
// file is ever edited.
func (fx *fixer) refusal(next *iac.Finding, file string) string {
	real, err := filepath.EvalSymlinks(file)
	orig, known := fx.back[file]
	switch {
	case err != nil || !iac.Within(fx.tmpReal, real) || !known:
		return fmt.Sprintf("the fix would edit %s, which is not one of the paths given to fix; refusing (fix that file by hand, or pass it to fix)", displayPath(next.Fix.File))
	case !fx.allowed(orig):
		return fmt.Sprintf("the fix would edit %s, which is not one of the paths given to fix; refusing (fix it by hand, or pass it to fix)", orig)
	}
	return ""
}

// verified re-scans after the edit of next: the finding must pass and no
// more files may fail to parse than before any edit.
func (fx *fixer) verified(next *iac.Finding) bool {
	after := Scan(fx.scratch, fx.so)
	if len(after.Errors) > fx.brokenBefore {
		return false
	}
	for _, f := range after.Findings {
		if key(&f) == key(next) && f.Verdict != iac.Pass {
			return false
		}
	}
	return true
}

// manual lists the findings of the final scan still failing or conditional,
// each with why a person has to fix it. It reads the scratch paths, so it
// runs before remaining maps them back.
func (fx *fixer) manual(final *Report) []string {
	var out []string
	for _, f := range final.Findings {
		if f.Verdict != iac.Fail && f.Verdict != iac.Conditional {
			continue
		}
		out = append(out, fmt.Sprintf("%s:%d %s%s (%s): %s", backPath(fx.back, fx.tmp, f.File), f.Line, f.Resource, region(&f), f.Verdict, fx.whyManual(&f)))
	}
	return out
}

func (fx *fixer) whyManual(f *iac.Finding) string {
	switch {
	case fx.refused[key(f)] != "":
		return fx.refused[key(f)]
	case f.Fix != nil && f.Fix.Manual != "":
		return f.Fix.Manual
	case f.Fix != nil && f.Fix.Edit != nil:
		return "the automatic edit did not make it pass; fix it by hand"
	}
	return "no automatic fix"
}

// remaining maps the final scan's paths back to the original files and adds
// the files that were not copied.
func (fx *fixer) remaining(final *Report) *Report {
	for i := range final.Findings {
		final.Findings[i].File = backPath(fx.back, fx.tmp, final.Findings[i].File)
	}
	for i := range final.Errors {
		final.Errors[i].File = backPath(fx.back, fx.tmp, final.Errors[i].File)
	}
	final.Errors = append(final.Errors, fx.skipped...)
	return final
}

// changes pairs each original file with its edited scratch copy, sorted by
// scratch path.
func (fx *fixer) changes() ([]Change, error) {
	files := make([]string, 0, len(fx.applied))
	for f := range fx.applied {
		files = append(files, f)
	}
	sort.Strings(files)
	var out []Change
	for _, f := range files {
		origPath := fx.back[f]
		was, err := iac.ReadFile(origPath, iac.Limits{MaxBytes: fx.o.MaxFileBytes, Roots: fx.roots})
		if err != nil {
			return nil, err
		}
		now, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, Change{File: origPath, Before: was, After: now, Fixes: fx.applied[f]})
	}
	return out, nil
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
