// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "trace_json.h"
#include "ptlab/page.h"
#include "util/out_file.h"

#define PID 1
/* The call_rcu thread's track (CPU tracks are their CPU ids). */
#define RCU_TID 100

static json_t *event(const char *ph, const char *name, const char *cat, double ts, int tid)
{
	return json_pack("{s:s, s:s, s:s, s:f, s:i, s:i}", "ph", ph, "name", name, "cat", cat,
			 "ts", ts, "pid", PID, "tid", tid);
}

static void add(json_t *events, json_t *e)
{
	json_array_append_new(events, e);
}

static void add_meta(json_t *events, const char *what, int tid, json_t *args)
{
	json_t *e = event("M", what, "__metadata", 0, tid);

	json_object_set_new(e, "args", args);
	add(events, e);
}

static void add_track(json_t *events, int tid, const char *name, int order)
{
	add_meta(events, "thread_name", tid, json_pack("{s:s}", "name", name));
	add_meta(events, "thread_sort_index", tid, json_pack("{s:i}", "sort_index", order));
}

static json_t *document(json_t *events, const char *title, json_t *other)
{
	add_meta(events, "process_name", 0, json_pack("{s:s}", "name", title));
	return json_pack("{s:o, s:s, s:o}", "traceEvents", events, "displayTimeUnit", "ns",
			 "otherData", other);
}

/* ---- a stress run ---- */

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
	e = event("X", name, open_cats[k], us(t), tid_of(w, lane));
	json_object_set_new(e, "dur", json_real(us(end - t)));
	args = o->open ? point_args(o->begin) : json_object();
	if (!o->open)
		json_object_set_new(args, "note", json_string("began before the window"));
	json_object_set_new(e, "args", args);
	add(w->events, e);
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
		a = event("s", "IPI", "ipi", us(s->t_ns), tid_of(w, s->lane));
		b = event("f", "IPI", "ipi", us(e->t_ns), tid_of(w, e->lane));
		json_object_set_new(a, "id", json_integer(w->sent[i].id));
		json_object_set_new(b, "id", json_integer(w->sent[i].id));
		json_object_set_new(b, "bp", json_string("e"));
		add(w->events, a);
		add(w->events, b);
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
	x = event("i", name, cat, us(e->t_ns), tid_of(w, e->lane));
	json_object_set_new(x, "s", json_string("t"));
	json_object_set_new(x, "args", point_args(e));
	add(w->events, x);
}

static void finding(struct run_writer *w, const struct lab_trace_event *e)
{
	bool first = e->lane == w->v_lane && e->t_ns == w->v_t;
	char name[96];
	json_t *x, *args = point_args(e);

	snprintf(name, sizeof(name), "VIOLATION %s", violation_kind_name((enum violation_kind)e->how));
	x = event("i", name, "violation", us(e->t_ns), tid_of(w, e->lane));
	json_object_set_new(x, "s", json_string("t"));
	json_object_set_new(args, "detector", json_string(violation_kind_name(e->how)));
	if (first) {
		json_object_set_new(args, "what", json_string(w->res->first.what));
		json_object_set_new(args, "first", json_true());
	}
	json_object_set_new(x, "args", args);
	add(w->events, x);
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
	json_t *doc;

	if (!tr || !(w = calloc(1, sizeof(*w))))
		return NULL;
	*w = (struct run_writer){ .cfg = cfg, .res = res, .tr = tr, .events = json_array() };
	find_violation(w);
	for (int l = 0; l < tr->nlanes; l++)
		add_track(w->events, tid_of(w, l), tr->lanes[l].name, l);
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
	doc = document(w->events, title,
		       json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:f, s:f, s:b, s:I, s:I, s:I, s:I, "
				 "s:s}",
				 "source", "stress", "profile", cfg->profile.name, "fixes", fixes,
				 "scenario",
				 scenario_name(cfg->scenario), "collapse_table",
				 collapse_table_name(cfg->kernel.collapse_table), "retract",
				 retract_gen_name(cfg->kernel.retract), "walkers", walkers,
				 "from_us", us(tr->from_ns), "to_us", us(tr->to_ns), "violation",
				 tr->violation, "lost_events", (json_int_t)tr->lost,
				 "dropped_events", (json_int_t)tr->dropped,
				 "empty_sections_left_out", (json_int_t)w->empty_sections,
				 "other_pte_map_walks_left_out", (json_int_t)w->other_pte_maps, "what",
				 res->have_detail ? res->first.what : "no violation: the run's last "
								     "milliseconds"));
	free(w);
	return doc;
}

/* ---- a model counterexample ---- */

#define MODEL_TRACKS 32

/* What a model process holds across steps, drawn as a slice from the
 * step that begins it to the one that ends it. */
struct model_span {
	const char *begin, *end; /* text of the steps that begin and end it */
	const char *name, *cat;
};

static const struct model_span spans[] = {
	{ "disables interrupts", "enables interrupts", "interrupts off", "irqs-off" },
	{ "takes mmap_lock", "releases mmap_lock", "mmap_lock held", "lock" },
	{ "enters rcu_read_lock()", "leaves rcu_read_lock()", "RCU read-side section",
	  "rcu-section" },
	{ "takes the lock of ", "unlocks ", "PTE lock held", "ptl" },
};
#define MODEL_SPANS (sizeof(spans) / sizeof(spans[0]))

