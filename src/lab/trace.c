// SPDX-License-Identifier: MIT
/*
 * The trace of a run: every race point every CPU passes and every
 * detector finding, with a CLOCK_MONOTONIC time, so that a person can see
 * the interleaving (which CPU had interrupts off while which table was
 * freed and reused) rather than counts.
 *
 * Off by default, and then free: the hook is not installed outside a run
 * (a race point is one relaxed load and an untaken branch), and in an
 * untraced run the hook pays one relaxed load of lab_tracing.
 *
 * On, it follows the detectors' rule (lab_internal.h): the hook logs each
 * point into the calling thread's own ring (evlog.c) with relaxed stores
 * and a release store of the ring's head, the same ring the evidence
 * analyzer reads (which skips these events). No lock, no fence, no atomic
 * read-modify-write on a location another thread touches, so tracing
 * does not add ordering to what it observes; it does add time to each
 * step, and so changes how often races meet (measured in the issue's
 * note, not hidden).
 *
 * Who logs where:
 * - a scenario thread (a CPU of the run): its ring; from its IPI signal
 *   handler, when that interrupted lab_log() itself, its irq ring
 *   (evlog.c says why);
 * - liburcu's call_rcu thread, which is no CPU and has no context: the
 *   end of a grace period (the RCU callback starting) and the RCU frees
 *   it runs go to rcu_ring, whose only producer it is: every
 *   tlb_remove_table_rcu() runs on liburcu's default call_rcu thread, one
 *   callback at a time, and nothing else logs there. The request of the
 *   grace period is logged by the CPU that handed the batch to
 *   call_rcu(), with the batch, so the two ends pair up;
 * - any other thread (the controller, which is a CPU only to set the
 *   machine up and take IPIs): nothing.
 *
 * The controller (lab_trace_poll(), off every protocol path) copies the
 * new events out of every ring each poll with its own cursors, keeps the
 * last trace_before_ms (plus a margin for events published late) until a
 * finding arrives, then keeps everything from trace_before_ms before the
 * first finding to trace_after_ms after it. After the run it merges the
 * lanes by time (lab_trace_end()).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab_internal.h"
#include "ptlab/smp.h"

_Atomic bool lab_tracing;

#define RCU_RING (1u << 12)
static _Atomic uint64_t rcu_ring_w[RCU_RING][LAB_EVENT_WORDS];
/* Reset by the controller before a traced run's threads start, after the
 * previous run's callbacks are done (ptlab_exit() waits for them). */
static struct lab_ring rcu_ring = { .size = RCU_RING, .w = rcu_ring_w };

/* ---- the hook's side ---- */

void lab_trace(enum race_point rp, const struct race_ctx *ctx)
{
	/* The table the point is about: the PTE table, else the PMD table
	 * (a hugetlb unshare, a PUD read, a huge PMD), else the page. */
	struct page *table = ctx->pte_table ? ctx->pte_table
			     : ctx->pmd_table ? ctx->pmd_table : ctx->page;
	struct lab_event e = {
		.type = EV_TRACE, .how = (uint16_t)rp, .flags = (uint16_t)ctx->how,
		.t = lab_now_ns(), .t_end = ctx->addr,
		.t_put = (uint64_t)(uintptr_t)ctx->fn,
		.value = rp == RP_GUP_FAST_PTE_READ ? ctx->pte : ctx->pmd,
		.mask = rp == RP_IPI_SENT ? 1ULL << ctx->cpu : ctx->mask,
		.slot = (uint64_t)(uintptr_t)(ctx->csd ? ctx->csd : (const void *)ctx->pmdp),
		.pfn = table ? page_to_pfn(table) : PFN_NONE,
		.gen = table ? atomic_load_explicit(&table->generation, memory_order_relaxed) : 0,
	};

	if (rp == RP_TABLE_RCU_HANDOFF || rp == RP_TABLE_RCU_CALLBACK)
		e.slot = (uint64_t)(uintptr_t)ctx->page;
	if (lab_self) {
		e.cpu = (uint16_t)lab_self->cpu;
		lab_log(&e);
	} else if (rp == RP_TABLE_RCU_CALLBACK ||
		   (rp == RP_TABLE_FREE && ctx->how == TABLE_FREE_RCU)) {
		e.cpu = (uint16_t)LAB_TRACE_RCU_LANE_CPU;
		lab_ring_push(&rcu_ring, &e);
	}
}

