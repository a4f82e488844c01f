// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "util/time.h"

#define MAX_TESTS 512

static struct {
	const char *name;
	test_fn fn;
	unsigned int timeout_s;
	enum test_tier tier;
} tests[MAX_TESTS];
static int nr_tests;
static const char *ptlab_path = "build/ptlab";

static const char *const tier_names[] = { [TIER_QUICK] = "quick", [TIER_FULL] = "full" };

/* Sanitizer builds run several times slower, and a time limit is a hang
 * guard: theirs are this many times the ones the tests give. */
#ifdef PTLAB_DEBUG
#define TIME_LIMIT_SCALE 4
#else
#define TIME_LIMIT_SCALE 1
#endif

void test_register(const char *name, test_fn fn, unsigned int timeout_s, enum test_tier tier)
{
	if (nr_tests == MAX_TESTS) {
		fprintf(stderr, "harness: more than %d tests\n", MAX_TESTS);
		abort();
	}
	tests[nr_tests].name = name;
	tests[nr_tests].fn = fn;
	tests[nr_tests].timeout_s = timeout_s * TIME_LIMIT_SCALE;
	tests[nr_tests].tier = tier;
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
	return monotonic_s();
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

/* ---- the runner ---- */

/* What a test prints is kept whole up to this much; beyond it, its end
 * (where a failure says what failed). */
#define OUTPUT_MAX (256u << 10)

static struct {
	unsigned int tiers;	/* bit per enum test_tier */
	int jobs;
	bool tap, verbose, fail_fast;
} opt = { .tiers = 1u << TIER_QUICK | 1u << TIER_FULL };

/* The CPUs this process may run on. */
static int cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		return CPU_COUNT(&set);
	return (int)sysconf(_SC_NPROCESSORS_ONLN);
}

unsigned int test_cpus(void)
{
	int n = cpus() / (opt.jobs > 0 ? opt.jobs : 1);

	return n > 1 ? (unsigned int)n : 1;
}

/* A test running in a child. */
struct job {
	int t;			/* its index in tests[] */
	pid_t pid;		/* the child, leader of a process group of its own */
	int out;		/* its stdout and stderr: an unlinked temporary file */
	double start;
	/* Its time so far, counted against its limit: wall time, divided by
	 * how many times the machine's load exceeded its CPUs meanwhile. */
	double charged, last;
};

static pid_t harness_pid;

/* In a test's child: the harness died (of a ^C, which reaches its process
 * group only, or of a watchdog's SIGKILL), and so does the test's process
 * group, with whatever the test started. */
static void on_harness_death(int sig)
{
	(void)sig;
	kill(0, SIGKILL);
}

static int tap_number;

/* Starts test @t; false when it could not be started. */
static bool launch(struct job *j, int t)
{
	const char *tmp = getenv("TMPDIR");
	char path[256];

	snprintf(path, sizeof(path), "%s/ptlab-test-out.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	j->out = mkostemp(path, O_CLOEXEC);
	if (j->out < 0) {
		perror(path);
		return false;
	}
	unlink(path);
	fflush(NULL);
	j->pid = fork();
	if (j->pid < 0) {
		perror("fork");
		close(j->out);
		return false;
	}
	if (j->pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		/* Its own process group, so that a time limit kills what it
		 * started too; and it dies with the harness, however the
		 * harness dies. */
		setpgid(0, 0);
		signal(SIGTERM, on_harness_death);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != harness_pid)
			_exit(1);
		dup2(devnull, 0);
		dup2(j->out, 1);
		dup2(j->out, 2);
		tests[t].fn();
		fflush(NULL);
		_exit(0);
	}
	/* Also here, so that a kill of the group cannot come first. */
	setpgid(j->pid, j->pid);
	j->t = t;
	j->start = j->last = test_now();
	j->charged = 0;
	return true;
}