struct model_writer {
	json_t *events;
	char actor[MODEL_TRACKS][32];
	int nactors;
	/* Per track: where each of its spans began (-1: not open). */
	int open[MODEL_TRACKS][MODEL_SPANS];
	/* The step of each actor's last IPI-sending wait (-1). */
	int ipi_from[MODEL_TRACKS];
	int flows;
	/* The violation's actor and table, and the first step that took the
	 * table from it (freed, reused, overwritten or handed over; -1):
	 * the actor's reads and locks of the table after it are stale. */
	char v_actor[32], v_table[16];
	int harm;
};

static bool starts_with(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* The actor of a step: "cpuN" when one of its first three words names a
 * CPU ("walker cpu2 reads", "RCU walker cpu3 takes", "caller of cpu2
 * writes", "cpu1 takes the IPI"), the page allocator for "T1 reused",
 * else its first word, or its first two for a possessive ("munmap's
 * call_rcu", "A's munmap"). */
static void step_actor(const char *step, char *buf, size_t len)
{
	const char *p = step;

	for (int word = 0; word < 3 && *p; word++) {
		size_t n = strcspn(p, " ");

		if (n > 3 && starts_with(p, "cpu") && isdigit((unsigned char)p[3])) {
			snprintf(buf, len, "%.*s", (int)strspn(p + 3, "0123456789") + 3, p);
			return;
		}
		p += n;
		p += strspn(p, " ");
	}
	if (step[0] == 'T' && isdigit((unsigned char)step[1])) {
		snprintf(buf, len, "page allocator");
		return;
	}
	p = step + strcspn(step, " :");
	if (p - step > 2 && starts_with(p - 2, "'s") && *p == ' ')
		p += 1 + strcspn(p + 1, " :");
	snprintf(buf, len, "%.*s", (int)(p - step), step);
}

static int actor_track(struct model_writer *w, const char *actor)
{
	for (int i = 0; i < w->nactors; i++)
		if (strcmp(w->actor[i], actor) == 0)
			return i;
	if (w->nactors == MODEL_TRACKS)
		return MODEL_TRACKS - 1;
	snprintf(w->actor[w->nactors], sizeof(w->actor[0]), "%s", actor);
	for (size_t k = 0; k < MODEL_SPANS; k++)
		w->open[w->nactors][k] = -1;
	w->ipi_from[w->nactors] = -1;
	return w->nactors++;
}

/* The kernel function a step names: an identifier with an underscore,
 * in parentheses ("(pmdp_collapse_flush)", "(gup_fast: local_irq_save)")
 * or followed by "()". */
static bool step_function(const char *step, char *buf, size_t len)
{
	for (const char *p = step; *p; p++) {
		size_t n;

		if (!(isalpha((unsigned char)*p) || *p == '_') ||
		    (p > step && (isalnum((unsigned char)p[-1]) || p[-1] == '_')))
			continue;
		n = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_");
		if (memchr(p, '_', n) && ((p > step && p[-1] == '(') || starts_with(p + n, "()"))) {
			snprintf(buf, len, "%.*s", (int)n, p);
			return true;
		}
	}
	return false;
}

/* The first table a step names: "T1", or S, hugetlb-unshare's shared
 * PMD table (a word of its own). */
static bool step_table(const char *step, char *buf, size_t len)
{
	for (const char *p = step; *p; p++) {
		if (p > step && p[-1] != ' ')
			continue;
		if (*p == 'T' && isdigit((unsigned char)p[1])) {
			snprintf(buf, len, "T%.*s", (int)strspn(p + 1, "0123456789"), p + 1);
			return true;
		}
		if (*p == 'S' && (!p[1] || strchr(" :,'", p[1]))) {
			snprintf(buf, len, "S");
			return true;
		}
	}
	return false;
}

static void model_slice(struct model_writer *w, int track, int from, int to, const char *name,
			const char *cat)
{
	json_t *e = event("X", name, cat, from, track);

	json_object_set_new(e, "dur", json_real(to - from));
	json_object_set_new(e, "args", json_object());
	add(w->events, e);
}

static const char *step_category(const char *text, bool violation)
{
	if (violation)
		return "violation";
	if (strstr(text, "drops the i_mmap lock: ") && strstr(text, "alone now"))
		return "handover";
	if (strstr(text, "through call_rcu") || strstr(text, "grace period"))
		return "rcu";
	if (strstr(text, "frees") || strstr(text, "freed"))
		return "free";
	if (strstr(text, "reused"))
		return "reuse";
	if (strstr(text, "links written"))
		return "overwrite";
	if (strstr(text, "clears PMD") || strstr(text, "clears huge PMD") ||
	    strstr(text, "unshares S: clears"))
		return "clear";
	if (strstr(text, " reads ") || strstr(text, "takes the lock of "))
		return "read";
	if (strstr(text, "IPI"))
		return "ipi";
	return "step";
}

/* A step's text without its "VIOLATION kind: " head. */
static const char *step_text(const char *step, bool *violation)
{
	*violation = starts_with(step, "VIOLATION ");
	return *violation ? step + strcspn(step, ":") + (strchr(step, ':') ? 2 : 0) : step;
}

/* The violation's actor and table, and the step that harmed the table. */
static void find_model_violation(struct model_writer *w, const char *const *steps, size_t n)
{
	bool violation;
	const char *text;
	char table[16];

	w->harm = -1;
	for (size_t i = n; i-- > 0;) {
		text = step_text(steps[i], &violation);
		if (!violation)
			continue;
		step_actor(text, w->v_actor, sizeof(w->v_actor));
		if (!step_table(text, w->v_table, sizeof(w->v_table)))
			return;
		for (size_t k = 0; k < i; k++) {
			const char *cat = step_category(step_text(steps[k], &violation), false);

			if (step_table(steps[k], table, sizeof(table)) &&
			    !strcmp(table, w->v_table) &&
			    (!strcmp(cat, "free") || !strcmp(cat, "reuse") ||
			     !strcmp(cat, "overwrite") || !strcmp(cat, "handover"))) {
				w->harm = (int)k;
				return;
			}
		}
		return;
	}
}

static void model_step(struct model_writer *w, int i, const char *step)
{
	bool violation;
	const char *text = step_text(step, &violation), *cat = step_category(text, violation);
	char actor[32], buf[64];
	bool has_table;
	int tr;
	json_t *e, *args = json_object();

	step_actor(text, actor, sizeof(actor));
	tr = actor_track(w, actor);
	for (size_t k = 0; k < MODEL_SPANS; k++)
		if (strstr(text, spans[k].begin))
			w->open[tr][k] = i;
	has_table = step_table(text, buf, sizeof(buf));
	if (!strcmp(cat, "read") && w->harm >= 0 && i > w->harm && has_table &&
	    !strcmp(buf, w->v_table) && !strcmp(actor, w->v_actor))
		cat = "stale-read";
	e = event("X", step, cat, i, tr);
	json_object_set_new(e, "dur", json_real(1));
	json_object_set_new(args, "step", json_integer(i + 1));
	if (has_table)
		json_object_set_new(args, "table", json_string(buf));
	if (step_function(text, buf, sizeof(buf)))
		json_object_set_new(args, "function", json_string(buf));
	json_object_set_new(e, "args", args);
	add(w->events, e);
	/* An IPI the actor sent and a CPU takes: a flow. */
	if (strstr(text, " IPI") && !starts_with(text, "cpu"))
		w->ipi_from[tr] = i;
	if (starts_with(text, "cpu") && strstr(text, "takes the IPI of ")) {
		char from[32];
		int ft;

		step_actor(strstr(text, "takes the IPI of ") + 17, from, sizeof(from));
		ft = actor_track(w, from);
		if (w->ipi_from[ft] >= 0) {
			json_t *s = event("s", "IPI", "ipi", w->ipi_from[ft] + 0.5, ft);
			json_t *f = event("f", "IPI", "ipi", i + 0.5, tr);

			json_object_set_new(s, "id", json_integer(++w->flows));
			json_object_set_new(f, "id", json_integer(w->flows));
			json_object_set_new(f, "bp", json_string("e"));
			add(w->events, s);
			add(w->events, f);
		}
	}
	for (size_t k = 0; k < MODEL_SPANS; k++)
		if (strstr(text, spans[k].end) && w->open[tr][k] >= 0) {
			model_slice(w, tr, w->open[tr][k], i + 1, spans[k].name, spans[k].cat);
			w->open[tr][k] = -1;
		}
}

json_t *trace_json_from_model(const char *title, const char *const *steps, size_t n)
{
	struct model_writer *w = calloc(1, sizeof(*w));
	json_t *doc;

	if (!w)
		return NULL;
	w->events = json_array();
	find_model_violation(w, steps, n);
	for (size_t i = 0; i < n; i++)
		model_step(w, (int)i, steps[i]);
	for (int t = 0; t < w->nactors; t++) {
		/* Still open when the violation ended the run. */
		for (size_t k = 0; k < MODEL_SPANS; k++)
			if (w->open[t][k] >= 0)
				model_slice(w, t, w->open[t][k], (int)n, spans[k].name, spans[k].cat);
		add_track(w->events, t, w->actor[t], t);
	}
	doc = document(w->events, title,
		       json_pack("{s:s, s:s, s:i}", "source", "model", "time_unit",
				 "one step per microsecond", "steps", (int)n));
	free(w);
	return doc;
}

int trace_json_write(const json_t *doc, const char *path)
{
	struct out_file o;
	FILE *f = out_file_open(&o, path);

	if (!f)
		return 1;
	json_dumpf(doc, f, JSON_COMPACT);
	fputc('\n', f);
	return out_file_commit(&o, f, path);
}

char *trace_json_text(const json_t *doc)
{
	return json_dumps(doc, JSON_COMPACT);
}

void trace_json_free(json_t *doc)
{
	json_decref(doc);
}
