// SPDX-License-Identifier: MIT
/*
 * The evidence of a run: which unlink events met a walker inside its
 * section, and what defended each (ptlab/lab.h, struct
 * lab_evidence_counts). The controller runs this, off every protocol path:
 * it copies what each thread logged (evlog.c), keeps the writers' events
 * of the last second in time order, and judges each walker section once
 * the writers' events around it can no longer arrive.
 *
 * A section S (walker on cpu c read entry slot P = V, a PMD naming PTE
 * table T or a PUD naming PMD table T, the deepest it followed, at
 * t_read; section over at t_end;
 * its reference dropped at t_put) met an unlink U when:
 * - U cleared slot P holding V, finishing at U.t with t_read < U.t <
 *   t_end. The walker read V before the clear: had it read after, it
 *   would have seen the slot empty, unless the same V had been put back
 *   in between, which only a refused collapse (or a re-share) does,
 *   after its waits, so after U.t > t_read;
 * - or a zap withdrew T from a deposit list to free it
 *   (zap_deposited_table(): at once, or after a grace period in the
 *   zap-rcu generation) with t_read < U.t < t_end.
 * What defended it, the first that applies:
 * - S saw its table change (the stale-table detector fired): undefended;
 * - held off: after U, U's thread began a wait that covers cpu c (an IPI
 *   flush or tlb_remove_table_sync_one() whose mask holds c) before
 *   t_end, and S is a GUP-fast section: an IPI to c cannot complete
 *   inside it, so the wait outlived S and T was not freed, reused or
 *   overwritten under S (an RCU walker, with interrupts on, is held off
 *   by no IPI); or U's thread handed T to call_rcu() before t_end: the
 *   grace period waits for S, either kind; or (a hugetlb table unshared
 *   while others still share it) another writer unlinked T after U and
 *   then began such a wait before t_end: the unsharer that leaves T to
 *   one process waits before that process may change it;
 * - recheck caught: S's PMD or PTE re-check failed;
 * - isolation refused: S kept a reference past its end and U's collapse
 *   refused (isolation saw a reference) after t_end and before t_put;
 * - otherwise undefended: S was over before harm could come (or it came).
 * Times near a boundary that the clocks cannot order are counted the
 * conservative way: the event is not an overlap, the wait not a defence.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab_internal.h"

/* Writers' events older than this (and older than every section still to
 * judge) are forgotten. */
#define KEEP_NS 1000000000ULL
#define READ_BATCH 4096

/*
 * Memory is bounded whatever the run does: each vector holds at most
 * lab_run_config.evidence_cap events (LAB_EVIDENCE_EVENTS by default). A
 * writer's vector that is full gives up its older half; the events a
 * section still to judge may need among them (not older than the oldest
 * such section) count in lab_evidence_counts.dropped_events, so that the
 * verdict says when evidence was cut. Sections beyond the cap are
 * dropped and counted the same way. Either way the judgement errs on the
 * safe side: a missing unlink is no overlap, a missing wait no defence.
 */
struct event_vec {
	struct lab_event *v;
	size_t n, cap;
};

struct lab_evidence {
	/* The most events a vector holds. */
	size_t max;
	/* The oldest start of a section still to judge (as of the last
	 * poll): a writer's events before it can no longer be needed. */
	uint64_t oldest_pending;
	/* Per thread: where its ring was read up to. */
	uint64_t from[LAB_MAX_THREADS];
	/* Per thread: its retained events (writers), by time. */
	struct event_vec ev[LAB_MAX_THREADS];
	/* Walker sections not judged yet. */
	struct event_vec sections;
	struct lab_evidence_counts counts;
	/* The history of the first violated section's table, captured when
	 * it was judged (the events may be forgotten by the run's end). */
	bool have_history;
	uint64_t history_t;
	uint32_t history_pfn;
	int history_cpu;
	char history[640];
	struct lab_event batch[READ_BATCH];
};

struct lab_evidence *lab_evidence_new(uint32_t cap)
{
	struct lab_evidence *ev = calloc(1, sizeof(struct lab_evidence));

