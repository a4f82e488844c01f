// SPDX-License-Identifier: MIT
/*
 * The scenarios: sets of CPU threads running bounded loops against one mm.
 * All ranges lie in one 1 GiB-aligned region, so they share one PMD table
 * and its deposit list.
 *
 * collapse-zap  walkers: get_user_pages_fast() on A; collapser: collapse
 *               A's ranges, then split them back; zapper: fault THPs in Z,
 *               hold them a moment, munmap Z (zap_huge_pmd() withdraws
 *               whatever table is on top of the list and pte_free()s it).
 * collapse-pin  walkers: pin a word of A, write through the pin, unpin,
 *               read the word back; collapser as above (split, never a
 *               free).
 * munmap        walkers: get_user_pages_fast() on M; mutator: munmap two
 *               2 MiB (or 64 KiB) chunks, map them again and fault them
 *               back, so freed tables come back elsewhere.
 *
 * Stopping: the writers first (so that every collapse a walker may race
 * with is over), then the walkers, which check their last pins.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lab_internal.h"
#include "ptlab/gup.h"
#include "ptlab/huge.h"
#include "ptlab/smp.h"
#include "util/rand.h"
#include "util/time.h"

#define BASE (1ULL << 39)
#define NR_A 2           /* collapse ranges */
#define NR_Z 2           /* zapped THP ranges */
#define NR_M 4           /* munmap ranges */

struct lab_thread {
	pthread_t thread;
	struct lab_scenario *s;
	int index;
	/* What the thread does once it is a CPU running the scenario's mm. */
	void (*body)(struct lab_thread *t);
	/* Set by the thread; read by the thread that started it. */
	atomic_bool started, done;
};

struct lab_scenario {
	struct lab_run_config cfg;
	struct mm_struct *mm;
	uint32_t mm_id;
	atomic_bool stop_writers, stop_walkers;
	struct lab_thread writers[2];
	int nr_writers;
	struct lab_thread walkers[LAB_MAX_WALKERS];
	int nr_walkers;
	atomic_int failed;   /* a thread hit an unexpected error */
};

static uint64_t walk_len(const struct lab_scenario *s)
{
	return (s->cfg.scenario == SCENARIO_MUNMAP ? NR_M : NR_A) * PMD_SIZE;
}

/* The value a walker writes through its pin: who and when. */
static uint64_t pin_value(int walker, uint64_t round)
{
	return (uint64_t)(walker + 1) << 48 | (round & 0xffffffffffffULL);
}

static void walker_get(struct lab_scenario *s, uint64_t addr)
{
	struct page *p;

	if (get_user_pages_fast(addr, 1, FOLL_FAST_ONLY, &p) != 1)
		return;
	atomic_fetch_add_explicit(&lab_ctr.pages, 1, memory_order_relaxed);
	lab_check_returned(&p, 1, addr, s->mm_id);
	put_page(p);
}

static void walker_pin(struct lab_scenario *s, int w, uint64_t addr, uint64_t round)
{
	/* Each walker owns one word of every page. */
	uint64_t word = addr + (uint64_t)w * 8, v = pin_value(w, round), back = 0;
	struct page *p;

	if (pin_user_pages_fast(addr, 1, FOLL_WRITE | FOLL_FAST_ONLY, &p) != 1)
		return;
	atomic_fetch_add_explicit(&lab_ctr.pages, 1, memory_order_relaxed);
	lab_check_returned(&p, 1, addr, s->mm_id);
	page_write(p, (size_t)w * 8, &v, 8);
	lab_pin_note(p, addr);
	unpin_user_pages_dirty_lock(&p, 1, true);
	/* The consequence a user sees: the write did not land. */
	if (user_read(word, &back, 8) == 0 && back != v)
		atomic_fetch_add_explicit(&lab_ctr.lost_writes, 1, memory_order_relaxed);
}

static void walker_body(struct lab_thread *t)
{
	struct lab_scenario *s = t->s;
	uint64_t rng = rand_seed(s->cfg.seed, (uint64_t)t->index + 1);
	uint64_t round = 0, len = walk_len(s);

	while (!atomic_load_explicit(&s->stop_walkers, memory_order_relaxed)) {
		uint64_t addr = BASE + (rand_next(&rng) % (len / PAGE_SIZE)) * PAGE_SIZE;

		if (s->cfg.scenario == SCENARIO_COLLAPSE_PIN)
			walker_pin(s, t->index, addr, ++round);
		else
			walker_get(s, addr);
		atomic_fetch_add_explicit(&lab_ctr.ops, 1, memory_order_relaxed);
		lab_pins_check(false);
	}
	lab_pins_check(true);
}

/* Collapses each A range and splits it back (collapse-zap, collapse-pin). */
static void collapser_loop(struct lab_scenario *s)
{
	while (!atomic_load_explicit(&s->stop_writers, memory_order_relaxed)) {
		for (int i = 0; i < NR_A; i++) {
			uint64_t a = BASE + (uint64_t)i * PMD_SIZE;
			int r = hpage_collapse(s->mm, a);

			if (r == SCAN_SUCCEED)
				atomic_fetch_add_explicit(&lab_ctr.collapses, 1, memory_order_relaxed);
			else if (r != SCAN_PMD_MAPPED)
				atomic_fetch_add_explicit(&lab_ctr.refusals, 1, memory_order_relaxed);
			if (r == SCAN_SUCCEED || r == SCAN_PMD_MAPPED)
				split_huge_pmd_at(s->mm, a);
		}
	}
}

