// SPDX-License-Identifier: MIT
/*
 * A stress run's trace as trace events (trace_json_from_run()): one track
 * per CPU and one for call_rcu, from the events of the lab's trace rings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ptlab/page.h"
#include "trace_events.h"
#include "trace_json.h"

/* The call_rcu thread's track (CPU tracks are their CPU ids). */
#define RCU_TID 100

struct point_words {
	const char *name;
	const char *cat;
};

/* Instants: what each point means, and its category (the report's and
 * Perfetto's grouping). Sections, locks, flushes, syncs and IPI handlers
 * are slices (see run_event()). */
static const struct point_words points[RACE_POINT_COUNT] = {
	[RP_GUP_FAST_PUD_READ] = { "PUD read", "read" },
	[RP_GUP_FAST_PMD_READ] = { "PMD read", "read" },
	[RP_GUP_FAST_PTE_READ] = { "PTE read", "read" },
	[RP_PTE_MAP_PMD_READ] = { "PMD read (pte_offset_map_lock, under RCU)", "read" },
	[RP_PTE_MAP_RETRY] = { "PMD changed under the PTE lock: unlock and retry", "pin" },
	[RP_GUP_FAST_REF_TAKEN] = { "reference taken", "pin" },
	[RP_GUP_FAST_RECHECK_FAILED] = { "re-check failed: reference dropped", "pin" },
	[RP_GUP_FAST_BAD_PFN] = { "entry read with a PFN no frame has: the walk stops", "read" },
	[RP_PMD_UNLINKED] = { "PMD cleared: table unlinked", "clear" },
	[RP_PUD_UNSHARED] = { "PUD cleared: this mm stopped sharing the PMD table", "clear" },
	[RP_PUD_UNLINKED] = { "PUD cleared: the PMD table it named is freed next (free_pgtables)",
			      "clear" },
	[RP_PMD_MOVED] = { "PMD cleared: mremap moves its PTE table to another PMD (move_normal_pmd)",
			   "clear" },
	[RP_PUD_MOVED] = { "PUD cleared: mremap moves its PMD table to another PUD (move_normal_pud)",
			   "clear" },
	[RP_UNSHARE_HANDOVER] = { "unshared table handed over: the other sharers may change it now",
				  "handover" },
	[RP_COLLAPSE_PMD_CLEARED] = { "collapse: PMD cleared and flushed", "step" },
	[RP_COLLAPSE_REFUSED] = { "collapse refused: table put back", "step" },
	[RP_COLLAPSE_ISOLATED] = { "collapse: pages isolated", "step" },
	[RP_COLLAPSE_COPIED] = { "collapse: pages copied", "step" },
	[RP_TABLE_DEPOSIT] = { "table deposited", "table" },
	[RP_TABLE_WITHDRAW] = { "table withdrawn", "table" },
	[RP_TABLE_GATHERED] = { "table queued to be freed", "table" },
	[RP_TABLE_RCU_HANDOFF] = { "grace period requested (call_rcu)", "rcu" },
	[RP_TABLE_RCU_CALLBACK] = { "grace period over: RCU frees the batch", "rcu" },
	[RP_TABLE_FREE] = { "table freed", "free" },
	[RP_IPI_DEFERRED] = { "IPI held back: interrupts are off", "ipi-deferred" },
	[RP_FRAME_ALLOC] = { "frame allocated", "reuse" },
	[RP_PMD_WRITE] = { "PMD written", "pmd" },
	[RP_UNPIN] = { "unpin", "pin" },
};

/* A zap's free of the deposited table it withdrew, by how. */
static const char *const zap_free_words[] = {
	[TABLE_FREE_DIRECT] = "zap frees the withdrawn deposited table at once (pte_free)",
	[TABLE_FREE_RCU] = "zap frees the withdrawn deposited table after a grace period "
			   "(pte_free_defer)",
};

static const char *const free_words[] = {
	[TABLE_FREE_DIRECT] = "table freed at once (pte_free, pmd_free: no wait)",
	[TABLE_FREE_GATHER] = "table freed after the mmu_gather's flush",
	[TABLE_FREE_RCU] = "table freed after a grace period",
	[TABLE_FREE_ONE] = "table freed after the sync IPI",
	[TABLE_FREE_TEARDOWN] = "table freed at teardown",
};

