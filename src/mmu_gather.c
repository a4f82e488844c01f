// SPDX-License-Identifier: MIT
/* The mmu_gather (mirrors mm/mmu_gather.c). */
#include <errno.h>

#include "cpu.h"
#include "machine.h"
#include "mm_internal.h"
#include "ptlab/race.h"
#include "tlb.h"

void tlb_gather_mmu(struct mmu_gather *tlb, struct mm_struct *mm)
{
	tlb->mm = mm;
	tlb->start = UINT64_MAX;
	tlb->end = 0;
	tlb->nr_pages = 0;
	tlb->batch = NULL;
	tlb->unshared_tables = false;
	tlb->fully_unshared_tables = false;
}

void tlb_flush_range_add(struct mmu_gather *tlb, uint64_t addr, uint64_t size)
{
	if (addr < tlb->start)
		tlb->start = addr;
	if (addr + size > tlb->end)
		tlb->end = addr + size;
}

bool __tlb_remove_page(struct mmu_gather *tlb, struct page *page)
{
	PTLAB_ASSERT(tlb->nr_pages < MMU_GATHER_BUNDLE);
	tlb->pages[tlb->nr_pages++] = page;
	return tlb->nr_pages == MMU_GATHER_BUNDLE;
}

void pgtable_free(struct page *table, enum table_free_how how)
{
	if (page_type(table) != PAGE_TYPE_PGTABLE)
		ptlab_bug("freeing a page table that is not one", page_to_pfn(table));
	if (table->pmd_huge_pte != PFN_NONE)
		ptlab_bug("freeing a PMD table with deposited tables", page_to_pfn(table));
	RACE_POINT(RP_TABLE_FREE, .pte_table = table, .how = how);
	put_page(table);
}

/* Flushes the TLB for what the gather unlinked (tlb_flush_mmu_tlbonly()). */
static void tlb_flush_mmu_tlbonly(struct mmu_gather *tlb)
{
	if (tlb->start > tlb->end)
		return;
	flush_tlb_mm_range(tlb->mm, tlb->start, tlb->end);
	tlb->start = UINT64_MAX;
	tlb->end = 0;
}

/* The policy wherever the kernel syncs: the fixes', or (the seed's fix
 * off, SYNC_NONE) the kernel's own, every CPU. */
static enum sync_policy sync_policy_now(void)
{
	return ptlab_sync_policy(ptlab_get_fixes());
}

/* Interrupts @targets but the caller's CPU and waits until each left any
 * interrupts-off section; the race points around the wait. */
static int sync_wait(cpumask_t targets)
{
	int ret;

	targets &= ~(this_cpu ? (cpumask_t)1 << this_cpu->id : 0);
	RACE_POINT(RP_TABLE_SYNC_BEGIN, .mask = targets);
	ret = targets ? smp_wait_irqs_off_sections(targets) : 0;
	RACE_POINT(RP_TABLE_SYNC_END, .mask = targets);
	return ret;
}

/*
 * mirrors tlb_remove_table_sync_one(): where the architecture selects
 * MMU_GATHER_RCU_TABLE_FREE (profile.sync_ipi), smp_call_function() of
 * an empty function with wait: every other online CPU, each waited for
 * until it left any interrupts-off section. Without the symbol it is an
 * empty function (include/asm-generic/tlb.h): there the flush that came
 * before IPI'd every walker (an architecture's duty). Step 1 of Lance
 * Yang's series (v5 <20260302063048.9479-1-lance.yang@linux.dev>, v7
 * <20260309020711.20831-1-lance.yang@linux.dev>) returns early at the top
 * of this very function, so the two skip policies act on every caller:
 * collapse_huge_page(), the 2025 per-unshare sync, 6.19's
 * tlb_flush_unshared_tables() and the batch-allocation fallback alike.
 */
int tlb_remove_table_sync_one(void)
{
	enum sync_policy policy = sync_policy_now();

	if (this_cpu && cpu_irqs_off(this_cpu))
		return -EDEADLK;
	if (!machine.profile.sync_ipi || sync_policy_skips(policy, &machine.profile))
		return sync_wait(0);
	return sync_wait(cpu_online_mask());
}

/*
 * mirrors tlb_remove_table_sync_mm() of step 2 (v4, "[PATCH v4 2/3] mm:
 * switch callers to tlb_remove_table_sync_mm()",
 * <20260202074557.16544-3-lance.yang@linux.dev>), which converts exactly
 * three callers: collapse_huge_page(), tlb_flush_unshared_tables() and
 * __tlb_remove_table_one() (the batch-allocation fallback without
 * PT_RECLAIM). Under the walkers policy it interrupts the CPUs whose
 * lockless-walk marker names @mm; under mm-cpumask, ptlab's own variant
 * of the same conversion, the CPUs of mm_cpumask(@mm) (empty where the
 * architecture keeps no mask). Under any other policy, or for no mm (v4
 * falls back then too), it is tlb_remove_table_sync_one().
 */
