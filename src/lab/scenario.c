// SPDX-License-Identifier: MIT
/*
 * The scenarios: sets of CPU threads running bounded loops against one mm
 * (three in hugetlb-unshare). All ranges but munmap-pmd's lie in one 1
 * GiB-aligned region, so they share one PMD table and its deposit list.
 *
 * GUP-fast walkers pin one page with pin_user_pages_fast(), write their
 * own word of it through the pin, unpin it and (in the collapse scenarios,
 * where the range stays mapped) read the word back: a different value is
 * a lost write. RCU walkers (pt-reclaim) call mincore() on one page: a
 * pte_offset_map_lock() walk under mmap_lock for read, as faults and
 * madvise() do.
 *
 * collapse-zap     collapser: collapse A's ranges, keep them a moment,
 *                  split them back; zapper: fault THPs in Z, hold them a
 *                  moment, munmap Z (zap_huge_pmd() withdraws the head of
 *                  the deposit list, after a collapse the table it
 *                  deposited, and frees it).
 * collapse-pin     the collapser alone.
 * munmap           mutator: munmap two 2 MiB (or 64 KiB) chunks of M, map
 *                  them again and fault them back, so freed tables come
 *                  back elsewhere.
 * pt-reclaim       reclaimer: MADV_DONTNEED of one or two 2 MiB chunks of
 *                  R (PT_RECLAIM frees their empty PTE tables), then fault
 *                  a few pages back.
 * retract          a shmem file of NR_S huge folios mapped shared over S;
 *                  retractor: fault a range in with PTEs (each maps a
 *                  subpage of the folio), retract its PTE table
 *                  (collapse_pte_mapped_thp(), the generation's way),
 *                  khugepaged's turn leaving the PMD none, MADV_COLLAPSE's
 *                  mapping the folio huge, which a MADV_DONTNEED then
 *                  zaps, and on to the other range: its first fault
 *                  allocates the frame just freed (the pool is LIFO).
 *                  GUP-fast walkers pin the file's pages; in the defer
 *                  generation RCU walkers call mincore() too.
 * hugetlb-unshare  mms W (the walkers'), A and B map hugetlb file F1 over
 *                  the same 1 GiB at the same offset and share its PMD
 *                  table. W's unsharer: munmap F1 (unsharing the table,
 *                  which A and B still share), wait for the others, map
 *                  F1 again and fault it (sharing again). A's unsharer:
 *                  once W is gone, munmap F1 (the table becomes B's own:
 *                  6.19 syncs here, with A's mm), wait for B, share again.
 *                  owner (B): once A is gone, B uses the table as its own:
 *                  it maps another file, F2, at the walkers' second 2 MiB
 *                  and faults it, then puts F1 back.
 * munmap-pmd       two ranges U0 and U1, each in a 1 GiB PUD range of its
 *                  own, and an anchor mapping in a third (so that the PUD
 *                  table stays). mutator: munmap the mapped range whole
 *                  (free_pgtables() clears its PUD entry and frees its PMD
 *                  table and the PTE tables under it), map the other one
 *                  and fault it: LIFO hands the frames freed last to the
 *                  new tables, so where the PMD table goes last (after
 *                  the flush) it becomes the other range's PMD table, and
 *                  a walker still inside the old one reads the other
 *                  range's entries. Walkers pick pages of either range.
 * mremap           mover: mremap the 2 MiB range MA to MB (a PMD entry
 *                  of the same PMD table: move_normal_pmd() moves its PTE
 *                  table whole) and back; every MREMAP_UNMAP_EVERY rounds
 *                  (or MREMAP_UNMAP_NS) munmap MB a moment after the table
 *                  got there instead, map MA again and fault it (LIFO: the
 *                  frame just freed becomes MA's table again, under the
 *                  same entry value). Where the profile moves PMD tables
 *                  (move_pud), also the 1 GiB range MC to MD (another PUD
 *                  entry: move_normal_pud()) and back. An anchor page in
 *                  MA's PUD range keeps the PMD table. Walkers pin the
 *                  faulted pages of MA/MB (and MC/MD), expecting the page
 *                  faulted at the source: a moved page keeps its index.
 * Bystanders (idle CPUs that only run the mm) make the mm active on
 * cfg->min_mm_cpus CPUs.
 *
 * Stopping: the writers first (so that every collapse a walker may race
 * with is over), then the walkers, which check their last pins, and the
 * bystanders.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lab_internal.h"
#include "mm_internal.h"
#include "ptlab/gup.h"
#include "ptlab/huge.h"
#include "ptlab/hugetlb.h"
#include "ptlab/shmem.h"
#include "ptlab/smp.h"
#include "util/rand.h"
#include "util/time.h"

#define BASE (1ULL << 39)
#define NR_A 2           /* collapse ranges */
#define NR_Z 2           /* zapped THP ranges */
#define NR_M 4           /* munmap ranges */
#define NR_R 4           /* pt-reclaim ranges */
#define NR_H 2           /* hugetlb pages the walkers use */
#define NR_U 2           /* munmap-pmd: 2 MiB chunks of each range */
#define U_STRIDE (16 * PAGE_SIZE) /* munmap-pmd: the pages faulted and walked */
#define NR_S 2           /* shmem folios retracted in turn */
/* mremap: MA and MB (2 MiB each) and the anchor in the first PUD range,
 * MC and MD (1 GiB each) the next two; the pages faulted and walked. */
