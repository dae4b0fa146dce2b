package iac

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DefaultMaxFileBytes is the size cap of one IaC file when none is given
// (issue 9 #11: a scan of an untrusted pull request must stay bounded).
const DefaultMaxFileBytes = 10 << 20

// Limits bound what the scanners read.
type Limits struct {
	// MaxBytes caps the size of one file (0: DefaultMaxFileBytes).
	MaxBytes int64
	// Roots are the trees being scanned. A symbolic link is followed only
	// when its target lies inside one of them (none: links are not followed).
	Roots []string
}

func (l Limits) max() int64 {
	if l.MaxBytes <= 0 {
		return DefaultMaxFileBytes
	}
	return l.MaxBytes
}

// FileError says why a file was not read.
type FileError struct {
	Path string
	Msg  string
}

func (e *FileError) Error() string { return e.Path + ": " + e.Msg }

// ReadFile reads one IaC input safely: only a regular file is read (a FIFO,
// a device or a socket is refused without blocking on it), a symbolic link is
// followed only inside the scanned trees, and a file larger than the cap is
// refused (never read whole). Every refusal says why and what to do.
func ReadFile(path string, l Limits) ([]byte, error) {
	target, err := l.Resolve(path)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(target)
	if err != nil {
		return nil, &FileError{Path: path, Msg: "cannot read: " + errText(err)}
	}
	if err := l.checkInfo(path, fi); err != nil {
		return nil, err
	}
	// Open without following a link and without blocking, then check the
	// opened file again: it may have been swapped since the Stat above.
	fh, err := openNoBlock(target)
	if err != nil {
		return nil, &FileError{Path: path, Msg: "cannot read: " + errText(err)}
	}
	defer fh.Close()
	fi, err = fh.Stat()
	if err != nil {
		return nil, &FileError{Path: path, Msg: "cannot read: " + errText(err)}
	}
	if err := l.checkInfo(path, fi); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(fh, l.max()+1))
	if err != nil {
		return nil, &FileError{Path: path, Msg: "cannot read: " + errText(err)}
	}
	if int64(len(data)) > l.max() {
		return nil, &FileError{Path: path, Msg: tooBig(l.max())}
	}
	return data, nil
}

// CheckFile applies ReadFile's checks (regular file, link inside the scanned
// trees, size) without reading the file.
func (l Limits) CheckFile(path string) error {
	target, err := l.Resolve(path)
	if err != nil {
		return err
	}
	fi, err := os.Stat(target)
	if err != nil {
		return &FileError{Path: path, Msg: "cannot read: " + errText(err)}
	}
	return l.checkInfo(path, fi)
}

func (l Limits) checkInfo(path string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return &FileError{Path: path, Msg: fmt.Sprintf("not a regular file (%s); only regular files are read", kind(fi.Mode()))}
	}
	if fi.Size() > l.max() {
		return &FileError{Path: path, Msg: tooBig(l.max())}
	}
	return nil
}

func tooBig(max int64) string {
	return fmt.Sprintf("larger than the %s limit for one file; not read (raise it with --max-file-size if the file is genuine)", FormatSize(max))
}

// Resolve returns the path to read for path: path itself, or the target of a
// symbolic link when that target lies inside one of the scanned trees.
func (l Limits) Resolve(path string) (string, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return "", &FileError{Path: path, Msg: "cannot read: " + errText(err)}
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		// A directory on the way may still be a link (a module source
		// pointing at one): the real location must be inside too.
		real, err := filepath.EvalSymlinks(path)
		if err == nil {
			real, err = filepath.Abs(real)
		}
		abs, aerr := filepath.Abs(path)
		if err == nil && aerr == nil && real != abs && len(l.Roots) > 0 && !l.inside(real) {
			return "", &FileError{Path: path, Msg: fmt.Sprintf("is reached through a symbolic link to %s, outside the scanned tree; not followed", real)}
		}
		return path, nil
	}
	real, err := filepath.EvalSymlinks(path)
	if err == nil {
		real, err = filepath.Abs(real)
	}
	if err != nil {
		return "", &FileError{Path: path, Msg: "is a broken symbolic link: " + errText(err)}
	}
	if !l.inside(real) {
		return "", &FileError{Path: path, Msg: fmt.Sprintf("is a symbolic link to %s, outside the scanned tree; not followed (scan the target's directory instead)", real)}
	}
	return real, nil
}

// inside reports whether real (a resolved path) lies in a scanned tree.
func (l Limits) inside(real string) bool {
	for _, r := range l.Roots {
		root, err := filepath.EvalSymlinks(r)
		if err != nil {
			continue
		}
		root, _ = filepath.Abs(root)
		if fi, err := os.Stat(root); err == nil && !fi.IsDir() {
			root = filepath.Dir(root)
		}
		if Within(root, real) {
			return true
		}
	}
	return false
}

// Within reports whether p is root or below it (both absolute and clean).
func Within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "not a plain file"
}

func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// FormatSize prints a byte count the way ParseSize reads it.
func FormatSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// ParseSize reads a size: a number of bytes with an optional unit B, KB, MB
// or GB (binary multiples, case-insensitive). Zero and negative are refused.
func ParseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.m
			break
		}
	}
	var n int64
	if _, err := fmt.Sscanf(t, "%d", &n); err != nil || fmt.Sprint(n) != t {
		return 0, fmt.Errorf("%q is not a size: write a number of bytes with an optional unit, e.g. 10MB, 512KB", s)
	}
	if n <= 0 || n > (1<<40)/mult {
		return 0, fmt.Errorf("%q: the size must be greater than zero and at most 1024GB", s)
	}
	return n * mult, nil
}
