// SPDX-License-Identifier: MIT
/*
 * What a sync policy costs (ptlab/synccost.h): a machine of @cpus CPUs, of
 * which @mm_cpus run mm A (the collapser and GUP-fast walkers of A, which
 * walk another range of it) and the rest walk mm B; the collapser
 * collapses a 2 MiB range of A and
 * splits it back, again and again, and counts, at the race points where
 * each wait begins, whom the collapse's flush and sync interrupt. The
 * hook counts on the collapsing thread only (thread-local): nothing is
 * added to the protocol.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ptlab/gup.h"
#include "ptlab/huge.h"
#include "ptlab/machine.h"
#include "ptlab/mm.h"
#include "ptlab/race.h"
#include "ptlab/smp.h"
#include "ptlab/synccost.h"
#include "util/compare.h"
#include "util/time.h"

#define BASE_A (1ULL << 36)
/* The 2 MiB of A its walkers walk: not the collapsed range, whose scan
 * would refuse pages they hold. */
#define WALK_A (BASE_A + 4 * PMD_SIZE)
#define BASE_B (2ULL << 36)
/* A walker's pause between two walks: enough for 63 of them to share two
 * cores with the collapser. */
#define WALK_PAUSE_NS 50000

/* ---- the counts, on the collapsing thread ---- */

struct attempt_counts {
	cpumask_t flush, sync;
	uint64_t sync_t0;
	unsigned int attempts;
	double flush_ipis, sync_ipis, waited;
	double *sync_ns;
	unsigned int max;
};

static _Thread_local struct attempt_counts *counting;

static void count_hook(enum race_point rp, const struct race_ctx *ctx)
{
	struct attempt_counts *c = counting;

	if (!c)
		return;
	switch (rp) {
	case RP_TLB_FLUSH_BEGIN:
		c->flush |= ctx->mask;
		break;
	case RP_TABLE_SYNC_BEGIN:
		c->sync = ctx->mask;
		c->sync_t0 = monotonic_ns();
		break;
	case RP_TABLE_SYNC_END:
		if (c->attempts < c->max)
			c->sync_ns[c->attempts] = (double)(monotonic_ns() - c->sync_t0);
		break;
	case RP_COLLAPSE_ISOLATED:
	case RP_COLLAPSE_REFUSED:
		/* The attempt's flush and sync are over: count it. */
		if (c->attempts < c->max) {
			c->flush_ipis += __builtin_popcountll(c->flush);
			c->sync_ipis += __builtin_popcountll(c->sync);
			c->waited += __builtin_popcountll(c->flush | c->sync);
			c->attempts++;
		}
		c->flush = c->sync = 0;
		break;
	default:
		break;
	}
}

/* ---- the other CPUs ---- */

struct walker_cpu {
	pthread_t thread;
	struct mm_struct *mm;
	uint64_t base;
	atomic_bool *stop;
	atomic_bool ready;
	int err;
};

/* GUP-fast walks of its mm's 2 MiB, a pause between each. */
static void *walker_main(void *arg)
{
	struct walker_cpu *w = arg;
	uint64_t i = (uint64_t)(uintptr_t)w;

	w->err = cpu_register() < 0 ? -ENOSPC : use_mm(w->mm);
	atomic_store(&w->ready, true);
	while (!w->err && !atomic_load(w->stop)) {
		struct page *p;

		i = i * 6364136223846793005ULL + 1442695040888963407ULL;
		if (pin_user_pages_fast(w->base + ((i >> 33) % 512) * PAGE_SIZE, 1,
					FOLL_FAST_ONLY, &p) == 1)
			unpin_user_pages(&p, 1);
		sleep_ns(WALK_PAUSE_NS);
	}
	if (!w->err)
		unuse_mm();
	if (w->err != -ENOSPC)
		cpu_unregister();
	return NULL;
}

static int populate(struct mm_struct *mm, uint64_t base)
{
	int64_t r = mm_mmap(mm, base, PMD_SIZE, VM_READ | VM_WRITE);

	if (r < 0)
		return (int)r;
	return mm_populate(mm, base, PMD_SIZE, true);
}

/* Collapses A's range and splits it back @n times, counting. */
static int collapse_rounds(struct mm_struct *a, unsigned int n, struct attempt_counts *c)
{
	int ret = mm_madvise(a, BASE_A, PMD_SIZE, MADV_HUGEPAGE);

	race_hook_set(count_hook);
	counting = c;
	for (unsigned int i = 0; !ret && c->attempts < n && i < 20 * n; i++) {
		int r;

		c->flush = c->sync = 0;
		r = hpage_collapse(a, BASE_A);
		if (r == SCAN_SUCCEED || r == SCAN_PMD_MAPPED)
			ret = split_huge_pmd_at(a, BASE_A);
	}
	counting = NULL;
	race_hook_set(NULL);
	return ret ? ret : c->attempts ? 0 : -EAGAIN;
}