#define MR_A BASE
#define MR_B (BASE + 2 * PMD_SIZE)
#define MR_ANCHOR (BASE + 8 * PMD_SIZE)
#define MR_C (BASE + PUD_SIZE)
#define MR_D (BASE + 2 * PUD_SIZE)
#define MR_STRIDE (16 * PAGE_SIZE)
#define MREMAP_UNMAP_EVERY 8
#define MREMAP_UNMAP_NS 2000000
#define MREMAP_PAUSE_NS 100000
/* How long a moved table stays under MB before MB is unmapped: long
 * enough for walkers to read it there and be inside at the unmap (the
 * evidence of a safe cell). */
#define MREMAP_HOLD_NS 500000

/* Ring sizes: a walker logs only sections that met a writer; a writer
 * logs every step. The controller reads them every few milliseconds. */
#define WALKER_RING (1u << 14)
#define WRITER_RING (1u << 16)

struct lab_thread {
	pthread_t thread;
	struct lab_scenario *s;
	struct lab_tctx ctx;
	/* The mm the thread runs (the scenario's, or A or B in
	 * hugetlb-unshare). */
	struct mm_struct *mm;
	/* What the thread does once it is a CPU running the scenario's mm. */
	void (*body)(struct lab_thread *t);
	/* Set by the thread; read by the thread that started it. */
	atomic_bool started, done;
};

struct lab_scenario {
	struct lab_run_config cfg;
	struct mm_struct *mm;
	uint32_t mm_id;
	/* hugetlb-unshare: the other mms, the files, and the hand-offs
	 * between the writers (lab control, not protocol: release/acquire):
	 * W unmapped, A unmapped, B restored, A shares again. */
	struct mm_struct *mm_a, *mm_b;
	struct hugetlb_file *f1, *f2;
	/* retract: the shmem file mapped at BASE. */
	struct shmem_file *sf;
	atomic_bool w_unmapped, a_unmapped, b_restored, a_restored;
	/* Set by the controller (release), polled by the threads (acquire):
	 * the controller joined the writers before it stops the walkers. */
	atomic_bool stop_writers, stop_walkers;
	struct lab_thread *threads[LAB_MAX_THREADS];
	int nr_threads, nr_writers;
	atomic_int failed;   /* a thread could not become a CPU of the mm */
};

static bool collapses(const struct lab_scenario *s)
{
	return s->cfg.scenario == SCENARIO_COLLAPSE_ZAP || s->cfg.scenario == SCENARIO_COLLAPSE_PIN;
}

static uint64_t walk_len(const struct lab_scenario *s)
{
	switch (s->cfg.scenario) {
	case SCENARIO_MUNMAP:
		return NR_M * PMD_SIZE;
	case SCENARIO_PT_RECLAIM:
		return NR_R * PMD_SIZE;
	case SCENARIO_HUGETLB_UNSHARE:
		return NR_H * PMD_SIZE;
	case SCENARIO_MUNMAP_PMD:
		return NR_U * PMD_SIZE;
	case SCENARIO_RETRACT:
		return NR_S * PMD_SIZE;
	case SCENARIO_MREMAP:
		return PMD_SIZE;
	default:
		return NR_A * PMD_SIZE;
	}
}

static bool stopping(atomic_bool *flag)
{
	return atomic_load_explicit(flag, memory_order_acquire);
}

static void fail(struct lab_thread *t, enum lab_failure_kind k)
{
	lab_count(&t->ctx.st.failures[k], 1);
}

/* The value a walker writes through its pin: who and when. */
static uint64_t pin_value(int walker, uint64_t round)
{
	return (uint64_t)(walker + 1) << 48 | (round & 0xffffffffffffULL);
}

/* mremap: the address a page at @addr was faulted at (MA's or MC's at
 * the same offset): a move keeps a page's index. */
static uint64_t mremap_source(uint64_t addr)
{
	if (addr >= MR_C)
		return MR_C + (addr - MR_C) % PUD_SIZE;
	return MR_A + (addr - MR_A) % (MR_B - MR_A);
}

/* One walker operation: pin, write through the pin, unpin, read back. */
static void walker_pin(struct lab_thread *t, uint64_t addr, uint64_t round)
{
	struct lab_scenario *s = t->s;
	int w = t->ctx.index;
	/* Each walker owns one word of every page. */
	uint64_t word = addr + (uint64_t)w * 8, v = pin_value(w, round), back = 0;
	struct page *p;

	lab_count(&t->ctx.st.ops, 1);
	if (pin_user_pages_fast(addr, 1, FOLL_WRITE | FOLL_FAST_ONLY, &p) != 1) {
		lab_walker_op_done();
		return;
	}
	lab_count(&t->ctx.st.pages, 1);
	/* The page mapped there: the mm's own at that address, or a file's
	 * at the same offset (hugetlb-unshare maps F1 at BASE, offset 0;
	 * retract its shmem file the same way). */
	if (s->f1)
		lab_check_returned(&p, 1, addr, HUGETLB_OWNER_BIT | hugetlb_file_id(s->f1),
				   addr - BASE);
	else if (s->sf)
		lab_check_returned(&p, 1, addr, SHMEM_OWNER_BIT | shmem_file_id(s->sf), addr - BASE);
	else if (s->cfg.scenario == SCENARIO_MREMAP)
		lab_check_returned(&p, 1, addr, s->mm_id, mremap_source(addr));
	else
		lab_check_returned(&p, 1, addr, s->mm_id, addr);
	page_write(p, (size_t)w * 8, &v, 8);
	lab_pin_note(p, addr);
	unpin_user_pages_dirty_lock(&p, 1, true);
	lab_walker_op_done();
	/* The consequence a user sees: the write did not land. Only where the
	 * range stays mapped: munmap may legitimately drop the page. */
	if (collapses(s) && user_read(word, &back, 8) == 0 && back != v)
		lab_count(&t->ctx.st.lost_writes, 1);
}

