// SPDX-License-Identifier: MIT
/*
 * The sync policies (enum sync_policy): whom tlb_remove_table_sync_one()
 * interrupts under each, what they cost, and `ptlab study sync`.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machine_helpers.h"
#include "ptlab/race.h"
#include "ptlab/rule.h"
#include "ptlab/synccost.h"

#define BASE (1ULL << 35)

static _Thread_local bool syncing;
static _Atomic cpumask_t last_mask;

/* A CPU running the mm, inside a GUP-fast section until released. */
static struct {
	struct mm_struct *mm;
	atomic_bool inside, release, on_mm;
} hold;

/* The sync chose its CPUs (the walker still inside): note them, and let
 * the walker go, so that the wait can end. */
static void mask_hook(enum race_point rp, const struct race_ctx *ctx)
{
	if (syncing && rp == RP_TABLE_SYNC_BEGIN) {
		atomic_store(&last_mask, ctx->mask);
		atomic_store(&hold.release, true);
	}
}

static void hold_hook(enum race_point rp, const struct race_ctx *ctx)
{
	(void)ctx;
	mask_hook(rp, ctx);
	if (rp == RP_GUP_FAST_PMD_READ && !syncing) {
		atomic_store(&hold.inside, true);
		while (!atomic_load(&hold.release))
			sleep_us(50);
	}
}

static void *holding_walker(void *arg)
{
	struct page *p;

	(void)arg;
	CHECK_EQ(use_mm(hold.mm), 0);
	if (pin_user_pages_fast(BASE, 1, FOLL_FAST_ONLY, &p) == 1)
		unpin_user_pages(&p, 1);
	CHECK_EQ(unuse_mm(), 0);
	return NULL;
}

static void *idle_on_mm(void *arg)
{
	(void)arg;
	CHECK_EQ(use_mm(hold.mm), 0);
	atomic_store(&hold.on_mm, true);
	while (!atomic_load(&hold.release))
		sleep_us(100);
	CHECK_EQ(unuse_mm(), 0);
	return NULL;
}

static void *idle_cpu(void *arg)
{
	(void)arg;
	while (!atomic_load(&hold.release))
		sleep_us(100);
	return NULL;
}

/*
 * Whom a sync interrupts with @policy on @profile, with four CPUs
 * besides the caller: one walking the mm (inside GUP-fast), one running
 * it idle, two running nothing. The sync is the mm's
 * (tlb_remove_table_sync_mm(), the callers step 2 converts) or, with
 * @one, tlb_remove_table_sync_one() (the others). Returns the number of
 * CPUs interrupted and whether the walker's was among them.
 */
static unsigned int sync_count_by(const char *profile, enum sync_policy policy, bool one,
				  bool *walker_hit)
{
	struct cpu_thread w, m, i1, i2;
	cpumask_t mask;

	machine_up(profile, 16);
	ptlab_set_fixes((struct ptlab_fixes){ .pmd_recheck = true, .sync = policy });
	hold.mm = test_mm_up();
	CHECK_EQ(mm_mmap(hold.mm, BASE, PMD_SIZE, VM_READ | VM_WRITE), (int64_t)BASE);
	CHECK_EQ(mm_populate(hold.mm, BASE, PAGE_SIZE, true), 0);
	atomic_store(&hold.inside, false);
	atomic_store(&hold.on_mm, false);
	atomic_store(&hold.release, false);
	race_hook_set(hold_hook);
	cpu_thread_start(&w, holding_walker, NULL);
	cpu_thread_start(&m, idle_on_mm, NULL);
	cpu_thread_start(&i1, idle_cpu, NULL);
	cpu_thread_start(&i2, idle_cpu, NULL);
	while (!atomic_load(&hold.inside) || !atomic_load(&hold.on_mm))
		sleep_us(100);
	atomic_store(&last_mask, ~(cpumask_t)0);
	syncing = true;
	CHECK_EQ(one ? tlb_remove_table_sync_one() : tlb_remove_table_sync_mm(hold.mm), 0);
	syncing = false;
	/* An empty sync (no RCU table free) reaches no race point with a
	 * mask of its choosing; it still reaches it, with 0. */
	atomic_store(&hold.release, true);
	mask = atomic_load(&last_mask);
	cpu_thread_join(&w);
	cpu_thread_join(&m);
	cpu_thread_join(&i1);
	cpu_thread_join(&i2);
	race_hook_set(NULL);
	*walker_hit = mask & ((cpumask_t)1 << w.cpu);
	test_mm_down(hold.mm);
	machine_down();
	return (unsigned int)__builtin_popcountll(mask);
}

static unsigned int sync_count(const char *profile, enum sync_policy policy, bool *walker_hit)
{
	return sync_count_by(profile, policy, false, walker_hit);
}