static const char *const frame_words[PAGE_TYPE_COUNT] = {
	[PAGE_TYPE_FREE] = "a free frame", [PAGE_TYPE_PGTABLE] = "a page table",
	[PAGE_TYPE_ANON] = "an anonymous page", [PAGE_TYPE_THP_HEAD] = "a huge page",
	[PAGE_TYPE_THP_TAIL] = "a huge page", [PAGE_TYPE_KERNEL] = "a kernel page",
};

static double us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

static void hex(json_t *args, const char *key, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%#llx", (unsigned long long)v);
	json_object_set_new(args, key, json_string(buf));
}

static void set_table(json_t *args, uint32_t pfn, uint32_t gen)
{
	char buf[24];

	if (pfn == PFN_NONE)
		return;
	snprintf(buf, sizeof(buf), "T%u", pfn);
	json_object_set_new(args, "table", json_string(buf));
	json_object_set_new(args, "generation", json_integer(gen));
}

static json_t *point_args(const struct lab_trace_event *e)
{
	json_t *args = json_object();

	if (e->fn)
		json_object_set_new(args, "function", json_string(e->fn));
	if (e->rp != LAB_TRACE_FINDING)
		json_object_set_new(args, "point", json_string(race_point_name(e->rp)));
	set_table(args, e->pfn, e->gen);
	if (e->addr)
		hex(args, "addr", e->addr);
	if (e->rp == RP_GUP_FAST_PTE_READ)
		hex(args, "pte", e->value);
	else if (e->rp == RP_GUP_FAST_PUD_READ || e->rp == RP_PUD_UNSHARED ||
		 e->rp == RP_PUD_UNLINKED || e->rp == RP_PUD_MOVED)
		hex(args, "pud", e->value);
	else if (e->value)
		hex(args, "pmd", e->value);
	return args;
}

/* "cpus 2, 3" */
static void cpu_list(uint64_t mask, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int c = 0; c < 64 && used < len; c++)
		if (mask & (1ULL << c))
			used += (size_t)snprintf(buf + used, len - used, "%s%d", used ? ", " : "cpus ",
						 c);
}

/* Slices: a GUP-fast walker's interrupts-off section, an RCU walker's
 * read-side section (pte_offset_map_lock() to pte_unmap_unlock()) and the
 * PTE lock it takes inside it, flushes, syncs, IPI handlers. */
enum open_kind {
	OPEN_SECTION, OPEN_RCU, OPEN_PTL, OPEN_FLUSH, OPEN_SYNC, OPEN_IPI, OPEN_KINDS
};

/* A slice begun on a track and not yet ended. */
struct open_slice {
	bool open;
	uint64_t t;
	const struct lab_trace_event *begin;
	size_t lane_events;      /* its track's events up to its beginning */
};

struct run_writer {
	const struct lab_run_config *cfg;
	const struct lab_result *res;
	const struct lab_trace *tr;
	json_t *events;
	struct open_slice open[LAB_TRACE_MAX_LANES][OPEN_KINDS];
	/* Events seen on each track so far. */
	size_t lane_events[LAB_TRACE_MAX_LANES];
	/* Interrupts-off sections in which the walker found nothing to walk
	 * (no event between their two ends, as while hugetlb-unshare's mm
	 * has no mapping): left out, counted. */
	uint64_t empty_sections;
	/* The steps of pte_offset_map_lock() walks by threads that are no
	 * RCU walkers of the scenario (a fault takes it once per page: a
	 * munmap cell's mutator thousands of times a window): left out,
	 * counted. */
	uint64_t other_pte_maps;
	/* The first violation: its track, table, time, and where the
	 * section it ended began (its reads of that table are the stale
	 * ones). */
	int v_lane;
	uint32_t v_table;
	uint64_t v_t, v_section;
	/* IPIs sent and not yet taken. */
	struct {
		const struct lab_trace_event *e;
		int id;
	} sent[256];
	int nsent, flows;
	/* Table frames freed in the window, to call their reuse a reuse. */
	uint32_t freed[512];
	int nfreed;
};

static int tid_of(const struct run_writer *w, int lane)
{
	int cpu = w->tr->lanes[lane].cpu;

	return cpu == LAB_TRACE_RCU_LANE_CPU ? RCU_TID : cpu;
}

