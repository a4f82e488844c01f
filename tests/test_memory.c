// SPDX-License-Identifier: MIT
/*
 * A run's memory is bounded: every per-cell buffer (a traced run's lanes,
 * the evidence's vectors) holds at most its cap and counts what the cap
 * dropped, and a cell frees everything it allocated (the pool, the
 * machine, the threads, the rings, the traces) before the next one starts.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "ptlab/lab.h"
#include "sanitizer.h"

#if defined(PTLAB_ASAN) || defined(PTLAB_TSAN)
/* Both runtimes export it; gcc ships no <sanitizer/allocator_interface.h>
 * (clang does), so it is declared here. */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

/* Bytes the process has allocated and not freed (the sanitizers keep
 * their own allocator: ask it). */
static size_t heap_in_use(void)
{
#if defined(PTLAB_ASAN) || defined(PTLAB_TSAN)
	return __sanitizer_get_current_allocated_bytes();
#else
	return mallinfo2().uordblks;
#endif
}

/* The process's virtual size in pages (the pool is a mapping of its own). */
static long vm_pages(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = -1;

	CHECK(f);
	CHECK(fscanf(f, "%ld", &size) == 1);
	fclose(f);
	return size;
}

static void traced_cell(struct lab_run_config *cfg, const char *profile, unsigned int fixes,
			enum scenario s)
{
	const struct ptlab_profile *p = ptlab_profile_find(profile);

	CHECK(p);
	lab_run_config_default(cfg, p, ptlab_fix_setting(fixes), s);
	cfg->trace_before_ms = LAB_TRACE_BEFORE_MS;
	cfg->trace_after_ms = LAB_TRACE_AFTER_MS;
}

/*
 * munmap's mutator logs thousands of race points in the 12 ms around a
 * violation and thousands of evidence events a second: with caps of 64,
 * the trace keeps at most 64 events a lane and the evidence 64 a
 * vector, each counting what it gave up; the verdict (from the
 * detectors) still stands.
 */
TEST_T(memory_small_caps_hold_and_count, 120)
{
	struct lab_run_config cfg;
	struct lab_result r;
	struct ptlab_cell cell;
	struct ptlab_expectation e;
	char why[200];

	traced_cell(&cfg, "broadcast-norcu", 0, SCENARIO_MUNMAP);
	cfg.trace_cap = 64;
	cfg.evidence_cap = 64;
	/* As the matrix retries an unsafe cell that showed nothing (a loaded
	 * machine, a sanitizer): the next seed, twice the budget. */
	for (int attempt = 0;; attempt++) {
		cfg.seed = 1 + (uint64_t)attempt;
		CHECK_EQ(lab_run(&cfg, &r), 0);
		CHECK(r.trace);
		if (lab_total_violations(&r) || attempt == 4)
			break;
		lab_result_release(&r);
		cfg.seconds *= 2;
	}
	printf("    trace: %zu events on %d lanes, %llu dropped; evidence: %llu dropped\n",
	       r.trace->n, r.trace->nlanes, (unsigned long long)r.trace->dropped,
	       (unsigned long long)r.evidence.dropped_events);
	CHECK(r.trace->n <= (size_t)r.trace->nlanes * 64);
	CHECK(r.trace->dropped > 0);
	/* (The cell may stop at its violation before 64 evidence events
	 * pile up: the evidence's cap is shown to hold by the next cell.) */
	cell = lab_run_cell(&cfg);
	e = ptlab_expect_cell(&cell);
	CHECK(e.unsafe);
	CHECK_MSG(lab_judge(&cfg, &r, 0, &e, LAB_MIN_OVERLAPS_DEFAULT, why, sizeof(why)) ==
			  LAB_PASS,
		  "%s", why);
	lab_result_release(&r);

	/* A safe cell whose evidence was cut says so when it is short of it. */
	traced_cell(&cfg, "arm64", 3, SCENARIO_MUNMAP);
	cfg.evidence_cap = 16;
	CHECK_EQ(lab_run(&cfg, &r), 0);
	CHECK(r.evidence.dropped_events > 0);
	cell = lab_run_cell(&cfg);
	e = ptlab_expect_cell(&cell);
	CHECK(!e.unsafe);
	if (lab_judge(&cfg, &r, 0, &e, 1000000, why, sizeof(why)) == LAB_INCONCLUSIVE)
		CHECK_MSG(strstr(why, "the evidence was cut"), "%s", why);
	else
		test_fail(__FILE__, __LINE__, "a million defended overlaps: %s", why);
	lab_result_release(&r);
}

