// SPDX-License-Identifier: MIT
/*
 * GUP-fast as its users call it: pin_user_pages_fast() and
 * unpin_user_pages() of a whole buffer (1, 16 or 512 small pages, or one
 * 2 MiB THP), each against its floor, and the same from 1 to 8 threads
 * pinning disjoint buffers of one mm at once.
 *
 *   gup_fast_pin_unpin  pin_user_pages_fast() + unpin_user_pages();
 *   bare_walk_floor     the limit: the same walk down the same levels
 *                       with relaxed loads and no synchronization (no
 *                       interrupts-off section, no get-unless-zero, no
 *                       re-check), one atomic increment and one decrement
 *                       per reference count, the page list filled as GUP
 *                       fills it and read back as unpin_user_pages() reads
 *                       it. A small page has a count of its own; the 512
 *                       pages of a THP share their folio's, which GUP-fast,
 *                       like the kernel's, takes in one atomic operation
 *                       and unpin drops once per run of the folio's pages
 *                       in the list, so the floor does both too;
 *   rwlock_walk         the one-page floor under a pthread rwlock read lock;
 *   rcu_walk            the one-page floor under liburcu's rcu_read_lock().
 *
 * One page, part by part: from the floor to gup_fast_pin_unpin, each peer
 * is the one before it plus one part of the fast path, run with the very
 * functions GUP-fast runs (cpu.h, pgtable.h, gup_folio.h), so that each
 * part's price is the difference of two figures of the same run:
 *   walk_irqs_off       + the interrupts-off section around the pin
 *                       (arch_local_irq_disable()/_enable(): irq_seq, the
 *                       liburcu read-side section, the waiter and IPI
 *                       checks), the unpin after it as GUP's;
 *   walk_rechecks       + the PMD and PTE re-checks after the reference
 *                       (pmdp_recheck(), ptep_recheck());
 *   walk_pin            + the pin's atomics instead of the increment and
 *                       decrement, as try_grab_folio_fast() and
 *                       gup_put_folio() do them on a page known to be
 *                       order-0: get-unless-zero of one reference, the
 *                       rest of the pin's bias (folio_add_pin(), with its
 *                       smp_mb__after_atomic()), unpin's drop of the
 *                       whole bias;
 *   walk_folio          + the folio lookups: try_grab_folio_fast() and
 *                       gup_put_folio() as GUP calls them (page_folio()
 *                       before the reference and its check after);
 *   gup_fast_pin_unpin  + the rest: the argument checks, the entries'
 *                       present, pfn_valid() and permission checks, the
 *                       race points, the switches, the statistics, the
 *                       batch loops, unpin's run of the folio's pages.
 * And beside them:
 *   walk_pin_one_rmw    walk_pin with the whole bias taken by the
 *                       get-unless-zero, one atomic operation instead of
 *                       the kernel's two (as ptlab took it before): the
 *                       price of the kernel's second atomic.
 * Figures are ns per page.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <urcu/urcu-memb.h>

#include "bench.h"
#include "cpu.h"
#include "gup_folio.h"
#include "mm_internal.h"
#include "ptlab/gup.h"
#include "ptlab/smp.h"
#include "util/time.h"

enum walk_kind {
	WALK_GUP,
	WALK_BARE,
	WALK_RWLOCK,
	WALK_RCU,
	WALK_IRQS_OFF,
	WALK_RECHECKS,
	WALK_PIN,
	WALK_FOLIO,
	WALK_PIN_ONE_RMW,
};

struct walk_case {
	const char *name;
	enum walk_kind kind;
	unsigned int batch;
	bool thp;
};

static const struct walk_case walk_cases[] = {
	{ "gup_fast_pin_unpin", WALK_GUP, 1, false },
	{ "bare_walk_floor", WALK_BARE, 1, false },
	{ "rwlock_walk", WALK_RWLOCK, 1, false },
	{ "rcu_walk", WALK_RCU, 1, false },
	{ "walk_irqs_off", WALK_IRQS_OFF, 1, false },
	{ "walk_rechecks", WALK_RECHECKS, 1, false },
	{ "walk_pin", WALK_PIN, 1, false },
	{ "walk_folio", WALK_FOLIO, 1, false },
	{ "walk_pin_one_rmw", WALK_PIN_ONE_RMW, 1, false },
	{ "gup_fast_pin_unpin", WALK_GUP, 16, false },
	{ "bare_walk_floor", WALK_BARE, 16, false },
	{ "gup_fast_pin_unpin", WALK_GUP, HPAGE_PMD_NR, false },
	{ "bare_walk_floor", WALK_BARE, HPAGE_PMD_NR, false },
	{ "gup_fast_pin_unpin", WALK_GUP, HPAGE_PMD_NR, true },
	{ "bare_walk_floor", WALK_BARE, HPAGE_PMD_NR, true },
};
#define WALK_CASES (sizeof(walk_cases) / sizeof(walk_cases[0]))

const struct bench_part bench_parts[BENCH_PARTS] = {
	{ "bare_walk_floor", "the walk, one atomic increment and one decrement" },
	{ "walk_irqs_off", "+ the interrupts-off section around the pin" },
	{ "walk_rechecks", "+ the PMD and PTE re-checks after the reference" },
	{ "walk_pin", "+ the pin's atomics: get-unless-zero, the bias, unpin's drop" },
	{ "walk_folio", "+ the folio lookups before and after the reference" },
	{ "gup_fast_pin_unpin", "+ the rest: checks, race points, statistics, loops" },
};

/* Pages per sample, before --scale. */
#define WALK_SAMPLE_PAGES 400000.0

