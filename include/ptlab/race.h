/* SPDX-License-Identifier: MIT */
/*
 * Race points: named places in the protocol code where the lab may look
 * or wait. The protocol code calls RACE_POINT(); when no hook is installed
 * that is one relaxed load and an untaken branch, so the points cost
 * nothing measurable when off. The hook observes (detectors) or widens a
 * window (a delay, as a kernel developer adds an mdelay()); it must never
 * take a lock or otherwise synchronize with the protocol.
 */
#ifndef PTLAB_RACE_H
#define PTLAB_RACE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct page;

enum race_point {
	/* gup_fast read a PMD; next it reads the PTEs of the table it names. */
	RP_GUP_FAST_PMD_READ,
	/* gup_fast read a PTE; next it takes the reference. */
	RP_GUP_FAST_PTE_READ,
	/* gup_fast took its reference; next it re-checks the PTE and PMD. */
	RP_GUP_FAST_REF_TAKEN,
	/* gup_fast's re-check saw the PMD or PTE changed and dropped its
	 * reference (.page); only on that failure path. */
	RP_GUP_FAST_RECHECK_FAILED,
	/* gup_fast is about to turn interrupts back on. */
	RP_GUP_FAST_SECTION_END,
	/* pte_offset_map_lock() read a PMD inside its RCU read-side section
	 * (interrupts on); next it takes the table's lock (.pte_table). */
	RP_PTE_MAP_PMD_READ,
	/* It holds the PTE lock; next it re-checks the PMD (pmd_same()). */
	RP_PTE_MAP_LOCKED,
	/* The re-check saw the PMD changed: it unlocks and tries again. */
	RP_PTE_MAP_RETRY,
	/* pte_unmap_unlock(): the lock is dropped; next the RCU read-side
	 * section ends. */
	RP_PTE_UNMAP,
	/* A PMD entry that named a PTE table was cleared (.pmdp, .pmd the old
	 * value, .pte_table): collapse's pmdp_collapse_flush() before its
	 * flush, free_pgtables() before it queues the table. */
	RP_PMD_UNLINKED,
	/* collapse cleared the PMD and flushed; next the sync IPI (if on)
	 * and the isolation. */
	RP_COLLAPSE_PMD_CLEARED,
	/* collapse's isolation refused a page referenced beyond its
	 * mappings; next it puts the old PMD back (.pmdp, .pte_table). */
	RP_COLLAPSE_REFUSED,
	/* collapse isolated all 512 pages; next it copies them. */
	RP_COLLAPSE_ISOLATED,
	/* collapse copied all the pages; next it clears the old PTEs and
	 * releases the small pages, then deposits the table. */
	RP_COLLAPSE_COPIED,
	/* A process stopped sharing a hugetlb PMD table: its PUD entry
	 * (.pmdp, old value .pmd) is cleared; the table (.pmd_table) now
	 * belongs to the others. */
	RP_PUD_UNSHARED,
	/* gup_fast read a PUD (.pmdp the slot, .pmd the value); next it
	 * reads the PMD in the table it names (.pmd_table). */
	RP_GUP_FAST_PUD_READ,
	/* A PTE table was deposited for a huge PMD (.pte_table). */
	RP_TABLE_DEPOSIT,
	/* A deposited PTE table was withdrawn (.pte_table). */
	RP_TABLE_WITHDRAW,
	/* A TLB flush is about to interrupt the CPUs in .mask and wait for
	 * each (0: it waits for no CPU's interrupts-off section). */
	RP_TLB_FLUSH_BEGIN,
	RP_TLB_FLUSH_END,
	/* tlb_remove_table_sync_one() is about to wait for the CPUs in .mask
	 * (0: it is empty in this profile). */
	RP_TABLE_SYNC_BEGIN,
	RP_TABLE_SYNC_END,
	/* An unlinked page table was handed to the mmu_gather (.pte_table,
	 * .how: enum table_free_how). */
	RP_TABLE_GATHERED,
	/* A batch of tables was handed to call_rcu(): they are freed after a
	 * grace period that begins now. */
	RP_TABLE_RCU_HANDOFF,
	/* A page table is about to be freed (.pte_table, any level; .how). */
	RP_TABLE_FREE,
	/* A zap of a huge PMD withdrew a deposited PTE table and frees it
	 * (.pte_table; .how: TABLE_FREE_DIRECT, or TABLE_FREE_RCU in the
	 * zap-rcu generation): zap_deposited_table(). */
	RP_ZAP_DEPOSITED_FREE,
	/* gup_fast turned interrupts off; next it walks. */
	RP_GUP_FAST_SECTION_BEGIN,
	/* An IPI request (.csd) is about to be queued for CPU .cpu. */
	RP_IPI_SENT,
	/* The IPI signal found its CPU with interrupts off: held back until
	 * the section ends (in the signal handler). */
	RP_IPI_DEFERRED,
	/* The target is about to run the request .csd, and has run it (in
	 * interrupt context: the signal handler or local_irq_restore()). */
	RP_IPI_TAKEN,
	RP_IPI_DONE,
	/* A grace period is over: the RCU callback that frees the batch of
	 * tables in .page runs now (on liburcu's call_rcu thread). */
	RP_TABLE_RCU_CALLBACK,
	/* A frame (.page, with its new generation) was allocated as a .how
	 * (enum page_type). */
	RP_FRAME_ALLOC,
	/* A PMD entry (.pmdp; in hugetlb, in the PMD table .pmd_table) was
	 * written: .pmd is its new value (0: cleared). */
	RP_PMD_WRITE,
	/* A pin of .page is about to be dropped (unpin_user_pages()). */
	RP_UNPIN,
	/* An unsharer lets go of a hugetlb PMD table it unshared (.pmd_table)
	 * as it drops the i_mmap lock: from now on the other sharers may
	 * change it. */
	RP_UNSHARE_HANDOVER,
	/* free_pgtables() cleared a PUD entry (.pmdp, old value .pmd) that
	 * named a PMD table (.pmd_table) it frees next, the way the
	 * architecture frees PMD tables (profile.upper_table_free). */
	RP_PUD_UNLINKED,
	/* gup_fast read a present, accessible entry (.pte, or a huge .pmd)
	 * whose PFN is no frame's, in the table .pte_table (a PMD leaf's:
	 * .pmd_table): no live table holds one. The kernel goes on to
	 * pte_page()/pmd_page() (its VM_BUG_ON() needs DEBUG_VM); ptlab
	 * cannot follow it, stops, and the lab reports it. */
	RP_GUP_FAST_BAD_PFN,
	/* mremap moved a whole table (move_normal_pmd()): the PMD entry
	 * .pmdp, in the PMD table .pmd_table, held .pmd naming the PTE table
	 * .pte_table and is cleared; the new entry is populated with the
	 * same table next. The table is not freed. */
	RP_PMD_MOVED,
	/* The same one level up (move_normal_pud()): the PUD entry .pmdp
	 * held .pmd naming the PMD table .pmd_table. */
	RP_PUD_MOVED,
	RACE_POINT_COUNT,
};