/* Prints what the test wrote, each line after @prefix. */
static void print_output(int fd, const char *prefix)
{
	struct stat st;
	off_t from = 0;
	char buf[8192];
	bool line_start = true, skip = false;
	ssize_t n;

	if (fstat(fd, &st) || st.st_size == 0)
		return;
	if (st.st_size > (off_t)OUTPUT_MAX) {
		from = st.st_size - (off_t)OUTPUT_MAX;
		printf("%s[the output's first %lld bytes left out]\n", prefix, (long long)from);
		skip = true;	/* to the end of a line */
	}
	while ((n = pread(fd, buf, sizeof(buf), from)) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (skip) {
				skip = buf[i] != '\n';
				continue;
			}
			/* An empty line gets no trailing blanks. */
			if (line_start)
				printf("%.*s", buf[i] == '\n' ? (int)strcspn(prefix, " ") : INT_MAX,
				       prefix);
			putchar(buf[i]);
			line_start = buf[i] == '\n';
		}
		from += n;
	}
	if (!line_start)
		putchar('\n');
}

static double ru_seconds(const struct rusage *ru)
{
	return (double)(ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) +
	       (double)(ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) * 1e-6;
}

/* Reports a test that ended with @status (or ran out of time) having used
 * @ru; returns whether it passed. The CPU time (the test's and that of the
 * programs it ran) says what a test costs on a shared machine, where its
 * wall time says how loaded the machine was too. */
static bool finish(struct job *j, int status, const struct rusage *ru, bool timed_out)
{
	double secs = test_now() - j->start, cpu = ru_seconds(ru);
	bool passed = !timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	char why[96] = "";

	/* Whatever it left running goes with it. */
	kill(-j->pid, SIGKILL);
	remove_asan_log(j->pid);
	if (timed_out)
		snprintf(why, sizeof(why), "timed out after %.0f s (its time limit: %u s%s)", secs,
			 tests[j->t].timeout_s, secs > tests[j->t].timeout_s + 1 ?
			 ", stretched while the machine was loaded" : "");
	else if (WIFSIGNALED(status))
		snprintf(why, sizeof(why), "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else if (!passed)
		snprintf(why, sizeof(why), "exit status %d", WEXITSTATUS(status));
	if (opt.tap)
		printf("%sok %d - %s (%.2f s, cpu %.2f s)%s%s\n", passed ? "" : "not ",
		       ++tap_number, tests[j->t].name, secs, cpu, passed ? "" : ": ", why);
	else
		printf("%s %-48s %6.2fs  cpu %6.2fs%s%s\n", passed ? "PASS" : "FAIL",
		       tests[j->t].name, secs, cpu, passed ? "" : "  ", why);
	if (!passed || opt.verbose)
		print_output(j->out, opt.tap ? "# " : "");
	close(j->out);
	return passed;
}

/*
 * Whether @j ran out of time. A time limit is a hang guard, not a pass
 * criterion: on a machine loaded beyond its CPUs (other work, or a
 * sanitizer build's tests beside each other) a test gets less than the
 * share of a CPU its limit assumed, and the limit stretches by as much.
 */
static bool over_time(struct job *j)
{
	double now = test_now(), load, stretch = 1;

	if (getloadavg(&load, 1) == 1 && load > cpus())
		stretch = load / cpus();
	j->charged += (now - j->last) / stretch;
	j->last = now;
	return j->charged > tests[j->t].timeout_s;
}

/* Kills a running test whose result will not be known. */
static void abandon(struct job *j)
{
	kill(-j->pid, SIGKILL);
	while (waitpid(j->pid, NULL, 0) < 0 && errno == EINTR)
		;
	remove_asan_log(j->pid);
	close(j->out);
}

static bool selected(int t, int nfilters, char **filters)
{
	if (!(opt.tiers & 1u << tests[t].tier))
		return false;
	if (nfilters == 0)
		return true;
	for (int i = 0; i < nfilters; i++)
		if (strstr(tests[t].name, filters[i]))
			return true;
	return false;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ptlab-tests [OPTION]... [NAME]...\n"
		"Runs the tests whose names contain one of the NAMEs (all without one), each\n"
		"in a child process with its time limit; prints one line per test, and what a\n"
		"failing test printed and why it failed; the last line is \"N passed, N failed\".\n"
		"  --ptlab PATH        the ptlab command under test (default build/ptlab)\n"
		"  --tier TIER         quick (make check), full (the long tier), or all (both,\n"
		"                      make check-full; the default)\n"
		"  -j, --jobs N        tests run at once (1..256; default: the CPUs, %d here)\n"
		"  --fail-fast         start no test after the first failure, stop the running\n"
		"                      ones, exit 1\n"
		"  --tap               print TAP (version 13) for CI logs\n"
		"  -v, --verbose       print the output of the tests that pass too\n"
		"  --list              list the tests selected, with their tier and time limit\n"
		"  -h, --help          this text\n",
		cpus());
}