/* The PMD slot of @addr: the upper levels with relaxed loads. */
static inline struct pmd_slot *bare_pmd_slot(struct mm_struct *mm, uint64_t addr)
{
	uint64_t e = atomic_load_explicit(&pgd_offset_pgd(mm->pgd, addr)->val,
					  memory_order_relaxed);

	e = atomic_load_explicit((_Atomic uint64_t *)page_address(pfn_to_page(entry_pfn(e))) +
					 pud_index(addr), memory_order_relaxed);
	return (struct pmd_slot *)page_address(pfn_to_page(entry_pfn(e))) + pmd_index(addr);
}

/* The floor's pin of @n pages from @addr into @pages (n within one PMD). */
static inline void bare_pin(struct mm_struct *mm, uint64_t addr, unsigned int n,
			    struct page **pages)
{
	uint64_t pmd = atomic_load_explicit(&bare_pmd_slot(mm, addr)->val, memory_order_relaxed);

	if (pmd_trans_huge((pmd_t){ pmd })) {
		struct page *page = pfn_to_page(entry_pfn(pmd) + pte_index(addr));

		atomic_fetch_add_explicit(&pfn_to_page(entry_pfn(pmd))->refcount, (int)n,
					  memory_order_seq_cst);
		for (unsigned int i = 0; i < n; i++)
			pages[i] = page + i;
		return;
	}
	_Atomic uint64_t *pte = (_Atomic uint64_t *)page_address(pfn_to_page(entry_pfn(pmd))) +
				pte_index(addr);

	for (unsigned int i = 0; i < n; i++) {
		struct page *p = pfn_to_page(entry_pfn(atomic_load_explicit(&pte[i],
									    memory_order_relaxed)));

		atomic_fetch_add_explicit(&p->refcount, 1, memory_order_seq_cst);
		pages[i] = p;
	}
}

/* The floor's unpin: one decrement per count taken, found from the list
 * as unpin_user_pages() must find it: each small page; each run of a
 * THP's pages (folio_run()). */
static inline void bare_unpin(struct page **pages, unsigned int n, bool thp)
{
	unsigned long nr;

	if (!thp) {
		for (unsigned int i = 0; i < n; i++)
			atomic_fetch_sub_explicit(&pages[i]->refcount, 1, memory_order_seq_cst);
		return;
	}
	for (unsigned long i = 0; i < n; i += nr) {
		struct page *folio = page_folio(pages[i]);

		nr = folio_run(pages, i, n, folio, true);
		atomic_fetch_sub_explicit(&folio->refcount, (int)nr, memory_order_seq_cst);
	}
}

static __attribute__((noreturn)) void walk_failed(const char *name, const char *what)
{
	fprintf(stderr, "ptlab: bench: %s: %s\n", name, what);
	abort();
}

/*
 * One page, part by part (see the top of this file): @kind is one of the
 * peers between the floor and GUP-fast. The walk is the floor's; what the
 * kind adds runs the functions GUP-fast runs.
 */
