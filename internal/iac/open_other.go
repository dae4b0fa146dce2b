//go:build !unix

package iac

import "os"

// openNoBlock opens a file for reading (the caller has checked it is regular).
func openNoBlock(path string) (*os.File, error) { return os.Open(path) }
