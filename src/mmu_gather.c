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

/*
 * The CPUs a sync for @mm must interrupt under @policy (the 2025-2026
 * proposals, enum sync_policy), before the caller's own CPU is taken out;
 * every CPU for no mm in particular.
 */
static cpumask_t sync_targets(struct mm_struct *mm, enum sync_policy policy)
{
	cpumask_t walking = 0;

	if (!mm)
		return cpu_online_mask();
	switch (policy) {
	case SYNC_SKIP_IF_FLUSH_IPI:
	case SYNC_SKIP_NAIVE:
		/* decided once, from the flush in use (a static key) */
		if (sync_policy_skips(policy, &machine.profile))
			return 0;
		return cpu_online_mask();
	case SYNC_WALKERS:
		/*
		 * smp_mb() between the caller's PMD clear (or unshare) and
		 * these loads, paired with the one in
		 * pt_walk_lockless_start() between a walker's marker store
		 * and its PMD load (Dekker): either a marker is seen here,
		 * or that walker reads the cleared PMD.
		 */
		smp_mb();
		for (int i = 0; i < PTLAB_MAX_CPUS; i++)
			if (READ_ONCE(cpus[i].lockless_walk_mm) == mm)
				walking |= (cpumask_t)1 << i;
		return walking;
	case SYNC_MM_CPUMASK:
		return mm_cpumask(mm);
	default:
		return cpu_online_mask();
	}
}

/*
 * mirrors tlb_remove_table_sync_one(): with RCU table free, interrupt the
 * CPUs of the machine's sync policy (every CPU: today's kernel; the
 * fixes' SYNC_NONE means the kernel's own, every CPU, where the kernel
 * calls it whatever the fix) and wait until each left any interrupts-off
 * section; without RCU table free, nothing.
 */
int tlb_remove_table_sync_one(struct mm_struct *mm)
{
	enum sync_policy policy = machine_sync() == SYNC_NONE ? SYNC_ALL : machine_sync();
	cpumask_t targets;
	int ret;

	if (this_cpu && cpu_irqs_off(this_cpu))
		return -EDEADLK;
	/* The IPI only has a purpose when tables are RCU-freed: without RCU
	 * table free, the flush that preceded has IPI'd every walker. */
	if (!machine.profile.rcu_table_free) {
		RACE_POINT(RP_TABLE_SYNC_BEGIN, .mask = 0);
		RACE_POINT(RP_TABLE_SYNC_END, .mask = 0);
		return 0;
	}
	targets = sync_targets(mm, policy) & ~(this_cpu ? (cpumask_t)1 << this_cpu->id : 0);
	RACE_POINT(RP_TABLE_SYNC_BEGIN, .mask = targets);
	ret = targets ? smp_wait_irqs_off_sections(targets) : 0;
	RACE_POINT(RP_TABLE_SYNC_END, .mask = targets);
	return ret;
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
	tlb_remove_table_sync_one(mm);
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

void tlb_remove_table(struct mmu_gather *tlb, struct page *table)
{
	struct page *batch_page;

	if (!machine.profile.rcu_table_free) {
		/* Freed right after the flush, like a page. */
		RACE_POINT(RP_TABLE_GATHERED, .pte_table = table, .how = TABLE_FREE_GATHER);
		if (__tlb_remove_page(tlb, table))
			tlb_flush_mmu(tlb);
		return;
	}
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

/* mirrors tlb_flush_unshared_tables() */
void tlb_flush_unshared_tables(struct mmu_gather *tlb)
{
	if (tlb->unshared_tables)
		tlb_flush_mmu_tlbonly(tlb);
	tlb->unshared_tables = false;
	if (tlb->fully_unshared_tables)
		tlb_remove_table_sync_one(tlb->mm);
	tlb->fully_unshared_tables = false;
}

void tlb_finish_mmu(struct mmu_gather *tlb)
{
	tlb_flush_mmu(tlb);
}