/* Parses the options; returns the index of the first NAME, or -1 after a
 * usage error (exit 2) or --help (exit 0), with *exit_status set. */
static int parse_options(int argc, char **argv, bool *list, int *exit_status)
{
	enum { OPT_PTLAB = 256, OPT_TIER, OPT_FAIL_FAST, OPT_TAP, OPT_LIST };
	static const struct option longopts[] = {
		{ "ptlab", required_argument, NULL, OPT_PTLAB },
		{ "tier", required_argument, NULL, OPT_TIER },
		{ "jobs", required_argument, NULL, 'j' },
		{ "fail-fast", no_argument, NULL, OPT_FAIL_FAST },
		{ "tap", no_argument, NULL, OPT_TAP },
		{ "verbose", no_argument, NULL, 'v' },
		{ "list", no_argument, NULL, OPT_LIST },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opt.jobs = cpus();
	while ((c = getopt_long(argc, argv, "j:vh", longopts, NULL)) != -1) {
		char *end;
		long n;

		switch (c) {
		case OPT_PTLAB:
			ptlab_path = optarg;
			break;
		case OPT_TIER:
			if (!strcmp(optarg, "quick"))
				opt.tiers = 1u << TIER_QUICK;
			else if (!strcmp(optarg, "full"))
				opt.tiers = 1u << TIER_FULL;
			else if (!strcmp(optarg, "all"))
				opt.tiers = 1u << TIER_QUICK | 1u << TIER_FULL;
			else {
				fprintf(stderr, "ptlab-tests: unknown tier: %s (allowed: quick, full, "
						"all)\n", optarg);
				*exit_status = 2;
				return -1;
			}
			break;
		case 'j':
			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || n < 1 || n > 256) {
				fprintf(stderr, "ptlab-tests: bad --jobs: %s (allowed: 1..256)\n",
					optarg);
				*exit_status = 2;
				return -1;
			}
			opt.jobs = (int)n;
			break;
		case OPT_FAIL_FAST:
			opt.fail_fast = true;
			break;
		case OPT_TAP:
			opt.tap = true;
			break;
		case 'v':
			opt.verbose = true;
			break;
		case OPT_LIST:
			*list = true;
			break;
		case 'h':
			usage(stdout);
			*exit_status = 0;
			return -1;
		default:
			usage(stderr);
			*exit_status = 2;
			return -1;
		}
	}
	return optind;
}

