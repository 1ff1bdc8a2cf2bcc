/* test_blas_core.c - OpenBLAS's kernels as the CPU backend sets them
 * (kernels/cpu/memory.c tl_cpu_blas_init): on an AVX-512 CPU where
 * OpenBLAS runs its AVX2 ("Haswell") kernels, tl_cpu_set_threads moves it to
 * its SkylakeX (AVX-512) ones; TL_BLAS_CORE=openblas and an AVX-512 choice
 * of OpenBLAS's own are left alone; $OPENBLAS_CORETYPE keeps its value for
 * the programs started afterwards; and the products are right on every
 * core (against a double reference, relative bound 1e-5).
 *
 * OpenBLAS reads $OPENBLAS_CORETYPE when it is loaded, so each case runs
 * this program again ("child" mode) with the environment of the case, and
 * reads back the line it prints: the core before and after
 * tl_cpu_set_threads, the value of $OPENBLAS_CORETYPE after, and the
 * products' worst relative error. A last case checks that
 * tl_cpu_set_threads shuts down the worker threads OpenBLAS starts when it
 * is loaded. */
#include "kernels/cpu/cpu.h"
#include "testhelp.h"

#include <cblas.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern void gotoblas_dynamic_init(void) __attribute__((weak));
extern int blas_thread_shutdown_(void) __attribute__((weak));

/* worst relative error (max |diff| / max |ref|) of C = op(A) op(B) over
 * three layouts the kernels use (NT: forward, NN: dX, TN: dW) */
static double products(void)
{
	const int M = 77, N = 131, K = 389;
	float *a = malloc(sizeof(float) * M * K), *b = malloc(sizeof(float) * K * N),
	      *c = malloc(sizeof(float) * M * N);
	double worst = 0;
	unsigned s = 12345;
	for (int i = 0; i < M * K; i++)
		a[i] = (float)((s = s * 1103515245u + 12345u) >> 8) / (float)(1u << 24) - 0.5f;
	for (int i = 0; i < K * N; i++)
		b[i] = (float)((s = s * 1103515245u + 12345u) >> 8) / (float)(1u << 24) - 0.5f;
	for (int layout = 0; layout < 3; layout++) {
		/* the same logical A [M,K] and B [K,N], read through each layout */
		float *at = malloc(sizeof(float) * M * K), *bt = malloc(sizeof(float) * K * N);
		for (int m = 0; m < M; m++)
			for (int k = 0; k < K; k++)
				at[(size_t)k * M + m] = a[(size_t)m * K + k];
		for (int k = 0; k < K; k++)
			for (int n = 0; n < N; n++)
				bt[(size_t)n * K + k] = b[(size_t)k * N + n];
		if (layout == 0)
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, a, K, bt, K, 0.0f, c, N);
		else if (layout == 1)
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a, K, b, N, 0.0f, c, N);
		else
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, N, K, 1.0f, at, M, b, N, 0.0f, c, N);
		double md = 0, mr = 0;
		for (int m = 0; m < M; m++)
			for (int n = 0; n < N; n++) {
				double r = 0;
				for (int k = 0; k < K; k++)
					r += (double)a[(size_t)m * K + k] * b[(size_t)k * N + n];
				md = fmax(md, fabs(r - c[(size_t)m * N + n]));
				mr = fmax(mr, fabs(r));
			}
		worst = fmax(worst, md / mr);
		free(at), free(bt);
	}
	free(a), free(b), free(c);
	return worst;
}