	if (ev)
		ev->max = cap ? cap : LAB_EVIDENCE_EVENTS;
	return ev;
}

void lab_evidence_free(struct lab_evidence *ev)
{
	if (!ev)
		return;
	for (int i = 0; i < LAB_MAX_THREADS; i++)
		free(ev->ev[i].v);
	free(ev->sections.v);
	free(ev);
}

/* Appends @e, growing @vec up to @max events; false when it is full (or
 * out of memory). */
static bool vec_push(struct event_vec *vec, const struct lab_event *e, size_t max)
{
	if (vec->n == vec->cap) {
		size_t cap = vec->cap ? vec->cap * 2 : 1024;
		struct lab_event *v;

		if (cap > max)
			cap = max;
		if (cap <= vec->n || !(v = realloc(vec->v, cap * sizeof(*v))))
			return false;
		vec->v = v;
		vec->cap = cap;
	}
	vec->v[vec->n++] = *e;
	return true;
}

/* Drops the first @k events of @vec. */
static void vec_drop(struct event_vec *vec, size_t k)
{
	if (!k)
		return;
	memmove(vec->v, vec->v + k, (vec->n - k) * sizeof(*vec->v));
	vec->n -= k;
}

/* A writer's vector is full: its older half goes, counted where a
 * section still to judge may have needed it. */
static void vec_make_room(struct lab_evidence *ev, struct event_vec *vec)
{
	size_t k = vec->n / 2 ? vec->n / 2 : vec->n;

	for (size_t i = 0; i < k; i++)
		if (vec->v[i].t >= ev->oldest_pending)
			ev->counts.dropped_events++;
	vec_drop(vec, k);
}

/* The first event of @vec with t > @t (binary search: events are kept in
 * the order their thread logged them, which is time order). */
