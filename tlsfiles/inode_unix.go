//go:build unix

package tlsfiles

import (
	"io/fs"
	"syscall"
)

// inode returns fi's inode number, so a file replaced by rename is seen as
// changed even if its size and modification time are unchanged.
func inode(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino) // Ino is uint32 on some platforms
	}
	return 0
}
