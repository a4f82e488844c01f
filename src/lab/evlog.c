// SPDX-License-Identifier: MIT
/*
 * Per-thread event rings: each scenario thread logs what it did (a PMD
 * unlinked, a wait begun, a table freed, a section that met another
 * thread) into a ring only it writes; the controller reads every ring and
 * joins them (evidence.c). A producer never waits for the reader: when it
 * laps it, the reader counts the entries it lost.
 *
 * Ordering: the producer stores an entry's words relaxed, then head with
 * release; the reader loads head with acquire (pairs with that release:
 * the entries below head are complete), copies an entry, and then, after
 * an acquire fence, re-reads head: if the producer has meanwhile come
 * within one ring of that entry's index, the copy may be torn and is
 * dropped. The release store is the producer's own location and only the
 * controller reads it, so it synchronizes nothing with another protocol
 * thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "lab_internal.h"
#include "util/time.h"

__thread struct lab_tctx *lab_self;
struct lab_run_state lab_rs;

uint64_t lab_now_ns(void)
{
	return monotonic_ns() - lab_rs.start_ns;
}

double lab_now_ms(void)
{
	return (double)lab_now_ns() * 1e-6;
}

int lab_ring_init(struct lab_ring *r, uint32_t size)
{
	if (!size || (size & (size - 1)))
		return -EINVAL;
	r->w = calloc(size, sizeof(*r->w));
	if (!r->w)
		return -ENOMEM;
	r->size = size;
	atomic_init(&r->head, 0);
	return 0;
}

void lab_ring_free(struct lab_ring *r)
{
	free(r->w);
	r->w = NULL;
	r->size = 0;
}

static void pack(const struct lab_event *e, uint64_t w[LAB_EVENT_WORDS])
{
	w[0] = e->t;
	w[1] = e->slot;
	w[2] = e->value;
	w[3] = e->mask;
	w[4] = e->t_end;
	w[5] = e->t_put;
	w[6] = (uint64_t)e->pfn | (uint64_t)e->gen << 32;
	w[7] = (uint64_t)e->type | (uint64_t)e->how << 16 | (uint64_t)e->flags << 32 |
	       (uint64_t)e->cpu << 48;
}

static void unpack(const uint64_t w[LAB_EVENT_WORDS], struct lab_event *e)
{
	e->t = w[0];
	e->slot = w[1];
	e->value = w[2];
	e->mask = w[3];
	e->t_end = w[4];
	e->t_put = w[5];
	e->pfn = (uint32_t)w[6];
	e->gen = (uint32_t)(w[6] >> 32);
	e->type = (uint16_t)w[7];
	e->how = (uint16_t)(w[7] >> 16);
	e->flags = (uint16_t)(w[7] >> 32);
	e->cpu = (uint16_t)(w[7] >> 48);
}

/* A traced run's rings: enough for what a thread logs between two polls
 * of the controller (10 ms apart, later on a busy machine): a writer logs
 * every step (munmap's mutator about six million race points a second), a
 * walker every step of its walks (hugetlb-unshare's walkers, whose walks
 * are short, about as many), a bystander only the IPIs it takes. The IPI
 * handler's ring only takes what arrives while its thread is inside
 * lab_log(). */
#define TRACE_RING (1u << 17)
#define TRACE_RING_BYSTANDER (1u << 12)
#define TRACE_IRQ_RING (1u << 10)

int lab_tctx_rings_init(struct lab_tctx *t, uint32_t size)
{
	bool traced = lab_trace_on();
	uint32_t trace_size = t->role == LAB_ROLE_BYSTANDER ? TRACE_RING_BYSTANDER : TRACE_RING;
	int ret = lab_ring_init(&t->ring, traced && size < trace_size ? trace_size : size);

	if (!ret && traced && (ret = lab_ring_init(&t->irq_ring, TRACE_IRQ_RING)))
		lab_ring_free(&t->ring);
	return ret;
}

void lab_tctx_rings_free(struct lab_tctx *t)
{
	lab_ring_free(&t->ring);
	lab_ring_free(&t->irq_ring);
}

void lab_ring_push(struct lab_ring *r, const struct lab_event *e)
{
	uint64_t w[LAB_EVENT_WORDS], head;

	/* Only the producer writes head: a plain read of it. */
	head = atomic_load_explicit(&r->head, memory_order_relaxed);
	pack(e, w);
	for (int i = 0; i < LAB_EVENT_WORDS; i++)
		atomic_store_explicit(&r->w[head & (r->size - 1)][i], w[i], memory_order_relaxed);
	atomic_store_explicit(&r->head, head + 1, memory_order_release);
}

/*
 * How deep the calling thread is in lab_log(). A traced run logs from the
 * thread's IPI signal handler too, which may interrupt the thread inside
 * lab_log(): its push would then race with the interrupted one on the
 * same entry and head. So a push at depth 1 (a handler that interrupted
 * lab_log()) goes to the thread's irq ring, which only that handler
 * writes; the handler cannot be interrupted by itself (its signal is
 * blocked while it runs), so depth 2 never logs. Signal fences keep the
 * compiler from moving the depth's updates across the push: the handler
 * runs on this thread, no CPU barrier is needed.
 */
static __thread unsigned int log_depth;

void lab_log(const struct lab_event *e)
{
	struct lab_tctx *self = lab_self;
	unsigned int depth = log_depth;
	struct lab_ring *r;

	if (!self)
		return;
	r = depth ? &self->irq_ring : &self->ring;
	if (depth > 1 || !r->w)
		return;
	log_depth = depth + 1;
	atomic_signal_fence(memory_order_seq_cst);
	lab_ring_push(r, e);
	atomic_signal_fence(memory_order_seq_cst);
	log_depth = depth;
}

size_t lab_ring_read(struct lab_ring *r, uint64_t *from, uint64_t until, struct lab_event *out,
		     size_t max, uint64_t *lost)
{
	uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	size_t n = 0;

	if (head > until)
		head = until;

	if (head - *from > r->size) {
		/* Lapped: what is older than one ring is gone. */
		*lost += head - r->size - *from;
		*from = head - r->size;
	}
	while (*from < head && n < max) {
		uint64_t w[LAB_EVENT_WORDS], now;

		for (int i = 0; i < LAB_EVENT_WORDS; i++)
			w[i] = atomic_load_explicit(&r->w[*from & (r->size - 1)][i],
						    memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
		now = atomic_load_explicit(&r->head, memory_order_relaxed);
		if (now - *from >= r->size) {
			/* The producer may be rewriting this entry. */
			(*lost)++;
		} else {
			unpack(w, &out[n++]);
		}
		(*from)++;
	}
	return n;
}
