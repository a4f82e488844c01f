// SPDX-License-Identifier: MIT
/*
 * The scenarios: sets of CPU threads running bounded loops against one mm.
 * All ranges lie in one 1 GiB-aligned region, so they share one PMD table
 * and its deposit list.
 *
 * Every scenario's walkers pin one page with pin_user_pages_fast(), write
 * their own word of it through the pin, unpin it and (in the collapse
 * scenarios, where the range stays mapped) read the word back: a
 * different value is a lost write.
 *
 * collapse-zap  collapser: collapse A's ranges, then split them back;
 *               zapper: fault THPs in Z, hold them a moment, munmap Z
 *               (zap_huge_pmd() withdraws the head of the deposit list,
 *               after a collapse the table it deposited, and pte_free()s
 *               it at once).
 * collapse-pin  collapser as above (split, never a free).
 * munmap        mutator: munmap two 2 MiB (or 64 KiB) chunks of M, map
 *               them again and fault them back, so freed tables come back
 *               elsewhere.
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
#include "ptlab/smp.h"
#include "util/rand.h"
#include "util/time.h"

#define BASE (1ULL << 39)
#define NR_A 2           /* collapse ranges */
#define NR_Z 2           /* zapped THP ranges */
#define NR_M 4           /* munmap ranges */

/* Ring sizes: a walker logs only sections that met a writer; a writer
 * logs every step. The controller reads them every few milliseconds. */
#define WALKER_RING (1u << 14)
#define WRITER_RING (1u << 16)

struct lab_thread {
	pthread_t thread;
	struct lab_scenario *s;
	struct lab_tctx ctx;
	/* What the thread does once it is a CPU running the scenario's mm. */
	void (*body)(struct lab_thread *t);
	/* Set by the thread; read by the thread that started it. */
	atomic_bool started, done;
};

struct lab_scenario {
	struct lab_run_config cfg;
	struct mm_struct *mm;
	uint32_t mm_id;
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
	return (s->cfg.scenario == SCENARIO_MUNMAP ? NR_M : NR_A) * PMD_SIZE;
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
	lab_check_returned(&p, 1, addr, s->mm_id);
	page_write(p, (size_t)w * 8, &v, 8);
	lab_pin_note(p, addr);
	unpin_user_pages_dirty_lock(&p, 1, true);
	lab_walker_op_done();
	/* The consequence a user sees: the write did not land. Only where the
	 * range stays mapped: munmap may legitimately drop the page. */
	if (collapses(s) && user_read(word, &back, 8) == 0 && back != v)
		lab_count(&t->ctx.st.lost_writes, 1);
}

static void walker_body(struct lab_thread *t)
{
	struct lab_scenario *s = t->s;
	uint64_t rng = rand_seed(s->cfg.seed, (uint64_t)t->ctx.index + 1);
	uint64_t round = 0, len = walk_len(s);

	while (!stopping(&s->stop_walkers)) {
		uint64_t addr = BASE + (rand_next(&rng) % (len / PAGE_SIZE)) * PAGE_SIZE;

		walker_pin(t, addr, ++round);
		lab_pins_check(false);
	}
	lab_pins_check(true);
}

/* Collapses each A range and splits it back (collapse-zap, collapse-pin). */
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

static void writer_body(struct lab_thread *t)
{
	if (t->s->cfg.scenario == SCENARIO_MUNMAP)
		mutator_loop(t);
	else if (t->ctx.index == 0)
		collapser_loop(t);
	else
		zapper_loop(t);
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
	bool ok = cpu >= 0 && use_mm(t->s->mm) == 0;

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

/* A thread's context, registered in lab_rs before any thread starts. */
static int add_thread(struct lab_scenario *s, enum lab_role role, int index,
		      void (*body)(struct lab_thread *t))
{
	struct lab_thread *t;
	int ret;

	if (s->nr_threads == LAB_MAX_THREADS)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	ret = lab_ring_init(&t->ctx.ring, role == LAB_ROLE_WRITER ? WRITER_RING : WALKER_RING);
	if (ret) {
		free(t);
		return ret;
	}
	t->s = s;
	t->body = body;
	t->ctx.role = role;
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
	writers = cfg->scenario == SCENARIO_COLLAPSE_ZAP ? 2 : 1;
	for (unsigned int i = 0; !ret && i < writers; i++)
		ret = add_thread(s, LAB_ROLE_WRITER, (int)i, writer_body);
	s->nr_writers = s->nr_threads;
	for (unsigned int i = 0; !ret && i < cfg->walkers; i++)
		ret = add_thread(s, LAB_ROLE_WALKER, (int)i, walker_body);
	for (cpus = writers + cfg->walkers; !ret && cpus < cfg->min_mm_cpus; cpus++)
		ret = add_thread(s, LAB_ROLE_BYSTANDER, (int)(cpus - writers - cfg->walkers),
				 bystander_body);
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
	for (int i = 0; i < s->nr_threads; i++) {
		lab_ring_free(&s->threads[i]->ctx.ring);
		free(s->threads[i]);
	}
	free(s);
	lab_rs.nthreads = 0;
}
