/* SPDX-License-Identifier: MIT */
/*
 * Physical memory: a pool of 4 KiB frames in one mapping, a struct page per
 * frame (mirrors struct page / struct folio and mm/page_alloc.c).
 *
 * Frames are freed poisoned with PAGE_POISON and reused LIFO, so a freed
 * page-table frame is soon something else: that reuse is what makes the
 * races of the lab real. Every access to frame memory is a C11 atomic
 * (frame_*() below), because lockless walkers may read any frame at any
 * time, exactly as the kernel's walkers may read freed memory that stays
 * mapped.
 */
#ifndef PTLAB_PAGE_H
#define PTLAB_PAGE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ptlab/barrier.h"
#include "ptlab/lock_types.h"
#include "ptlab/types.h"

/* What a frame currently is. */
enum page_type {
	PAGE_TYPE_FREE,
	PAGE_TYPE_PGTABLE,   /* a page table of any level */
	PAGE_TYPE_ANON,      /* an order-0 anonymous page */
	PAGE_TYPE_THP_HEAD,  /* first frame of a 2 MiB compound page */
	PAGE_TYPE_THP_TAIL,  /* the other 511 frames */
	PAGE_TYPE_KERNEL,    /* internal use (mmu_gather batch pages) */
	PAGE_TYPE_COUNT,
};

/* Written over every freed frame; as a PTE it reads present with a pfn far
 * outside the pool, so a walker of a freed table cannot mistake it for a
 * mapping. */
#define PAGE_POISON 0x6b6b6b6b6b6b6b6bULL
/* Steps of struct page's pt_deposit_seq (below). */
#define PT_SEQ_DEPOSIT 1U
#define PT_SEQ_HANDOVER (1U << 16)

#define PFN_NONE UINT32_MAX

/* page flags (page->flags) */
#define PG_dirty 0x1U

/*
 * A frame's descriptor, one 64-byte line. Fields read by lockless walkers
 * are atomics; each says who writes it.
 */
struct __attribute__((aligned(64))) page {
	/*
	 * References (page_ref_count()); meaningful on order-0 pages and on
	 * THP heads (tails keep 0, their folio is the head). 0 means free:
	 * lockless walkers take references with get-unless-zero. Mapping
	 * references are taken under the page-table lock that maps the page.
	 */
	atomic_int refcount;
	/* Page-table entries mapping this frame (PTE mappings; a THP's PMD
	 * mappings count in entire_mapcount of its head). Changed under the
	 * page-table lock of the entry. */
	atomic_int mapcount;
	/* THP head: PMD mappings of the whole folio; under the PMD lock. */
	atomic_int entire_mapcount;
	union {
		/* THP head: FOLL_PIN count (order-0 pages count pins in
		 * refcount with GUP_PIN_COUNTING_BIAS instead). */
		atomic_int pincount;
		/* A hugetlb PMD table: the processes sharing it beyond the
		 * first (the kernel's ptdesc pt_share_count); changed under
		 * the mapped file's i_mmap lock (src/hugetlb.c). */
		atomic_int pt_share_count;
	};
	/* Bumped with release each time the frame is freed; read (acquire)
	 * by the lab's detectors to tell a reused frame from the one a walker
	 * started with. */
	atomic_uint generation;
	/* The compound head's pfn (this frame's own pfn when order-0): set
	 * before the frame is published, read locklessly by page_folio(). */
	_Atomic uint32_t head;
	/* enum page_type; set by the allocator and the table/anon
	 * constructors before the frame is published. */
	_Atomic uint8_t type;
	/* PG_* bits; atomic OR/AND. */
	_Atomic uint8_t flags;
	/* Page-table pages: the split page-table lock of this table
	 * (pte_lockptr() for a PTE table, pmd_lockptr() for a PMD table). */
	spinlock_t ptl;
	union {
		/* While a page table: */
		struct {
			/* PMD tables: head of the deposited-table list
			 * (pmd_huge_pte()), a pfn or PFN_NONE; under this
			 * table's ptl. */
			uint32_t pmd_huge_pte;
			/* A deposited PTE table in the list style: its
			 * neighbours on the ring of deposited tables (the
			 * kernel's page->lru), pfns; under the ptl of the PMD
			 * table it hangs on. */
			uint32_t deposit_next, deposit_prev;
		};
		/* While free: free-list links (pfns), under the allocator's
		 * lock. */
		struct {
			uint32_t free_prev, free_next;
		};
	};
	/* Detector marks, written under the PMD lock (deposits) or the
	 * hugetlb file's i_mmap lock (unshares) with relaxed load + store
	 * (no read-modify-write: on x86 a locked instruction is a full
	 * fence, which would hide reorderings); read relaxed by detectors.
	 * + PT_SEQ_DEPOSIT when an in-table deposit writes list links into
	 * this table, and again when the withdraw clears them (odd while the
	 * table holds non-PTE data); + PT_SEQ_HANDOVER when a process stops
	 * sharing this hugetlb PMD table (it becomes another process's). */
	atomic_uint pt_deposit_seq;
	/*
	 * Anonymous pages: the mm and virtual address the page was mapped at
	 * when it was faulted in or collapsed (page->mapping/index). Set
	 * before the mapping is published; read by detectors.
	 */
	_Atomic uint32_t mm_id;
	_Atomic uint64_t index;
};

