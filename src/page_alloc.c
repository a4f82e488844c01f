// SPDX-License-Identifier: MIT
/*
 * The frame allocator (mirrors mm/page_alloc.c, reduced to two orders).
 *
 * The pool is split into 2 MiB blocks. Free 4 KiB frames sit on one LIFO
 * list, so the frame freed last is handed out first (a freed page table is
 * reused at once, as the kernel's per-CPU page lists do). A huge page takes
 * a whole free block; when none is left, blocks whose 512 frames are all on
 * the small list are merged back first (a buddy merge done lazily, so that
 * LIFO reuse is not disturbed).
 *
 * Locking: zone_lock (spinlock_t) protects both free lists, the per-block
 * free counts and the statistics. Frames are poisoned and zeroed outside
 * it. A struct page's refcount decides when a frame is freed (put_page());
 * the allocator itself never looks at refcounts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "lock.h"
#include "machine.h"
#include "ptlab/page.h"
#include "ptlab/race.h"
#include "sanitizer.h"
#include "util/rand.h"

_Static_assert(sizeof(struct page) == 64, "struct page is one cache line");

uint8_t *ptlab_pool_base;
struct page *ptlab_pages;
uint32_t ptlab_nr_frames;

static struct {
	spinlock_t zone_lock;
	void *mapping;          /* what mmap() returned (base is aligned up) */
	size_t mapping_len;
	uint32_t nr_blocks;
	uint32_t small_head;    /* LIFO of free frames, PFN_NONE if empty */
	uint32_t block_head;    /* free blocks, linked through free_next */
	uint16_t *block_free;   /* per block: its frames on the small list */
	uint64_t nr_free;
	uint64_t by_type[PAGE_TYPE_COUNT];
	uint64_t allocs, frees, failures, injected;
	uint64_t path_attempts[ALLOC_PATH_COUNT], path_injected[ALLOC_PATH_COUNT];
} zone;

/* Failure injection, read locklessly by allocators (relaxed: a change
 * reaches them soon, and nothing is ordered by it). */
static atomic_uint fail_mask;
static _Atomic double fail_probability;
static atomic_ulong fail_nth;
static atomic_ulong fail_counter;
/* Bumped by each fail_alloc_set(): a thread whose coin was seeded in an
 * earlier epoch reseeds, so that each setting draws afresh (a thread's
 * TLS, hence its old seed, is reused by the next thread created). */
static atomic_ulong fail_epoch;

static void small_push(uint32_t pfn)
{
	struct page *p = pfn_to_page(pfn);

	p->free_prev = PFN_NONE;
	p->free_next = zone.small_head;
	if (zone.small_head != PFN_NONE)
		pfn_to_page(zone.small_head)->free_prev = pfn;
	zone.small_head = pfn;
	zone.block_free[pfn / HPAGE_PMD_NR]++;
}

static void small_unlink(uint32_t pfn)
{
	struct page *p = pfn_to_page(pfn);

	if (p->free_prev != PFN_NONE)
		pfn_to_page(p->free_prev)->free_next = p->free_next;
	else
		zone.small_head = p->free_next;
	if (p->free_next != PFN_NONE)
		pfn_to_page(p->free_next)->free_prev = p->free_prev;
	zone.block_free[pfn / HPAGE_PMD_NR]--;
}

static void block_push(uint32_t block)
{
	struct page *head = pfn_to_page(block * HPAGE_PMD_NR);

	head->free_next = zone.block_head;
	zone.block_head = block;
}

static uint32_t block_pop(void)
{
	uint32_t block = zone.block_head;

	if (block != PFN_NONE)
		zone.block_head = pfn_to_page(block * HPAGE_PMD_NR)->free_next;
	return block;
}

/* Splits a free block onto the small list, lowest frame on top. */
static bool split_block(void)
{
	uint32_t block = block_pop();

	if (block == PFN_NONE)
		return false;
	for (uint32_t i = HPAGE_PMD_NR; i-- > 0;)
		small_push(block * HPAGE_PMD_NR + i);
	return true;
}