/* How a page table is (to be) freed: which wait, if any, precedes it. */
enum table_free_how {
	TABLE_FREE_DIRECT,   /* at once, no wait: pte_free() (zap_deposited_table()),
			      * pmd_free()/pud_free() (free_pgtables() where the
			      * architecture frees upper tables at once) */
	TABLE_FREE_GATHER,   /* after the mmu_gather's TLB flush, no RCU */
	TABLE_FREE_RCU,      /* after an RCU grace period (tlb_remove_table()) */
	TABLE_FREE_ONE,      /* tlb_remove_table_one(): after the sync IPI */
	TABLE_FREE_TEARDOWN, /* the mm's last user is gone (exit_mmap()) */
};

/* What the protocol code knows at a point; unused fields are zero. */
struct race_ctx {
	/* The function the point is in (RACE_POINT() sets it): ptlab's
	 * functions are named after the kernel's they mirror. */
	const char *fn;
	uint64_t addr;
	uint64_t pmd;              /* the PMD value read (or cleared) */
	uint64_t pte;              /* the PTE value read */
	const void *pmdp;          /* the PMD slot */
	struct page *pmd_table;    /* the table holding the PMD slot */
	struct page *pte_table;    /* the PTE table the PMD names */
	struct page *page;         /* the page referenced */
	uint64_t mask;             /* CPUs a flush or sync waits for */
	unsigned int how;          /* enum table_free_how */
	unsigned int nr_pages;     /* collapse: pages isolated/copied */
	struct page *const *pages; /* collapse: those pages */
	const void *csd;           /* IPI: the request */
	int cpu;                   /* IPI sent: the target CPU */
};

typedef void (*race_hook_fn)(enum race_point rp, const struct race_ctx *ctx);

extern _Atomic(race_hook_fn) ptlab_race_hook;

/* Installs (or, with NULL, removes) the hook; returns the previous one. */
race_hook_fn race_hook_set(race_hook_fn fn);
const char *race_point_name(enum race_point rp);
/* "gup-pmd-read, gup-pte-read, ..." into @buf (for error messages). */
void race_point_names(char *buf, size_t len);

static inline race_hook_fn race_hook_get(void)
{
	return atomic_load_explicit(&ptlab_race_hook, memory_order_relaxed);
}

/* A race point with a hook loaded earlier (gup_fast loads it once per
 * call: a hook installed meanwhile takes effect at the next call). */
#define RACE_POINT_AT(hook, rp, ...)                                         \
	do {                                                                 \
		race_hook_fn _hook = (hook);                                 \
		if (__builtin_expect(_hook != 0, 0)) {                       \
			struct race_ctx _ctx = { .fn = __func__, __VA_ARGS__ }; \
			_hook((rp), &_ctx);                                  \
		}                                                            \
	} while (0)

#define RACE_POINT(rp, ...) RACE_POINT_AT(race_hook_get(), rp, __VA_ARGS__)

#endif /* PTLAB_RACE_H */