/* One RCU walker operation: mincore() of one page. */
static void walker_mincore(struct lab_thread *t, uint64_t addr)
{
	unsigned char present;

	lab_count(&t->ctx.st.ops, 1);
	if (mm_mincore(t->mm, addr, PAGE_SIZE, &present) == 0 && present)
		lab_count(&t->ctx.st.pages, 1);
	lab_walker_op_done();
}

static void walker_body(struct lab_thread *t)
{
	struct lab_scenario *s = t->s;
	uint64_t rng = rand_seed(s->cfg.seed,
				 (uint64_t)t->ctx.index + 1 + 1000 * (uint64_t)t->ctx.kind);
	uint64_t round = 0, len = walk_len(s);

	while (!stopping(&s->stop_walkers)) {
		uint64_t addr = BASE + (rand_next(&rng) % (len / PAGE_SIZE)) * PAGE_SIZE;

		/* munmap-pmd: a faulted page of either range, mapped or not */
		if (s->cfg.scenario == SCENARIO_MUNMAP_PMD)
			addr = BASE + (rand_next(&rng) % 2) * PUD_SIZE +
			       (rand_next(&rng) % (len / U_STRIDE)) * U_STRIDE;
		/* mremap: a faulted page of MA or MB, or of MC or MD */
		if (s->cfg.scenario == SCENARIO_MREMAP) {
			bool pud = s->cfg.profile.move_pud && rand_next(&rng) % 2;
			uint64_t off = (rand_next(&rng) % (PMD_SIZE / MR_STRIDE)) * MR_STRIDE;

			addr = (pud ? (rand_next(&rng) % 2 ? MR_D : MR_C)
				    : (rand_next(&rng) % 2 ? MR_B : MR_A)) + off;
		}
		if (t->ctx.kind == WALKER_RCU) {
			walker_mincore(t, addr);
			continue;
		}
		walker_pin(t, addr, ++round);
		lab_pins_check(false);
	}
	lab_pins_check(true);
}

/* How long the collapser keeps a new huge page before splitting it back:
 * the split withdraws the head of the deposit list, the table collapse
 * just deposited, so a zap must come in between to free it. */
#define COLLAPSE_HOLD_NS 200000

/* Collapses each A range, keeps it a moment and splits it back
 * (collapse-zap, collapse-pin). */
static void collapser_loop(struct lab_thread *t)
{
	struct lab_scenario *s = t->s;

	while (!stopping(&s->stop_writers)) {
		for (int i = 0; i < NR_A; i++) {
			uint64_t a = BASE + (uint64_t)i * PMD_SIZE;
			int r = hpage_collapse(s->mm, a);

			if (r == SCAN_SUCCEED) {
				lab_count(&t->ctx.st.collapses, 1);
				lab_count(&t->ctx.st.cycles, 1);
				sleep_ns(COLLAPSE_HOLD_NS);
			} else if (r != SCAN_PMD_MAPPED) {
				lab_count(&t->ctx.st.refusals, 1);
			}
			if ((r == SCAN_SUCCEED || r == SCAN_PMD_MAPPED) &&
			    split_huge_pmd_at(s->mm, a))
				fail(t, LAB_FAIL_SPLIT);
		}
	}
}

/* Whether the PMD of @addr is huge (a lab check, under mmap_lock). */
static bool pmd_is_huge(struct mm_struct *mm, uint64_t addr)
{
	struct pmd_slot *pmdp;
	bool huge = false;

	down_read(&mm->mmap_lock);
	pmdp = mm_find_pmd(mm, addr);
	if (pmdp)
		huge = pmd_trans_huge(pmdp_get(pmdp));
	up_read(&mm->mmap_lock);
	return huge;
}

/* Faults THPs in Z, keeps them while collapses deposit, zaps them. */
static void zapper_loop(struct lab_thread *t)
{
	struct lab_scenario *s = t->s;
	uint64_t z = BASE + NR_A * PMD_SIZE;

	while (!stopping(&s->stop_writers)) {
		if (mm_mmap(s->mm, z, NR_Z * PMD_SIZE, VM_READ | VM_WRITE | VM_HUGEPAGE) < 0) {
			fail(t, LAB_FAIL_MMAP);
			sleep_ns(1000000);
			continue;
		}
		for (int i = 0; i < NR_Z; i++) {
			uint64_t a = z + (uint64_t)i * PMD_SIZE;

			if (user_write(a, &z, 8))
				fail(t, LAB_FAIL_USER_WRITE);
			else if (!pmd_is_huge(s->mm, a))
				fail(t, LAB_FAIL_THP_FALLBACK);
		}
		sleep_ns(300000);
		if (mm_munmap(s->mm, z, NR_Z * PMD_SIZE))
			fail(t, LAB_FAIL_MUNMAP);
		lab_count(&t->ctx.st.cycles, 1);
	}
}