/* Moves every block whose frames are all free back to the block list. */
static bool merge_blocks(void)
{
	bool merged = false;

	for (uint32_t b = 0; b < zone.nr_blocks; b++) {
		if (zone.block_free[b] != HPAGE_PMD_NR)
			continue;
		for (uint32_t i = 0; i < HPAGE_PMD_NR; i++)
			small_unlink(b * HPAGE_PMD_NR + i);
		block_push(b);
		merged = true;
	}
	return merged;
}

/* Failure injection's coin, one per thread, and the epoch it was seeded
 * in. */
static __thread uint64_t fail_rng;
static __thread unsigned long fail_rng_epoch;

static bool should_fail(enum alloc_path path)
{
	unsigned long nth, epoch;
	double p;

	if (!(atomic_load_explicit(&fail_mask, memory_order_relaxed) & FAIL_ALLOC_PATH(path)))
		return false;
	nth = atomic_load_explicit(&fail_nth, memory_order_relaxed);
	if (nth && (atomic_fetch_add_explicit(&fail_counter, 1, memory_order_relaxed) + 1) %
			   nth == 0)
		return true;
	p = atomic_load_explicit(&fail_probability, memory_order_relaxed);
	epoch = atomic_load_explicit(&fail_epoch, memory_order_relaxed);
	if (fail_rng_epoch != epoch) {
		fail_rng = rand_seed((uint64_t)(uintptr_t)&fail_rng, epoch);
		fail_rng_epoch = epoch;
	}
	return p > 0 && rand_unit(&fail_rng) < p;
}

int fail_alloc_set(unsigned int path_mask, double probability, unsigned long nth)
{
	if (!(probability >= 0.0 && probability <= 1.0))
		return -EINVAL;
	if (path_mask & ~FAIL_ALLOC_ALL_PATHS)
		return -EINVAL;
	atomic_store_explicit(&fail_mask, 0, memory_order_relaxed);
	atomic_store_explicit(&fail_probability, probability, memory_order_relaxed);
	atomic_store_explicit(&fail_nth, nth, memory_order_relaxed);
	atomic_store_explicit(&fail_counter, 0, memory_order_relaxed);
	atomic_fetch_add_explicit(&fail_epoch, 1, memory_order_relaxed);
	atomic_store_explicit(&fail_mask, path_mask, memory_order_relaxed);
	return 0;
}

const char *alloc_path_name(enum alloc_path path)
{
	static const char *const names[ALLOC_PATH_COUNT] = {
		[ALLOC_PATH_OTHER] = "other",
		[ALLOC_PATH_TABLES] = "tables",
		[ALLOC_PATH_PAGES] = "pages",
		[ALLOC_PATH_THP_FAULT] = "thp_fault",
		[ALLOC_PATH_THP_COLLAPSE] = "thp_collapse",
		[ALLOC_PATH_RCU_BATCH] = "rcu_batch",
		[ALLOC_PATH_DEPOSIT] = "deposit",
	};

	return (unsigned int)path < ALLOC_PATH_COUNT && names[path] ? names[path] : "?";
}

#ifdef PTLAB_TSAN
void frame_fill(struct page *page, uint64_t pattern)
{
	uint64_t *w = page_address(page);

	__tsan_ignore_thread_begin();
	for (unsigned int i = 0; i < PAGE_SIZE / 8; i++)
		w[i] = pattern;
	__tsan_ignore_thread_end();
}

void frame_copy(struct page *dst, const struct page *src)
{
	__tsan_ignore_thread_begin();
	memcpy(page_address(dst), page_address(src), PAGE_SIZE);
	__tsan_ignore_thread_end();
}
#else
void frame_fill(struct page *page, uint64_t pattern)
{
	_Atomic uint64_t *w = page_address(page);

	for (unsigned int i = 0; i < PAGE_SIZE / 8; i++)
		atomic_store_explicit(&w[i], pattern, memory_order_relaxed);
}

