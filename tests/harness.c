// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define MAX_TESTS 512

static struct {
	const char *name;
	test_fn fn;
	unsigned int timeout_s;
} tests[MAX_TESTS];
static int nr_tests;
static const char *ptlab_path = "build/ptlab";

void test_register(const char *name, test_fn fn, unsigned int timeout_s)
{
	if (nr_tests == MAX_TESTS) {
		fprintf(stderr, "harness: more than %d tests\n", MAX_TESTS);
		abort();
	}
	tests[nr_tests].name = name;
	tests[nr_tests].fn = fn;
	tests[nr_tests].timeout_s = timeout_s;
	nr_tests++;
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "    %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(NULL);
	_exit(1);
}

const char *test_ptlab_path(void)
{
	return ptlab_path;
}

double test_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int test_run(const char *const argv[], char *out, size_t outlen)
{
	return test_run_timeout(argv, out, outlen, 0);
}

int test_run_timeout(const char *const argv[], char *out, size_t outlen, unsigned int seconds)
{
	int pipefd[2];
	pid_t pid;
	size_t used = 0;
	int status;

	if (pipe(pipefd))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		dup2(devnull, 0);
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		/* An alarm survives execv(). */
		alarm(seconds);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		char sink[512];
		char *dst = used + 1 < outlen ? out + used : sink;
		size_t room = used + 1 < outlen ? outlen - 1 - used : sizeof(sink);
		ssize_t n = read(pipefd[0], dst, room);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (dst != sink)
			used += (size_t)n;
	}
	close(pipefd[0]);
	if (outlen)
		out[used < outlen ? used : outlen - 1] = '\0';
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

#define READ_FILE_MAX (8u << 20)

char *test_read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = malloc(READ_FILE_MAX);
	size_t n;

	if (!f || !buf)
		test_fail(__FILE__, __LINE__, "cannot read %s", path);
	n = fread(buf, 1, READ_FILE_MAX - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

size_t test_count(const char *text, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

void test_mkdtemp(char *buf, size_t len, const char *tag)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(buf, len, "%s/ptlab-test-%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", tag);
	if (!mkdtemp(buf))
		test_fail(__FILE__, __LINE__, "mkdtemp %s", buf);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void test_rmtree(const char *dir)
{
	nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* In an ASan build, the expected reports of a test's walkers went to a
 * log of the test's process (src/sanitizer.h): it goes with the test. */
static void remove_asan_log(pid_t pid)
{
	const char *tmp = getenv("TMPDIR");
	char path[256];

	snprintf(path, sizeof(path), "%s/ptlab-asan.%d", tmp && *tmp ? tmp : "/tmp", (int)pid);
	unlink(path);
}

/* Runs one test in a child; returns true when it passed. */
static bool run_one(int t, double *secs)
{
	double start = test_now();
	pid_t pid;
	int status = 0;
	bool timed_out = false;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return false;
	}
	if (pid == 0) {
		tests[t].fn();
		fflush(NULL);
		_exit(0);
	}
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		if (test_now() - start > tests[t].timeout_s) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			timed_out = true;
			break;
		}
		usleep(2000);
	}
	*secs = test_now() - start;
	remove_asan_log(pid);
	if (timed_out) {
		fprintf(stderr, "    timed out after %u s\n", tests[t].timeout_s);
		return false;
	}
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "    killed by signal %d\n", WTERMSIG(status));
		return false;
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static bool selected(const char *name, int nfilters, char **filters)
{
	if (nfilters == 0)
		return true;
	for (int i = 0; i < nfilters; i++)
		if (strstr(name, filters[i]))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;
	int nfilters = 0;
	char **filters = calloc((size_t)argc, sizeof(*filters));

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--ptlab") == 0 && i + 1 < argc)
			ptlab_path = argv[++i];
		else if (strcmp(argv[i], "--list") == 0) {
			for (int t = 0; t < nr_tests; t++)
				printf("%s\n", tests[t].name);
			free(filters);
			return 0;
		} else
			filters[nfilters++] = argv[i];
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int t = 0; t < nr_tests; t++) {
		double secs = 0;

		if (!selected(tests[t].name, nfilters, filters))
			continue;
		if (run_one(t, &secs)) {
			printf("PASS %-48s %6.2fs\n", tests[t].name, secs);
			passed++;
		} else {
			printf("FAIL %-48s %6.2fs\n", tests[t].name, secs);
			failed++;
		}
	}
	free(filters);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