/* the threads of this process (/proc/self/task), -1 when unreadable */
static int threads_now(void)
{
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static int child(void)
{
	if (getenv("TEST_THREADS")) {
		/* OpenBLAS's workers, started at load, are gone after
		 * tl_cpu_set_threads (memory.c), and the products still run */
		int before = threads_now();
		tl_cpu_set_threads(2);
		int after = threads_now();
		printf("%d %d %.3g\n", before, after, products());
		return 0;
	}
	char before[64];
	snprintf(before, sizeof before, "%s", openblas_get_corename());
	tl_cpu_set_threads(1);
	const char *env = getenv("OPENBLAS_CORETYPE");
	printf("%s %s %s %.3g\n", before, openblas_get_corename(), env ? env : "-", products());
	return 0;
}

/* run this program in child mode with OPENBLAS_CORETYPE and TL_BLAS_CORE
 * set to the given values (NULL: unset); its line into out */
static int run(const char *self, const char *coretype, const char *keep, char *out, size_t outsz)
{
	int fd[2];
	if (pipe(fd) != 0)
		return -1;
	pid_t p = fork();
	if (p < 0)
		return -1;
	if (p == 0) {
		close(fd[0]);
		dup2(fd[1], 1);
		if (coretype)
			setenv("OPENBLAS_CORETYPE", coretype, 1);
		else
			unsetenv("OPENBLAS_CORETYPE");
		if (keep)
			setenv("TL_BLAS_CORE", keep, 1);
		else
			unsetenv("TL_BLAS_CORE");
		execl(self, self, "child", (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	size_t n = 0;
	ssize_t r;
	while (n + 1 < outsz && (r = read(fd[0], out + n, outsz - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = 0;
	close(fd[0]);
	int st;
	waitpid(p, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void expect(const char *self, const char *coretype, const char *keep, const char *want_before,
		   const char *want_after)
{
	char line[256], b[64], a[64], e[64];
	double err = 1;
	CHECK(run(self, coretype, keep, line, sizeof line) == 0);
	int n = sscanf(line, "%63s %63s %63s %lf", b, a, e, &err);
	CHECK_EQ_INT(n, 4);
	if (n != 4)
		return;
	printf("OPENBLAS_CORETYPE=%s TL_BLAS_CORE=%s: %s -> %s (env after: %s), worst relative error %.3g\n",
	       coretype ? coretype : "(unset)", keep ? keep : "(unset)", b, a, e, err);
	if (want_before)
		CHECK(strcasecmp(b, want_before) == 0);
	if (want_after)
		CHECK(strcasecmp(a, want_after) == 0);
	CHECK_STR(e, coretype ? coretype : "-");
	CHECK(err < 1e-5);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "child"))
		return child();
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	CHECK(n > 0);
	if (n <= 0)
		TEST_REPORT("test_blas_core");
	self[n] = 0;
	if (!gotoblas_dynamic_init) {
		TEST_SKIP("OpenBLAS built for one core (no DYNAMIC_ARCH): its kernels cannot be changed");
		expect(self, NULL, NULL, NULL, NULL);
		TEST_REPORT("test_blas_core");
	}
	int avx512 = tl_isa_detected() >= TL_ISA_AVX512;
	/* AVX2 kernels asked for: moved to AVX-512 where the CPU has it */
	expect(self, "Haswell", NULL, "Haswell", avx512 ? "SkylakeX" : "Haswell");
	expect(self, "Zen", NULL, "Zen", avx512 ? "SkylakeX" : "Zen");
	/* the user's way out: OpenBLAS's own choice */
	expect(self, "Haswell", "openblas", "Haswell", "Haswell");
	/* OpenBLAS's own detection: whatever it is, an AVX-512 CPU ends on
	 * AVX-512 kernels (SkylakeX, Cooperlake, SapphireRapids), never on
	 * Haswell or Zen */
	char line[256], b[64], a[64], e[64];
	double err = 1;
	CHECK(run(self, NULL, NULL, line, sizeof line) == 0);
	if (sscanf(line, "%63s %63s %63s %lf", b, a, e, &err) == 4) {
		printf("OPENBLAS_CORETYPE unset: %s -> %s, worst relative error %.3g\n", b, a, err);
		if (avx512)
			CHECK(strcasecmp(a, "haswell") && strcasecmp(a, "zen"));
		CHECK(err < 1e-5);
	} else
		CHECK(0);
	/* OpenBLAS's worker threads (started at load for OPENBLAS_NUM_THREADS=2)
	 * are shut down: only the main thread is left */
	if (blas_thread_shutdown_) {
		setenv("TEST_THREADS", "1", 1);
		setenv("OPENBLAS_NUM_THREADS", "2", 1);
		int tb = -1, ta = -1;
		CHECK(run(self, NULL, NULL, line, sizeof line) == 0);
		unsetenv("TEST_THREADS");
		unsetenv("OPENBLAS_NUM_THREADS");
		CHECK(sscanf(line, "%d %d %lf", &tb, &ta, &err) == 3);
		printf("threads at load with OPENBLAS_NUM_THREADS=2: %d, after tl_cpu_set_threads: %d; worst relative error %.3g\n",
		       tb, ta, err);
		if (tb < 2)
			TEST_SKIP("OpenBLAS started no worker threads at load (not its pthreads build): none to shut down");
		else
			CHECK_EQ_INT(ta, 1);
		CHECK(err < 1e-5);
	} else
		TEST_SKIP("OpenBLAS without blas_thread_shutdown_ (not the pthreads build): its workers are kept");
	if (avx512) {
		/* an AVX-512 core asked for is kept */
		expect(self, "SkylakeX", NULL, "SkylakeX", "SkylakeX");
	} else
		TEST_SKIP("no AVX-512 on this CPU: the move to OpenBLAS's AVX-512 kernels not exercised");
	TEST_REPORT("test_blas_core");
}
