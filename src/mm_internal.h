/* SPDX-License-Identifier: MIT */
/* The mm_struct and the machine-internal memory-management interfaces. */
#ifndef PTLAB_MM_INTERNAL_H
#define PTLAB_MM_INTERNAL_H

#include <stdatomic.h>

#include "lock.h"
#include "ptlab/hugetlb.h"
#include "ptlab/mm.h"
#include "ptlab/pgtable.h"
#include "ptlab/race.h"
#include "ptlab/shmem.h"

struct mmu_gather;

struct hugetlb_file;
struct shmem_file;

/* VMA flags ptlab sets itself (never from the API's vm_flags). */
#define VM_HUGETLB 0x100UL   /* a hugetlbfs mapping: vm_file is set */
#define VM_SHARED  0x200UL   /* MAP_SHARED (VM_MAYSHARE as well) */

/* One mapping (mirrors vm_area_struct); [vm_start, vm_end) page-aligned. */
struct vm_area_struct {
	uint64_t vm_start, vm_end;
	unsigned long vm_flags;
	/* A file mapping's file (the kernel's vm_file: ptlab's two kinds of
	 * file each have their field, at most one set), and the file offset
	 * of vm_start (bytes; the kernel's vm_pgoff). Both NULL for
	 * anonymous memory. */
	struct hugetlb_file *vm_file;
	struct shmem_file *vm_shmem;
	uint64_t vm_off;
};

static inline bool is_vm_hugetlb(const struct vm_area_struct *vma)
{
	return vma->vm_flags & VM_HUGETLB;
}

static inline bool is_vm_shmem(const struct vm_area_struct *vma)
{
	return vma->vm_shmem != NULL;
}

/* The file a VMA maps, whichever kind, or NULL (anonymous memory). */
static inline const void *vma_file(const struct vm_area_struct *vma)
{
	return vma->vm_file ? (const void *)vma->vm_file : (const void *)vma->vm_shmem;
}

/* Whether a page is anonymous memory rather than a file's
 * (folio_test_anon()): a file's pages carry their file's owner id,
 * written before they are first mapped. */
static inline bool folio_test_anon(struct page *page)
{
	return !(READ_ONCE(page->mm_id) & (HUGETLB_OWNER_BIT | SHMEM_OWNER_BIT));
}

/*
 * The mappings of a file (the kernel's address_space: its i_mmap tree and
 * i_mmap_rwsem). @rwsem, the file's i_mmap lock, protects @maps; who
 * else takes it for what is said by each kind of file (src/hugetlb.c,
 * src/shmem.c). Taken inside mmap_lock.
 */
struct file_map {
	struct mm_struct *mm;
	uint64_t start, end, off;
};

struct i_mmap {
	struct rw_semaphore rwsem;
	struct file_map *maps;
	int nr, cap;
	/* A mapping could not be recorded (no host memory): the file counts
	 * as mapped for good. */
	bool unrecorded;
};
void i_mmap_init(struct i_mmap *im);
void i_mmap_free(struct i_mmap *im);
/* Whether any mm maps the file (takes the lock for read). */
bool i_mmap_mapped(struct i_mmap *im);

/*
 * A file whose pages are 2 MiB each (a hugetlb file's huge pages, a shmem
 * file's PMD-sized folios): its page cache and its mappings
 * (src/file_pages.c). @id and @size are set at creation, before the file
 * is shared; @lock (the kernel's i_pages lock) protects @pages, each NULL
 * until first use; @i_mmap has its own lock.
 */
struct file_pages {
	uint32_t id;              /* unique among the files of one @owner_bit */
	uint32_t owner_bit;       /* page->mm_id of the file's pages: @owner_bit | @id */
	uint64_t size;            /* bytes, a multiple of HPAGE_PMD_SIZE */
	spinlock_t lock;
	struct page **pages;      /* per 2 MiB of the file, or NULL */
	struct i_mmap i_mmap;
};
/* 0, or -EINVAL (@size not a positive multiple of 2 MiB up to @max) or
 * -ENOMEM. @next_id hands out the ids of one kind of file. */
