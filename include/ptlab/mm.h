/* SPDX-License-Identifier: MIT */
/*
 * Address spaces (mirrors mm_struct, VMAs, the anonymous fault path,
 * munmap and user-memory access).
 *
 * Every function here must be called by a CPU (cpu_register()), with its
 * interrupts on: they take mmap_lock and may free page tables through
 * call_rcu(). Errors are negative errnos:
 *   -EINVAL  an address not page-aligned, a length of zero or one that
 *            overflows or leaves [0, TASK_SIZE), an unknown flag;
 *   -EFAULT  an address no mapping covers, or a write to a read-only one;
 *   -ENOMEM  the frame pool is exhausted;
 *   -EPERM   the caller is not a CPU;
 *   -EBUSY   the mm is still in use (mm_destroy());
 *   -EEXIST  a fixed mapping that overlaps an existing one.
 */
#ifndef PTLAB_MM_H
#define PTLAB_MM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ptlab/types.h"

struct mm_struct;

/* VMA flags */
#define VM_READ      0x1UL
#define VM_WRITE     0x2UL
#define VM_HUGEPAGE  0x4UL   /* MADV_HUGEPAGE: THP faults, khugepaged may collapse */
#define VM_FLAGS_ALL (VM_READ | VM_WRITE | VM_HUGEPAGE)

/* mm_madvise() advice */
#define MADV_DONTNEED   4
#define MADV_HUGEPAGE   14
#define MADV_NOHUGEPAGE 15

/* A new, empty address space; NULL (errno set) when no frame is left for
 * its PGD or the caller is not a CPU. */
struct mm_struct *mm_create(void);
/* Unmaps everything and frees the mm (exit_mmap()); -EBUSY while a CPU
 * still runs it. The caller guarantees that no thread use_mm()s it from
 * then on (as the kernel's last mmput()). */
int mm_destroy(struct mm_struct *mm);
/* A small number naming the mm in reports and in struct page. */
uint32_t mm_id(const struct mm_struct *mm);

/* Makes @mm the calling CPU's current mm (kthread_use_mm()): the CPU joins
 * mm_cpumask and may walk it. -EBUSY if it already runs another mm. */
int use_mm(struct mm_struct *mm);
/* Leaves the current mm: the TLB is emptied and the CPU leaves
 * mm_cpumask. -EINVAL when the CPU runs no mm. */
int unuse_mm(void);
/* The calling CPU's mm, or NULL. */
struct mm_struct *current_mm(void);
/* The CPUs that may be walking @mm (mm_cpumask()): empty where the
 * profile's architecture does not maintain the mask (arm64). */
cpumask_t mm_cpumask(const struct mm_struct *mm);

/*
 * An anonymous private mapping of @len bytes (page-aligned) with
 * @vm_flags (VM_READ, VM_WRITE, VM_HUGEPAGE). @addr 0 picks a free range
 * aligned to 2 MiB; otherwise the mapping is placed at @addr and must not
 * overlap another. Returns the address or -errno.
 */
int64_t mm_mmap(struct mm_struct *mm, uint64_t addr, uint64_t len,
		unsigned long vm_flags);
/* Unmaps [addr, addr+len) (munmap()): zaps the pages through an
 * mmu_gather and frees the page tables that became empty. Unmapping a
 * range with no mapping is not an error. */
int mm_munmap(struct mm_struct *mm, uint64_t addr, uint64_t len);
/*
 * mremap(old_addr, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, new_addr) of
 * an anonymous mapping: the pages move to [new_addr, new_addr+len) with
 * their page tables, whole tables where the profile moves them
 * (move_pmd, move_pud) and the extent is a whole aligned PMD or PUD, else
 * entry by entry; the old range is then unmapped. [old_addr, old_addr+len)
 * must lie in one anonymous VMA (-EFAULT where nothing is mapped, -EINVAL
 * for a file or hugetlb mapping or overlapping ranges); the new range
 * must be unmapped (-EEXIST: the kernel would unmap it first). -ENOMEM
 * when a table could not be allocated: nothing moved then.
 */
int mm_mremap(struct mm_struct *mm, uint64_t old_addr, uint64_t len, uint64_t new_addr);
/* MADV_HUGEPAGE / MADV_NOHUGEPAGE / MADV_DONTNEED on [addr, addr+len);
 * -EFAULT when the range has holes. */