static void refault(struct lab_thread *t, uint64_t addr, uint64_t len)
{
	for (uint64_t a = addr; a < addr + len; a += 4 * PAGE_SIZE)
		if (user_write(a, &a, 8))
			fail(t, LAB_FAIL_USER_WRITE);
}

/* munmap: two chunks out, back in, refaulted first-unmapped first. */
static void mutator_loop(struct lab_thread *t)
{
	struct lab_scenario *s = t->s;
	uint64_t rng = rand_seed(s->cfg.seed, 12345);

	while (!stopping(&s->stop_writers)) {
		uint64_t len = rand_next(&rng) % 2 ? PMD_SIZE : 64 << 10;
		uint64_t n = NR_M * PMD_SIZE / len;
		uint64_t x = rand_next(&rng) % n;
		uint64_t y = (x + 1 + rand_next(&rng) % (n - 1)) % n;
		bool mapped = true;

		x = BASE + x * len;
		y = BASE + y * len;
		if (mm_munmap(s->mm, x, len) || mm_munmap(s->mm, y, len))
			fail(t, LAB_FAIL_MUNMAP);
		/* Map both back (the loop relies on M staying whole). */
		while (mm_mmap(s->mm, x, len, VM_READ | VM_WRITE) < 0 && !stopping(&s->stop_writers))
			fail(t, LAB_FAIL_MMAP), mapped = false;
		while (mm_mmap(s->mm, y, len, VM_READ | VM_WRITE) < 0 && !stopping(&s->stop_writers))
			fail(t, LAB_FAIL_MMAP), mapped = false;
		refault(t, x, len);
		refault(t, y, len);
		if (mapped)
			lab_count(&t->ctx.st.cycles, 1);
	}
}

/* munmap-pmd: the ranges U0 (BASE) and U1 (a PUD range up), and the anchor
 * two up, which keeps the PUD table; one range mapped at a time. */
static uint64_t munmap_pmd_range(int i)
{
	return BASE + (uint64_t)i * PUD_SIZE;
}

static int munmap_pmd_map(struct mm_struct *mm, int i)
{
	return mm_mmap(mm, munmap_pmd_range(i), NR_U * PMD_SIZE, VM_READ | VM_WRITE) < 0
		       ? -ENOMEM
		       : 0;
}

/* Faults the pages the walkers walk (mm_populate() of each: one
 * allocation of a table or page after the other, LIFO). */
static int munmap_pmd_fault(struct mm_struct *mm, int i)
{
	int ret = 0;

	for (uint64_t a = munmap_pmd_range(i); !ret && a < munmap_pmd_range(i) + NR_U * PMD_SIZE;
	     a += U_STRIDE)
		ret = mm_populate(mm, a, PAGE_SIZE, true);
	return ret;
}

/* munmap-pmd: the whole range out (its PMD table with it), the other one
 * in and faulted. */
static void pmd_mutator_loop(struct lab_thread *t)
{
	struct lab_scenario *s = t->s;
	int cur = 0;

	while (!stopping(&s->stop_writers)) {
		if (mm_munmap(s->mm, munmap_pmd_range(cur), NR_U * PMD_SIZE)) {
			fail(t, LAB_FAIL_MUNMAP);
			sleep_ns(1000000);
			continue;
		}
		cur = !cur;
		/* Map it back (the loop relies on one range being mapped). */
		while (munmap_pmd_map(s->mm, cur) && !stopping(&s->stop_writers))
			fail(t, LAB_FAIL_MMAP);
		if (munmap_pmd_fault(s->mm, cur))
			fail(t, LAB_FAIL_USER_WRITE);
		lab_count(&t->ctx.st.cycles, 1);
	}
}

/* mremap: maps [addr, addr + len) and faults its first PMD's walked
 * pages. */
static int mremap_map(struct mm_struct *mm, uint64_t addr, uint64_t len)
{
	int ret = mm_mmap(mm, addr, len, VM_READ | VM_WRITE) < 0 ? -ENOMEM : 0;

	for (uint64_t a = addr; !ret && a < addr + PMD_SIZE; a += MR_STRIDE)
		ret = mm_populate(mm, a, PAGE_SIZE, true);
	return ret;
}

/* mremap: one move of @len from @x to @y and back (the range stays at
 * @x when the move there fails). */
static void mremap_round_trip(struct lab_thread *t, uint64_t x, uint64_t y, uint64_t len)
{
	struct mm_struct *mm = t->s->mm;

	if (mm_mremap(mm, x, len, y)) {
		fail(t, LAB_FAIL_MMAP);
		return;
	}
	/* Moving back needs no table where the move was whole; where it was
	 * entry by entry it allocates again: retry until it is back. */
	while (mm_mremap(mm, y, len, x) && !stopping(&t->s->stop_writers))
		fail(t, LAB_FAIL_MMAP);
}