int file_pages_init(struct file_pages *fp, uint64_t size, uint64_t max, uint32_t owner_bit,
		    atomic_uint *next_id);
/* -EBUSY while an mm maps the file; else drops the page cache's
 * reference on each page, frees the cache and returns 0. */
int file_pages_release(struct file_pages *fp);
/* The page at @off, or NULL if it was never used. */
struct page *file_pages_lookup(struct file_pages *fp, uint64_t off);
/* The page at @off, allocated, named (owner and file offset of each 4 KiB
 * page) and recorded on first use; the cache holds one reference. NULL
 * when no 2 MiB block is free. */
struct page *file_pages_get(struct file_pages *fp, uint64_t off);

struct mm_struct {
	/* The PGD table; set by mm_create(), freed by mm_destroy(). */
	struct page *pgd;
	uint32_t id;
	/*
	 * mmap_lock: held for read by the fault path, GUP's slow path,
	 * khugepaged's scan, split, MADV_DONTNEED and munmap's teardown (it
	 * downgrades after detaching the VMAs); for write by mmap, munmap's
	 * VMA changes, MADV_HUGEPAGE, collapse and mm_destroy(). It protects
	 * the VMA array (changed under write only) and excludes collapse from
	 * everything else. Page-table changes under read are serialized by the
	 * page-table locks. GUP's fast path and the hardware walker never
	 * take it.
	 */
	struct rw_semaphore mmap_lock;
	/* Serializes populating PGD and PUD entries (mm->page_table_lock in
	 * __pud_alloc()/__pmd_alloc()); taken under mmap_lock. */
	spinlock_t page_table_lock;
	/* The hugetlb VMA lock of every hugetlb VMA of the mm (the kernel
	 * has one per shareable VMA): read by hugetlb faults, write by
	 * unmap_hugepage_range(); see src/hugetlb.c. */
	struct rw_semaphore hugetlb_vma_lock;
	/* VMAs sorted by address; under mmap_lock. */
	struct vm_area_struct *vmas;
	int nr_vmas, cap_vmas;
	/*
	 * mm_cpumask(): a CPU sets its bit in use_mm() (seq_cst RMW and a
	 * smp_mb()) before it walks the mm, and clears it in unuse_mm()
	 * after its TLB is empty. Flushers read it (seq_cst) after changing
	 * entries with seq_cst exchanges: either they see the bit, or the
	 * CPU's walks after its fence see the changed entries.
	 */
	_Atomic cpumask_t cpumask;
	/*
	 * x86's global ASID (INVLPGB profiles): set once, by an IPI flush
	 * that finds the mm active on profile.broadcast_min_cpus CPUs
	 * (consider_global_asid()), and never cleared; from then on its
	 * flushes are broadcasts. Read (relaxed) by flushers: one that misses
	 * it sends IPIs, which is never less safe.
	 */
	atomic_bool global_asid;
	/* Counters (mm_get_stats()); relaxed, changed under the locks of
	 * the tables they count. (hugetlb entries are not counted per mm:
	 * a shared PMD table's entries belong to all its sharers; the stats
	 * count them by a walk.) */
	atomic_long nr_ptes, nr_pmds, nr_puds, nr_deposited, anon_rss, thp_mapped;
	/* shmem pages mapped by PTEs (MM_SHMEMPAGES; a file huge PMD counts
	 * in thp_mapped), changed under the PTE lock of the entry. */
	atomic_long shmem_rss;
	/* khugepaged's registration; under khugepaged's list lock. */
	bool khugepaged_registered;
};

/* Page-table locks. */
static inline spinlock_t *pmd_lockptr(struct pmd_slot *pmdp)
{
	return &pmd_table_page(pmdp)->ptl;
}
static inline spinlock_t *pmd_lock(struct pmd_slot *pmdp)
{
	spinlock_t *ptl = pmd_lockptr(pmdp);

	spin_lock(ptl);
	return ptl;
}
static inline spinlock_t *pte_lockptr(pmd_t pmd)
{
	return &pfn_to_page(pmd_pfn(pmd))->ptl;
}

