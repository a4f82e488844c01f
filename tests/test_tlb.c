// SPDX-License-Identifier: MIT
/*
 * Table freeing through the mmu_gather: a table unlinked while a GUP-fast
 * walker holds it stays a table until the walker leaves its section,
 * whichever way the profile makes that true; the broadcast-norcu control
 * shows the check can fail; and a PMD table freed at once (loongarch,
 * mips up to 6.19) is freed under the walker whatever the flush.
 */
#include <errno.h>

#include "machine_helpers.h"
#include "ptlab/race.h"

static struct {
	struct page *table;        /* the PTE (or PMD) table the walker read */
	bool pud;                  /* hold it after the PUD read: the PMD table */
	unsigned int gen;
	atomic_int inside, release, unmapped;
	uint64_t addr;
	struct mm_struct *mm;
} hold;

static __thread bool holder;

/* Race hook: the designated walker stops inside its section, after it has
 * read the PMD (the PUD, with hold.pud), until released. */
static void hold_hook(enum race_point rp, const struct race_ctx *ctx)
{
	struct page *table = hold.pud ? ctx->pmd_table : ctx->pte_table;

	if (!holder || rp != (hold.pud ? RP_GUP_FAST_PUD_READ : RP_GUP_FAST_PMD_READ) || !table)
		return;
	hold.table = table;
	hold.gen = page_generation(table);
	atomic_store(&hold.inside, 1);
	for (int i = 0; i < 4000 && !atomic_load(&hold.release); i++)
		sleep_us(500);
}

static void *holding_walker(void *arg)
{
	struct page *p;
	long n;

	(void)arg;
	CHECK_EQ(use_mm(hold.mm), 0);
	holder = true;
	n = get_user_pages_fast(hold.addr, 1, FOLL_FAST_ONLY, &p);
	holder = false;
	if (n == 1)
		put_page(p);
	return NULL;
}

static void *unmapper(void *arg)
{
	(void)arg;
	while (!atomic_load(&hold.inside))
		sleep_us(100);
	CHECK_EQ(mm_munmap(hold.mm, hold.addr, PMD_SIZE), 0);
	atomic_store(&hold.unmapped, 1);
	return NULL;
}

/* Runs the scenario on a kernel without PT_RECLAIM, or with it if
 * @pt_reclaim; returns whether the table was freed while the walker was
 * inside. *blocked tells whether munmap waited for the walker. */
static bool table_freed_under_walker_pt(const char *profile, bool fail_batch, bool pt_reclaim,
					bool *blocked, bool *freed_at_unmap)
{
	struct ptlab_kernel k = ptlab_kernel_default(ptlab_profile_find(profile));
	struct cpu_thread w, u;
	bool freed_inside;

	k.pt_reclaim = pt_reclaim;
	machine_up_kernel(profile, 16, &k);
	hold.mm = mm_create();
	CHECK(hold.mm);
	hold.addr = 1ULL << 35;
	CHECK_EQ(mm_mmap(hold.mm, hold.addr, PMD_SIZE, VM_READ | VM_WRITE), (int64_t)hold.addr);
	/* Holding the PMD table, one page: a zap of 512 would fill the
	 * gather and flush, waiting for the walker, before free_pgtables(). */
	CHECK_EQ(mm_populate(hold.mm, hold.addr, hold.pud ? PAGE_SIZE : PMD_SIZE, true), 0);
	atomic_store(&hold.inside, 0);
	atomic_store(&hold.release, 0);
	atomic_store(&hold.unmapped, 0);
	if (fail_batch)
		CHECK_EQ(fail_alloc_set(FAIL_ALLOC_PATH(ALLOC_PATH_RCU_BATCH), 1.0, 0), 0);
	race_hook_set(hold_hook);
	cpu_thread_start(&w, holding_walker, NULL);
	cpu_thread_start(&u, unmapper, NULL);
	while (!atomic_load(&hold.inside))
		sleep_us(100);
	/* munmap gets a second to finish; one that waits for the walker
	 * (held up to 2 s) is still waiting then. */
	for (int i = 0; i < 1000 && !atomic_load(&hold.unmapped); i++)
		sleep_us(1000);
	/* Generation or type changed: freed (and maybe reused) under it. */
	freed_inside = page_generation(hold.table) != hold.gen ||
		       page_type(hold.table) != PAGE_TYPE_PGTABLE;
	*blocked = !atomic_load(&hold.unmapped);
	atomic_store(&hold.release, 1);
	cpu_thread_join(&u);
	*freed_at_unmap = page_generation(hold.table) != hold.gen;
	cpu_thread_join(&w);
	race_hook_set(NULL);
	fail_alloc_set(0, 0, 0);
	ptlab_rcu_barrier();
	/* Whatever the way, it is freed in the end. */
	CHECK(page_generation(hold.table) != hold.gen);
	CHECK_EQ(mm_destroy(hold.mm), 0);
	machine_down();
	return freed_inside;
}