void frame_copy(struct page *dst, const struct page *src)
{
	_Atomic uint64_t *d = page_address(dst);
	_Atomic uint64_t *s = page_address(src);

	for (unsigned int i = 0; i < PAGE_SIZE / 8; i++)
		atomic_store_explicit(&d[i],
				      atomic_load_explicit(&s[i], memory_order_relaxed),
				      memory_order_relaxed);
}
#endif

int page_read(const struct page *page, size_t off, void *buf, size_t len)
{
	const uint8_t *src;
	uint8_t *dst = buf;

	if (!page || (!buf && len) || off > PAGE_SIZE || len > PAGE_SIZE - off)
		return -EINVAL;
	src = (const uint8_t *)page_address(page) + off;
	while (len) {
		if (len >= 8 && ((uintptr_t)src & 7) == 0) {
			uint64_t v = atomic_load_explicit((_Atomic uint64_t *)src,
							  memory_order_relaxed);
			memcpy(dst, &v, 8);
			src += 8, dst += 8, len -= 8;
		} else {
			*dst++ = atomic_load_explicit((_Atomic uint8_t *)src++,
						      memory_order_relaxed);
			len--;
		}
	}
	return 0;
}

int page_write(struct page *page, size_t off, const void *buf, size_t len)
{
	uint8_t *dst;
	const uint8_t *src = buf;

	if (!page || (!buf && len) || off > PAGE_SIZE || len > PAGE_SIZE - off)
		return -EINVAL;
	dst = (uint8_t *)page_address(page) + off;
	while (len) {
		if (len >= 8 && ((uintptr_t)dst & 7) == 0) {
			uint64_t v;

			memcpy(&v, src, 8);
			atomic_store_explicit((_Atomic uint64_t *)dst, v,
					      memory_order_relaxed);
			src += 8, dst += 8, len -= 8;
		} else {
			atomic_store_explicit((_Atomic uint8_t *)dst++, *src++,
					      memory_order_relaxed);
			len--;
		}
	}
	return 0;
}

/* Makes a just-allocated frame a fresh @type frame (outside the lock). */
static void prep_new_frame(struct page *p, enum page_type type, uint32_t head)
{
	ptlab_asan_unpoison(page_address(p), PAGE_SIZE);
	frame_fill(p, 0);
	atomic_store_explicit(&p->mapcount, 0, memory_order_relaxed);
	atomic_store_explicit(&p->entire_mapcount, 0, memory_order_relaxed);
	atomic_store_explicit(&p->pincount, 0, memory_order_relaxed);
	atomic_store_explicit(&p->flags, 0, memory_order_relaxed);
	atomic_store_explicit(&p->pt_deposit_seq, 0, memory_order_relaxed);
	atomic_store_explicit(&p->mm_id, 0, memory_order_relaxed);
	atomic_store_explicit(&p->index, 0, memory_order_relaxed);
	spin_lock_init(&p->ptl);
	p->pmd_huge_pte = PFN_NONE;
	p->deposit_next = PFN_NONE;
	p->deposit_prev = PFN_NONE;
	atomic_store_explicit(&p->head, head, memory_order_relaxed);
	atomic_store_explicit(&p->type, (uint8_t)type, memory_order_release);
	/* Release: a walker whose get-unless-zero sees this count sees the
	 * frame's new identity above. */
	atomic_store_explicit(&p->refcount, type == PAGE_TYPE_THP_TAIL ? 0 : 1,
			      memory_order_release);
}

/* Counts an attempt on @path and, when it failed, the failure (under
 * zone_lock). */
static void count_attempt(enum alloc_path path, bool failed, bool injected)
{
	zone.path_attempts[path]++;
	if (!failed)
		return;
	zone.failures++;
	zone.injected += injected;
	zone.path_injected[path] += injected;
}

