/* tl/fsutil.h - files and directories written atomically.
 *
 * Outputs are never left half-written under their final name: write into a
 * temporary sibling (same directory, so rename(2) is atomic), fsync, then
 * rename into place.
 *
 * Ownership: only tl_fs_tmpdir_for allocates (a path the caller frees with
 * free()); the other functions keep no pointer to their arguments. A
 * temporary directory belongs to the caller until tl_fs_publish_dir
 * succeeds; after a failure the caller removes it (tl_fs_rmtree).
 */
#ifndef TL_FSUTIL_H
#define TL_FSUTIL_H

#include "tl/util.h"

#include <stddef.h>

/* Create a temporary directory next to final ("<final>.tmp-<pid>-XXXXXX",
 * the pid of this process), after removing the stale siblings a killed
 * run left (tl_fs_clean_stale). Returns a malloc'd path (caller frees) or
 * NULL with errno set. */
char *tl_fs_tmpdir_for(const char *final);

/* Remove the siblings "<final>.tmp-<pid>-XXXXXX" and "<final>.old-<pid>"
 * whose process is gone (kill(pid, 0) fails with ESRCH): what a run killed
 * during tl_fs_publish_dir or before it leaves behind. Those of running
 * processes (a concurrent writer) are kept, and so are names of any other
 * form (the "<final>.tmp-XXXXXX" of older versions, which carry no pid).
 * When final does not exist, a stale "<final>.old-<pid>" (a run killed
 * between the two renames of the fallback) is renamed back to final
 * instead: it is the last complete version. Returns the number removed or
 * restored. */
int tl_fs_clean_stale(const char *final);

/* Publish a finished temporary directory under final. When final exists:
 * without force, fails with errno EEXIST; with force, the two are
 * exchanged in one step (renameat2 RENAME_EXCHANGE), so final names the
 * old or the new directory at every moment, and the old one (now at
 * tmpdir's name) is removed. Where the filesystem refuses the exchange
 * (EINVAL, ENOSYS, ENOTSUP: some network and FUSE filesystems) it falls
 * back to two renames: the old directory is moved to "<final>.old-<pid>",
 * the new one renamed in, the old one removed; a kill between the two
 * renames leaves no final (the old one waits in .old-<pid>, and the next
 * tl_fs_clean_stale puts it back). An existing final that is neither a
 * directory nor a symbolic link (a file, a device such as /dev/full) is
 * never replaced: ENOTDIR. TL_FS_NO_EXCHANGE=1 in the
 * environment forces that fallback (tests). On failure the old final directory is left intact.
 * Returns 0 or -1 (errno). */
int tl_fs_publish_dir(const char *tmpdir, const char *final, int force);

/* Write len bytes to path atomically (tmp file + fsync + rename).
 * Returns 0 or -1 (errno); on failure nothing is left under path's name
 * that was not there before. An existing path that is not a regular file
 * is written in place, not replaced (/dev/stdout, /dev/full: ENOSPC, a
 * FIFO); a directory is EISDIR. */
int tl_fs_write_file(const char *path, const void *data, size_t len);

/* Remove a directory tree (best effort). Returns 0 or -1. */
int tl_fs_rmtree(const char *path);

/* 1 if path exists (any type). */
int tl_fs_exists(const char *path);

/* Write the whole buffer to fd, retrying on EINTR; 0 or -1 (errno). */
int tl_fs_write_all(int fd, const void *data, size_t len);

/* Fault injection for tests: when the environment variable
 * TL_FAULT_WRITE_AFTER=N is set, the (N+1)-th call of tl_fs_write_all
 * in this process fails with ENOSPC ("disk full"). The variable is read at
 * the first write; tl_fs_fault_reset() makes the next write read it again. */
void tl_fs_fault_reset(void);

/* Read the whole file at path (any size, pipes too), appending its bytes
 * to *out (the caller's buffer; the caller frees it with tl_buf_free, also
 * on failure). Returns 0; -1 when path cannot be opened, -2 on a read
 * error, errno set in both cases. */
int tl_fs_read_file(const char *path, tl_buf *out);

#endif
