/* Unit tests for atomic files/directories and write fault injection. */
#include "testhelp.h"
#include "tl/fsutil.h"
#include "tl/util.h"

#include <errno.h>
#include <stdlib.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int read_small(const char *path, char *out, size_t n)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t k = fread(out, 1, n - 1, f);
	out[k] = 0;
	fclose(f);
	return (int)k;
}

/* Entries of dir other than . and .. */
static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

/* Replace final (which exists) by a directory holding only b.txt = text. */
static int replace_with(const char *final, const char *text)
{
	char *tmp = tl_fs_tmpdir_for(final), file[300];
	if (!tmp)
		return -1;
	snprintf(file, sizeof file, "%s/b.txt", tmp);
	int rc = tl_fs_write_file(file, text, strlen(text));
	if (rc == 0)
		rc = tl_fs_publish_dir(tmp, final, 1);
	free(tmp);
	return rc;
}

/* A pid that no process has now: a child that has exited and been reaped. */
static long dead_pid(void)
{
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	waitpid(p, NULL, 0);
	return (long)p;
}

static void test_exchange_and_stale(const char *base)
{
	char final[256], file[400], buf[64];
	snprintf(final, sizeof final, "%s/ex", base);
	CHECK(mkdir(final, 0755) == 0);
	snprintf(file, sizeof file, "%s/old.txt", final);
	CHECK(tl_fs_write_file(file, "old", 3) == 0);
	int before = count_entries(base);

	/* exchange: the new contents in place, the old ones gone, no sibling left */
	CHECK(replace_with(final, "new") == 0);
	CHECK(!tl_fs_exists(file));
	snprintf(file, sizeof file, "%s/b.txt", final);
	CHECK(read_small(file, buf, sizeof buf) == 3 && strcmp(buf, "new") == 0);
	CHECK(count_entries(final) == 1);
	CHECK(count_entries(base) == before);

	/* the fallback of two renames gives the same result */
	setenv("TL_FS_NO_EXCHANGE", "1", 1);
	CHECK(replace_with(final, "fallback") == 0);
	unsetenv("TL_FS_NO_EXCHANGE");
	CHECK(read_small(file, buf, sizeof buf) == 8 && strcmp(buf, "fallback") == 0);
	CHECK(count_entries(base) == before);

	/* stale siblings of a killed run are removed by the next run; a live
	 * process's temporary directory and other names are kept */
	long dead = dead_pid();
	char stale_tmp[300], stale_old[300], live_tmp[300], other[300];
	snprintf(stale_tmp, sizeof stale_tmp, "%s.tmp-%ld-abcdef", final, dead);
	snprintf(stale_old, sizeof stale_old, "%s.old-%ld", final, dead);
	snprintf(live_tmp, sizeof live_tmp, "%s.tmp-%ld-ghijkl", final, (long)getppid());
	snprintf(other, sizeof other, "%s.tmp-notapid", final);
	CHECK(mkdir(stale_tmp, 0755) == 0 && mkdir(stale_old, 0755) == 0);
	CHECK(mkdir(live_tmp, 0755) == 0 && mkdir(other, 0755) == 0);
	snprintf(file, sizeof file, "%s/half.safetensors", stale_tmp);
	CHECK(tl_fs_write_file(file, "x", 1) == 0);
	CHECK(replace_with(final, "third") == 0);
	CHECK(!tl_fs_exists(stale_tmp) && !tl_fs_exists(stale_old));
	CHECK(tl_fs_exists(live_tmp) && tl_fs_exists(other));
	CHECK(tl_fs_clean_stale(final) == 0);
	CHECK(tl_fs_rmtree(live_tmp) == 0 && tl_fs_rmtree(other) == 0);
	CHECK(count_entries(base) == before);

	/* killed between the fallback's two renames: no final, the old one
	 * aside; it is put back, not removed */
	char aside[300];
	snprintf(aside, sizeof aside, "%s.old-%ld", final, dead_pid());
	CHECK(rename(final, aside) == 0);
	CHECK(tl_fs_clean_stale(final) == 1);
	CHECK(!tl_fs_exists(aside));
	snprintf(file, sizeof file, "%s/b.txt", final);
	CHECK(read_small(file, buf, sizeof buf) == 5 && strcmp(buf, "third") == 0);
	CHECK(count_entries(base) == before);
}

int main(void)
{
	char base[] = "/tmp/tl-test-fs-XXXXXX";
	CHECK(mkdtemp(base) != NULL);
	char final[256], file[300], buf[64];
	snprintf(final, sizeof final, "%s/model", base);

	/* first publish */
	char *tmp = tl_fs_tmpdir_for(final);
	CHECK(tmp != NULL);
	snprintf(file, sizeof file, "%s/a.txt", tmp);
	CHECK(tl_fs_write_file(file, "one", 3) == 0);
	CHECK(tl_fs_publish_dir(tmp, final, 0) == 0);
	free(tmp);
	snprintf(file, sizeof file, "%s/a.txt", final);
	CHECK(read_small(file, buf, sizeof buf) == 3 && strcmp(buf, "one") == 0);
	struct stat st;
	CHECK(stat(file, &st) == 0 && (st.st_mode & 0044) != 0); /* not left 0600 */

	/* second publish refused without force, old stays */
	tmp = tl_fs_tmpdir_for(final);
	snprintf(file, sizeof file, "%s/a.txt", tmp);
	CHECK(tl_fs_write_file(file, "two", 3) == 0);
	errno = 0;
	CHECK(tl_fs_publish_dir(tmp, final, 0) == -1 && errno == EEXIST);
	CHECK(tl_fs_publish_dir(tmp, final, 1) == 0);
	free(tmp);
	snprintf(file, sizeof file, "%s/a.txt", final);
	CHECK(read_small(file, buf, sizeof buf) == 3 && strcmp(buf, "two") == 0);

	/* injected disk-full: the old file stays intact, no temp left behind */
	setenv("TL_FAULT_WRITE_AFTER", "0", 1);
	tl_fs_fault_reset();
	errno = 0;
	CHECK(tl_fs_write_file(file, "three", 5) == -1 && errno == ENOSPC);
	CHECK(read_small(file, buf, sizeof buf) == 3 && strcmp(buf, "two") == 0);
	unsetenv("TL_FAULT_WRITE_AFTER");
	tl_fs_fault_reset();
	test_exchange_and_stale(base);
	CHECK(tl_fs_rmtree(base) == 0);
	CHECK(!tl_fs_exists(base));
	TEST_REPORT("test_fsutil");
}
