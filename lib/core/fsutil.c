/* fsutil.c - atomic files and directories, with write fault injection. */
#include "tl/fsutil.h"
#include "tl/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* 1 if the process pid may be running (it exists, perhaps another user's). */
static int pid_alive(long pid)
{
	if (pid <= 0 || pid == (long)getpid())
		return 1;
	return kill((pid_t)pid, 0) == 0 || errno != ESRCH;
}

/* The pid in a sibling's name after "<base>.tmp-" ("<pid>-XXXXXX") or
 * "<base>.old-" ("<pid>"), or -1 when the rest is not of that form. */
static long sibling_pid(const char *rest, int tmp)
{
	char *end;
	if (*rest < '1' || *rest > '9')
		return -1;
	errno = 0;
	long pid = strtol(rest, &end, 10);
	if (errno || pid <= 0)
		return -1;
	if (tmp ? *end != '-' || strlen(end) != 7 : *end != 0)
		return -1;
	return pid;
}

int tl_fs_clean_stale(const char *final)
{
	size_t n = strlen(final);
	while (n > 1 && final[n - 1] == '/')
		n--;
	char *dir = tl_xmalloc(n + 1);
	memcpy(dir, final, n);
	dir[n] = 0;
	char *slash = strrchr(dir, '/');
	const char *base = slash ? slash + 1 : dir, *parent = ".";
	if (slash) {
		*slash = 0;
		parent = *dir ? dir : "/";
	}
	size_t bn = strlen(base);
	int removed = 0;
	DIR *d = opendir(parent);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			const char *nm = e->d_name;
			if (strncmp(nm, base, bn) != 0)
				continue;
			int tmp = strncmp(nm + bn, ".tmp-", 5) == 0;
			if (!tmp && strncmp(nm + bn, ".old-", 5) != 0)
				continue;
			long pid = sibling_pid(nm + bn + 5, tmp);
			if (pid < 0 || pid_alive(pid))
				continue;
			tl_buf p = {0};
			tl_buf_printf(&p, "%s/%s", parent, nm);
			/* killed between the two renames of the fallback: the old
			 * directory is the last complete one, put it back */
			if (!tmp && !tl_fs_exists(final) && rename(tl_buf_cstr(&p), final) == 0)
				removed++;
			else if (tl_fs_rmtree(tl_buf_cstr(&p)) == 0)
				removed++;
			tl_buf_free(&p);
		}
		closedir(d);
	}
	free(dir);
	return removed;
}

char *tl_fs_tmpdir_for(const char *final)
{
	tl_fs_clean_stale(final);
	size_t n = strlen(final);
	while (n > 1 && final[n - 1] == '/')
		n--;
	char *p = tl_xmalloc(n + 40);
	memcpy(p, final, n);
	snprintf(p + n, 40, ".tmp-%ld-XXXXXX", (long)getpid());
	if (!mkdtemp(p)) {
		int e = errno;
		free(p);
		errno = e;
		return NULL;
	}
	return p;
}

int tl_fs_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

int tl_fs_rmtree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	struct dirent *e;
	int rc = 0;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		size_t n = strlen(path) + strlen(e->d_name) + 2;
		char *sub = tl_xmalloc(n);
		snprintf(sub, n, "%s/%s", path, e->d_name);
		if (tl_fs_rmtree(sub) != 0)
			rc = -1;
		free(sub);
	}
	closedir(d);
	if (rmdir(path) != 0)
		rc = -1;
	return rc;
}