/* Runs the selected tests, opt.jobs at once; returns the exit status. */
static int run(const int *sel, int nsel)
{
	struct job *jobs = calloc((size_t)opt.jobs, sizeof(*jobs));
	bool *done = calloc((size_t)nr_tests, sizeof(*done));
	int *failures = calloc((size_t)nsel, sizeof(*failures));
	int passed = 0, failed = 0, next = 0, running = 0, status;
	struct rusage ru;
	const char *stopped = NULL;	/* why no more tests start */
	double start = test_now(), cpu = 0, load[3] = { 0, 0, 0 };

	if (!jobs || !done || !failures)
		return 1;
	harness_pid = getpid();
	if (opt.tap)
		printf("TAP version 13\n1..%d\n", nsel);
	/* Results are printed as tests end, each line by this process alone:
	 * with -j, in the order they end. */
	while ((next < nsel && !stopped) || running) {
		pid_t pid;

		for (int i = 0; i < opt.jobs && next < nsel && !stopped; i++) {
			if (jobs[i].pid)
				continue;
			if (!launch(&jobs[i], sel[next])) {
				jobs[i].pid = 0;
				stopped = "a test could not be started";
				break;
			}
			next++;
			running++;
		}
		while ((pid = wait4(-1, &status, WNOHANG, &ru)) > 0) {
			for (int i = 0; i < opt.jobs; i++) {
				if (jobs[i].pid != pid)
					continue;
				cpu += ru_seconds(&ru);
				if (finish(&jobs[i], status, &ru, false)) {
					passed++;
				} else {
					failures[failed++] = jobs[i].t;
					if (opt.fail_fast)
						stopped = "--fail-fast stopped after the first failure";
				}
				done[jobs[i].t] = true;
				jobs[i].pid = 0;
				running--;
			}
		}
		for (int i = 0; i < opt.jobs; i++) {
			if (!jobs[i].pid)
				continue;
			if (stopped && opt.fail_fast) {
				/* The running tests' verdicts no longer matter. */
				abandon(&jobs[i]);
			} else if (over_time(&jobs[i])) {
				kill(-jobs[i].pid, SIGKILL);
				while (wait4(jobs[i].pid, &status, 0, &ru) < 0 && errno == EINTR)
					;
				cpu += ru_seconds(&ru);
				finish(&jobs[i], status, &ru, true);
				failures[failed++] = jobs[i].t;
				if (opt.fail_fast)
					stopped = "--fail-fast stopped after the first failure";
				done[jobs[i].t] = true;
			} else {
				continue;
			}
			jobs[i].pid = 0;
			running--;
		}
		if (running)
			usleep(10000);
	}
	if (stopped) {
		for (int i = 0; opt.tap && i < nsel; i++)
			if (!done[sel[i]])
				printf("ok %d - %s # SKIP not run: %s\n", ++tap_number,
				       tests[sel[i]].name, stopped);
		printf("%s%d tests not run: %s\n", opt.tap ? "# " : "", nsel - passed - failed,
		       stopped);
	}
	if (failed) {
		printf("%sfailed:", opt.tap ? "# " : "");
		for (int i = 0; i < failed; i++)
			printf(" %s", tests[failures[i]].name);
		printf("\n");
	}
	/* The machine may be shared: what the tests cost, and how loaded
	 * it was. */
	getloadavg(load, 3);
	printf("%s%.1f s, cpu %.1f s, %d at once, load average %.2f %.2f %.2f\n",
	       opt.tap ? "# " : "", test_now() - start, cpu, opt.jobs, load[0], load[1], load[2]);
	printf("%s%d passed, %d failed\n", opt.tap ? "# " : "", passed, failed);
	free(jobs);
	free(done);
	free(failures);
	return failed || passed < nsel ? 1 : 0;
}

static int longest_first(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	if (tests[x].timeout_s != tests[y].timeout_s)
		return tests[x].timeout_s < tests[y].timeout_s ? 1 : -1;
	return x - y;
}

int main(int argc, char **argv)
{
	int sel[MAX_TESTS], nsel = 0, first, status = 0;
	bool list = false;

	first = parse_options(argc, argv, &list, &status);
	if (first < 0)
		return status;
	for (int t = 0; t < nr_tests; t++)
		if (selected(t, argc - first, argv + first))
			sel[nsel++] = t;
	if (list) {
		/* In the order they are defined. */
		for (int i = 0; i < nsel; i++)
			printf("%-5s %5u s  %s\n", tier_names[tests[sel[i]].tier],
			       tests[sel[i]].timeout_s, tests[sel[i]].name);
		return 0;
	}
	if (nsel == 0) {
		fprintf(stderr, "ptlab-tests: no test selected\n");
		return 2;
	}
	/* The tests with the longest time limits (the longest tests) start
	 * first, so that none of them starts last and runs alone: with -j
	 * the run ends sooner. The others keep the order they are defined
	 * in (a stable sort). */
	qsort(sel, (size_t)nsel, sizeof(sel[0]), longest_first);
	setvbuf(stdout, NULL, _IOLBF, 0);
	return run(sel, nsel);
}