int tlb_remove_table_sync_mm(struct mm_struct *mm)
{
	enum sync_policy policy = sync_policy_now();
	cpumask_t walking = 0;

	if (!mm || (policy != SYNC_WALKERS && policy != SYNC_MM_CPUMASK))
		return tlb_remove_table_sync_one();
	if (this_cpu && cpu_irqs_off(this_cpu))
		return -EDEADLK;
	if (!machine.profile.sync_ipi)
		return sync_wait(0);
	if (policy == SYNC_MM_CPUMASK)
		return sync_wait(mm_cpumask(mm));
	/*
	 * smp_mb() between the caller's PMD clear (or unshare) and these
	 * loads, paired with the one in pt_walk_lockless_start() between a
	 * walker's marker store and its PMD load (Dekker): either a marker
	 * is seen here, or that walker reads the cleared PMD. This is
	 * sync-scan-mb; with it dropped (the stress lab's --drop-barrier)
	 * barrier() stands in its place, so that the compiler keeps the
	 * loads after the caller's clear and only the hardware may reorder
	 * them. On x86-64 every caller's clear is an xchg
	 * (pmdp_huge_get_and_clear() in collapse, pud_clear() in the
	 * unshare, pmd_clear() before the batch fallback: pgtable.h), a
	 * locked instruction that drains this CPU's store buffer itself,
	 * so there this host cannot show the fence's absence: no store is
	 * left for the marker loads to pass.
	 */
	if (!machine_dropped(BARRIER_SYNC_SCAN_MB))
		smp_mb();
	else
		barrier();
	for (int i = 0; i < PTLAB_MAX_CPUS; i++)
		if (READ_ONCE(cpus[i].lockless_walk_mm) == mm)
			walking |= (cpumask_t)1 << i;
	return sync_wait(walking);
}

/*
 * Frees one table after waiting out every walker (tlb_remove_table_one()):
 * the fallback when no batch page can be had. With PT_RECLAIM (6.14+) the
 * table goes to call_rcu() on its own, since the RCU walkers PT_RECLAIM
 * must hold off take no IPI; before, tlb_remove_table_sync_one() and a
 * free at once (7.1 waits with synchronize_rcu() there instead: not
 * modelled, it holds off the same walkers as a grace period).
 */
static void tlb_remove_table_one(struct mm_struct *mm, struct page *table)
{
	if (ptlab_kernel_pt_reclaim(machine.kernel)) {
		pgtable_free_after_grace_period(table, TABLE_FREE_ONE);
		return;
	}
	/* __tlb_remove_table_one(): one of the callers step 2 converts */
	tlb_remove_table_sync_mm(mm);
	pgtable_free(table, TABLE_FREE_ONE);
}

/* The grace period has passed: no walker can hold these tables
 * (tlb_remove_table_rcu()). Runs on liburcu's call_rcu thread. */
static void tlb_remove_table_rcu(struct rcu_head *head)
{
	struct mmu_table_batch *batch = (struct mmu_table_batch *)head;
	unsigned int nr;

	/* Acquire first: it pairs with the release in tlb_table_flush(), so
	 * everything before the hand-off (the pool, the run's race windows)
	 * is seen here, also by TSan, which cannot see liburcu's queue. */
	if (!smp_load_acquire(&batch->handed_off))
		ptlab_bug("RCU table batch freed before it was handed off", 0);
	RACE_POINT(RP_TABLE_RCU_CALLBACK, .page = virt_to_page(batch));
	nr = READ_ONCE(batch->nr);
	for (unsigned int i = 0; i < nr; i++)
		pgtable_free(pfn_to_page(READ_ONCE(batch->tables[i])),
			     TABLE_FREE_RCU);
	put_page(virt_to_page(batch));
}

/* Hands the batch to RCU (tlb_table_flush()). The TLB was flushed first. */
static void tlb_table_flush(struct mmu_gather *tlb)
{
	struct mmu_table_batch *batch = tlb->batch;

	if (!batch)
		return;
	tlb->batch = NULL;
	smp_store_release(&batch->handed_off, 1);
	RACE_POINT(RP_TABLE_RCU_HANDOFF, .page = virt_to_page(batch));
	urcu_memb_call_rcu(&batch->rcu, tlb_remove_table_rcu);
}

void tlb_remove_page_ptdesc(struct mmu_gather *tlb, struct page *table)
{
	RACE_POINT(RP_TABLE_GATHERED, .pte_table = table, .how = TABLE_FREE_GATHER);
	if (__tlb_remove_page(tlb, table))
		tlb_flush_mmu(tlb);
}