static bool table_freed_under_walker(const char *profile, bool fail_batch, bool *blocked,
				     bool *freed_at_unmap)
{
	return table_freed_under_walker_pt(profile, fail_batch, false, blocked, freed_at_unmap);
}

TEST(tlb_rcu_table_free_outlives_walker)
{
	bool blocked, at_unmap;

	/* RCU table free with IPI flush (x86): the flush waits anyway. */
	CHECK(!table_freed_under_walker("x86", false, &blocked, &at_unmap));
	CHECK(blocked);
	/* RCU table free with a broadcast flush (arm64): munmap returns at
	 * once, the table waits for the grace period. */
	CHECK(!table_freed_under_walker("arm64", false, &blocked, &at_unmap));
	CHECK(!blocked);
}

TEST(tlb_ipi_flush_without_rcu_waits_for_walker)
{
	bool blocked, at_unmap;

	/* No RCU table free: freed right after an IPI flush, which waited
	 * for the walker to leave. */
	CHECK(!table_freed_under_walker("x86-nopv-6.0", false, &blocked, &at_unmap));
	CHECK(blocked);
	CHECK(at_unmap);
}

TEST(tlb_batch_failure_falls_back_to_sync_ipi)
{
	bool blocked, at_unmap;
	struct smp_stats s0, s1;

	smp_get_stats(&s0);
	/* arm64: the flush never waits, so only tlb_remove_table_one()'s
	 * sync IPI can hold munmap until the walker leaves, and the table is
	 * then freed at once, with no grace period. */
	CHECK(!table_freed_under_walker("arm64", true, &blocked, &at_unmap));
	CHECK(blocked);
	CHECK(at_unmap);
	smp_get_stats(&s1);
	CHECK(s1.membarriers > s0.membarriers);
	/* With PT_RECLAIM (6.14+) that fallback frees by call_rcu() instead,
	 * for every caller: munmap returns at once, the table waits for the
	 * grace period (the RCU walkers of PT reclaim take no IPI). */
	CHECK(!table_freed_under_walker_pt("arm64", true, true, &blocked, &at_unmap));
	CHECK(!blocked);
	CHECK(!at_unmap);
}

/*
 * The PMD table of a PUD range munmap empties, held by a walker that read
 * the PUD entry (the mapping is alone in its 1 GiB, so free_pgtables()
 * frees it), the way each architecture frees PMD tables: at once, before
 * the flush (loongarch, mips up to 6.19: freed under the walker even
 * though the IPI flush then waits for it), after the flush (x86 without
 * PARAVIRT, riscv with IPIs: the flush waited), or after a grace period
 * (arm64: munmap does not wait, the table does).
 */
TEST(tlb_pmd_table_freed_as_the_architecture_frees_it)
{
	static const struct {
		const char *profile;
		bool freed_inside, blocked;
	} cases[] = {
		{ "loongarch64", true, true },
		{ "mips64-mmid", true, false },
		{ "x86-nopv-6.0", false, true },
		{ "riscv64-ipi", false, true },
		{ "broadcast-norcu", true, false },
		{ "arm64", false, false },
	};

	hold.pud = true;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool blocked, at_unmap;

		CHECK_MSG(table_freed_under_walker(cases[i].profile, false, &blocked, &at_unmap) ==
				  cases[i].freed_inside,
			  "%s: PMD table %sfreed under the walker", cases[i].profile,
			  cases[i].freed_inside ? "not " : "");
		CHECK_MSG(blocked == cases[i].blocked, "%s: munmap %s for the walker",
			  cases[i].profile, blocked ? "waited" : "did not wait");
	}
	hold.pud = false;
}

TEST(tlb_broadcast_without_rcu_frees_under_walker)
{
	bool blocked, at_unmap;

	/* The negative control: nothing waits for the walker. */
	CHECK(table_freed_under_walker("broadcast-norcu", false, &blocked, &at_unmap));
	CHECK(!blocked);
}
