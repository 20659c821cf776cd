//go:build !unix

package tlsfiles

import "io/fs"

// inode is 0 where inode numbers are not available; changes are then
// detected by modification time and size only.
func inode(fs.FileInfo) uint64 { return 0 }