/* mremap: MA to MB and back (or MB unmapped, MA mapped and faulted again),
 * then MC to MD and back. */
static void mover_loop(struct lab_thread *t)
{
	struct lab_scenario *s = t->s;
	uint64_t round = 0, last_unmap = monotonic_ns();

	while (!stopping(&s->stop_writers)) {
		/* Every few rounds, or where rounds are slow (a flush that
		 * waits out walker windows) every round past MREMAP_UNMAP_NS:
		 * round trips for the ABA, unmaps for the evidence. */
		bool unmap = ++round % MREMAP_UNMAP_EVERY == 0 ||
			     monotonic_ns() - last_unmap >= MREMAP_UNMAP_NS;

		if (!unmap) {
			mremap_round_trip(t, MR_A, MR_B, PMD_SIZE);
		} else if (mm_mremap(s->mm, MR_A, PMD_SIZE, MR_B)) {
			fail(t, LAB_FAIL_MMAP);
		} else {
			/* a moment at MB, where walkers read it too; then the
			 * moved table freed with MB, and MA's new table, often
			 * the same frame, under the same value */
			sleep_ns(MREMAP_HOLD_NS);
			if (mm_munmap(s->mm, MR_B, PMD_SIZE))
				fail(t, LAB_FAIL_MUNMAP);
			while (mremap_map(s->mm, MR_A, PMD_SIZE) && !stopping(&s->stop_writers)) {
				fail(t, LAB_FAIL_MMAP);
				mm_munmap(s->mm, MR_A, PMD_SIZE);
			}
			last_unmap = monotonic_ns();
		}
		if (s->cfg.profile.move_pud)
			mremap_round_trip(t, MR_C, MR_D, PUD_SIZE);
		lab_count(&t->ctx.st.cycles, 1);
		/* Where no flush waits a round takes microseconds: a pause
		 * keeps the mover's events within the evidence's cap, and
		 * still puts many moves inside one walker window. */
		sleep_ns(MREMAP_PAUSE_NS);
	}
}

/* pt-reclaim: MADV_DONTNEED of one or two PMD ranges of R, whose tables
 * PT_RECLAIM then frees, and a few pages faulted back. */
static void reclaimer_loop(struct lab_thread *t)
{
	struct lab_scenario *s = t->s;
	uint64_t rng = rand_seed(s->cfg.seed, 777);

	while (!stopping(&s->stop_writers)) {
		uint64_t n = 1 + rand_next(&rng) % 2;
		uint64_t x = BASE + (rand_next(&rng) % (NR_R - n + 1)) * PMD_SIZE;

		if (mm_madvise_dontneed(s->mm, x, n * PMD_SIZE))
			fail(t, LAB_FAIL_MUNMAP);
		/* A few pages: each table comes back, to be reclaimed again. */
		for (uint64_t a = x; a < x + n * PMD_SIZE; a += 128 * PAGE_SIZE)
			if (user_write(a, &a, 8))
				fail(t, LAB_FAIL_USER_WRITE);
		lab_count(&t->ctx.st.cycles, 1);
	}
}

/* How long the retractor keeps the ranges mapped, by PTEs before it
 * retracts their tables and by huge PMDs before it zaps them. */
#define RETRACT_HOLD_NS 1000000
#define RETRACT_HUGE_HOLD_NS 200000

/*
 * retract: every range of S is faulted in with PTEs, held a moment, and
 * its PTE table retracted, by khugepaged (the PMD left none) and by
 * MADV_COLLAPSE (the folio mapped huge, zapped again a moment later)
 * taking turns. The next round's first faults allocate PTE tables: the
 * frames the retractions freed (at once, or after their grace period),
 * the pool handing out the last freed first: the first range gets the
 * second's old table.
 */
static void retractor_loop(struct lab_thread *t)
{
	struct lab_scenario *s = t->s;
	bool huge[NR_S];
	uint64_t round = 0;

	while (!stopping(&s->stop_writers)) {
		bool any = false;

		if (mm_populate(s->mm, BASE, NR_S * PMD_SIZE, true))
			fail(t, LAB_FAIL_USER_WRITE);
		sleep_ns(RETRACT_HOLD_NS);
		for (int i = 0; i < NR_S; i++) {
			uint64_t a = BASE + (uint64_t)i * PMD_SIZE;
			int r = collapse_pte_mapped_thp(s->mm, a, (round + (uint64_t)i) & 1);

			huge[i] = ((round + (uint64_t)i) & 1) && r == SCAN_SUCCEED;
			any |= huge[i];
			if (r == SCAN_SUCCEED) {
				lab_count(&t->ctx.st.collapses, 1);
				lab_count(&t->ctx.st.cycles, 1);
			} else if (r != SCAN_PMD_MAPPED) {
				lab_count(&t->ctx.st.refusals, 1);
			}
		}
		if (any)
			sleep_ns(RETRACT_HUGE_HOLD_NS);
		for (int i = 0; i < NR_S; i++)
			if (huge[i] && mm_madvise_dontneed(s->mm, BASE + (uint64_t)i * PMD_SIZE,
							   PMD_SIZE))
				fail(t, LAB_FAIL_MUNMAP);
		round++;
	}
}