/* Faults THPs in Z, keeps them while collapses deposit, zaps them. */
static void zapper_loop(struct lab_scenario *s)
{
	uint64_t z = BASE + NR_A * PMD_SIZE;

	while (!atomic_load_explicit(&s->stop_writers, memory_order_relaxed)) {
		if (mm_mmap(s->mm, z, NR_Z * PMD_SIZE, VM_READ | VM_WRITE | VM_HUGEPAGE) < 0) {
			atomic_store(&s->failed, 1);
			return;
		}
		for (int i = 0; i < NR_Z; i++)
			user_write(z + (uint64_t)i * PMD_SIZE, &z, 8);
		sleep_ns(300000);
		mm_munmap(s->mm, z, NR_Z * PMD_SIZE);
		atomic_fetch_add_explicit(&lab_ctr.zaps, 1, memory_order_relaxed);
	}
}

static void refault(uint64_t addr, uint64_t len)
{
	for (uint64_t a = addr; a < addr + len; a += 4 * PAGE_SIZE)
		user_write(a, &a, 8);
}

/* munmap: two chunks out, back in, refaulted first-unmapped first. */
static void mutator_loop(struct lab_scenario *s)
{
	uint64_t rng = rand_seed(s->cfg.seed, 12345);

	while (!atomic_load_explicit(&s->stop_writers, memory_order_relaxed)) {
		uint64_t len = rand_next(&rng) % 2 ? PMD_SIZE : 64 << 10;
		uint64_t n = NR_M * PMD_SIZE / len;
		uint64_t x = rand_next(&rng) % n;
		uint64_t y = (x + 1 + rand_next(&rng) % (n - 1)) % n;

		x = BASE + x * len;
		y = BASE + y * len;
		mm_munmap(s->mm, x, len);
		mm_munmap(s->mm, y, len);
		if (mm_mmap(s->mm, x, len, VM_READ | VM_WRITE) < 0 ||
		    mm_mmap(s->mm, y, len, VM_READ | VM_WRITE) < 0) {
			atomic_store(&s->failed, 1);
			return;
		}
		refault(x, len);
		refault(y, len);
		atomic_fetch_add_explicit(&lab_ctr.zaps, 1, memory_order_relaxed);
	}
}

static void writer_body(struct lab_thread *t)
{
	if (t->s->cfg.scenario == SCENARIO_MUNMAP)
		mutator_loop(t->s);
	else if (t->index == 0)
		collapser_loop(t->s);
	else
		zapper_loop(t->s);
}

/* Every scenario thread: a CPU running the scenario's mm for its body. */
static void *lab_thread_main(void *arg)
{
	struct lab_thread *t = arg;
	bool ok = cpu_register() >= 0 && use_mm(t->s->mm) == 0;

	if (!ok)
		atomic_store(&t->s->failed, 1);
	atomic_store(&t->started, true);
	if (ok)
		t->body(t);
	if (current_mm())
		unuse_mm();
	cpu_unregister();
	atomic_store(&t->done, true);
	return NULL;
}

/* Maps and populates the scenario's ranges (small pages only). */
static int scenario_setup(struct lab_scenario *s)
{
	uint64_t len = walk_len(s);
	int ret;

	if (mm_mmap(s->mm, BASE, len, VM_READ | VM_WRITE) < 0)
		return -ENOMEM;
	ret = mm_populate(s->mm, BASE, len, true);
	if (ret)
		return ret;
	if (s->cfg.scenario != SCENARIO_MUNMAP)
		ret = mm_madvise(s->mm, BASE, len, MADV_HUGEPAGE);
	return ret;
}

static int start_thread(struct lab_thread *t, struct lab_scenario *s, int index,
			void (*body)(struct lab_thread *t))
{
	t->s = s;
	t->index = index;
	t->body = body;
	atomic_store(&t->started, false);
	atomic_store(&t->done, false);
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
}

int lab_scenario_start(const struct lab_run_config *cfg, struct mm_struct *mm,
		       struct lab_scenario **out)
{
	struct lab_scenario *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	s->mm = mm;
	s->mm_id = mm_id(mm);
	ret = scenario_setup(s);
	for (int i = 0; !ret && i < (cfg->scenario == SCENARIO_COLLAPSE_ZAP ? 2 : 1); i++) {
		ret = start_thread(&s->writers[i], s, i, writer_body);
		if (!ret)
			s->nr_writers++;
	}
	for (unsigned int i = 0; !ret && i < cfg->walkers; i++) {
		ret = start_thread(&s->walkers[i], s, (int)i, walker_body);
		if (!ret)
			s->nr_walkers++;
	}
	if (!ret && atomic_load(&s->failed))
		ret = -EIO;
	*out = s;
	return ret;
}

void lab_scenario_stop(struct lab_scenario *s)
{
	atomic_store(&s->stop_writers, true);
	for (int i = 0; i < s->nr_writers; i++)
		join_thread(&s->writers[i]);
	atomic_store(&s->stop_walkers, true);
	for (int i = 0; i < s->nr_walkers; i++)
		join_thread(&s->walkers[i]);
	free(s);
}