TEST(sync_policy_targets)
{
	bool hit;

	/* every other CPU */
	CHECK_EQ(sync_count("arm64", SYNC_ALL, &hit), 4);
	CHECK(hit);
	/* the walking CPU, whose marker names the mm */
	CHECK_EQ(sync_count("arm64", SYNC_WALKERS, &hit), 1);
	CHECK(hit);
	/* mm_cpumask: the two CPUs running the mm on x86; none on arm64,
	 * which keeps no mask */
	CHECK_EQ(sync_count("x86", SYNC_MM_CPUMASK, &hit), 2);
	CHECK(hit);
	CHECK_EQ(sync_count("arm64", SYNC_MM_CPUMASK, &hit), 0);
	CHECK(!hit);
	/* skipped after the native IPI flush; not after a broadcast */
	CHECK_EQ(sync_count("x86", SYNC_SKIP_IF_FLUSH_IPI, &hit), 0);
	CHECK_EQ(sync_count("arm64", SYNC_SKIP_IF_FLUSH_IPI, &hit), 4);
	/* the naive skip trusts a paravirt flush too */
	CHECK_EQ(sync_count("x86-pv-6.0", SYNC_SKIP_IF_FLUSH_IPI, &hit), 4);
	CHECK_EQ(sync_count("x86-pv-6.0", SYNC_SKIP_NAIVE, &hit), 0);
	/* empty without MMU_GATHER_RCU_TABLE_FREE, whatever the policy */
	CHECK_EQ(sync_count("x86-nopv-6.0", SYNC_ALL, &hit), 0);
	/* riscv with IPI flushes selects the symbol although it frees its
	 * tables after the flush: its sync sends IPIs */
	CHECK_EQ(sync_count("riscv64-ipi", SYNC_ALL, &hit), 4);
	CHECK(hit);
	/* The callers step 2 does not convert (the 2025 per-unshare sync)
	 * call tlb_remove_table_sync_one(): every CPU under walkers and
	 * mm-cpumask, as today; step 1's skip is inside it. */
	CHECK_EQ(sync_count_by("arm64", SYNC_WALKERS, true, &hit), 4);
	CHECK(hit);
	CHECK_EQ(sync_count_by("arm64", SYNC_MM_CPUMASK, true, &hit), 4);
	CHECK_EQ(sync_count_by("x86", SYNC_SKIP_IF_FLUSH_IPI, true, &hit), 0);
	/* which callers each policy converts: the rule, the machine and the
	 * model follow this one table */
	CHECK(!sync_policy_converts(SYNC_ALL, SYNC_CALLER_COLLAPSE));
	CHECK(sync_policy_converts(SYNC_WALKERS, SYNC_CALLER_TABLE_ONE));
	CHECK(sync_policy_converts(SYNC_MM_CPUMASK, SYNC_CALLER_UNSHARE_GATHER));
	CHECK(!sync_policy_converts(SYNC_WALKERS, SYNC_CALLER_UNSHARE_EACH));
}

/* The cost of a collapse under each policy, counted: the numbers the
 * study prints, on a small machine. */
TEST_T(sync_cost_counts, 120)
{
	struct sync_cost_config c = { .profile = ptlab_profile_find("arm64"), .cpus = 8,
				      .mm_cpus = 4, .collapses = 3 };
	struct sync_cost r;

	c.policy = SYNC_ALL;
	CHECK_EQ(ptlab_sync_cost(&c, &r), 0);
	CHECK_EQ(r.attempts, 3);
	CHECK_EQ(r.flush_ipis, 0);   /* a broadcast interrupts nobody */
	CHECK_EQ(r.sync_ipis, 7);
	c.policy = SYNC_MM_CPUMASK;
	CHECK_EQ(ptlab_sync_cost(&c, &r), 0);
	CHECK_EQ(r.sync_ipis, 0);    /* arm64 keeps no mm_cpumask */
	c.policy = SYNC_WALKERS;
	CHECK_EQ(ptlab_sync_cost(&c, &r), 0);
	CHECK(r.sync_ipis <= 3);     /* at most the mm's walking CPUs */
	c.profile = ptlab_profile_find("x86");
	c.policy = SYNC_MM_CPUMASK;
	CHECK_EQ(ptlab_sync_cost(&c, &r), 0);
	CHECK_EQ(r.flush_ipis, 3);   /* the IPI flush: the mm's other CPUs */
	CHECK_EQ(r.sync_ipis, 3);
	CHECK_EQ(r.waited, 3);
	c.policy = SYNC_SKIP_IF_FLUSH_IPI;
	CHECK_EQ(ptlab_sync_cost(&c, &r), 0);
	CHECK_EQ(r.sync_ipis, 0);
}