/* Faults @n huge pages of a hugetlb mapping at @addr, in @t's mm. */
static void fault_hugetlb(struct lab_thread *t, uint64_t addr, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (user_write(addr + (uint64_t)i * PMD_SIZE, &addr, 8))
			fail(t, LAB_FAIL_USER_WRITE);
}

/* Waits for a hand-off from the other writer, or for the end. */
static bool await_flag(struct lab_scenario *s, atomic_bool *flag)
{
	while (!atomic_load_explicit(flag, memory_order_acquire))
		if (stopping(&s->stop_writers))
			return false;
		else
			sleep_ns(20000);
	atomic_store_explicit(flag, false, memory_order_relaxed);
	return true;
}

/* Maps F1 over the 1 GiB again in @t's mm and faults the walkers' pages:
 * the faults share the table the others use. */
static bool share_again(struct lab_thread *t)
{
	if (mm_mmap_hugetlb(t->mm, BASE, PUD_SIZE, VM_READ | VM_WRITE, t->s->f1, 0) < 0) {
		fail(t, LAB_FAIL_MMAP);
		return false;
	}
	fault_hugetlb(t, BASE, NR_H);
	return true;
}

/* hugetlb-unshare, mm W (the walkers'): unshare (munmap) while A and B
 * still share the table, let A and B go on, share again. */
static void unsharer_loop(struct lab_thread *t)
{
	struct lab_scenario *s = t->s;

	while (!stopping(&s->stop_writers)) {
		if (mm_munmap(t->mm, BASE, PUD_SIZE))
			fail(t, LAB_FAIL_MUNMAP);
		atomic_store_explicit(&s->w_unmapped, true, memory_order_release);
		if (!await_flag(s, &s->a_restored) || !share_again(t))
			break;
		lab_count(&t->ctx.st.cycles, 1);
		sleep_ns(300000);
	}
}

/* hugetlb-unshare, mm A: once W is gone, unshare (munmap): the table
 * becomes B's own; once B put F1 back, share again. */
static void last_unsharer_loop(struct lab_thread *t)
{
	struct lab_scenario *s = t->s;

	while (await_flag(s, &s->w_unmapped)) {
		if (mm_munmap(t->mm, BASE, PUD_SIZE))
			fail(t, LAB_FAIL_MUNMAP);
		atomic_store_explicit(&s->a_unmapped, true, memory_order_release);
		if (!await_flag(s, &s->b_restored) || !share_again(t))
			break;
		atomic_store_explicit(&s->a_restored, true, memory_order_release);
	}
}

/* hugetlb-unshare, mm B: once A stopped sharing, map F2 over the walkers'
 * second huge page, fault it, hold it, and put F1 back (the VMAs merge
 * again, so A can share the table again). */
static void owner_loop(struct lab_thread *t)
{
	struct lab_scenario *s = t->s;
	uint64_t x = BASE + PMD_SIZE;

	while (await_flag(s, &s->a_unmapped)) {
		if (mm_munmap(t->mm, x, PMD_SIZE))
			fail(t, LAB_FAIL_MUNMAP);
		if (mm_mmap_hugetlb(t->mm, x, PMD_SIZE, VM_READ | VM_WRITE, s->f2, 0) < 0)
			fail(t, LAB_FAIL_MMAP);
		fault_hugetlb(t, x, 1);
		sleep_ns(200000);
		if (mm_munmap(t->mm, x, PMD_SIZE))
			fail(t, LAB_FAIL_MUNMAP);
		if (mm_mmap_hugetlb(t->mm, x, PMD_SIZE, VM_READ | VM_WRITE, s->f1, PMD_SIZE) < 0)
			fail(t, LAB_FAIL_MMAP);
		fault_hugetlb(t, x, 1);
		atomic_store_explicit(&s->b_restored, true, memory_order_release);
	}
}

const char *lab_scenario_writer_name(enum scenario s, int index)
{
	switch (s) {
	case SCENARIO_MUNMAP:
		return "mutator";
	case SCENARIO_PT_RECLAIM:
		return "reclaimer";
	case SCENARIO_HUGETLB_UNSHARE:
		return index == 0 ? "unsharer (mm W)" : index == 1 ? "owner (mm B)"
								   : "last unsharer (mm A)";
	case SCENARIO_MUNMAP_PMD:
		return "PUD-range mutator";
	case SCENARIO_RETRACT:
		return "retractor";
	case SCENARIO_MREMAP:
		return "mover";
	default:
		return index == 0 ? "collapser" : "zapper";
	}
}

static void writer_body(struct lab_thread *t)
{
	switch (t->s->cfg.scenario) {
	case SCENARIO_MUNMAP:
		mutator_loop(t);
		break;
	case SCENARIO_PT_RECLAIM:
		reclaimer_loop(t);
		break;
	case SCENARIO_MUNMAP_PMD:
		pmd_mutator_loop(t);
		break;
	case SCENARIO_RETRACT:
		retractor_loop(t);
		break;
	case SCENARIO_MREMAP:
		mover_loop(t);
		break;
	case SCENARIO_HUGETLB_UNSHARE:
		if (t->ctx.index == 0)
			unsharer_loop(t);
		else if (t->ctx.index == 1)
			owner_loop(t);
		else
			last_unsharer_loop(t);
		break;
	default:
		if (t->ctx.index == 0)
			collapser_loop(t);
		else
			zapper_loop(t);
		break;
	}
}