struct page *alloc_page_tagged(enum page_type type, enum alloc_path path)
{
	uint32_t pfn = PFN_NONE;
	bool injected;
	struct page *p;

	if ((type != PAGE_TYPE_PGTABLE && type != PAGE_TYPE_ANON && type != PAGE_TYPE_KERNEL) ||
	    (unsigned int)path >= ALLOC_PATH_COUNT)
		return NULL;
	injected = should_fail(path);
	spin_lock(&zone.zone_lock);
	if (!injected && (zone.small_head != PFN_NONE || split_block())) {
		pfn = zone.small_head;
		small_unlink(pfn);
		zone.nr_free--;
		zone.by_type[PAGE_TYPE_FREE]--;
		zone.by_type[type]++;
		zone.allocs++;
	}
	count_attempt(path, pfn == PFN_NONE, injected);
	spin_unlock(&zone.zone_lock);
	if (pfn == PFN_NONE)
		return NULL;
	p = pfn_to_page(pfn);
	prep_new_frame(p, type, pfn);
	RACE_POINT(RP_FRAME_ALLOC, .page = p, .how = type);
	return p;
}

struct page *alloc_huge_page_tagged(enum alloc_path path)
{
	uint32_t block = PFN_NONE;
	bool injected;
	uint32_t head;

	if ((unsigned int)path >= ALLOC_PATH_COUNT)
		return NULL;
	injected = should_fail(path);
	spin_lock(&zone.zone_lock);
	if (!injected) {
		block = block_pop();
		if (block == PFN_NONE && merge_blocks())
			block = block_pop();
	}
	if (block != PFN_NONE) {
		zone.nr_free -= HPAGE_PMD_NR;
		zone.by_type[PAGE_TYPE_FREE] -= HPAGE_PMD_NR;
		zone.by_type[PAGE_TYPE_THP_HEAD]++;
		zone.by_type[PAGE_TYPE_THP_TAIL] += HPAGE_PMD_NR - 1;
		zone.allocs++;
	}
	count_attempt(path, block == PFN_NONE, injected);
	spin_unlock(&zone.zone_lock);
	if (block == PFN_NONE)
		return NULL;
	head = block * HPAGE_PMD_NR;
	/* Tails first: the head's release publishes the whole folio. */
	for (uint32_t i = 1; i < HPAGE_PMD_NR; i++)
		prep_new_frame(pfn_to_page(head + i), PAGE_TYPE_THP_TAIL, head);
	prep_new_frame(pfn_to_page(head), PAGE_TYPE_THP_HEAD, head);
	RACE_POINT(RP_FRAME_ALLOC, .page = pfn_to_page(head), .how = PAGE_TYPE_THP_HEAD);
	return pfn_to_page(head);
}

struct page *alloc_page(enum page_type type)
{
	return alloc_page_tagged(type, ALLOC_PATH_OTHER);
}

struct page *alloc_huge_page(void)
{
	return alloc_huge_page_tagged(ALLOC_PATH_OTHER);
}

/* Poisons a frame being freed and gives it a new generation (outside the
 * lock). */
static void poison_frame(struct page *p)
{
	enum page_type was = page_type(p);

	frame_fill(p, PAGE_POISON);
	if (was == PAGE_TYPE_PGTABLE)
		ptlab_asan_poison(page_address(p), PAGE_SIZE);
	atomic_store_explicit(&p->head, page_to_pfn(p), memory_order_relaxed);
	atomic_store_explicit(&p->type, PAGE_TYPE_FREE, memory_order_release);
	/* Release: a detector that sees the new generation sees the frame
	 * as free and poisoned. */
	atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
}

static void free_frame(struct page *p)
{
	enum page_type was = page_type(p);

	/* A free frame (or a THP's tail, which is never freed alone) freed
	 * again would go on the free list twice. */
	if (was == PAGE_TYPE_FREE || was == PAGE_TYPE_THP_TAIL)
		ptlab_bug("freeing a frame that is not allocated", page_to_pfn(p));
	poison_frame(p);
	spin_lock(&zone.zone_lock);
	small_push(page_to_pfn(p));
	zone.nr_free++;
	zone.by_type[was]--;
	zone.by_type[PAGE_TYPE_FREE]++;
	zone.frees++;
	spin_unlock(&zone.zone_lock);
}