static void fsync_dir_of(const char *path)
{
	char *p = tl_xstrdup(path);
	char *slash = strrchr(p, '/');
	const char *dir = ".";
	if (slash) {
		*slash = 0;
		dir = *p ? p : "/";
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(p);
}

/* TL_FS_NO_EXCHANGE=1 (tests): behave as on a filesystem without
 * RENAME_EXCHANGE. */
static int exchange(const char *a, const char *b)
{
	const char *off = getenv("TL_FS_NO_EXCHANGE");
	if (off && *off && strcmp(off, "0")) {
		errno = EINVAL;
		return -1;
	}
	return renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
}

int tl_fs_publish_dir(const char *tmpdir, const char *final, int force)
{
	char *aside = NULL;
	struct stat st;
	if (lstat(final, &st) == 0) {
		if (!force) {
			errno = EEXIST;
			return -1;
		}
		/* only a directory (or a symbolic link, itself replaced) is:
		 * never a file or a device such as /dev/full (the exchange
		 * would swap it in and the cleanup below remove it) */
		if (!S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode)) {
			errno = ENOTDIR;
			return -1;
		}
		/* one atomic step: the new directory takes final's name and the
		 * old one tmpdir's, so final names one of the two at every moment */
		if (exchange(tmpdir, final) == 0) {
			fsync_dir_of(final);
			tl_fs_rmtree(tmpdir); /* the old one; a leftover is cleaned next run */
			return 0;
		}
		if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
			return -1;
		/* the filesystem cannot exchange: move the old one aside first */
		size_t n = strlen(final) + 32;
		aside = tl_xmalloc(n);
		snprintf(aside, n, "%s.old-%ld", final, (long)getpid());
		if (rename(final, aside) != 0) {
			int e = errno;
			free(aside);
			errno = e;
			return -1;
		}
	}
	if (rename(tmpdir, final) != 0) {
		int e = errno;
		if (aside) {
			rename(aside, final); /* put the old one back */
			free(aside);
		}
		errno = e;
		return -1;
	}
	fsync_dir_of(final);
	if (aside) {
		tl_fs_rmtree(aside);
		free(aside);
	}
	return 0;
}

/* mkstemp makes 0600 files; give the final file the usual 0666 & ~umask. */
static int fchmod_default(const char *path)
{
	mode_t m = umask(022);
	umask(m);
	return chmod(path, 0666 & ~m);
}

static long fault_budget = -2; /* -2: not read yet, -1: off */

void tl_fs_fault_reset(void)
{
	fault_budget = -2;
}

int tl_fs_write_all(int fd, const void *data, size_t len)
{
	if (fault_budget == -2) {
		const char *s = getenv("TL_FAULT_WRITE_AFTER");
		fault_budget = s && *s ? atol(s) : -1;
	}
	if (fault_budget >= 0) {
		if (fault_budget == 0) {
			errno = ENOSPC;
			return -1;
		}
		fault_budget--;
	}
	const char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Write to an existing path that is not a regular file (a device such as
 * /dev/stdout or /dev/full, a FIFO) in place: renaming over it would
 * replace the device. */
static int write_special(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (tl_fs_write_all(fd, data, len) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return close(fd);
}

int tl_fs_write_file(const char *path, const void *data, size_t len)
{
	struct stat st;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		if (S_ISDIR(st.st_mode)) {
			errno = EISDIR;
			return -1;
		}
		return write_special(path, data, len);
	}
	size_t n = strlen(path) + 16;
	char *tmp = tl_xmalloc(n);
	snprintf(tmp, n, "%s.tmp-XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		int e = errno;
		free(tmp);
		errno = e;
		return -1;
	}
	if (tl_fs_write_all(fd, data, len) != 0 || fsync(fd) != 0) {
		int e = errno;
		close(fd);
		unlink(tmp);
		free(tmp);
		errno = e;
		return -1;
	}
	if (close(fd) != 0 || fchmod_default(tmp) != 0 || rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		free(tmp);
		errno = e;
		return -1;
	}
	free(tmp);
	return 0;
}

int tl_fs_read_file(const char *path, tl_buf *out)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	char chunk[65536];
	size_t k;
	while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
		tl_buf_add(out, chunk, k);
	int bad = ferror(f), e = errno;
	fclose(f);
	if (bad) {
		errno = e;
		return -2;
	}
	return 0;
}