/* An idle CPU of the mm: it takes IPIs while it sleeps. */
static void bystander_body(struct lab_thread *t)
{
	while (!stopping(&t->s->stop_walkers))
		sleep_ns(1000000);
}

/* Every scenario thread: a CPU running the scenario's mm for its body. */
static void *lab_thread_main(void *arg)
{
	struct lab_thread *t = arg;
	int cpu = cpu_register();
	bool ok = cpu >= 0 && use_mm(t->mm) == 0;

	t->ctx.cpu = cpu;
	lab_self = &t->ctx;
	if (!ok)
		atomic_store(&t->s->failed, 1);
	atomic_store(&t->started, true);
	if (ok)
		t->body(t);
	lab_self = NULL;
	if (current_mm())
		unuse_mm();
	cpu_unregister();
	atomic_store(&t->done, true);
	return NULL;
}

/* hugetlb-unshare: B maps F1 first (its PMD table), A and W then share
 * it. Each mm also maps an anchor page in the next PUD range of the same
 * PGD entry, as munmap-pmd does: unmapping the hugetlb range then frees
 * no PUD table (free_pgtables()'s ceiling is the anchor), so the cells
 * judge the PMD table's unsharing alone. Without it, where PUD tables go
 * at once (loongarch, mips up to 6.19), W's walkers read a PUD table
 * freed under them: munmap-pmd's question, not this scenario's (an ASan
 * soak found it there, with allocations failing). */
static int hugetlb_setup(struct lab_scenario *s)
{
	struct mm_struct *mms[3];
	int64_t r = 0;

	s->f1 = hugetlb_file_create(PUD_SIZE);
	s->f2 = hugetlb_file_create(PMD_SIZE);
	s->mm_a = mm_create();
	s->mm_b = mm_create();
	if (!s->f1 || !s->f2 || !s->mm_a || !s->mm_b)
		return -ENOMEM;
	mms[0] = s->mm_b;
	mms[1] = s->mm_a;
	mms[2] = s->mm;
	for (int i = 0; i < 3 && r >= 0; i++) {
		r = mm_mmap_hugetlb(mms[i], BASE, PUD_SIZE, VM_READ | VM_WRITE, s->f1, 0);
		if (r >= 0)
			r = mm_populate(mms[i], BASE, NR_H * PMD_SIZE, true);
		if (r >= 0)
			r = mm_mmap(mms[i], BASE + PUD_SIZE, PAGE_SIZE, VM_READ | VM_WRITE);
	}
	return r < 0 ? (int)r : 0;
}

/* retract: the shmem file, mapped shared at BASE and faulted in (its
 * folios are allocated here, before any allocation may fail). */
static int shmem_setup(struct lab_scenario *s)
{
	int64_t r;

	s->sf = shmem_file_create(NR_S * PMD_SIZE);
	if (!s->sf)
		return -ENOMEM;
	r = mm_mmap_shmem(s->mm, BASE, NR_S * PMD_SIZE, VM_READ | VM_WRITE, s->sf, 0);
	if (r < 0)
		return (int)r;
	return mm_populate(s->mm, BASE, NR_S * PMD_SIZE, true);
}

/* Maps and populates the scenario's ranges (small pages, or hugetlb, or
 * shmem). */
static int scenario_setup(struct lab_scenario *s)
{
	uint64_t len = walk_len(s);
	int ret;

	if (s->cfg.scenario == SCENARIO_HUGETLB_UNSHARE)
		return hugetlb_setup(s);
	if (s->cfg.scenario == SCENARIO_MUNMAP_PMD) {
		/* The anchor: a VMA in the third PUD range of the same PGD
		 * entry, never unmapped, so that unmapping a range frees its
		 * PMD table and never the PUD table above. */
		if (mm_mmap(s->mm, munmap_pmd_range(2), PAGE_SIZE, VM_READ | VM_WRITE) < 0)
			return -ENOMEM;
		ret = munmap_pmd_map(s->mm, 0);
		return ret ? ret : munmap_pmd_fault(s->mm, 0);
	}
	if (s->cfg.scenario == SCENARIO_RETRACT)
		return shmem_setup(s);
	if (s->cfg.scenario == SCENARIO_MREMAP) {
		if (mm_mmap(s->mm, MR_ANCHOR, PAGE_SIZE, VM_READ | VM_WRITE) < 0)
			return -ENOMEM;
		ret = mremap_map(s->mm, MR_A, PMD_SIZE);
		if (!ret && s->cfg.profile.move_pud)
			ret = mremap_map(s->mm, MR_C, PUD_SIZE);
		return ret;
	}
	if (mm_mmap(s->mm, BASE, len, VM_READ | VM_WRITE) < 0)
		return -ENOMEM;
	ret = mm_populate(s->mm, BASE, len, true);
	if (ret)
		return ret;
	if (s->cfg.scenario == SCENARIO_COLLAPSE_ZAP || s->cfg.scenario == SCENARIO_COLLAPSE_PIN)
		ret = mm_madvise(s->mm, BASE, len, MADV_HUGEPAGE);
	return ret;
}