void lab_trace_finding(const struct lab_violation_detail *d)
{
	lab_log(&(struct lab_event){ .type = EV_TRACE_FINDING, .how = (uint16_t)d->kind,
				     .t = lab_now_ns(), .t_end = d->addr, .pfn = d->table_pfn,
				     .gen = d->gen_now, .value = d->page_pfn,
				     .cpu = (uint16_t)d->cpu });
}

/* ---- the controller's side ---- */

/* Until a finding arrives, events this much older than the window are
 * dropped: an event is published a little after its time is taken (more
 * when its thread is descheduled in between). */
#define LATE_NS 50000000ULL
#define READ_BATCH 4096

struct lane_events {
	struct lab_event *v;
	size_t n, cap;
};

/* Lanes: the scenario threads in lab_rs order, then call_rcu's. */
_Static_assert(LAB_MAX_THREADS + 1 <= LAB_TRACE_MAX_LANES, "a trace lane per thread");
struct lab_trace_collector {
	uint64_t before_ns, after_ns;
	int nlanes;
	uint64_t from[LAB_MAX_THREADS + 1], irq_from[LAB_MAX_THREADS];
	struct lane_events lane[LAB_MAX_THREADS + 1];
	bool have_finding;
	uint64_t first_finding;
	uint64_t lost;
	struct lab_event batch[READ_BATCH];
};

static void lane_push(struct lab_trace_collector *c, int lane, const struct lab_event *e)
{
	struct lane_events *l = &c->lane[lane];

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4096;
		struct lab_event *v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			c->lost++;
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *e;
}

/* Drops @l's events before @t (each lane is in time order but for the
 * irq ring's few, which are merged at the end: those are dropped by the
 * same test wherever they stand). */
static void lane_trim(struct lane_events *l, uint64_t t)
{
	size_t kept = 0;

	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].t >= t)
			l->v[kept++] = l->v[i];
	l->n = kept;
}

static void read_ring(struct lab_trace_collector *c, struct lab_ring *r, uint64_t *from, int lane)
{
	size_t n;

	if (!r->w)
		return;
	do {
		n = lab_ring_read(r, from, c->batch, READ_BATCH, &c->lost);
		for (size_t k = 0; k < n; k++) {
			const struct lab_event *e = &c->batch[k];

			if (e->type < EV_TRACE)
				continue;
			if (c->have_finding && e->t > c->first_finding + c->after_ns)
				continue;
			if (e->type == EV_TRACE_FINDING &&
			    (!c->have_finding || e->t < c->first_finding)) {
				c->have_finding = true;
				c->first_finding = e->t;
			}
			lane_push(c, lane, e);
		}
	} while (n == READ_BATCH);
}

struct lab_trace_collector *lab_trace_begin(const struct lab_run_config *cfg)
{
	struct lab_trace_collector *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->before_ns = (uint64_t)(cfg->trace_before_ms * 1e6);
	c->after_ns = (uint64_t)(cfg->trace_after_ms * 1e6);
	atomic_store_explicit(&rcu_ring.head, 0, memory_order_relaxed);
	atomic_store_explicit(&lab_tracing, true, memory_order_relaxed);
	return c;
}

void lab_trace_poll(struct lab_trace_collector *c)
{
	uint64_t now = lab_now_ns();

	c->nlanes = lab_rs.nthreads + 1;
	for (int i = 0; i < lab_rs.nthreads; i++) {
		read_ring(c, &lab_rs.threads[i]->ring, &c->from[i], i);
		read_ring(c, &lab_rs.threads[i]->irq_ring, &c->irq_from[i], i);
	}
	read_ring(c, &rcu_ring, &c->from[lab_rs.nthreads], lab_rs.nthreads);
	for (int i = 0; i < c->nlanes; i++) {
		if (c->have_finding)
			lane_trim(&c->lane[i], c->first_finding > c->before_ns
						       ? c->first_finding - c->before_ns
						       : 0);
		else if (now > c->before_ns + c->after_ns + LATE_NS)
			lane_trim(&c->lane[i], now - c->before_ns - c->after_ns - LATE_NS);
	}
}

