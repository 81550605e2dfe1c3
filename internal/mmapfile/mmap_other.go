//go:build !unix

package mmapfile

import (
	"errors"
	"os"
)

func mapFile(*os.File, int64) ([]byte, error) { return nil, errors.New("mmapfile: not supported here") }

func unmap([]byte) error { return nil }