/* mm.c */
struct vm_area_struct *find_vma(struct mm_struct *mm, uint64_t addr);
/* Maps [addr, addr+len) with @v's flags and file (mmap_region()), merging
 * with compatible neighbours; returns the address or -errno. */
int64_t mmap_region(struct mm_struct *mm, uint64_t addr, uint64_t len,
		    struct vm_area_struct v);
/* @mm's mappings of @vma's file changed (vma_link_file(),
 * unlink_file_vma()): records them again in the file's i_mmap, for
 * huge_pmd_share() and for shmem_file_destroy(). Caller holds mm's
 * mmap_lock. */
void vma_file_remap(const struct vm_area_struct *vma, struct mm_struct *mm);
/* Inserts @v ([vm_start, vm_end) set), merging it with compatible
 * neighbours; -EEXIST when it overlaps a VMA. Caller holds mmap_lock for
 * write. */
int vma_insert(struct mm_struct *mm, struct vm_area_struct v);
/* Index of the first VMA ending above @addr (nr_vmas if none). */
int vma_index(struct mm_struct *mm, uint64_t addr);
int vma_split_at(struct mm_struct *mm, uint64_t addr);
void vma_remove_range(struct mm_struct *mm, uint64_t start, uint64_t end);
/* Whether VMAs cover [start, end) without a hole. */
bool vma_range_mapped(struct mm_struct *mm, uint64_t start, uint64_t end);
/* Finds the PMD slot for @addr without allocating (mm_find_pmd()); NULL
 * when an upper level is missing. Caller holds mmap_lock. */
struct pmd_slot *mm_find_pmd(struct mm_struct *mm, uint64_t addr);
/* mm_get_stats() for a caller that holds mmap_lock (read or write). */
void __mm_get_stats(struct mm_struct *mm, struct mm_stats *out);
void unuse_mm_at_exit(void);
/* Checks that the caller is a CPU with interrupts on: 0 or -EPERM. */
int mm_caller_check(void);
/* [addr, addr+len) is user space: page-aligned, non-empty, no wrap, below
 * TASK_SIZE. */
bool user_range_ok(uint64_t addr, uint64_t len);

/* memory.c */
#define FAULT_FLAG_WRITE 0x1U
int handle_mm_fault(struct mm_struct *mm, struct vm_area_struct *vma,
		    uint64_t addr, unsigned int flags);
struct pmd_slot *pmd_alloc_walk(struct mm_struct *mm, uint64_t addr);
/* Populates the upper-level entry *slot with a new table unless it is
 * populated (__pud_alloc()/__pmd_alloc()), counting it in *counter. */
int upper_alloc(struct mm_struct *mm, _Atomic uint64_t *slot, atomic_long *counter);
int __pte_alloc(struct mm_struct *mm, struct pmd_slot *pmdp);
/* munmap() of [addr, addr+len) for a caller that holds mmap_lock for
 * write (do_vmi_munmap()), which is released on return; 0 or -errno. */
int do_munmap(struct mm_struct *mm, uint64_t addr, uint64_t len);
void page_add_anon_rmap(struct page *page, struct mm_struct *mm, uint64_t addr);
/* Zaps the @n VMAs @vmas, detached from @mm already (or all of them, at
 * exit), and unlinks them from their files. */
void unmap_vmas(struct mmu_gather *tlb, struct mm_struct *mm, const struct vm_area_struct *vmas,
		int n);
/* Zaps [start, end) inside one anonymous VMA; @reclaim_pt: PT_RECLAIM
 * frees the PTE tables left empty (MADV_DONTNEED). */
void unmap_region(struct mm_struct *mm, struct mmu_gather *tlb, uint64_t start,
		  uint64_t end, bool reclaim_pt);
void free_pgtables(struct mmu_gather *tlb, struct mm_struct *mm, uint64_t start,
		   uint64_t end, uint64_t floor, uint64_t ceiling);
/* A zeroed page table, allocated on @path (ALLOC_PATH_TABLES, or
 * ALLOC_PATH_DEPOSIT for a table deposited for a huge PMD). */