void tlb_remove_table(struct mmu_gather *tlb, struct page *table)
{
	struct page *batch_page;

	/* The RCU batch exists only with MMU_GATHER_RCU_TABLE_FREE
	 * (ptlab_profile_check()). */
	PTLAB_ASSERT(machine.profile.sync_ipi);
	if (!tlb->batch) {
		batch_page = alloc_page_tagged(PAGE_TYPE_KERNEL, ALLOC_PATH_RCU_BATCH);
		if (!batch_page) {
			/* tlb_table_invalidate(), then the IPI fallback. */
			RACE_POINT(RP_TABLE_GATHERED, .pte_table = table, .how = TABLE_FREE_ONE);
			tlb_flush_mmu_tlbonly(tlb);
			tlb_remove_table_one(tlb->mm, table);
			return;
		}
		tlb->batch = page_address(batch_page);
		WRITE_ONCE(tlb->batch->handed_off, 0);
		WRITE_ONCE(tlb->batch->nr, 0);
	}
	{
		struct mmu_table_batch *b = tlb->batch;
		unsigned int nr = READ_ONCE(b->nr);

		RACE_POINT(RP_TABLE_GATHERED, .pte_table = table, .how = TABLE_FREE_RCU);
		WRITE_ONCE(b->tables[nr], page_to_pfn(table));
		WRITE_ONCE(b->nr, nr + 1);
		if (nr + 1 == MAX_TABLE_BATCH) {
			tlb_flush_mmu_tlbonly(tlb);
			tlb_table_flush(tlb);
		}
	}
}

void tlb_flush_mmu(struct mmu_gather *tlb)
{
	tlb_flush_mmu_tlbonly(tlb);
	tlb_table_flush(tlb);
	for (unsigned int i = 0; i < tlb->nr_pages; i++) {
		struct page *page = tlb->pages[i];

		if (page_type(page) == PAGE_TYPE_PGTABLE)
			pgtable_free(page, TABLE_FREE_GATHER);
		else
			put_page(page);
	}
	tlb->nr_pages = 0;
}

/* mirrors tlb_flush_unshared_tables() (6.19), one of the callers step 2
 * converts to tlb_remove_table_sync_mm() */
void tlb_flush_unshared_tables(struct mmu_gather *tlb)
{
	if (tlb->unshared_tables)
		tlb_flush_mmu_tlbonly(tlb);
	tlb->unshared_tables = false;
	if (tlb->fully_unshared_tables)
		tlb_remove_table_sync_mm(tlb->mm);
	tlb->fully_unshared_tables = false;
}

/* pmd_free(), pud_free(): at once, no flush, no grace period. */
static void upper_free(struct page *table)
{
	pgtable_free(table, TABLE_FREE_DIRECT);
}

/* The architecture's way for a table of one level: the RCU batch, the
 * page batch after the flush, or at once. */
static void free_tlb(struct mmu_gather *tlb, struct page *table, enum upper_table_free how)
{
	switch (how) {
	case UPPER_TABLE_RCU:
		tlb_remove_table(tlb, table);
		break;
	case UPPER_TABLE_AFTER_FLUSH:
		tlb_remove_page_ptdesc(tlb, table);
		break;
	case UPPER_TABLE_AT_ONCE:
		upper_free(table);
		break;
	}
}

/* mirrors pte_free_tlb() -> the architecture's __pte_free_tlb(): the RCU
 * batch with profile.rcu_table_free, else the page batch (x86 without
 * PARAVIRT before 6.15, riscv with IPIs up to 6.14, loongarch and mips up
 * to 6.19: tlb_remove_page(), tlb_remove_page_ptdesc()). */
void pte_free_tlb(struct mmu_gather *tlb, struct page *table)
{
	free_tlb(tlb, table, machine.profile.rcu_table_free ? UPPER_TABLE_RCU
							  : UPPER_TABLE_AFTER_FLUSH);
}

/* mirrors pmd_free_tlb() -> __pmd_free_tlb(), by profile.upper_table_free:
 * tlb_remove_ptdesc()/tlb_remove_table() (RCU), tlb_remove_page_ptdesc()
 * (after the flush), or pmd_free() at once (loongarch, mips up to 6.19). */
void pmd_free_tlb(struct mmu_gather *tlb, struct page *table)
{
	free_tlb(tlb, table, machine.profile.upper_table_free);
}

/* mirrors pud_free_tlb() -> __pud_free_tlb(): as pmd_free_tlb() (pud_free()
 * at once where PMD tables go at once). */
void pud_free_tlb(struct mmu_gather *tlb, struct page *table)
{
	free_tlb(tlb, table, machine.profile.upper_table_free);
}

void tlb_finish_mmu(struct mmu_gather *tlb)
{
	tlb_flush_mmu(tlb);
}