static void free_huge(struct page *head)
{
	uint32_t pfn = page_to_pfn(head);

	for (uint32_t i = 0; i < HPAGE_PMD_NR; i++)
		poison_frame(pfn_to_page(pfn + i));
	spin_lock(&zone.zone_lock);
	block_push(pfn / HPAGE_PMD_NR);
	zone.nr_free += HPAGE_PMD_NR;
	zone.by_type[PAGE_TYPE_THP_HEAD]--;
	zone.by_type[PAGE_TYPE_THP_TAIL] -= HPAGE_PMD_NR - 1;
	zone.by_type[PAGE_TYPE_FREE] += HPAGE_PMD_NR;
	zone.frees++;
	spin_unlock(&zone.zone_lock);
}

void get_page(struct page *page)
{
	if (!page)
		return;
	atomic_fetch_add_explicit(&page_folio(page)->refcount, 1, memory_order_relaxed);
}

void folio_put_last(struct page *folio, int old, int refs)
{
	if (old < refs)
		ptlab_bug("page refcount underflow", page_to_pfn(folio));
	if (folio_test_large(folio))
		free_huge(folio);
	else
		free_frame(folio);
}

void put_page(struct page *page)
{
	if (!page)
		return;
	folio_put_refs(page_folio(page), 1);
}

void page_alloc_get_stats(struct page_alloc_stats *out)
{
	if (!out)
		return;
	spin_lock(&zone.zone_lock);
	out->nr_frames = ptlab_nr_frames;
	out->nr_free = zone.nr_free;
	memcpy(out->by_type, zone.by_type, sizeof(out->by_type));
	memcpy(out->path_attempts, zone.path_attempts, sizeof(out->path_attempts));
	memcpy(out->path_injected, zone.path_injected, sizeof(out->path_injected));
	out->allocs = zone.allocs;
	out->frees = zone.frees;
	out->failures = zone.failures;
	out->injected_failures = zone.injected;
	spin_unlock(&zone.zone_lock);
}

