package sinks

import (
	"log/slog"
	"os"
	"syscall"
)

// WarnExposedFolder logs a warning when others can put files in dir, a
// file sink's folder: a folder every user may write to (even with the
// sticky bit, which keeps them from removing files but not from creating
// one where connect-sync is about to), or one that belongs to another
// user. Such a user can plant a link or a pipe under a name the sink
// manages, which the sink then refuses, or change the contacts it holds.
// A folder that cannot be read is left to the sink's own error.
func WarnExposedFolder(logger *slog.Logger, dir string) {
	if logger == nil {
		return
	}
	info, err := os.Stat(dir) // a link to a folder is a fine setup: its target counts
	if err != nil {
		return
	}
	if info.Mode().Perm()&0o002 != 0 {
		logger.Warn("every user may write to the sink's folder, and so change or block what connect-sync writes there: "+
			"give it to the user connect-sync runs as, with chmod o-w", "folder", dir, "mode", info.Mode().Perm())
		return
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		logger.Warn("the sink's folder belongs to another user, who can change or block what connect-sync writes there: "+
			"give it to the user connect-sync runs as", "folder", dir, "owner_uid", st.Uid)
	}
}