static int cmp_event(const void *a, const void *b)
{
	const struct lab_trace_event *x = a, *y = b;

	if (x->t_ns != y->t_ns)
		return x->t_ns < y->t_ns ? -1 : 1;
	return x->lane - y->lane;
}


static void decode(const struct lab_event *e, int lane, struct lab_trace_event *out)
{
	*out = (struct lab_trace_event){
		.t_ns = e->t, .lane = lane, .addr = e->t_end, .value = e->value,
		.pfn = e->pfn, .gen = e->gen, .how = e->flags, .target = -1,
		.page = PFN_NONE,
	};
	if (e->type == EV_TRACE_FINDING) {
		out->rp = LAB_TRACE_FINDING;
		out->how = e->how;
		out->page = (uint32_t)e->value;
		out->value = 0;
		return;
	}
	out->rp = e->how;
	out->fn = (const char *)(uintptr_t)e->t_put;
	out->mask = e->mask;
	out->ptr = e->slot;
	if (e->how == RP_IPI_SENT) {
		out->target = __builtin_ctzll(e->mask);
		out->mask = 0;
	}
}

/* The window: around the run's first violation, or its last moments. */
static void window(const struct lab_trace_collector *c, const struct lab_result *res,
		   struct lab_trace *t)
{
	uint64_t at = res->have_detail ? (uint64_t)(res->first.at_ms * 1e6)
				       : (uint64_t)(res->seconds * 1e9);

	t->violation = res->have_detail;
	t->to_ns = res->have_detail ? at + c->after_ns : at;
	at = res->have_detail ? at : t->to_ns - (t->to_ns < c->after_ns ? t->to_ns : c->after_ns);
	t->from_ns = at > c->before_ns ? at - c->before_ns : 0;
}

static void name_lane(struct lab_trace_lane *l, int i)
{
	if (i < lab_rs.nthreads) {
		const struct lab_tctx *x = lab_rs.threads[i];

		l->cpu = x->cpu;
		l->walker = x->role == LAB_ROLE_WALKER ? (int)x->kind : -1;
		if (x->role == LAB_ROLE_WALKER)
			snprintf(l->name, sizeof(l->name), "cpu%d %s walker %d", x->cpu,
				 walker_kind_name(x->kind), x->index);
		else if (x->role == LAB_ROLE_WRITER)
			snprintf(l->name, sizeof(l->name), "cpu%d %s", x->cpu,
				 lab_scenario_writer_name(lab_rs.scenario, x->index));
		else
			snprintf(l->name, sizeof(l->name), "cpu%d idle %d", x->cpu, x->index);
	} else {
		l->cpu = LAB_TRACE_RCU_LANE_CPU;
		l->walker = -1;
		snprintf(l->name, sizeof(l->name), "call_rcu thread");
	}
}

static void collector_free(struct lab_trace_collector *c)
{
	for (int i = 0; i < LAB_MAX_THREADS + 1; i++)
		free(c->lane[i].v);
	free(c);
}

struct lab_trace *lab_trace_end(struct lab_trace_collector *c, const struct lab_result *res)
{
	struct lab_trace *t = calloc(1, sizeof(*t));
	size_t total = 0;

	atomic_store_explicit(&lab_tracing, false, memory_order_relaxed);
	lab_trace_poll(c);
	for (int i = 0; i < c->nlanes; i++)
		total += c->lane[i].n;
	if (!t || !(t->ev = calloc(total ? total : 1, sizeof(*t->ev)))) {
		free(t);
		collector_free(c);
		return NULL;
	}
	window(c, res, t);
	for (int i = 0; i < c->nlanes; i++) {
		name_lane(&t->lanes[t->nlanes++], i);
		for (size_t k = 0; k < c->lane[i].n; k++)
			if (c->lane[i].v[k].t >= t->from_ns && c->lane[i].v[k].t <= t->to_ns)
				decode(&c->lane[i].v[k], i, &t->ev[t->n++]);
	}
	qsort(t->ev, t->n, sizeof(*t->ev), cmp_event);
	t->lost = c->lost;
	collector_free(c);
	return t;
}

void lab_trace_free(struct lab_trace *t)
{
	if (!t)
		return;
	free(t->ev);
	free(t);
}

void lab_result_release(struct lab_result *r)
{
	if (!r)
		return;
	lab_trace_free(r->trace);
	r->trace = NULL;
}