static void slice_name(const struct run_writer *w, enum open_kind k,
		       const struct lab_trace_event *b, char *buf, size_t len)
{
	char cpus[160];
	enum tlb_flush_style style = w->cfg->profile.flush;

	switch (k) {
	case OPEN_SECTION:
		snprintf(buf, len, "interrupts off (gup_fast)");
		return;
	case OPEN_RCU:
		snprintf(buf, len, "RCU read-side section, interrupts on (pte_offset_map_lock)");
		return;
	case OPEN_PTL:
		if (b && b->pfn != PFN_NONE)
			snprintf(buf, len, "PTE lock of T%u held", b->pfn);
		else
			snprintf(buf, len, "PTE lock held");
		return;
	case OPEN_IPI:
		snprintf(buf, len, "IPI handler");
		return;
	case OPEN_SYNC:
		if (b && b->mask) {
			cpu_list(b->mask, cpus, sizeof(cpus));
			snprintf(buf, len, "tlb_remove_table_sync_one (sync %s): IPI to %s, waits "
					   "for their interrupts-off sections",
				 sync_policy_name(ptlab_sync_policy(w->cfg->fixes)), cpus);
		} else {
			snprintf(buf, len, "tlb_remove_table_sync_one: %s",
				 w->cfg->profile.rcu_table_free ? "no CPU to wait for by its policy"
								: "empty (no RCU table free)");
		}
		return;
	case OPEN_FLUSH:
	case OPEN_KINDS:
		break;
	}
	if (b && b->mask) {
		cpu_list(b->mask, cpus, sizeof(cpus));
		snprintf(buf, len, "TLB flush (%s): IPI to %s, waits for each",
			 tlb_flush_style_name(style), cpus);
	} else if (style == TLB_FLUSH_BROADCAST || style == TLB_FLUSH_HYPERCALL) {
		snprintf(buf, len, "TLB flush (%s): no IPI, waits for no CPU",
			 tlb_flush_style_name(style));
	} else {
		snprintf(buf, len, "TLB flush (%s): no CPU to interrupt",
			 tlb_flush_style_name(style));
	}
}

static const char *const open_cats[OPEN_KINDS] = {
	[OPEN_SECTION] = "irqs-off", [OPEN_RCU] = "rcu-section", [OPEN_PTL] = "ptl",
	[OPEN_FLUSH] = "flush", [OPEN_SYNC] = "sync", [OPEN_IPI] = "ipi",
};

static void close_slice(struct run_writer *w, int lane, enum open_kind k, uint64_t end)
{
	struct open_slice *o = &w->open[lane][k];
	uint64_t t = o->open ? o->t : w->tr->from_ns;
	char name[256];
	json_t *e, *args;

	if (k == OPEN_SECTION && o->open && w->lane_events[lane] == o->lane_events + 1) {
		w->empty_sections++;
		o->open = false;
		return;
	}
	slice_name(w, k, o->open ? o->begin : NULL, name, sizeof(name));
	e = trace_event("X", name, open_cats[k], us(t), tid_of(w, lane));
	json_object_set_new(e, "dur", json_real(us(end - t)));
	args = o->open ? point_args(o->begin) : json_object();
	if (!o->open)
		json_object_set_new(args, "note", json_string("began before the window"));
	json_object_set_new(e, "args", args);
	trace_add(w->events, e);
	o->open = false;
}

static void open_slice(struct run_writer *w, const struct lab_trace_event *e, enum open_kind k)
{
	struct open_slice *o = &w->open[e->lane][k];

	if (o->open)
		close_slice(w, e->lane, k, e->t_ns);
	*o = (struct open_slice){ true, e->t_ns, e, w->lane_events[e->lane] };
}

static void flow(struct run_writer *w, const struct lab_trace_event *e)
{
	int target = w->tr->lanes[e->lane].cpu;

	for (int i = 0; i < w->nsent; i++) {
		const struct lab_trace_event *s = w->sent[i].e;
		json_t *a, *b;

		if (s->ptr != e->ptr || s->target != target)
			continue;
		a = trace_event("s", "IPI", "ipi", us(s->t_ns), tid_of(w, s->lane));
		b = trace_event("f", "IPI", "ipi", us(e->t_ns), tid_of(w, e->lane));
		json_object_set_new(a, "id", json_integer(w->sent[i].id));
		json_object_set_new(b, "id", json_integer(w->sent[i].id));
		json_object_set_new(b, "bp", json_string("e"));
		trace_add(w->events, a);
		trace_add(w->events, b);
		w->sent[i] = w->sent[--w->nsent];
		return;
	}
}

static bool freed_before(const struct run_writer *w, uint32_t pfn)
{
	for (int i = 0; i < w->nfreed; i++)
		if (w->freed[i] == pfn)
			return true;
	return false;
}