/* What scenario_setup() made besides the scenario's mm. Called by the
 * controller, a CPU, once the threads are gone. */
static void scenario_teardown(struct lab_scenario *s)
{
	if (s->sf) {
		/* The mapping goes first: the file outlives no map. */
		mm_munmap(s->mm, BASE, NR_S * PMD_SIZE);
		shmem_file_destroy(s->sf);
	}
	if (s->mm_b) {
		/* W's mapping of F1 goes first: the files outlive no map. */
		mm_munmap(s->mm, BASE, PUD_SIZE);
		mm_destroy(s->mm_b);
	}
	if (s->mm_a)
		mm_destroy(s->mm_a);
	if (s->f1)
		hugetlb_file_destroy(s->f1);
	if (s->f2)
		hugetlb_file_destroy(s->f2);
}

/* A thread's context, registered in lab_rs before any thread starts. */
static int add_thread(struct lab_scenario *s, enum lab_role role, enum walker_kind kind,
		      int index, struct mm_struct *mm, void (*body)(struct lab_thread *t))
{
	struct lab_thread *t;
	int ret;

	if (s->nr_threads == LAB_MAX_THREADS)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->ctx.role = role;
	ret = lab_tctx_rings_init(&t->ctx, role == LAB_ROLE_WRITER ? WRITER_RING : WALKER_RING);
	if (ret) {
		free(t);
		return ret;
	}
	t->s = s;
	t->mm = mm;
	t->body = body;
	t->ctx.kind = kind;
	t->ctx.index = index;
	t->ctx.cpu = -1;
	s->threads[s->nr_threads++] = t;
	lab_rs.threads[lab_rs.nthreads++] = &t->ctx;
	return 0;
}

static int start_thread(struct lab_thread *t)
{
	if (pthread_create(&t->thread, NULL, lab_thread_main, t))
		return -EAGAIN;
	while (!atomic_load(&t->started))
		sleep_ns(50000);
	return 0;
}

/* Joins, in short sleeps during which this CPU takes its IPIs. */
static void join_thread(struct lab_thread *t)
{
	while (!atomic_load(&t->done))
		sleep_ns(100000);
	pthread_join(t->thread, NULL);
	t->thread = 0;
}

int lab_scenario_start(const struct lab_run_config *cfg, struct mm_struct *mm,
		       struct lab_scenario **out)
{
	struct lab_scenario *s = calloc(1, sizeof(*s));
	unsigned int writers, cpus;
	int ret;

	*out = s;
	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	s->mm = mm;
	s->mm_id = mm_id(mm);
	lab_rs.nthreads = 0;
	lab_rs.scenario = cfg->scenario;
	ret = scenario_setup(s);
	writers = cfg->scenario == SCENARIO_HUGETLB_UNSHARE ? 3
		  : cfg->scenario == SCENARIO_COLLAPSE_ZAP ? 2
							   : 1;
	for (unsigned int i = 0; !ret && i < writers; i++)
		ret = add_thread(s, LAB_ROLE_WRITER, WALKER_GUP, (int)i,
				 i == 1 && s->mm_b ? s->mm_b : i == 2 && s->mm_a ? s->mm_a : mm,
				 writer_body);
	s->nr_writers = s->nr_threads;
	/* The CPUs that run the scenario's mm (not A's or B's). */
	cpus = s->mm_b ? 1 : writers;
	for (int k = 0; k < WALKER_KINDS; k++)
		for (unsigned int i = 0; !ret && (cfg->walker_kinds & WALKER_MASK(k)) &&
					 i < cfg->walkers; i++, cpus++)
			ret = add_thread(s, LAB_ROLE_WALKER, (enum walker_kind)k, (int)i, mm,
					 walker_body);
	for (int i = 0; !ret && cpus < cfg->min_mm_cpus; cpus++, i++)
		ret = add_thread(s, LAB_ROLE_BYSTANDER, WALKER_GUP, i, mm, bystander_body);
	if (!ret)
		lab_faults_begin(cfg);
	for (int i = 0; !ret && i < s->nr_threads; i++)
		ret = start_thread(s->threads[i]);
	if (!ret && atomic_load(&s->failed))
		ret = -EIO;
	return ret;
}

void lab_scenario_stop(struct lab_scenario *s)
{
	if (!s)
		return;
	atomic_store_explicit(&s->stop_writers, true, memory_order_release);
	for (int i = 0; i < s->nr_writers; i++)
		if (s->threads[i]->thread)
			join_thread(s->threads[i]);
	atomic_store_explicit(&s->stop_walkers, true, memory_order_release);
	for (int i = s->nr_writers; i < s->nr_threads; i++)
		if (s->threads[i]->thread)
			join_thread(s->threads[i]);
}

void lab_scenario_free(struct lab_scenario *s)
{
	if (!s)
		return;
	scenario_teardown(s);
	for (int i = 0; i < s->nr_threads; i++) {
		lab_tctx_rings_free(&s->threads[i]->ctx);
		free(s->threads[i]);
	}
	free(s);
	lab_rs.nthreads = 0;
}