static inline __attribute__((always_inline)) void part_once(const struct walk_case *c,
							     enum walk_kind kind,
							     struct mm_struct *mm, uint64_t addr,
							     struct page **pages)
{
	struct cpu *cpu = this_cpu;
	struct pmd_slot *pmdp;
	pmd_t pmd;
	struct pte_slot *ptep;
	pte_t pte;
	struct page *page;
	bool large;

	arch_local_irq_disable(cpu);
	pmdp = bare_pmd_slot(mm, addr);
	pmd = (pmd_t){ atomic_load_explicit(&pmdp->val, memory_order_relaxed) };
	ptep = (struct pte_slot *)page_address(pfn_to_page(pmd_pfn(pmd))) + pte_index(addr);
	pte = (pte_t){ atomic_load_explicit(&ptep->val, memory_order_relaxed) };
	page = pfn_to_page(pte_pfn(pte));

	switch (kind) {
	case WALK_PIN:
		if (!page_ref_add_unless_zero(page, 1))
			walk_failed(c->name, "get-unless-zero failed");
		folio_add_pin(page, 1, false);
		break;
	case WALK_PIN_ONE_RMW:
		if (!page_ref_add_unless_zero(page, GUP_PIN_COUNTING_BIAS))
			walk_failed(c->name, "get-unless-zero failed");
		break;
	case WALK_FOLIO:
		if (try_grab_folio_fast(page, 1, FOLL_PIN, &large) != page)
			walk_failed(c->name, "try_grab_folio_fast() failed");
		break;
	default:
		atomic_fetch_add_explicit(&page->refcount, 1, memory_order_seq_cst);
		break;
	}
	if (kind != WALK_IRQS_OFF && (pmd_val(pmd) != pmd_val(pmdp_recheck(pmdp)) ||
				      pte_val(pte) != pte_val(ptep_recheck(ptep))))
		walk_failed(c->name, "an entry changed");
	pages[0] = page;
	arch_local_irq_enable(cpu);
	switch (kind) {
	case WALK_PIN:
	case WALK_PIN_ONE_RMW:
		gup_put_folio(pages[0], false, 1, FOLL_PIN);
		break;
	case WALK_FOLIO:
		page = page_folio_fast(pages[0], &large);
		gup_put_folio(page, large, 1, FOLL_PIN);
		break;
	default:
		atomic_fetch_sub_explicit(&pages[0]->refcount, 1, memory_order_seq_cst);
		break;
	}
}

static pthread_rwlock_t bench_rwlock = PTHREAD_RWLOCK_INITIALIZER;

/* One pin and unpin of @c's batch at @addr; @kind is c->kind, a constant
 * in each of the loops below. */
static inline __attribute__((always_inline)) void walk_once(const struct walk_case *c,
							     enum walk_kind kind,
							     struct mm_struct *mm, uint64_t addr,
							     struct page **pages)
{
	switch (kind) {
	case WALK_GUP:
		if (pin_user_pages_fast(addr, c->batch, 0, pages) != c->batch)
			walk_failed(c->name, "pin_user_pages_fast() pinned less than the batch");
		unpin_user_pages(pages, c->batch);
		break;
	case WALK_BARE:
		bare_pin(mm, addr, c->batch, pages);
		bare_unpin(pages, c->batch, c->thp);
		break;
	case WALK_RWLOCK:
		pthread_rwlock_rdlock(&bench_rwlock);
		bare_pin(mm, addr, c->batch, pages);
		bare_unpin(pages, c->batch, c->thp);
		pthread_rwlock_unlock(&bench_rwlock);
		break;
	case WALK_RCU:
		urcu_memb_read_lock();
		bare_pin(mm, addr, c->batch, pages);
		bare_unpin(pages, c->batch, c->thp);
		urcu_memb_read_unlock();
		break;
	case WALK_IRQS_OFF:
	case WALK_RECHECKS:
	case WALK_PIN:
	case WALK_FOLIO:
	case WALK_PIN_ONE_RMW:
		part_once(c, kind, mm, addr, pages);
		break;
	}
}

/* One loop per kind, each a function of its own: the kind is a constant
 * in it, and a profiler (callgrind, perf) tells the kinds apart by it. */
typedef void walk_loop_fn(const struct walk_case *c, struct mm_struct *mm, uint64_t addr,
			  struct page **pages, unsigned long iters);