static size_t first_after(const struct event_vec *vec, uint64_t t)
{
	size_t lo = 0, hi = vec->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (vec->v[mid].t <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Copies each thread's new events, up to the heads seen when the poll
 * began: sections to judge, writers' events to keep. */
static void collect(struct lab_evidence *ev)
{
	for (int i = 0; i < lab_rs.nthreads; i++) {
		struct lab_tctx *t = lab_rs.threads[i];
		uint64_t until = lab_ring_head_relaxed(&t->ring);
		size_t n;

		do {
			n = lab_ring_read(&t->ring, &ev->from[i], until, ev->batch, READ_BATCH,
					  &ev->counts.lost_events);
			for (size_t k = 0; k < n; k++) {
				const struct lab_event *e = &ev->batch[k];

				/* A traced run's events (trace.c) are no evidence. */
				if (e->type >= EV_TRACE)
					continue;
				if (e->type == EV_SECTION) {
					if (!vec_push(&ev->sections, e, ev->max))
						ev->counts.dropped_events++;
					continue;
				}
				if (!vec_push(&ev->ev[i], e, ev->max)) {
					vec_make_room(ev, &ev->ev[i]);
					if (!vec_push(&ev->ev[i], e, ev->max))
						ev->counts.dropped_events++;
				}
			}
		} while (n == READ_BATCH);
	}
}

/* Whether wait @e covers the walker of @s: an IPI holds off only a
 * walker with interrupts off (an RCU walker takes it at once). */
static enum lab_defence wait_covers(const struct lab_event *e, const struct lab_event *s)
{
	if (s->how != WALKER_GUP || !(e->mask & (1ULL << s->cpu)))
		return LAB_UNDEFENDED;
	return e->how == LAB_WAIT_SYNC ? LAB_HELD_OFF_SYNC : LAB_HELD_OFF_FLUSH;
}

/*
 * A hugetlb table unshared by the walker's process stays shared by the
 * others; the one whose unshare then leaves it to a single process waits
 * (6.19's sync) before that process may change it. So a wait that covers
 * the walker, after a later unlink of the same table by another writer
 * and before the section ended, holds it off as well.
 */
static enum lab_defence held_off_by_next_unsharer(const struct lab_evidence *ev, int w,
						 const struct lab_event *u,
						 const struct lab_event *s)
{
	for (int o = 0; o < lab_rs.nthreads; o++) {
		const struct event_vec *vec = &ev->ev[o];
		bool unlinked = false;

		if (o == w || lab_rs.threads[o]->role != LAB_ROLE_WRITER)
			continue;
		for (size_t j = first_after(vec, u->t); j < vec->n && vec->v[j].t < s->t_end; j++) {
			const struct lab_event *e = &vec->v[j];

			if (e->type == EV_UNLINK && e->pfn == u->pfn)
				unlinked = true;
			else if (unlinked && e->type == EV_WAIT && wait_covers(e, s) != LAB_UNDEFENDED)
				return wait_covers(e, s);
		}
	}
	return LAB_UNDEFENDED;
}

/* After unlink @u (index @ui of writer @w), did its thread wait for the
 * walker of @s before the section ended, or hand the table to RCU? */
static enum lab_defence held_off(const struct lab_evidence *ev, int w, size_t ui,
				 const struct lab_event *u, const struct lab_event *s)
{
	const struct event_vec *vec = &ev->ev[w];
	bool rcu_gathered = false;

	for (size_t j = ui + 1; j < vec->n && vec->v[j].t < s->t_end; j++) {
		const struct lab_event *e = &vec->v[j];

		switch (e->type) {
		case EV_WAIT:
			if (wait_covers(e, s) != LAB_UNDEFENDED)
				return wait_covers(e, s);
			break;
		case EV_GATHERED:
			if (e->pfn == u->pfn && e->how == TABLE_FREE_RCU)
				rcu_gathered = true;
			break;
		case EV_RCU_HANDOFF:
			if (rcu_gathered)
				return LAB_HELD_OFF_GRACE_PERIOD;
			break;
		default:
			break;
		}
	}
	return u->type == EV_UNLINK ? held_off_by_next_unsharer(ev, w, u, s) : LAB_UNDEFENDED;
}

static bool isolation_refused(const struct lab_evidence *ev, int w, size_t ui,
			      const struct lab_event *s)
{
	const struct event_vec *vec = &ev->ev[w];

	if (!(s->flags & SEC_REF_HELD))
		return false;
	for (size_t j = ui + 1; j < vec->n && vec->v[j].t < s->t_put; j++)
		if (vec->v[j].type == EV_REFUSED && vec->v[j].slot == s->slot &&
		    vec->v[j].t > s->t_end)
			return true;
	return false;
}

static enum lab_defence defence(const struct lab_evidence *ev, int w, size_t ui,
				const struct lab_event *s)
{
	const struct lab_event *u = &ev->ev[w].v[ui];
	enum lab_defence d;

	if (s->flags & SEC_VIOLATED)
		return LAB_UNDEFENDED;
	/* A table freed at once is not defended by a wait that follows. */
	if (u->type == EV_UNLINK || (u->type == EV_ZAP_FREE && u->how == TABLE_FREE_RCU)) {
		d = held_off(ev, w, ui, u, s);
		if (d != LAB_UNDEFENDED)
			return d;
	}
	if (s->flags & SEC_RECHECK_FAILED)
		return LAB_RECHECK_CAUGHT;
	if (u->type == EV_UNLINK && isolation_refused(ev, w, ui, s))
		return LAB_ISOLATION_REFUSED;
	return LAB_UNDEFENDED;
}

/* Whether writer event @e is an unlink that met section @s. */
static bool meets(const struct lab_event *e, const struct lab_event *s)
{
	if (e->type == EV_UNLINK)
		return e->slot == s->slot && e->value == s->value;
	return e->type == EV_ZAP_FREE && e->pfn == s->pfn && e->gen == s->gen;
}

static void count(struct lab_evidence *ev, const struct lab_event *s, enum lab_defence d)
{
	struct lab_evidence_counts *c = &ev->counts;

	c->by[d]++;
	c->overlaps++;
	c->overlaps_by_walker[s->how]++;
	if (d != LAB_UNDEFENDED)
		c->defended_by_walker[s->how]++;
	if (d == LAB_HELD_OFF_FLUSH || d == LAB_HELD_OFF_SYNC || d == LAB_HELD_OFF_GRACE_PERIOD)
		c->held_off++;
	if (d != LAB_UNDEFENDED)
		c->defended++;
}

/*
 * The seed's ABA: a GUP-fast section inside which mremap moved its table
 * and whose re-checks passed anyway (it returned a page):
 * - a PTE table moved away from the entry the section read and back
 *   (two moves of the table, the first from that entry, both inside the
 *   section): with the PMD re-check on, it passed because the entry came
 *   back bit for bit. Where the move's flush waits, the second move
 *   cannot begin before the section is over: none;
 * - the PMD table the section's PUD read led to moved to another PUD
 *   entry (one move: GUP-fast has no PUD re-check). Counted when the
 *   move began inside the section, which, within the instant between the
 *   section's last re-check and its end, may be after that re-check.
 * Counted from what the section and the mover logged: nothing on the
 * protocol's path.
 */
static bool pud_moved(const struct event_vec *vec, const struct lab_event *s)
{
	for (size_t i = first_after(vec, s->t); i < vec->n && vec->v[i].t < s->t_end; i++)
		if (vec->v[i].type == EV_MOVE && vec->v[i].how && s->mask &&
		    vec->v[i].pfn + 1 == s->mask)
			return true;
	return false;
}

static bool pmd_moved_and_back(const struct event_vec *vec, const struct lab_event *s)
{
	const struct lab_event *away = NULL;

	for (size_t i = first_after(vec, s->t); i < vec->n && vec->v[i].t < s->t_end; i++) {
		const struct lab_event *e = &vec->v[i];

		if (e->type != EV_MOVE || e->how)
			continue;
		if (!away && e->slot == s->slot && e->value == s->value)
			away = e;
		else if (away && e->pfn == away->pfn && e->slot != s->slot)
			return true;
	}
	return false;
}

static void count_aba(struct lab_evidence *ev, const struct lab_event *s)
{
	/* A section whose table was also freed under it is a violation
	 * (unheld), not this. */
	if (s->how != WALKER_GUP || !(s->flags & SEC_RETURNED) ||
	    (s->flags & (SEC_RECHECK_FAILED | SEC_VIOLATED)))
		return;
	for (int w = 0; w < lab_rs.nthreads; w++) {
		bool pud;

		if (lab_rs.threads[w]->role != LAB_ROLE_WRITER)
			continue;
		pud = pud_moved(&ev->ev[w], s);
		if (!pud && !pmd_moved_and_back(&ev->ev[w], s))
			continue;
		ev->counts.aba++;
		ev->counts.aba_pud += pud;
		ev->counts.aba_wrong += !!(s->flags & SEC_WRONG_PAGE);
		return;
	}
}

static void judge_section(struct lab_evidence *ev, const struct lab_event *s)
{
	ev->counts.sections++;
	count_aba(ev, s);
	for (int w = 0; w < lab_rs.nthreads; w++) {
		const struct event_vec *vec = &ev->ev[w];

		if (lab_rs.threads[w]->role != LAB_ROLE_WRITER)
			continue;
		for (size_t i = first_after(vec, s->t); i < vec->n && vec->v[i].t < s->t_end; i++)
			if (meets(&vec->v[i], s))
				count(ev, s, defence(ev, w, i, s));
	}
	if ((s->flags & SEC_VIOLATED) && (!ev->have_history || s->t_end < ev->history_t)) {
		ev->have_history = true;
		ev->history_t = s->t_end;
		ev->history_pfn = s->pfn;
		ev->history_cpu = s->cpu;
		lab_evidence_history(ev, s->pfn, s->t_end, ev->history, sizeof(ev->history));
	}
}

void lab_evidence_poll(struct lab_evidence *ev, bool final, uint64_t settle_ns)
{
	uint64_t now = lab_now_ns(), oldest = now;
	size_t kept = 0;

	collect(ev);
	for (size_t i = 0; i < ev->sections.n; i++) {
		struct lab_event *s = &ev->sections.v[i];

		if (final || s->t_put + settle_ns < now) {
			judge_section(ev, s);
		} else {
			if (s->t < oldest)
				oldest = s->t;
			ev->sections.v[kept++] = *s;
		}
	}
	ev->sections.n = kept;
	/* A section not logged yet began at most a window's longest delay
	 * ago (plus a poll), as far as the caps' count is concerned. */
	ev->oldest_pending = now > LAB_MAX_DELAY_NS + settle_ns ? now - LAB_MAX_DELAY_NS - settle_ns
								: 0;
	if (oldest < ev->oldest_pending)
		ev->oldest_pending = oldest;
	/* Forget what no section still to judge can need. */
	if (oldest > KEEP_NS)
		for (int w = 0; w < lab_rs.nthreads; w++)
			vec_drop(&ev->ev[w], first_after(&ev->ev[w], oldest - KEEP_NS));
}

void lab_evidence_result(const struct lab_evidence *ev, struct lab_result *res)
{
	res->evidence = ev->counts;
	if (res->have_detail && ev->have_history && res->first.table_pfn == ev->history_pfn &&
	    res->first.cpu == ev->history_cpu)
		snprintf(res->first.history, sizeof(res->first.history), "%s", ev->history);
}

static const char *event_words(const struct lab_event *e)
{
	switch (e->type) {
	case EV_UNLINK:
		return e->how ? "cleared the PUD that pointed to it"
			      : "cleared the PMD that pointed to it";
	case EV_REFUSED:
		return "refused the collapse and put it back";
	case EV_DEPOSIT:
		return "deposited it for a huge PMD";
	case EV_WITHDRAW:
		return "withdrew it from a deposit list";
	case EV_GATHERED:
		return e->how == TABLE_FREE_RCU ? "queued it to be freed after a grace period"
						: "queued it on the mmu_gather";
	case EV_FREE:
		return e->how == TABLE_FREE_DIRECT ? "freed it at once (pte_free, pmd_free: no "
						     "flush, no grace period before)"
						   : "freed it";
	case EV_MOVE:
		return e->how ? "moved it to another PUD entry (mremap: move_normal_pud)"
			      : "moved it to another PMD entry (mremap: move_normal_pmd)";
	case EV_ZAP_FREE:
		return e->how == TABLE_FREE_DIRECT ? "zapped a huge PMD and took it to free at once"
						   : "zapped a huge PMD and took it to free after a "
						     "grace period";
	default:
		return "?";
	}
}

void lab_evidence_history(const struct lab_evidence *ev, uint32_t pfn, uint64_t t, char *buf,
			  size_t len)
{
	/* The last few events on @pfn up to @t, from every thread, oldest
	 * first: merged by time from the per-thread vectors. */
	const struct lab_event *hits[6];
	int hit_thread[6];
	int n = 0;
	size_t used = 0;
	uint64_t bound = t;

	buf[0] = '\0';
	while (n < 6) {
		const struct lab_event *best = NULL;
		int best_w = -1;

		for (int w = 0; w < lab_rs.nthreads; w++) {
			const struct event_vec *vec = &ev->ev[w];

			for (size_t i = first_after(vec, bound); i-- > 0;) {
				if (vec->v[i].pfn != pfn || vec->v[i].type == EV_WAIT ||
				    vec->v[i].type == EV_RCU_HANDOFF)
					continue;
				if (!best || vec->v[i].t > best->t) {
					best = &vec->v[i];
					best_w = w;
				}
				break;
			}
		}
		if (!best)
			break;
		hits[n] = best;
		hit_thread[n++] = best_w;
		bound = best->t - 1;
		if (!best->t)
			break;
	}
	while (n-- > 0 && used < len) {
		int w = snprintf(buf + used, len - used, "%s+%.3f ms cpu%d %s", used ? "; " : "",
				 (double)hits[n]->t * 1e-6, lab_rs.threads[hit_thread[n]]->cpu,
				 event_words(hits[n]));

		if (w < 0)
			break;
		used += (size_t)w;
	}
}
