//go:build unix

package iac

import (
	"os"
	"syscall"
)

// openNoBlock opens a file for reading without following a final symbolic
// link and without blocking on a FIFO (whose open would wait for a writer).
func openNoBlock(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
}