int ptlab_sync_cost(const struct sync_cost_config *cfg, struct sync_cost *out)
{
	struct ptlab_config mc;
	struct walker_cpu *w = NULL;
	struct attempt_counts c = { 0 };
	struct mm_struct *a = NULL, *b = NULL;
	atomic_bool stop = false;
	unsigned int started = 0;
	int ret;

	if (!cfg || !out || !cfg->profile || cfg->cpus < 2 || cfg->cpus > PTLAB_MAX_CPUS ||
	    cfg->mm_cpus < 1 || cfg->mm_cpus > cfg->cpus || !cfg->collapses ||
	    cfg->collapses > 10000 || (unsigned int)cfg->policy >= SYNC_POLICIES)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	mc = (struct ptlab_config){ .profile = *cfg->profile,
				    .fixes = { .pmd_recheck = true, .sync = cfg->policy },
				    .kernel = ptlab_kernel_default(cfg->profile),
				    .pool_bytes = 32ULL << 20 };
	w = calloc(cfg->cpus, sizeof(*w));
	c.sync_ns = calloc(cfg->collapses, sizeof(double));
	c.max = cfg->collapses;
	if (!w || !c.sync_ns) {
		ret = -ENOMEM;
		goto out_free;
	}
	if ((ret = ptlab_init(&mc)))
		goto out_free;
	if (cpu_register() < 0) {
		ret = -ENOSPC;
		goto out_exit;
	}
	a = mm_create();
	b = mm_create();
	ret = a && b ? 0 : -ENOMEM;
	if (!ret && !(ret = use_mm(b))) {
		ret = populate(b, BASE_B);
		unuse_mm();
	}
	/* The collapser runs A from here on. */
	if (!ret && !(ret = use_mm(a)))
		ret = populate(a, BASE_A);
	if (!ret)
		ret = populate(a, WALK_A);
	for (; !ret && started + 1 < cfg->cpus; started++) {
		struct walker_cpu *x = &w[started];
		bool on_a = started + 1 < cfg->mm_cpus;

		*x = (struct walker_cpu){ .mm = on_a ? a : b, .base = on_a ? WALK_A : BASE_B,
					  .stop = &stop };
		if (pthread_create(&x->thread, NULL, walker_main, x)) {
			ret = -EAGAIN;
			break;
		}
		while (!atomic_load(&x->ready))
			sleep_ns(20000);
		ret = x->err;
	}
	if (!ret)
		ret = collapse_rounds(a, cfg->collapses, &c);
	atomic_store(&stop, true);
	for (unsigned int i = 0; i < started; i++)
		pthread_join(w[i].thread, NULL);
	if (!ret) {
		out->attempts = c.attempts;
		out->flush_ipis = c.flush_ipis / c.attempts;
		out->sync_ipis = c.sync_ipis / c.attempts;
		out->waited = c.waited / c.attempts;
		qsort(c.sync_ns, c.attempts, sizeof(double), cmp_double);
		out->sync_ns = c.sync_ns[c.attempts / 2];
	}
	if (current_mm())
		unuse_mm();
	if (a)
		mm_destroy(a);
	if (b)
		mm_destroy(b);
	cpu_unregister();
out_exit:
	ptlab_exit(NULL);
out_free:
	free(w);
	free(c.sync_ns);
	return ret;
}

/* ---- the marker on GUP-fast ---- */

static double pin_loop_ns(uint64_t ops)
{
	uint64_t t0 = monotonic_ns();
	struct page *p;

	for (uint64_t i = 0; i < ops; i++)
		if (pin_user_pages_fast(BASE_A + (i % 512) * PAGE_SIZE, 1, FOLL_FAST_ONLY, &p) == 1)
			unpin_user_pages(&p, 1);
	return (double)(monotonic_ns() - t0) / (double)ops;
}

int ptlab_gup_marker_cost(unsigned int rounds, uint64_t ops, struct gup_marker_cost *out)
{
	struct ptlab_config mc;
	struct mm_struct *a = NULL;
	double *plain, *marked;
	int ret;

	if (!out || rounds < 3 || rounds > 64 || !ops || ops > 1000000000ULL)
		return -EINVAL;
	plain = calloc(rounds, sizeof(double));
	marked = calloc(rounds, sizeof(double));
	if (!plain || !marked) {
		ret = -ENOMEM;
		goto out_free;
	}
	ptlab_config_default(&mc);
	mc.pool_bytes = 16ULL << 20;
	if ((ret = ptlab_init(&mc)))
		goto out_free;
	if (cpu_register() < 0) {
		ret = -ENOSPC;
		goto out_exit;
	}
	a = mm_create();
	ret = a ? use_mm(a) : -ENOMEM;
	if (!ret)
		ret = populate(a, BASE_A);
	/* Rounds interleaved, each starting with the other kind, so that
	 * both see the same machine. */
	for (unsigned int r = 0; !ret && r < 2 * rounds; r++) {
		bool mark = (r & 1) ^ ((r / 2) & 1);

		ptlab_set_fixes((struct ptlab_fixes){ .pmd_recheck = true,
						      .sync = mark ? SYNC_WALKERS : SYNC_ALL });
		(mark ? marked : plain)[r / 2] = pin_loop_ns(ops);
	}
	if (!ret) {
		qsort(plain, rounds, sizeof(double), cmp_double);
		qsort(marked, rounds, sizeof(double), cmp_double);
		out->ns_plain = plain[rounds / 2];
		out->ns_marked = marked[rounds / 2];
	}
	if (current_mm())
		unuse_mm();
	if (a)
		mm_destroy(a);
	cpu_unregister();
out_exit:
	ptlab_exit(NULL);
out_free:
	free(plain);
	free(marked);
	return ret;
}