#define WALK_LOOP(fn, kind)                                                          \
	static __attribute__((noinline)) void fn(const struct walk_case *c,          \
						 struct mm_struct *mm, uint64_t addr, \
						 struct page **pages, unsigned long iters) \
	{                                                                            \
		for (unsigned long i = 0; i < iters; i++)                            \
			walk_once(c, kind, mm, addr, pages);                         \
	}
WALK_LOOP(walk_loop_gup, WALK_GUP)
WALK_LOOP(walk_loop_bare, WALK_BARE)
WALK_LOOP(walk_loop_rwlock, WALK_RWLOCK)
WALK_LOOP(walk_loop_rcu, WALK_RCU)
WALK_LOOP(walk_loop_irqs_off, WALK_IRQS_OFF)
WALK_LOOP(walk_loop_rechecks, WALK_RECHECKS)
WALK_LOOP(walk_loop_pin, WALK_PIN)
WALK_LOOP(walk_loop_folio, WALK_FOLIO)
WALK_LOOP(walk_loop_pin_one_rmw, WALK_PIN_ONE_RMW)

static walk_loop_fn *const walk_loops[] = {
	[WALK_GUP] = walk_loop_gup,
	[WALK_BARE] = walk_loop_bare,
	[WALK_RWLOCK] = walk_loop_rwlock,
	[WALK_RCU] = walk_loop_rcu,
	[WALK_IRQS_OFF] = walk_loop_irqs_off,
	[WALK_RECHECKS] = walk_loop_rechecks,
	[WALK_PIN] = walk_loop_pin,
	[WALK_FOLIO] = walk_loop_folio,
	[WALK_PIN_ONE_RMW] = walk_loop_pin_one_rmw,
};

static unsigned long walk_iters(unsigned int batch)
{
	return (unsigned long)(WALK_SAMPLE_PAGES * bench.scale / batch) + 1;
}

static uint64_t walk_addr(const struct walk_case *c, unsigned int region)
{
	return c->thp ? BENCH_THP_ADDR : BENCH_ADDR + region * PMD_SIZE;
}

/* ns per page of @iters calls. */
static double run_walk(const struct walk_case *c, struct mm_struct *mm, unsigned int region,
		       unsigned long iters)
{
	struct page *pages[HPAGE_PMD_NR];
	uint64_t addr = walk_addr(c, region);
	double t0 = bench_now_ns();

	walk_loops[c->kind](c, mm, addr, pages, iters);
	return (bench_now_ns() - t0) / (double)iters / c->batch;
}

void bench_walks(struct mm_struct *mm)
{
	double samples[WALK_CASES][BENCH_MAX_ROUNDS];

	bench_progress("walks: 1, 16 and 512 pages and a THP");
	for (size_t k = 0; k < WALK_CASES; k++)   /* warm up */
		run_walk(&walk_cases[k], mm, 0, walk_iters(walk_cases[k].batch) / 10 + 1);
	/* Each round starts with another kind, so that no kind always runs
	 * right after the same one. */
	for (unsigned int r = 0; r < bench.rounds; r++)
		for (size_t i = 0; i < WALK_CASES; i++) {
			size_t k = (r + i) % WALK_CASES;

			samples[k][r] = run_walk(&walk_cases[k], mm, 0,
						 walk_iters(walk_cases[k].batch));
		}
	for (size_t k = 0; k < WALK_CASES; k++)
		bench_record(walk_cases[k].name, "single", 1, walk_cases[k].batch,
			     walk_cases[k].thp, bench_median(samples[k], bench.rounds));
}

/*
 * Concurrent pinning: each thread a CPU of the mm, pinning and unpinning
 * 512 small pages of a 2 MiB region of its own (disjoint pages, page
 * tables and struct pages; the upper-level tables are shared, read only).
 * The controller starts a sample at one barrier and collects it at the
 * next; its figure is the time from the first thread's start to the last
 * one's end per page a thread pinned.
 */
static const enum walk_kind pin_kinds[] = { WALK_GUP, WALK_BARE };
#define PIN_CASES 2

/* The single-thread case of @kind pinning 512 small pages. */
static const struct walk_case *pin_case(enum walk_kind kind)
{
	for (size_t k = 0; k < WALK_CASES; k++)
		if (walk_cases[k].kind == kind && walk_cases[k].batch == HPAGE_PMD_NR &&
		    !walk_cases[k].thp)
			return &walk_cases[k];
	abort();
}