/* GUP_PIN_COUNTING_BIAS: what one FOLL_PIN adds to an order-0 page. */
#define GUP_PIN_COUNTING_BIAS 1024

/* The pool (set up by ptlab_init()). */
extern uint8_t *ptlab_pool_base;
extern struct page *ptlab_pages;
extern uint32_t ptlab_nr_frames;

static inline bool pfn_valid(uint64_t pfn)
{
	return pfn < ptlab_nr_frames;
}

static inline struct page *pfn_to_page(uint64_t pfn)
{
	return &ptlab_pages[pfn];
}

static inline uint32_t page_to_pfn(const struct page *page)
{
	return (uint32_t)(page - ptlab_pages);
}

static inline void *page_address(const struct page *page)
{
	return ptlab_pool_base + ((size_t)page_to_pfn(page) << PAGE_SHIFT);
}

/* The frame holding a kernel virtual address inside the pool. */
static inline struct page *virt_to_page(const void *addr)
{
	return pfn_to_page((size_t)((const uint8_t *)addr - ptlab_pool_base) >>
			   PAGE_SHIFT);
}

static inline enum page_type page_type(const struct page *page)
{
	return (enum page_type)smp_load_acquire(&((struct page *)page)->type);
}

/* The folio a page belongs to: its THP head, or itself (page_folio()). */
static inline struct page *page_folio(const struct page *page)
{
	return pfn_to_page(smp_load_acquire(&((struct page *)page)->head));
}

static inline bool folio_test_large(const struct page *folio)
{
	return page_type(folio) == PAGE_TYPE_THP_HEAD;
}

/* A THP's head or tail (PageCompound()). A frame of any other type is an
 * order-0 folio of its own: its head is its own pfn whenever its type
 * says so (the allocator and the free path write head before type). */
static inline bool page_compound(const struct page *page)
{
	enum page_type t = page_type(page);

	return t == PAGE_TYPE_THP_HEAD || t == PAGE_TYPE_THP_TAIL;
}

/*
 * page_folio() for the fast paths: an order-0 page is its own folio, known
 * from its type without following head (one dependent load less). Sets
 * *large for a THP's pages.
 */
static inline struct page *page_folio_fast(struct page *page, bool *large)
{
	*large = page_compound(page);
	return *large ? page_folio(page) : page;
}

/*
 * How many entries of @pages from @i on (below @n) are pages of @folio,
 * the folio of pages[@i] (the run gup_folio_next() finds, so that a run
 * is unpinned at once): one for an order-0 folio; for a THP, the entries
 * that point into its struct pages, compared as addresses without loading
 * them.
 */
static inline unsigned long folio_run(struct page *const *pages, unsigned long i,
				      unsigned long n, const struct page *folio, bool large)
{
	unsigned long j = i + 1;

	if (large)
		while (j < n && pages[j] >= folio && pages[j] < folio + HPAGE_PMD_NR)
			j++;
	return j - i;
}

static inline int page_ref_count(const struct page *page)
{
	return atomic_load_explicit(&((struct page *)page)->refcount,
				    memory_order_seq_cst);
}

static inline unsigned int page_generation(const struct page *page)
{
	return smp_load_acquire(&((struct page *)page)->generation);
}

/* Reference counting on folios (mirrors include/linux/page_ref.h). */
void get_page(struct page *page);

/* Adds @refs unless the count is 0 (folio_ref_try_add_rcu()); a seq_cst
 * RMW on success, the full barrier of the kernel's atomic_add_unless(). */
static inline bool page_ref_add_unless_zero(struct page *folio, int refs)
{
	int c = READ_ONCE(folio->refcount);

	do {
		if (c <= 0)
			return false;
	} while (!atomic_compare_exchange_weak_explicit(&folio->refcount, &c, c + refs,
							memory_order_seq_cst,
							memory_order_relaxed));
	return true;
}

