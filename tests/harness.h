/* SPDX-License-Identifier: MIT */
/*
 * The test harness: each TEST runs in a child process of its own (and a
 * process group of its own), with a time limit, so that a crash, a hang or
 * a leaked thread fails that test only. A test passes when its body
 * returns; CHECK() failures print where and what, and end the child with
 * a failure. Tests run N at once (ptlab-tests -j N); each one's output is
 * kept and printed when it fails. ptlab-tests --help lists the options.
 */
#ifndef PTLAB_TESTS_HARNESS_H
#define PTLAB_TESTS_HARNESS_H

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef void (*test_fn)(void);

/*
 * A test's tier, said where it is defined. The quick tier (make check)
 * touches every module in a few minutes: unit tests, the command's usage
 * and bad input, the fuzzers' regression inputs and short fixed runs, and
 * a fixed sample of matrix and model cells of every scenario. The full
 * tier (make check-full runs both) has what takes longer: every cell of
 * both oracles, the 3-walker model, the fuzzers' full runs, soaks, the
 * report in a browser.
 */
enum test_tier { TIER_QUICK, TIER_FULL };

void test_register(const char *name, test_fn fn, unsigned int timeout_s, enum test_tier tier);

/* TEST(name) { ... } with the default time limit; TEST_T(name, seconds)
 * for longer ones; TEST_FULL(name, seconds) for one of the full tier.
 * Time limits are a hang guard, never a pass criterion: a test with
 * less CPU than it would like (ptlab-tests -j) must still pass. */
#define TEST_TIER(name, secs, tier)                                          \
	static void test_##name(void);                                       \
	__attribute__((constructor)) static void test_register_##name(void)  \
	{                                                                    \
		test_register(#name, test_##name, (secs), (tier));           \
	}                                                                    \
	static void test_##name(void)
#define TEST_T(name, secs) TEST_TIER(name, secs, TIER_QUICK)
#define TEST(name) TEST_T(name, 60)
#define TEST_FULL(name, secs) TEST_TIER(name, secs, TIER_FULL)

__attribute__((noreturn, format(printf, 3, 4)))
void test_fail(const char *file, int line, const char *fmt, ...);

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond))                                                 \
			test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);   \
	} while (0)

#define CHECK_MSG(cond, ...)                                                 \
	do {                                                                 \
		if (!(cond))                                                 \
			test_fail(__FILE__, __LINE__, __VA_ARGS__);          \
	} while (0)

#define CHECK_EQ(a, b)                                                       \
	do {                                                                 \
		long long _a = (long long)(a), _b = (long long)(b);          \
		if (_a != _b)                                                \
			test_fail(__FILE__, __LINE__,                        \
				  "CHECK_EQ(%s, %s): %lld != %lld", #a, #b,  \
				  _a, _b);                                   \
	} while (0)

/* Path of the ptlab command under test (from the harness's --ptlab). */
const char *test_ptlab_path(void);

/*
 * Runs argv (argv[0] a path) with stdin closed and stdout+stderr captured
 * into @out (always NUL-terminated, truncated to @outlen - 1). Returns the
 * exit status, or 128 + signal number.
 */
int test_run(const char *const argv[], char *out, size_t outlen);
/* The same, killing the program (SIGALRM, 128 + 14) after @seconds (0:
 * never): a hang guard, never a pass criterion. */
int test_run_timeout(const char *const argv[], char *out, size_t outlen, unsigned int seconds);

/* The CPUs a test may keep busy by itself: the machine's, shared among
 * the tests running at once (at least one). A test that runs work in
 * parallel (the model's verifiers) takes no more, so that a race test
 * beside it is not starved. */
unsigned int test_cpus(void);

/* Seconds since an arbitrary start, monotonic. */
double test_now(void);

/* The whole file, NUL-terminated (caller frees); fails the test when it
 * cannot be read. */
char *test_read_file(const char *path);
/* Occurrences of @needle in @text. */
size_t test_count(const char *text, const char *needle);
/* A new private directory under $TMPDIR (or /tmp), and its removal. */
void test_mkdtemp(char *buf, size_t len, const char *tag);
void test_rmtree(const char *dir);

#endif /* PTLAB_TESTS_HARNESS_H */