static void instant(struct run_writer *w, const struct lab_trace_event *e)
{
	const char *name = points[e->rp].name, *cat = points[e->rp].cat;
	char buf[160];
	json_t *x;

	if (!name)
		return;
	if (e->rp == RP_ZAP_DEPOSITED_FREE) {
		name = e->how < sizeof(zap_free_words) / sizeof(zap_free_words[0]) &&
				       zap_free_words[e->how]
			       ? zap_free_words[e->how]
			       : "zap frees the withdrawn deposited table";
		cat = "table";
	} else if (e->rp == RP_TABLE_FREE) {
		if (e->how < sizeof(free_words) / sizeof(free_words[0]))
			name = free_words[e->how];
		if (w->nfreed < (int)(sizeof(w->freed) / sizeof(w->freed[0])))
			w->freed[w->nfreed++] = e->pfn;
	} else if (e->rp == RP_TABLE_DEPOSIT && w->cfg->profile.deposit == DEPOSIT_IN_TABLE) {
		name = "table deposited: list links written into its first entries";
		cat = "overwrite";
	} else if (e->rp == RP_FRAME_ALLOC) {
		bool reuse = freed_before(w, e->pfn);

		snprintf(buf, sizeof(buf), "%s T%u allocated as %s (gen %u)",
			 reuse ? "freed frame" : "frame", e->pfn,
			 e->how < PAGE_TYPE_COUNT ? frame_words[e->how] : "?", e->gen);
		name = buf;
		if (!reuse)
			cat = "alloc";
	} else if (!strcmp(cat, "read") && e->lane == w->v_lane && e->pfn == w->v_table &&
		   e->t_ns >= w->v_section && e->t_ns <= w->v_t) {
		snprintf(buf, sizeof(buf), "%s of T%u: stale", name, e->pfn);
		name = buf;
		cat = "stale-read";
	}
	x = trace_event("i", name, cat, us(e->t_ns), tid_of(w, e->lane));
	json_object_set_new(x, "s", json_string("t"));
	json_object_set_new(x, "args", point_args(e));
	trace_add(w->events, x);
}

static void finding(struct run_writer *w, const struct lab_trace_event *e)
{
	bool first = e->lane == w->v_lane && e->t_ns == w->v_t;
	char name[96];
	json_t *x, *args = point_args(e);

	snprintf(name, sizeof(name), "VIOLATION %s", violation_kind_name((enum violation_kind)e->how));
	x = trace_event("i", name, "violation", us(e->t_ns), tid_of(w, e->lane));
	json_object_set_new(x, "s", json_string("t"));
	json_object_set_new(args, "detector", json_string(violation_kind_name(e->how)));
	if (first) {
		json_object_set_new(args, "what", json_string(w->res->first.what));
		json_object_set_new(args, "first", json_true());
	}
	json_object_set_new(x, "args", args);
	trace_add(w->events, x);
}

/* Where a walker's section ends: a GUP-fast walker's interrupts-off
 * section, or an RCU walker's read-side section. */
static bool section_end(int rp)
{
	return rp == RP_GUP_FAST_SECTION_END || rp == RP_PTE_UNMAP;
}

/* The first finding in the window and the walker section it is about:
 * the one it happened in (a stale lock), or the one whose end it came
 * right after (a stale table is found as the section ends, a wrong page
 * once gup_fast returned). */
static void find_violation(struct run_writer *w)
{
	const struct lab_trace *tr = w->tr;

	w->v_lane = -1;
	for (size_t i = 0; i < tr->n; i++) {
		bool first = true;

		if (tr->ev[i].rp != LAB_TRACE_FINDING)
			continue;
		w->v_lane = tr->ev[i].lane;
		w->v_table = tr->ev[i].pfn;
		w->v_t = w->v_section = tr->ev[i].t_ns;
		for (size_t k = i; k-- > 0;) {
			if (tr->ev[k].lane != w->v_lane || tr->ev[k].rp == LAB_TRACE_FINDING)
				continue;
			if (section_end(tr->ev[k].rp) && !first)
				break;
			first = false;
			w->v_section = tr->ev[k].t_ns;
		}
		return;
	}
}

/* A step of pte_offset_map_lock() or pte_unmap_unlock(). */
static bool pte_map_point(int rp)
{
	return rp == RP_PTE_MAP_PMD_READ || rp == RP_PTE_MAP_LOCKED || rp == RP_PTE_MAP_RETRY ||
	       rp == RP_PTE_UNMAP;
}

