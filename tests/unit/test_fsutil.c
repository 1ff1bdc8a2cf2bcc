/* Unit tests for atomic files/directories and write fault injection. */
#include "testhelp.h"
#include "tl/fsutil.h"
#include "tl/util.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
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
	CHECK(tl_fs_rmtree(base) == 0);
	CHECK(!tl_fs_exists(base));
	TEST_REPORT("test_fsutil");
}