struct page *pte_alloc_one(struct mm_struct *mm, enum alloc_path path);
/* Frees a page table now (pte_free()); no walker may reach it. */
void pte_free(struct mm_struct *mm, struct page *table);

/* hugetlb.c */
/* The fault of a hugetlb VMA (hugetlb_fault()): 0 or -errno. */
int hugetlb_fault(struct mm_struct *mm, struct vm_area_struct *vma, uint64_t addr);
/* Zaps [start, end) of hugetlb VMA @vma, unsharing shared PMD tables
 * first (__unmap_hugepage_range()); caller holds mmap_lock. */
void unmap_hugepage_range(struct mmu_gather *tlb, struct mm_struct *mm,
			  struct vm_area_struct *vma, uint64_t start, uint64_t end);
/* The file's mappings. */
struct i_mmap *hugetlb_file_i_mmap(struct hugetlb_file *f);

/* shmem.c */
/* The fault of a shmem VMA (do_read_fault()/do_shared_fault() with
 * shmem_fault() and finish_fault()): 0 or -errno. */
int shmem_fault(struct mm_struct *mm, struct vm_area_struct *vma, uint64_t addr);
/* The file's folio holding offset @off (filemap_lock_folio(), without the
 * lock: see collapse_pte_mapped_thp()), or NULL when it has none yet. */
struct page *shmem_file_folio(struct shmem_file *f, uint64_t off);
struct i_mmap *shmem_file_i_mmap(struct shmem_file *f);

/* pt_reclaim.c */
/* Frees the PTE table of *pmdp (mapping [addr, addr + PMD_SIZE)) through
 * @tlb if every entry is none (try_to_free_pte()). */
void try_to_free_pte(struct mm_struct *mm, struct pmd_slot *pmdp, uint64_t addr,
		     struct mmu_gather *tlb);

/* pgtable_generic.c */
/* The PTE table of *pmdp, mapped and locked for @addr, the PMD re-checked
 * under the lock (pte_offset_map_lock()); NULL when the PMD names no PTE
 * table. An RCU read-side section lasts until pte_unmap_unlock(). Caller
 * holds mmap_lock (read is enough) and has interrupts on. */
struct pte_slot *pte_offset_map_lock(struct mm_struct *mm, struct pmd_slot *pmdp,
				     uint64_t addr, spinlock_t **ptlp);
void pte_unmap_unlock(struct pte_slot *ptep, spinlock_t *ptl);
/* Frees @table after an RCU grace period (pte_free_defer()). */
void pte_free_defer(struct mm_struct *mm, struct page *table);
/* The same, with @how for the lab's race point (tlb_remove_table_one()'s
 * PT_RECLAIM fallback). */
void pgtable_free_after_grace_period(struct page *table, enum table_free_how how);

/* huge_memory.c */
int do_huge_pmd_anonymous_page(struct mm_struct *mm, struct vm_area_struct *vma,
			       struct pmd_slot *pmdp, uint64_t addr);
/* false when the PMD is no longer huge (a split came first). */
bool zap_huge_pmd(struct mmu_gather *tlb, struct mm_struct *mm,
		  struct pmd_slot *pmdp, uint64_t addr);
void __split_huge_pmd(struct mm_struct *mm, struct pmd_slot *pmdp, uint64_t addr);
void pgtable_trans_huge_deposit(struct mm_struct *mm, struct pmd_slot *pmdp,
				struct page *pgtable);
struct page *pgtable_trans_huge_withdraw(struct mm_struct *mm, struct pmd_slot *pmdp);
/* How many tables hang on @pmd_table's deposit list, each link checked
 * both ways; -1 when the list is broken (a member that is no page table,
 * a link that does not lead back, more than @max members). Caller holds
 * the PMD table's lock. */
int pgtable_trans_huge_deposited(struct page *pmd_table, int max);
bool vma_thp_eligible(struct vm_area_struct *vma, uint64_t haddr);
void folio_add_new_anon_rmap(struct page *folio, struct mm_struct *mm, uint64_t haddr);

#endif /* PTLAB_MM_INTERNAL_H */
