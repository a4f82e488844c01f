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
 * step, and so changes how often races meet (a traced cell may meet its
 * race sooner or later than an untraced one).
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
 *
 * Memory is bounded whatever the run does: each lane keeps at most
 * lab_run_config.trace_cap events (LAB_TRACE_LANE_EVENTS by default), the
 * newest, and counts in lab_trace.dropped the events of the window it
 * had to give up; each poll copies no further than the heads it found
 * when it began, so a thread that logs faster than the controller copies
 * cannot hold the controller in one poll (the rings' own laps are counted
 * in lab_trace.lost).
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

/*
 * A lane: the last events of one thread, a ring the controller alone
 * touches. It grows as the window needs, up to lab_run_config.trace_cap
 * events; then the oldest event gives way. Whether the window wanted it is
 * known only at the end (the first finding fixes the window), so the
 * times of the events given up are kept in a ring of the cap's size: they
 * leave in time order, and the trace's dropped count is those within its
 * window (all that were given up, when more than a lane's worth were).
 */
struct lane_events {
	struct lab_event *v;   /* size entries */
	size_t size;
	size_t tail, n;        /* the oldest at v[tail], n in all */
	uint64_t *gone_t;      /* cap entries, once the lane is full */
	uint64_t gone;         /* events given up, ever */
};

/* Lanes: the scenario threads in lab_rs order, then call_rcu's. */
_Static_assert(LAB_MAX_THREADS + 1 <= LAB_TRACE_MAX_LANES, "a trace lane per thread");
struct lab_trace_collector {
	uint64_t before_ns, after_ns;
	size_t lane_cap;
	int nlanes;
	uint64_t from[LAB_MAX_THREADS + 1], irq_from[LAB_MAX_THREADS];
	struct lane_events lane[LAB_MAX_THREADS + 1];
	bool have_finding;
	uint64_t first_finding;
	/* Events the rings overwrote before the controller read them; events
	 * no memory could take. */
	uint64_t lost, unallocated;
	struct lab_event batch[READ_BATCH];
};

#define LANE_FIRST 1024u

static struct lab_event *lane_at(const struct lane_events *l, size_t i)
{
	return &l->v[(l->tail + i) % l->size];
}

/* Doubles @l's ring, up to @cap events: false when it cannot grow. */
static bool lane_grow(struct lane_events *l, size_t cap)
{
	size_t size = l->size ? 2 * l->size : LANE_FIRST;
	struct lab_event *v;

	if (size > cap)
		size = cap;
	if (size <= l->size || !(v = malloc(size * sizeof(*v))))
		return false;
	for (size_t i = 0; i < l->n; i++)
		v[i] = *lane_at(l, i);
	free(l->v);
	l->v = v;
	l->size = size;
	l->tail = 0;
	return true;
}

static void lane_push(struct lab_trace_collector *c, int lane, const struct lab_event *e)
{
	struct lane_events *l = &c->lane[lane];

	if (l->n == l->size && !lane_grow(l, c->lane_cap)) {
		if (!l->size) {
			c->unallocated++;
			return;
		}
		if (!l->gone_t && !(l->gone_t = calloc(c->lane_cap, sizeof(*l->gone_t)))) {
			c->unallocated++;
			return;
		}
		/* The oldest gives way; its time is kept for the count. */
		l->gone_t[l->gone++ % c->lane_cap] = lane_at(l, 0)->t;
		l->tail = (l->tail + 1) % l->size;
		l->n--;
	}
	*lane_at(l, l->n) = *e;
	l->n++;
}

/* Drops @l's events before @t from its old end (each lane is in time
 * order but for the irq ring's few, merged in as they come: the window's
 * bounds filter those at the end). */
static void lane_trim(struct lane_events *l, uint64_t t)
{
	while (l->n && lane_at(l, 0)->t < t) {
		l->tail = (l->tail + 1) % l->size;
		l->n--;
	}
}

/* Copies what @r holds now, up to the head read here: a producer that
 * writes faster than the controller copies cannot keep this poll going
 * (what it writes meanwhile waits for the next poll, or is lost and
 * counted). */
static void read_ring(struct lab_trace_collector *c, struct lab_ring *r, uint64_t *from, int lane)
{
	uint64_t until;
	size_t n;

	if (!r->w)
		return;
	until = lab_ring_head_relaxed(r);
	do {
		n = lab_ring_read(r, from, until, c->batch, READ_BATCH, &c->lost);
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
	c->lane_cap = cfg->trace_cap ? cfg->trace_cap : LAB_TRACE_LANE_EVENTS;
	atomic_store_explicit(&rcu_ring.head, 0, memory_order_relaxed);
	atomic_store_explicit(&lab_tracing, true, memory_order_relaxed);
	return c;
}

/* Where the window begins as far as the controller knows at @now: before_ns
 * ahead of the first finding, or, until one comes, the last before + after
 * (+ late) ns. */
static uint64_t window_start(const struct lab_trace_collector *c, uint64_t now)
{
	uint64_t span = c->before_ns + c->after_ns + LATE_NS;

	if (c->have_finding)
		return c->first_finding > c->before_ns ? c->first_finding - c->before_ns : 0;
	return now > span ? now - span : 0;
}

void lab_trace_poll(struct lab_trace_collector *c)
{
	c->nlanes = lab_rs.nthreads + 1;
	for (int i = 0; i < lab_rs.nthreads; i++) {
		read_ring(c, &lab_rs.threads[i]->ring, &c->from[i], i);
		read_ring(c, &lab_rs.threads[i]->irq_ring, &c->irq_from[i], i);
	}
	read_ring(c, &rcu_ring, &c->from[lab_rs.nthreads], lab_rs.nthreads);
	/* Events older than the window are not wanted (a finding read in
	 * this poll fixes its start). */
	uint64_t from = window_start(c, lab_now_ns());

	for (int i = 0; i < c->nlanes; i++)
		lane_trim(&c->lane[i], from);
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

/* Of the events @l gave up, those at or after @from (times in order: the
 * newest at the ring's head). When more than a ring's worth were, the
 * ones whose times were overwritten count too. */
static uint64_t lane_dropped(const struct lane_events *l, size_t cap, uint64_t from)
{
	uint64_t kept = l->gone < cap ? l->gone : cap, n = 0;

	while (n < kept && l->gone_t[(l->gone - 1 - n) % cap] >= from)
		n++;
	return n == kept ? l->gone : n;
}

static void collector_free(struct lab_trace_collector *c)
{
	for (int i = 0; i < LAB_MAX_THREADS + 1; i++) {
		free(c->lane[i].v);
		free(c->lane[i].gone_t);
	}
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
		for (size_t k = 0; k < c->lane[i].n; k++) {
			const struct lab_event *e = lane_at(&c->lane[i], k);

			if (e->t >= t->from_ns && e->t <= t->to_ns)
				decode(e, i, &t->ev[t->n++]);
		}
	}
	qsort(t->ev, t->n, sizeof(*t->ev), cmp_event);
	t->lost = c->lost;
	t->dropped = c->unallocated;
	for (int i = 0; i < c->nlanes; i++)
		t->dropped += lane_dropped(&c->lane[i], c->lane_cap, t->from_ns);
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
