// SPDX-License-Identifier: MIT
/*
 * The API fuzzer in every build: seeded random inputs on each profile the
 * rule calls safe with both fixes (any failure there is a bug, not a
 * race the profile allows), and every input libFuzzer found a crash with
 * (tests/fuzz-regress/), replayed. `make fuzz` runs libFuzzer itself.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_api.h"
#include "harness.h"
#include "ptlab/rule.h"
#include "util/rand.h"

#define REGRESS_DIR "tests/fuzz-regress"

/* Inputs per profile in the full tier and in the quick one (a fixed
 * sample: the first inputs of the same seeds). Sanitizer builds run
 * several times slower. */
#ifdef PTLAB_DEBUG
#define INPUTS_FULL 40
#define INPUTS_QUICK 15
#else
#define INPUTS_FULL 150
#define INPUTS_QUICK 40
#endif
#define INPUT_MAX 3000
/* A regression input is run this many times: some were races. */
#define REGRESS_RUNS 30

static bool safe_with_both_fixes(const struct ptlab_profile *p)
{
	for (int s = 0; s < SCENARIO_COUNT; s++)
		if (ptlab_expect(p, (struct ptlab_fixes){ true, true }, (enum scenario)s).unsafe)
			return false;
	return true;
}

/* Sums @s into @sum. */
static void add_stats(struct fuzz_api_stats *sum, const struct fuzz_api_stats *s)
{
	for (int op = 0; op < OP_COUNT; op++) {
		sum->calls[op] += s->calls[op];
		sum->succeeded[op] += s->succeeded[op];
	}
}

/* @inputs random inputs on every safe profile. The fuzzer must not be
 * vacuous: every entry point was called, and the ones that change the
 * tables succeeded many times. */
static void seeded(int inputs)
{
	static const enum fuzz_op must_succeed[] = { OP_MMAP, OP_MUNMAP, OP_MADVISE, OP_POPULATE,
						     OP_USE_MM, OP_READ, OP_WRITE, OP_GUP,
						     OP_COLLAPSE, OP_SPLIT, OP_DONTNEED };
	static uint8_t input[INPUT_MAX];
	struct fuzz_api_stats sum = { 0 }, st;
	size_t profiles = 0;

	for (size_t p = 0; p < ptlab_profiles_count(); p++) {
		const struct ptlab_profile *prof = &ptlab_profiles()[p];
		uint64_t rng = rand_seed(0xf022, p);

		if (!safe_with_both_fixes(prof))
			continue;
		profiles++;
		fuzz_api_machine_up(prof->name);
		/* Half the inputs start structured, half are random bytes. */
		for (int i = 0; i < inputs; i++) {
			size_t len = rand_next(&rng) % INPUT_MAX;

			if (i % 2) {
				len = fuzz_api_seed_input(input, len, rand_next(&rng));
			} else {
				for (size_t b = 0; b < len; b++)
					input[b] = (uint8_t)rand_next(&rng);
			}
			fuzz_api_input(input, len);
		}
		fuzz_api_stats(&st);
		add_stats(&sum, &st);
		fuzz_api_machine_down();
	}
	CHECK(profiles >= 2);
	fprintf(stderr, "    %zu profiles x %d inputs; calls (succeeded):", profiles, inputs);
	for (int op = 0; op < OP_COUNT; op++)
		fprintf(stderr, "%s %s %llu (%llu)", op % 6 ? "," : "\n     ",
			fuzz_api_op_name((enum fuzz_op)op), (unsigned long long)sum.calls[op],
			(unsigned long long)sum.succeeded[op]);
	fputc('\n', stderr);
	for (int op = 0; op < OP_COUNT; op++)
		CHECK_MSG(sum.calls[op] > 0, "%s never called", fuzz_api_op_name((enum fuzz_op)op));
	for (size_t i = 0; i < sizeof(must_succeed) / sizeof(must_succeed[0]); i++)
		CHECK_MSG(sum.succeeded[must_succeed[i]] >= 10, "%s succeeded %llu times",
			  fuzz_api_op_name(must_succeed[i]),
			  (unsigned long long)sum.succeeded[must_succeed[i]]);
}

TEST_T(fuzz_api_seeded_sample, 600)
{
	seeded(INPUTS_QUICK);
}

TEST_FULL(fuzz_api_seeded, 1200)
{
	seeded(INPUTS_FULL);
}

/* Each input that once made the fuzzer fail, run again. */
TEST_T(fuzz_api_regressions, 600)
{
	DIR *d = opendir(REGRESS_DIR);
	struct dirent *e;
	size_t n = 0;

	CHECK_MSG(d, "no %s", REGRESS_DIR);
	fuzz_api_machine_up("x86");
	while ((e = readdir(d))) {
		char path[512];
		FILE *f;
		static uint8_t input[1 << 20];
		size_t len;

		if (e->d_name[0] == '.' || !strcmp(e->d_name, "README"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", REGRESS_DIR, e->d_name);
		f = fopen(path, "rb");
		CHECK_MSG(f, "cannot read %s", path);
		len = fread(input, 1, sizeof(input), f);
		fclose(f);
		fprintf(stderr, "    %s: %zu bytes\n", e->d_name, len);
		for (int i = 0; i < REGRESS_RUNS; i++)
			fuzz_api_input(input, len);
		n++;
	}
	closedir(d);
	fuzz_api_machine_down();
	CHECK(n > 0);
}