int mm_madvise(struct mm_struct *mm, uint64_t addr, uint64_t len, int advice);
/*
 * madvise(MADV_DONTNEED): zaps the pages of [addr, addr+len) under
 * mmap_lock for read (huge PMDs through zap_huge_pmd(), which frees a
 * deposited table at once); the mapping stays and faults in zeroed pages
 * again. With the machine's kernel.pt_reclaim (CONFIG_PT_RECLAIM), a PTE
 * table left empty by a zap of a PMD-sized range or more is freed through
 * the mmu_gather. -EFAULT when the range has holes.
 */
int mm_madvise_dontneed(struct mm_struct *mm, uint64_t addr, uint64_t len);

/*
 * mincore(): vec[i] = 1 when page i of [addr, addr+len) is present, else
 * 0. It walks the PTE tables under mmap_lock for read with
 * pte_offset_map_lock(), as faults and madvise() do: an RCU walker.
 * -EFAULT when the range has holes (the kernel's -ENOMEM).
 */
int mm_mincore(struct mm_struct *mm, uint64_t addr, uint64_t len, unsigned char *vec);
/* Faults every page of [addr, addr+len) in, for writing if @write
 * (mm_populate()); -ENOMEM at the first fault that finds no free frame
 * (no retry: the caller decides, as the kernel's callers do). */
int mm_populate(struct mm_struct *mm, uint64_t addr, uint64_t len, bool write);

/*
 * User-memory access by the calling CPU in its current mm: each page
 * through the CPU's software TLB and, on a miss, a hardware-style walk;
 * missing or read-only pages are faulted in as the CPU would. A fault
 * that finds no free frame is retried, as the kernel's fault handler
 * returns to the access after pagefault_out_of_memory(); after 16 retries
 * on one page the access gives up with -ENOMEM (the bytes before
 * that page were accessed). -EFAULT for an address no mapping allows,
 * -EINVAL for a NULL buffer or a range that wraps, -ESRCH when the CPU
 * runs no mm.
 */
int user_read(uint64_t addr, void *buf, size_t len);
int user_write(uint64_t addr, const void *buf, size_t len);

struct vma_info {
	uint64_t start, end;
	unsigned long flags;
};
/* Copies up to @max VMAs in address order; returns how many exist. */
int mm_get_vmas(struct mm_struct *mm, struct vma_info *out, int max);

struct mm_stats {
	uint64_t pte_tables;   /* PTE tables of the mm, linked or deposited
				* (the kernel's nr_ptes) */
	uint64_t pmd_tables, pud_tables;
	uint64_t deposited;    /* PTE tables deposited for huge PMDs */
	uint64_t anon_pages;   /* anonymous pages mapped by PTEs */
	uint64_t shmem_pages;  /* shmem pages mapped by PTEs */
	uint64_t thp_mapped;   /* huge PMDs of THPs, anonymous or shmem */
	uint64_t hugetlb_mapped; /* hugetlb PMD entries */
};
void mm_get_stats(struct mm_struct *mm, struct mm_stats *out);

/* What mm_check_tables() found. */
struct mm_check_report {
	/* The counters, and what a walk of the tables found in their terms
	 * (linked PTE tables plus deposited ones in pte_tables, as nr_ptes). */
	struct mm_stats counted, found;
	/*
	 * Disagreements: a counter against the walk; a PMD table whose
	 * deposit list does not hold one table per huge PMD in it (or is
	 * broken); an entry neither empty nor present, or naming a frame of
	 * the wrong type; a mapped page whose mapcount is not the number of
	 * entries mapping it, or with fewer references than mappings; an
	 * entry in a range no VMA covers.
	 */
	uint64_t mismatches;
	/* Mapped pages (folios) with references beyond their mappings: pins
	 * or GUP references held while the walk ran (0 when nobody holds
	 * one: then every pinned page was unpinned). */
	uint64_t referenced;
	/* The first mismatch, else the first extra reference, in words ("" if
	 * none). */
	char first[200];
};

/*
 * Walks every table of @mm under mmap_lock for write and compares what it
 * finds with the mm's counters (the kernel's check_mm() at exit compares
 * the RSS counters and nr_ptes with zero; this does it at any time,
 * against the tables) and with each mapped page's counts. Exact for the
 * tables and counters, which only change under mmap_lock; references may
 * change meanwhile through GUP-fast. 0 with @out filled, -EINVAL (NULL
 * argument), -EPERM (not a CPU, or interrupts off), -ENOMEM (no host
 * memory for the walk).
 */
int mm_check_tables(struct mm_struct *mm, struct mm_check_report *out);

#endif /* PTLAB_MM_H */