static void run_event(struct run_writer *w, const struct lab_trace_event *e)
{
	if (pte_map_point(e->rp) && w->tr->lanes[e->lane].walker != WALKER_RCU) {
		w->other_pte_maps += e->rp == RP_PTE_MAP_PMD_READ;
		return;
	}
	w->lane_events[e->lane]++;
	switch (e->rp) {
	case LAB_TRACE_FINDING:
		finding(w, e);
		return;
	case RP_GUP_FAST_SECTION_BEGIN:
		open_slice(w, e, OPEN_SECTION);
		return;
	case RP_GUP_FAST_SECTION_END:
		close_slice(w, e->lane, OPEN_SECTION, e->t_ns);
		return;
	case RP_PTE_MAP_PMD_READ:
		open_slice(w, e, OPEN_RCU);
		instant(w, e);
		return;
	case RP_PTE_MAP_LOCKED:
		open_slice(w, e, OPEN_PTL);
		return;
	case RP_PTE_UNMAP:
		close_slice(w, e->lane, OPEN_PTL, e->t_ns);
		close_slice(w, e->lane, OPEN_RCU, e->t_ns);
		return;
	case RP_TLB_FLUSH_BEGIN:
		open_slice(w, e, OPEN_FLUSH);
		return;
	case RP_TLB_FLUSH_END:
		close_slice(w, e->lane, OPEN_FLUSH, e->t_ns);
		return;
	case RP_TABLE_SYNC_BEGIN:
		open_slice(w, e, OPEN_SYNC);
		return;
	case RP_TABLE_SYNC_END:
		close_slice(w, e->lane, OPEN_SYNC, e->t_ns);
		return;
	case RP_IPI_TAKEN:
		open_slice(w, e, OPEN_IPI);
		flow(w, e);
		return;
	case RP_IPI_DONE:
		close_slice(w, e->lane, OPEN_IPI, e->t_ns);
		return;
	case RP_IPI_SENT:
		if (w->nsent < (int)(sizeof(w->sent) / sizeof(w->sent[0]))) {
			w->sent[w->nsent].e = e;
			w->sent[w->nsent++].id = ++w->flows;
		}
		return;
	default:
		instant(w, e);
	}
}

json_t *trace_json_from_run(const struct lab_run_config *cfg, const struct lab_result *res)
{
	const struct lab_trace *tr = res->trace;
	struct run_writer *w;
	char title[256], walkers[16], fixes[40];
	json_t *doc, *other;

	if (!tr || !(w = calloc(1, sizeof(*w))))
		return NULL;
	*w = (struct run_writer){ .cfg = cfg, .res = res, .tr = tr, .events = json_array() };
	find_violation(w);
	for (int l = 0; l < tr->nlanes; l++)
		trace_add_track(w->events, tid_of(w, l), tr->lanes[l].name, l);
	for (size_t i = 0; i < tr->n; i++)
		run_event(w, &tr->ev[i]);
	for (int l = 0; l < tr->nlanes; l++)
		for (int k = 0; k < OPEN_KINDS; k++)
			if (w->open[l][k].open)
				close_slice(w, l, (enum open_kind)k, tr->to_ns);
	walker_kinds_format(cfg->walker_kinds, walkers, sizeof(walkers));
	ptlab_fixes_words(cfg->fixes, fixes, sizeof(fixes));
	snprintf(title, sizeof(title),
		 "ptlab race %s %s %s, collapse table %s, retract %s, %s walkers (seed %llu)",
		 cfg->profile.name, fixes, scenario_name(cfg->scenario),
		 collapse_table_name(cfg->kernel.collapse_table),
		 retract_gen_name(cfg->kernel.retract), walkers, (unsigned long long)cfg->seed);
	other = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:f, s:f, s:b, s:I, s:I, s:I, s:I, s:s}",
			  "source", "stress", "profile", cfg->profile.name, "fixes", fixes,
			  "scenario", scenario_name(cfg->scenario), "collapse_table",
			  collapse_table_name(cfg->kernel.collapse_table), "retract",
			  retract_gen_name(cfg->kernel.retract), "walkers", walkers,
			  "from_us", us(tr->from_ns), "to_us", us(tr->to_ns), "violation",
			  tr->violation, "lost_events", (json_int_t)tr->lost,
			  "dropped_events", (json_int_t)tr->dropped,
			  "empty_sections_left_out", (json_int_t)w->empty_sections,
			  "other_pte_map_walks_left_out", (json_int_t)w->other_pte_maps, "what",
			  res->have_detail ? res->first.what
					   : "no violation: the run's last milliseconds");
	doc = trace_document(w->events, title, other);
	free(w);
	return doc;
}