TEST(sync_cost_bad_input)
{
	struct sync_cost_config c = { .profile = ptlab_profile_find("x86"), .cpus = 8,
				      .mm_cpus = 4, .collapses = 1, .policy = SYNC_ALL };
	struct sync_cost r;
	struct gup_marker_cost g;

	CHECK_EQ(ptlab_sync_cost(NULL, &r), -EINVAL);
	CHECK_EQ(ptlab_sync_cost(&c, NULL), -EINVAL);
	c.cpus = 65;
	CHECK_EQ(ptlab_sync_cost(&c, &r), -EINVAL);
	c.cpus = 8;
	c.mm_cpus = 9;
	CHECK_EQ(ptlab_sync_cost(&c, &r), -EINVAL);
	c.mm_cpus = 0;
	CHECK_EQ(ptlab_sync_cost(&c, &r), -EINVAL);
	c.mm_cpus = 4;
	c.policy = SYNC_POLICIES;
	CHECK_EQ(ptlab_sync_cost(&c, &r), -EINVAL);
	c.policy = SYNC_ALL;
	c.collapses = 0;
	CHECK_EQ(ptlab_sync_cost(&c, &r), -EINVAL);
	CHECK_EQ(ptlab_gup_marker_cost(2, 100, &g), -EINVAL);
	CHECK_EQ(ptlab_gup_marker_cost(3, 0, &g), -EINVAL);
	CHECK_EQ(ptlab_gup_marker_cost(3, 100, NULL), -EINVAL);
}

/* The study, small, on @profiles (arm64 first), which make @cells cells:
 * every oracle agrees, the costs are in the JSON. */
static void study_sync(const char *profiles, unsigned int cells)
{
	char dir[256], json[300], want[160], *out = malloc(1 << 20), *text;
	const char *argv[] = { test_ptlab_path(), "study", "sync", "--profiles", profiles,
			       "--policies", "all,walkers,mm-cpumask", "--cpus", "8",
			       "--mm-cpus", "1,4", "--collapses", "2", "--rounds", "3",
			       "--seconds", "0.3", "--json", json, NULL };
	int status;

	CHECK(out);
	test_mkdtemp(dir, sizeof(dir), "study");
	snprintf(json, sizeof(json), "%s/sync.json", dir);
	status = test_run(argv, out, 1 << 20);
	CHECK_MSG(status == 0, "exit %d:\n%s", status, out);
	snprintf(want, sizeof(want), "%u cells (profile x scenario x PMD re-check x policy): the "
		 "stress lab agrees with the rule on %u, the model on %u, 0 disagree", cells, cells,
		 cells);
	CHECK_MSG(strstr(out, want), "no \"%s\" in:\n%s", want, out);
	/* arm64 keeps no mm_cpumask: that policy interrupts nobody and is
	 * unsafe for collapse; walkers misses the walkers of the process
	 * that unshared first (hugetlb). */
	CHECK_MSG(strstr(out, "mm-cpumask         arm64           unsafe:collapse-zap"), "%s", out);
	CHECK_MSG(strstr(out, "walkers            arm64           unsafe:hugetlb-unshare"), "%s",
		  out);
	CHECK_MSG(strstr(out, "GUP-fast pin+unpin of one page:"), "%s", out);
	text = test_read_file(json);
	CHECK_MSG(strstr(text, "{\"policy\":\"all\",\"profile\":\"arm64\",\"cpus\":8,\"mm_cpus\":4,"
			       "\"interrupted\":7,\"waited\":7,"), "%s", text);
	CHECK_MSG(strstr(text, "\"gup_marker\":{\"ns_plain\":"), "%s", text);
	CHECK_MSG(strstr(text, "\"counterexample\":[\"start:"), "%s", text);
	free(text);
	test_rmtree(dir);
	free(out);
}

/* Cells per profile: every scenario, PMD re-check off and on, the three
 * policies asked for. */
#define STUDY_CELLS (SCENARIO_COUNT * 2 * 3)

TEST_T(study_sync_one_profile, 600)
{
	study_sync("arm64", STUDY_CELLS);
}

TEST_FULL(study_sync_small, 600)
{
	study_sync("arm64,x86", 2 * STUDY_CELLS);
}

TEST(study_sync_bad_input)
{
	static const char *const cases[][3] = {
		{ "--policies", "most", "unknown sync policy: most" },
		{ "--mm-cpus", "0", "bad --mm-cpus: 0" },
		{ "--mm-cpus", "1,2,3,4,5,6,7,8,9", "bad --mm-cpus" },
		{ "--cpus", "1", "bad --cpus: 1 (allowed: 2..64)" },
		{ "--seconds", "0", "bad --seconds: 0" },
		{ "--collapses", "0", "bad --collapses: 0" },
		{ "--rounds", "2", "bad --rounds: 2" },
		{ "--profiles", "vax", "unknown profile: vax" },
	};
	char *out = malloc(1 << 16);

	CHECK(out);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *argv[] = { test_ptlab_path(), "study", "sync", cases[i][0], cases[i][1],
				       NULL };
		int status = test_run(argv, out, 1 << 16);

		CHECK_MSG(status == 2, "%s %s: exit %d:\n%s", cases[i][0], cases[i][1], status, out);
		CHECK_MSG(strstr(out, cases[i][2]), "expected '%s' in:\n%s", cases[i][2], out);
	}
	{
		const char *argv[] = { test_ptlab_path(), "study", "sync", "--cpus", "8",
				       "--mm-cpus", "9", NULL };

		CHECK_EQ(test_run(argv, out, 1 << 16), 2);
		CHECK_MSG(strstr(out, "bad --mm-cpus: 9 (allowed: 1..8 (--cpus))"), "%s", out);
	}
	free(out);
}