TEST(memory_caps_out_of_range_are_refused)
{
	struct lab_run_config cfg;
	struct lab_result r;

	traced_cell(&cfg, "x86", 3, SCENARIO_MUNMAP);
	cfg.trace_cap = LAB_CAP_MIN - 1;
	CHECK_EQ(lab_run(&cfg, &r), -EINVAL);
	cfg.trace_cap = LAB_CAP_MAX + 1;
	CHECK_EQ(lab_run(&cfg, &r), -EINVAL);
	cfg.trace_cap = 0;
	cfg.evidence_cap = LAB_CAP_MIN - 1;
	CHECK_EQ(lab_run(&cfg, &r), -EINVAL);
	cfg.evidence_cap = LAB_CAP_MAX + 1;
	CHECK_EQ(lab_run(&cfg, &r), -EINVAL);
}

/*
 * One traced cell of each scenario, three rounds: after the first round
 * (liburcu's and the allocator's one-time setup), each cell gives back
 * what it took: the heap in use and the mappings (the pool) are what they
 * were, whatever the cell did.
 */
TEST_T(memory_cells_free_what_they_allocate, 300)
{
	static const struct {
		const char *profile;
		unsigned int fixes;
		enum scenario s;
	} cells[] = {
		{ "arm64", 0, SCENARIO_COLLAPSE_ZAP },
		{ "ppc64-radix", 1, SCENARIO_COLLAPSE_PIN },
		{ "broadcast-norcu", 3, SCENARIO_MUNMAP },
		{ "x86-nopv-6.0", 3, SCENARIO_PT_RECLAIM },
		{ "arm64", 0, SCENARIO_HUGETLB_UNSHARE },
		{ "arm64", 0, SCENARIO_RETRACT },
	};
	size_t heap0 = 0;
	long vm0 = 0;
	/*
	 * The mappings move for reasons of their own: glibc's per-thread
	 * arenas and cached thread stacks (measured: 2,400 pages down, then
	 * 3,200 up, from one round to the next under load), and under ASan
	 * or TSan the runtime's allocator and fake stacks (up to 18,500
	 * pages either way, never growing). A cell's pool is 16,896 pages:
	 * two pools of slack, so that one pool leaked per round (5 cells,
	 * 4 rounds), let alone one per cell, still fails.
	 */
	const long vm_slack = 2 * (long)(((64ULL << 20) + (2ULL << 20)) >> 12);

	for (int round = 0; round < 5; round++) {
		for (size_t i = 0; i < sizeof(cells) / sizeof(cells[0]); i++) {
			struct lab_run_config cfg;
			struct lab_result r;

			traced_cell(&cfg, cells[i].profile, cells[i].fixes, cells[i].s);
			cfg.seconds = 0.3;
			CHECK_EQ(lab_run(&cfg, &r), 0);
			lab_result_release(&r);
		}
		if (round == 0) {
			heap0 = heap_in_use();
			vm0 = vm_pages();
			continue;
		}
		printf("    round %d: heap in use %zu bytes (after round 0: %zu), %ld pages "
		       "mapped (%ld)\n", round, heap_in_use(), heap0, vm_pages(), vm0);
		/* A little slack: stdio and liburcu keep small caches. */
		CHECK(heap_in_use() <= heap0 + 64 * 1024);
		CHECK(vm_pages() <= vm0 + vm_slack);
	}
}
