/* SPDX-License-Identifier: MIT */
/*
 * Transparent huge pages: collapse (mirrors mm/khugepaged.c), split and
 * the khugepaged thread. Faults in a VM_HUGEPAGE mapping get a THP
 * directly; ranges populated with small pages are collapsed by
 * hpage_collapse() or by khugepaged.
 */
#ifndef PTLAB_HUGE_H
#define PTLAB_HUGE_H

#include <stdbool.h>
#include <stdint.h>

#include "ptlab/mm.h"

/* Outcome of a collapse attempt (the kernel's enum scan_result). */
enum scan_result {
	SCAN_SUCCEED,
	SCAN_VMA_NULL,             /* no mapping at the address */
	SCAN_VMA_CHECK,            /* mapping not eligible (no VM_HUGEPAGE) or
				    * not covering the whole 2 MiB */
	SCAN_PMD_NULL,             /* no page-table levels down to the PMD */
	SCAN_PMD_NONE,             /* nothing populated under the PMD */
	SCAN_PMD_MAPPED,           /* already a huge PMD */
	SCAN_EXCEED_NONE_PTE,      /* more missing PTEs than max_ptes_none */
	SCAN_PAGE_COUNT,           /* a page has references beyond its
				    * mappings (a GUP pin) */
	SCAN_PAGE_RO,              /* no PTE of the range is writable */
	SCAN_ALLOC_HUGE_PAGE_FAIL, /* no 2 MiB block free */
	SCAN_ALLOC_TABLE_FAIL,     /* no frame for the table to deposit
				    * (the "fresh" collapse generation) */
	SCAN_PAGE_NULL,            /* no folio in the file at that offset */
	SCAN_FAIL,                 /* a PTE maps something else than the
				    * file's folio there, or the PMD
				    * changed meanwhile */
	SCAN_RESULT_COUNT,
};
const char *scan_result_name(enum scan_result r);

/*
 * Collapses the 2 MiB range at @addr of @mm into one THP if it may
 * (khugepaged's hpage_collapse_scan_pmd() then collapse_huge_page()).
 * Returns an enum scan_result, or -EINVAL (NULL @mm, @addr not 2 MiB
 * aligned or outside user space) or -EPERM (not a CPU / interrupts off).
 * On any refusal the range is left exactly as it was.
 */
int hpage_collapse(struct mm_struct *mm, uint64_t addr);

/*
 * Retracts the PTE table of the 2 MiB range at @addr of @mm, a shmem
 * mapping (ptlab/shmem.h) whose file holds one huge folio there, and, with
 * @install_pmd, maps the folio by a huge PMD instead (khugepaged's
 * collapse_pte_mapped_thp(); @install_pmd as MADV_COLLAPSE, else the PMD
 * is left none and the next fault maps it again). How is the machine's
 * retraction generation (ptlab_kernel.retract): RETRACT_FREE, under
 * mmap_lock and the file's i_mmap lock for write, the PTEs left in the
 * table, then pmdp_collapse_flush(), tlb_remove_table_sync_one() with the
 * ipi-sync fix, and pte_free() at once; RETRACT_DEFER, under mmap_lock for
 * read, the PTEs cleared, then pmdp_collapse_flush(),
 * pmdp_get_lockless_sync() and pte_free_defer(). Returns an enum
 * scan_result (SCAN_SUCCEED; SCAN_PMD_MAPPED when the PMD is huge
 * already; SCAN_VMA_NULL, SCAN_VMA_CHECK for a range no shmem mapping
 * covers whole; SCAN_PMD_NULL; SCAN_PAGE_NULL when the file has no folio
 * there; SCAN_FAIL when a PTE maps another page), or -EINVAL (NULL @mm,
 * @addr not 2 MiB-aligned or outside user space) or -EPERM (not a CPU /
 * interrupts off). On a refusal the range is left as it was.
 */
int collapse_pte_mapped_thp(struct mm_struct *mm, uint64_t addr, bool install_pmd);

/* Splits the huge PMD mapping @addr, if any, into 512 PTEs of its
 * subpages (split_huge_pmd()); a file THP's is cleared, as the kernel's.
 * 0, -EINVAL or -EPERM. */
int split_huge_pmd_at(struct mm_struct *mm, uint64_t addr);

struct khugepaged_config {
	/* Pause between two passes over the registered mms, microseconds
	 * (0..10^7). */
	unsigned int scan_sleep_us;
	/* Missing PTEs a range may have and still be collapsed (0..511);
	 * khugepaged's max_ptes_none. */
	unsigned int max_ptes_none;
};

/*
 * Starts the khugepaged thread (a CPU of its own), scanning every mm that
 * has a VM_HUGEPAGE mapping. -EINVAL for a bad config, -EBUSY when
 * running, -ENOSPC when no CPU slot is left. Start and stop are called
 * from one controlling thread.
 */
int khugepaged_start(const struct khugepaged_config *cfg);
/* Stops it and waits for it; a no-op when it is not running. */
void khugepaged_stop(void);

struct khugepaged_stats {
	unsigned long long full_scans;     /* passes over all mms */
	unsigned long long scanned;        /* 2 MiB ranges looked at */
	unsigned long long collapsed;
	unsigned long long refused_pinned; /* SCAN_PAGE_COUNT */
	unsigned long long refused_other;  /* any other refusal */
};
void khugepaged_get_stats(struct khugepaged_stats *out);

#endif /* PTLAB_HUGE_H */