const unsigned int bench_pin_counts[BENCH_PIN_COUNTS] = { 1, 2, 4, 8 };

struct pinners {
	struct mm_struct *mm;
	pthread_barrier_t start, done;
	/* Set by the controller before the start barrier, read by the
	 * threads after it (the barrier orders them). NULL: leave. */
	const struct walk_case *c;
	unsigned long iters;
	/* Written by thread i before the done barrier, read by the
	 * controller after it. */
	double t_start[BENCH_REGIONS], t_end[BENCH_REGIONS];
};

struct pinner {
	struct pinners *p;
	unsigned int region;
	pthread_t thread;
};

static void *pinner_main(void *arg)
{
	struct pinner *me = arg;
	struct pinners *p = me->p;

	if (cpu_register() < 0 || use_mm(p->mm)) {
		fprintf(stderr, "ptlab: bench: a pinning thread cannot become a CPU of the mm\n");
		abort();
	}
	for (;;) {
		pthread_barrier_wait(&p->start);
		if (!p->c)
			break;
		p->t_start[me->region] = bench_now_ns();
		run_walk(p->c, p->mm, me->region, p->iters);
		p->t_end[me->region] = bench_now_ns();
		pthread_barrier_wait(&p->done);
	}
	unuse_mm();
	cpu_unregister();
	return NULL;
}

/* One sample: ns per page per thread. */
static double run_pinners(struct pinners *p, unsigned int n, const struct walk_case *c)
{
	double first = 0, last = 0;

	p->c = c;
	p->iters = walk_iters(HPAGE_PMD_NR);
	pthread_barrier_wait(&p->start);
	pthread_barrier_wait(&p->done);
	for (unsigned int i = 0; i < n; i++) {
		if (i == 0 || p->t_start[i] < first)
			first = p->t_start[i];
		if (i == 0 || p->t_end[i] > last)
			last = p->t_end[i];
	}
	return (last - first) / (double)p->iters / HPAGE_PMD_NR;
}

static int pin_concurrent_at(struct mm_struct *mm, unsigned int n)
{
	double samples[PIN_CASES][BENCH_MAX_ROUNDS];
	struct pinner t[BENCH_REGIONS];
	struct pinners p = { .mm = mm };
	unsigned int started;
	int err = 0;

	pthread_barrier_init(&p.start, NULL, n + 1);
	pthread_barrier_init(&p.done, NULL, n + 1);
	for (started = 0; started < n; started++) {
		t[started] = (struct pinner){ .p = &p, .region = started };
		if ((err = pthread_create(&t[started].thread, NULL, pinner_main, &t[started])))
			break;
	}
	if (err) {
		/* The barriers count n + 1: the threads that did start stay
		 * blocked until the command exits. */
		fprintf(stderr, "ptlab: bench: cannot start pinning thread %u of %u: %s\n",
			started + 1, n, strerror(err));
		return -1;
	}
	for (unsigned int r = 0; r < bench.rounds; r++)
		for (int i = 0; i < PIN_CASES; i++) {
			int k = (int)((r + (unsigned int)i) % PIN_CASES);

			samples[k][r] = run_pinners(&p, n, pin_case(pin_kinds[k]));
		}
	p.c = NULL;
	pthread_barrier_wait(&p.start);
	for (unsigned int i = 0; i < n; i++)
		while (pthread_tryjoin_np(t[i].thread, NULL) == EBUSY)
			sleep_ns(100000);
	pthread_barrier_destroy(&p.start);
	pthread_barrier_destroy(&p.done);
	for (int k = 0; k < PIN_CASES; k++)
		bench_record(pin_case(pin_kinds[k])->name, "concurrent", n, HPAGE_PMD_NR, false,
			     bench_median(samples[k], bench.rounds));
	return 0;
}

int bench_pin_concurrent(struct mm_struct *mm)
{
	for (int i = 0; i < BENCH_PIN_COUNTS; i++) {
		bench_progress("%u threads pinning disjoint buffers", bench_pin_counts[i]);
		if (pin_concurrent_at(mm, bench_pin_counts[i]))
			return -1;
	}
	return 0;
}