int page_alloc_init(size_t bytes)
{
	size_t nr_blocks = bytes / HPAGE_PMD_SIZE;
	uint8_t *base;

	if (nr_blocks < PAGE_ALLOC_MIN_BLOCKS || nr_blocks > PAGE_ALLOC_MAX_BLOCKS ||
	    bytes % HPAGE_PMD_SIZE)
		return -EINVAL;
	zone.mapping_len = nr_blocks * HPAGE_PMD_SIZE + HPAGE_PMD_SIZE;
	zone.mapping = mmap(NULL, zone.mapping_len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (zone.mapping == MAP_FAILED)
		return -ENOMEM;
	base = (uint8_t *)(((uintptr_t)zone.mapping + HPAGE_PMD_SIZE - 1) &
			   ~(uintptr_t)(HPAGE_PMD_SIZE - 1));
	ptlab_pages = calloc(nr_blocks * HPAGE_PMD_NR, sizeof(struct page));
	zone.block_free = calloc(nr_blocks, sizeof(*zone.block_free));
	if (!ptlab_pages || !zone.block_free) {
		free(ptlab_pages);
		free(zone.block_free);
		munmap(zone.mapping, zone.mapping_len);
		return -ENOMEM;
	}
	ptlab_pool_base = base;
	ptlab_nr_frames = (uint32_t)(nr_blocks * HPAGE_PMD_NR);
	zone.nr_blocks = (uint32_t)nr_blocks;
	spin_lock_init(&zone.zone_lock);
	zone.small_head = PFN_NONE;
	zone.block_head = PFN_NONE;
	zone.nr_free = ptlab_nr_frames;
	memset(zone.by_type, 0, sizeof(zone.by_type));
	zone.by_type[PAGE_TYPE_FREE] = ptlab_nr_frames;
	zone.allocs = zone.frees = zone.failures = zone.injected = 0;
	memset(zone.path_attempts, 0, sizeof(zone.path_attempts));
	memset(zone.path_injected, 0, sizeof(zone.path_injected));
	for (uint32_t pfn = 0; pfn < ptlab_nr_frames; pfn++) {
		struct page *p = &ptlab_pages[pfn];

		atomic_init(&p->head, pfn);
		atomic_init(&p->type, PAGE_TYPE_FREE);
	}
	for (uint32_t b = zone.nr_blocks; b-- > 0;)
		block_push(b);
	fail_alloc_set(0, 0, 0);
	return 0;
}

void page_alloc_exit(void)
{
	if (!ptlab_pages)
		return;
	ptlab_asan_unpoison(ptlab_pool_base, (size_t)ptlab_nr_frames << PAGE_SHIFT);
	munmap(zone.mapping, zone.mapping_len);
	free(ptlab_pages);
	free(zone.block_free);
	ptlab_pages = NULL;
	zone.block_free = NULL;
	ptlab_pool_base = NULL;
	ptlab_nr_frames = 0;
}

/*
 * In an ASan build, freed page-table frames are poisoned (poison_frame()),
 * so a lockless walker that reads one is reported with its stack. Such a
 * report is a finding of the lab, not a bug of ptlab: it is counted and
 * the run goes on (the build is recoverable, -fsanitize-recover=address).
 * Any other report is a bug and aborts.
 */
static atomic_ulong stale_reads;

unsigned long ptlab_asan_stale_table_reads(void)
{
	return atomic_load_explicit(&stale_reads, memory_order_relaxed);
}

#ifdef PTLAB_ASAN
#include <sanitizer/common_interface_defs.h>
#include <unistd.h>

const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "halt_on_error=0";
}

/* Set while reports go to a file (ptlab_asan_log_begin()). */
static atomic_bool asan_to_file;

static void asan_report(const char *report)
{
	const uint8_t *addr = __asan_get_report_address();
	size_t pool = (size_t)ptlab_nr_frames << PAGE_SHIFT;

	/* "unknown-crash" when the frame was reallocated (unpoisoned)
	 * between the faulting read and the report. */
	if (ptlab_pool_base && addr >= ptlab_pool_base && addr < ptlab_pool_base + pool &&
	    (strstr(report, "use-after-poison") || strstr(report, "unknown-crash"))) {
		atomic_fetch_add_explicit(&stale_reads, 1, memory_order_relaxed);
		return;
	}
	/* Loudly, wherever ASan wrote it. */
	if (atomic_load(&asan_to_file))
		fputs(report, stderr);
	fputs("ptlab: unexpected AddressSanitizer report (above); aborting\n", stderr);
	abort();
}

__attribute__((constructor)) static void asan_report_install(void)
{
	__asan_set_error_report_callback(asan_report);
}

static char asan_log_path[256];

void ptlab_asan_log_begin(void)
{
	const char *tmp = getenv("TMPDIR");
	char base[200];

	snprintf(base, sizeof(base), "%s/ptlab-asan", tmp && *tmp ? tmp : "/tmp");
	/* ASan appends ".<pid>" to the name. */
	snprintf(asan_log_path, sizeof(asan_log_path), "%s.%d", base, (int)getpid());
	atomic_store(&asan_to_file, true);
	__sanitizer_set_report_path(base);
}

void ptlab_asan_log_end(void)
{
	__sanitizer_set_report_path("stderr");
	atomic_store(&asan_to_file, false);
}

const char *ptlab_asan_log_path(void)
{
	return asan_log_path;
}
#else
void ptlab_asan_log_begin(void)
{
}

void ptlab_asan_log_end(void)
{
}

const char *ptlab_asan_log_path(void)
{
	return "";
}
#endif