/* The last references went: frees the folio (or reports an underflow). */
void folio_put_last(struct page *folio, int old, int refs);

/* Drops @refs; the last one frees the folio (folio_put_refs()). Release
 * so the freeing thread sees every access made under the references,
 * acquire for the one that frees. */
static inline void folio_put_refs(struct page *folio, int refs)
{
	int old = atomic_fetch_sub_explicit(&folio->refcount, refs, memory_order_acq_rel);

	if (__builtin_expect(old <= refs, 0))
		folio_put_last(folio, old, refs);
}

void put_page(struct page *page);

/*
 * Where an allocation is made: each protocol call site tags its one
 * allocation call with its path, as the kernel's fail_page_alloc can be
 * aimed at call sites. Failure injection and its counts go by path, so a
 * soak can show that every fallback ran. A new call site adds a name here
 * and in alloc_path_name() and passes its tag.
 */
enum alloc_path {
	ALLOC_PATH_OTHER,        /* untagged: alloc_page(), alloc_huge_page() */
	ALLOC_PATH_TABLES,       /* page tables: the PGD, __pud_alloc() and
				  * __pmd_alloc(), __pte_alloc() */
	ALLOC_PATH_PAGES,        /* do_anonymous_page()'s page */
	ALLOC_PATH_THP_FAULT,    /* do_huge_pmd_anonymous_page()'s huge page */
	ALLOC_PATH_THP_COLLAPSE, /* collapse_huge_page()'s huge page */
	ALLOC_PATH_RCU_BATCH,    /* tlb_remove_table()'s batch page */
	ALLOC_PATH_DEPOSIT,      /* the table do_huge_pmd_anonymous_page()
				  * deposits */
	ALLOC_PATH_COUNT,
};
/* "other", "tables", "pages", "thp_fault", "thp_collapse", "rcu_batch",
 * "deposit"; "?" for anything else. */
const char *alloc_path_name(enum alloc_path path);

/*
 * Allocation (mirrors alloc_pages(), 6.12). @type is what the frame
 * becomes (PGTABLE, ANON or KERNEL); the frame comes back zeroed with
 * refcount 1. NULL when the pool is exhausted, a failure was injected on
 * @path, or @type or @path is unknown.
 */
struct page *alloc_page_tagged(enum page_type type, enum alloc_path path);
/* A zeroed 2 MiB compound page: head returned, refcount 1. */
struct page *alloc_huge_page_tagged(enum alloc_path path);
/* The same, untagged (ALLOC_PATH_OTHER). */
struct page *alloc_page(enum page_type type);
struct page *alloc_huge_page(void);

/*
 * Failure injection (the kernel's fail_page_alloc): allocations on the
 * paths in @path_mask fail with @probability (0..1) and/or every @nth
 * (0 = never, counted over all those paths). Returns -EINVAL for a
 * probability outside [0,1] or an unknown path bit. Pass a zero mask to
 * stop. May be called while CPUs allocate: they see the change at once or
 * a little later.
 */
#define FAIL_ALLOC_PATH(p) (1U << (p))
#define FAIL_ALLOC_ALL_PATHS ((1U << ALLOC_PATH_COUNT) - 1)
int fail_alloc_set(unsigned int path_mask, double probability, unsigned long nth);

struct page_alloc_stats {
	uint64_t nr_frames;
	uint64_t nr_free;
	uint64_t by_type[PAGE_TYPE_COUNT];  /* frames currently of each type */
	uint64_t allocs, frees, failures, injected_failures;
	/* Per path: allocations asked for, and failures injected. */
	uint64_t path_attempts[ALLOC_PATH_COUNT];
	uint64_t path_injected[ALLOC_PATH_COUNT];
};
void page_alloc_get_stats(struct page_alloc_stats *out);

/* Frame memory, always through atomics (see the top of this file). */
static inline uint64_t frame_load64(const struct page *page, unsigned int idx)
{
	return READ_ONCE(*((_Atomic uint64_t *)page_address(page) + idx));
}

static inline void frame_store64(struct page *page, unsigned int idx, uint64_t v)
{
	WRITE_ONCE(*((_Atomic uint64_t *)page_address(page) + idx), v);
}

/* Bytes of a page: the data accesses of user memory and of pins. Returns
 * -EINVAL when [off, off+len) leaves the page. */
int page_read(const struct page *page, size_t off, void *buf, size_t len);
int page_write(struct page *page, size_t off, const void *buf, size_t len);
/* Copies a whole frame (copy_user_highpage()). */
void frame_copy(struct page *dst, const struct page *src);
void frame_fill(struct page *page, uint64_t pattern);

#endif /* PTLAB_PAGE_H */
