// SPDX-License-Identifier: MIT
/* One run of a cell: machine up, scenario, budget, teardown, account. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lab_internal.h"
#include "ptlab/machine.h"
#include "ptlab/smp.h"
#include "sanitizer.h"
#include "util/time.h"

static lab_progress_fn progress_fn;
static void *progress_arg;

void lab_set_progress(lab_progress_fn fn, void *arg)
{
	progress_fn = fn;
	progress_arg = arg;
}

/*
 * The default windows are sized for an optimized build. A sanitizer build
 * runs the protocol's steps several times slower (a collapse copies and
 * clears 512 pages), so a walker's window must be as many times longer to
 * span the same steps: the windows of the same cell stay the same in its
 * safe and unsafe settings, only the build changes them.
 */
#ifdef PTLAB_DEBUG
#define WINDOW_SCALE 4
#else
#define WINDOW_SCALE 1
#endif

/* Per scenario: walkers, and windows found to show each race quickly
 * while leaving safe cells many cycles per second. */
void lab_run_config_default(struct lab_run_config *cfg, const struct ptlab_profile *p,
			    struct ptlab_fixes fixes, enum scenario s)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->profile = *p;
	cfg->fixes = fixes;
	cfg->kernel = ptlab_kernel_default(p);
	/* The scenario is about PT_RECLAIM: on every profile, so that the
	 * matrix shows why the kernel allows it only with RCU table free. */
	if (s == SCENARIO_PT_RECLAIM)
		cfg->kernel.pt_reclaim = true;
	cfg->scenario = s;
	cfg->walker_kinds = scenario_default_walkers(s, cfg->kernel);
	cfg->seconds = 1.0;
	cfg->grace_after_violation = 0.05;
	cfg->walkers = 2;
	cfg->seed = 1;
	cfg->pool_bytes = 64ULL << 20;
	/* Enough CPUs on the mm for a broadcast_min_cpus profile to flush it
	 * by broadcast (x86-invlpgb's global ASID), whatever its threshold:
	 * the rule judges that case. Four at least, as the cells always ran. */
	cfg->min_mm_cpus = p->broadcast_min_cpus > 4 ? p->broadcast_min_cpus : 4;
	switch (s) {
	case SCENARIO_COLLAPSE_ZAP:
		/* A walker stays in its section across a collapse and a zap. */
		cfg->windows[cfg->nr_windows++] = (struct lab_window){
			.rp = RP_GUP_FAST_PMD_READ, .delay_ns = 2000000, .probability = 0.25,
			.jitter = true, .preempt = true };
		break;
	case SCENARIO_COLLAPSE_PIN:
		/* Across a whole collapse (in-table deposits)... */
		cfg->windows[cfg->nr_windows++] = (struct lab_window){
			.rp = RP_GUP_FAST_PMD_READ, .delay_ns = 2000000, .probability = 0.1,
			.jitter = true, .preempt = true };
		/* ...or from its PTE read into collapse's copy phase, which
		 * collapse's own window widens. */
		cfg->windows[cfg->nr_windows++] = (struct lab_window){
			.rp = RP_GUP_FAST_PTE_READ, .delay_ns = 600000, .probability = 0.3,
			.jitter = true, .preempt = true };
		cfg->windows[cfg->nr_windows++] = (struct lab_window){
			.rp = RP_COLLAPSE_ISOLATED, .delay_ns = 800000, .probability = 1.0 };
		break;
	case SCENARIO_MUNMAP:
		cfg->windows[cfg->nr_windows++] = (struct lab_window){
			.rp = RP_GUP_FAST_PMD_READ, .delay_ns = 500000, .probability = 0.3,
			.jitter = true, .preempt = true };
		break;
	case SCENARIO_PT_RECLAIM:
		/* Both kinds of walker between their PMD read and their use
		 * of the table. */
		cfg->windows[cfg->nr_windows++] = (struct lab_window){
			.rp = RP_GUP_FAST_PMD_READ, .delay_ns = 500000, .probability = 0.3,
			.jitter = true, .preempt = true };
		/* Longer than a flush that waits out GUP-fast windows: an RCU
		 * walker must outlast the unlink, flush and free to see a
		 * table reused. Walkers only: the reclaimer's zaps and
		 * faults pass the same point. */
		cfg->windows[cfg->nr_windows++] = (struct lab_window){
			.rp = RP_PTE_MAP_PMD_READ, .delay_ns = 2000000, .probability = 0.25,
			.jitter = true, .walkers_only = true };
		break;
	case SCENARIO_RETRACT:
		/* A GUP-fast walker between its PMD read and its PTE read,
		 * across a retraction and the first faults of the other
		 * range, which take the frame freed. */
		cfg->windows[cfg->nr_windows++] = (struct lab_window){
			.rp = RP_GUP_FAST_PMD_READ, .delay_ns = 2000000, .probability = 0.25,
			.jitter = true, .preempt = true };
		/* An RCU walker (the defer generation) between its PMD read
		 * and its lock, across the clear and the grace period's start.
		 * Walkers only: the retractor's faults pass the same point. */
		cfg->windows[cfg->nr_windows++] = (struct lab_window){
			.rp = RP_PTE_MAP_PMD_READ, .delay_ns = 2000000, .probability = 0.25,
			.jitter = true, .walkers_only = true };
		break;
	case SCENARIO_HUGETLB_UNSHARE:
		/* Between the PUD read and the PMD read: across an unshare
		 * and the owner's change of the table. */
		cfg->windows[cfg->nr_windows++] = (struct lab_window){
			.rp = RP_GUP_FAST_PUD_READ, .delay_ns = 2000000, .probability = 0.25,
			.jitter = true, .preempt = true };
		break;
	case SCENARIO_MUNMAP_PMD:
		/* Between the PUD read and the PMD read: across the munmap
		 * of the whole PUD range, and the other range's mmap and
		 * faults that reuse the freed frames. */
		cfg->windows[cfg->nr_windows++] = (struct lab_window){
			.rp = RP_GUP_FAST_PUD_READ, .delay_ns = 500000, .probability = 0.3,
			.jitter = true, .preempt = true };
		break;
	case SCENARIO_MREMAP:
		/* Between the PMD read and the PTE read: across a move there
		 * and back (a few microseconds each where the flush does not
		 * wait), or a move, the destination's munmap and the refault
		 * that takes the freed frame. */
		cfg->windows[cfg->nr_windows++] = (struct lab_window){
			.rp = RP_GUP_FAST_PMD_READ, .delay_ns = 1000000, .probability = 0.3,
			.jitter = true, .preempt = true };
		break;
	case SCENARIO_COUNT:
		break;
	}
	for (unsigned int i = 0; i < cfg->nr_windows; i++)
		cfg->windows[i].delay_ns *= WINDOW_SCALE;
}

bool lab_barriers_droppable(unsigned int mask, char *err, size_t len)
{
	char lab[128] = "";

	if (err && len)
		err[0] = '\0';
	for (int b = 0; b < BARRIERS; b++)
		if (barrier_info((enum barrier)b)->lab)
			snprintf(lab + strlen(lab), sizeof(lab) - strlen(lab), "%s%s",
				 lab[0] ? ", " : "", barrier_info((enum barrier)b)->name);
	for (int b = 0; b < BARRIERS; b++) {
		const struct barrier_info *bi = barrier_info((enum barrier)b);
		bool weak_only = !(bi->models & (1u << MEMORY_TSO));

		if (!(mask & BARRIER_BIT(b)) || bi->lab)
			continue;
		if (err && len)
			snprintf(err, len,
				 "the stress lab cannot drop '%s': on this %s host its ordering "
				 "is %s; the model can (ptlab model --memory %s --drop-barrier "
				 "%s); the lab drops %s",
				 bi->name, memory_model_name(memory_model_host()),
				 weak_only ? "one TSO gives every access (the kernel needs it only "
					     "on weaker machines)"
					   : "the host's own locked instruction or the lab's "
					     "mechanism (signals, futexes, liburcu), not a fence "
					     "ptlab can leave out",
				 weak_only ? "weak" : "tso", bi->name, lab);
		return false;
	}
	if (mask >> BARRIERS) {
		if (err && len)
			snprintf(err, len, "barrier bits %#x name no barrier", mask >> BARRIERS);
		return false;
	}
	return true;
}

struct ptlab_cell lab_run_cell(const struct lab_run_config *cfg)
{
	/* .memory stays the rule's default: the lab runs on the host's
	 * memory model (memory_model_host()), which the cell's JSON names. */
	return (struct ptlab_cell){ .profile = &cfg->profile, .fixes = cfg->fixes,
				    .kernel = cfg->kernel, .scenario = cfg->scenario,
				    .walkers = cfg->walker_kinds,
				    .dropped = cfg->dropped_barriers };
}

static bool window_ok(const struct lab_window *w)
{
	return (unsigned int)w->rp < RACE_POINT_COUNT && w->delay_ns >= 1 &&
	       w->delay_ns <= LAB_MAX_DELAY_NS && w->probability >= 0.0 &&
	       w->probability <= 1.0;   /* false for NaN */
}

static bool config_ok(const struct lab_run_config *cfg)
{
	unsigned int kinds = (unsigned int)__builtin_popcount(cfg->walker_kinds);

	if (!(cfg->trace_before_ms >= 0 && cfg->trace_before_ms <= LAB_TRACE_MAX_MS) ||
	    !(cfg->trace_after_ms >= 0 && cfg->trace_after_ms <= LAB_TRACE_MAX_MS))
		return false;
	if ((unsigned int)cfg->scenario >= SCENARIO_COUNT || cfg->walkers < 1 ||
	    cfg->walkers > LAB_MAX_WALKERS || cfg->nr_windows > LAB_MAX_WINDOWS ||
	    !kinds || (cfg->walker_kinds & ~scenario_allowed_walkers(cfg->scenario, cfg->kernel)) ||
	    cfg->walkers * kinds > LAB_MAX_WALKERS || cfg->min_mm_cpus > LAB_MAX_WALKERS ||
	    (unsigned int)cfg->kernel.collapse_table >= COLLAPSE_TABLE_COUNT ||
	    (unsigned int)cfg->kernel.unshare_sync >= UNSHARE_SYNC_COUNT ||
	    (unsigned int)cfg->kernel.retract >= RETRACT_COUNT ||
	    !(cfg->seconds > 0 && cfg->seconds <= 86400) ||
	    (cfg->trace_cap && (cfg->trace_cap < LAB_CAP_MIN || cfg->trace_cap > LAB_CAP_MAX)) ||
	    (cfg->evidence_cap &&
	     (cfg->evidence_cap < LAB_CAP_MIN || cfg->evidence_cap > LAB_CAP_MAX)))
		return false;
	for (unsigned int i = 0; i < cfg->nr_windows; i++)
		if (!window_ok(&cfg->windows[i]))
			return false;
	if (!lab_barriers_droppable(cfg->dropped_barriers, NULL, 0))
		return false;
	return !(cfg->fail_alloc_paths & ~FAIL_ALLOC_ALL_PATHS) &&
	       cfg->fail_alloc_probability >= 0.0 && cfg->fail_alloc_probability <= 1.0;
}

/* Sums what every thread counted so far (relaxed loads of counters each
 * thread writes alone). */
static void snapshot(struct lab_result *r)
{
	memset(r->violations, 0, sizeof(r->violations));
	memset(r->violations_by_walker, 0, sizeof(r->violations_by_walker));
	memset(r->ops_by_walker, 0, sizeof(r->ops_by_walker));
	memset(r->failures, 0, sizeof(r->failures));
	r->ops = r->pages = r->collapses = r->refusals = r->cycles = 0;
	r->zap_table_frees = r->unlinks = r->pmd_table_unlinks = r->lost_writes = r->stale_read = 0;
	r->table_moves = 0;
	for (int i = 0; i < lab_rs.nthreads; i++) {
		struct lab_tstats *st = &lab_rs.threads[i]->st;

		r->ops += lab_read(&st->ops);
		r->pages += lab_read(&st->pages);
		r->collapses += lab_read(&st->collapses);
		r->refusals += lab_read(&st->refusals);
		r->cycles += lab_read(&st->cycles);
		r->zap_table_frees += lab_read(&st->zap_table_frees);
		r->unlinks += lab_read(&st->unlinks);
		r->pmd_table_unlinks += lab_read(&st->pmd_table_unlinks);
		r->table_moves += lab_read(&st->table_moves);
		r->lost_writes += lab_read(&st->lost_writes);
		r->stale_read += lab_read(&st->stale_read);
		for (int k = 0; k < VIOLATION_KINDS; k++) {
			unsigned long long v = lab_read(&st->violations[k]);

			r->violations[k] += v;
			if (lab_rs.threads[i]->role == LAB_ROLE_WALKER)
				r->violations_by_walker[lab_rs.threads[i]->kind][k] += v;
		}
		if (lab_rs.threads[i]->role == LAB_ROLE_WALKER)
			r->ops_by_walker[lab_rs.threads[i]->kind] += lab_read(&st->ops);
		for (int k = 0; k < LAB_FAILURE_KINDS; k++)
			r->failures[k] += lab_read(&st->failures[k]);
	}
}

/* The earliest first violation of all threads (read after they were
 * joined). */
static void first_violation(struct lab_result *r)
{
	for (int i = 0; i < lab_rs.nthreads; i++) {
		struct lab_tctx *t = lab_rs.threads[i];

		if (t->have_first && (!r->have_detail || t->first.at_ms < r->first.at_ms)) {
			r->first = t->first;
			r->have_detail = true;
		}
	}
	r->first_violation_ms = r->have_detail ? r->first.at_ms : -1;
}

/* The controller's wait between two looks at the run. */
#define POLL_NS 10000000ULL
/* A section is judged once its writers' events can no longer arrive. */
#define SETTLE_NS 20000000ULL

/* Whether the verdict is in: each walker kind the rule calls unsafe has
 * shown a violation, each it calls safe has @enough defended overlaps and
 * no violation. */
static bool verdict_in(const struct lab_run_config *cfg, const struct ptlab_expectation *e,
		       const struct lab_result *r, uint64_t enough)
{
	for (int w = 0; w < WALKER_KINDS; w++) {
		bool unsafe = false;
		uint64_t seen = 0;

		if (!(cfg->walker_kinds & WALKER_MASK(w)))
			continue;
		for (int k = 0; k < VIOLATION_KINDS; k++) {
			unsafe |= e->by_walker[w][k];
			seen += r->violations_by_walker[w][k];
		}
		if (unsafe ? !seen : seen || r->evidence.defended_by_walker[w] < enough)
			return false;
	}
	return true;
}

/* Whether a walker kind the rule calls safe showed a violation: the
 * cell fails whatever comes next. */
static bool safe_kind_violated(const struct lab_run_config *cfg,
			       const struct ptlab_expectation *e, const struct lab_result *r)
{
	for (int w = 0; w < WALKER_KINDS; w++)
		for (int k = 0; k < VIOLATION_KINDS; k++)
			if ((cfg->walker_kinds & WALKER_MASK(w)) && !e->by_walker[w][k] &&
			    r->violations_by_walker[w][k])
				return true;
	return false;
}

/* The grace after the first violation begins once the verdict is known:
 * in a cell where one walker kind is unsafe and another safe (RCU walkers
 * without RCU table free), the safe kind still needs its evidence. */
static bool run_over(const struct lab_run_config *cfg, const struct ptlab_expectation *e,
		     const struct lab_result *r, double now_ms, double *stop_at)
{
	if (*stop_at < 0 && cfg->grace_after_violation >= 0 && lab_total_violations(r) &&
	    (verdict_in(cfg, e, r, LAB_MIN_OVERLAPS_DEFAULT) || safe_kind_violated(cfg, e, r)))
		*stop_at = now_ms + cfg->grace_after_violation * 1e3;
	if (cfg->stop_at_defended && verdict_in(cfg, e, r, cfg->stop_at_defended))
		return true;
	return r->seconds >= cfg->seconds || (cfg->max_ops && r->ops >= cfg->max_ops) ||
	       (*stop_at >= 0 && now_ms >= *stop_at);
}

/* Every thread of the scenario has stopped: the counters must agree with
 * the tables, and no page may still be pinned. */
static void check_tables(struct mm_struct *mm, struct lab_result *res)
{
	struct mm_check_report rep;
	int ret = mm_check_tables(mm, &rep);

	if (ret) {
		res->table_mismatches = 1;
		snprintf(res->table_check, sizeof(res->table_check), "the check failed: %s",
			 strerror(-ret));
		return;
	}
	res->table_mismatches = rep.mismatches;
	res->table_referenced = rep.referenced;
	snprintf(res->table_check, sizeof(res->table_check), "%s", rep.first);
}

/* The allocator's counts when the scenario's threads started (written by
 * the controller before it starts them). */
static struct page_alloc_stats alloc_at_start;

void lab_faults_begin(const struct lab_run_config *cfg)
{
	page_alloc_get_stats(&alloc_at_start);
	if (cfg->fail_alloc_paths && cfg->fail_alloc_probability > 0)
		fail_alloc_set(cfg->fail_alloc_paths, cfg->fail_alloc_probability, 0);
}

/* The allocations since the scenario's threads started, by path. */
static void count_allocations(struct lab_result *res)
{
	struct page_alloc_stats st;

	page_alloc_get_stats(&st);
	for (int p = 0; p < ALLOC_PATH_COUNT; p++) {
		res->alloc_attempts[p] = st.path_attempts[p] - alloc_at_start.path_attempts[p];
		res->injected[p] = st.path_injected[p] - alloc_at_start.path_injected[p];
	}
}

int lab_run(const struct lab_run_config *cfg, struct lab_result *res)
{
	struct ptlab_config mc;
	struct ptlab_teardown_report rep;
	struct lab_scenario *s = NULL;
	struct lab_evidence *ev = NULL;
	struct lab_trace_collector *trace = NULL;
	struct ptlab_cell cell;
	struct ptlab_expectation e;
	struct mm_struct *mm;
	unsigned long asan0 = ptlab_asan_stale_table_reads();
	double stop_at = -1;
	int ret;

	if (!cfg || !res)
		return -EINVAL;
	memset(res, 0, sizeof(*res));
	res->first_violation_ms = -1;
	if (!config_ok(cfg))
		return -EINVAL;
	cell = lab_run_cell(cfg);
	e = ptlab_expect_cell(&cell);
	mc = (struct ptlab_config){ .profile = cfg->profile, .fixes = cfg->fixes,
				    .kernel = cfg->kernel, .pool_bytes = cfg->pool_bytes,
				    .dropped_barriers = cfg->dropped_barriers };
	ret = ptlab_init(&mc);
	if (ret)
		return ret;
	ev = lab_evidence_new(cfg->evidence_cap);
	ret = ev ? lab_detect_begin(ptlab_nr_frames) : -ENOMEM;
	if (ret || cpu_register() < 0) {
		lab_evidence_free(ev);
		ptlab_exit(NULL);
		return ret ? ret : -ENOSPC;
	}
	mm = mm_create();
	if (!mm) {
		ret = -ENOMEM;
		goto out_cpu;
	}
	lab_windows_install(cfg->windows, cfg->nr_windows, cfg->seed);
	/* Counted from here should the scenario fail to start. */
	page_alloc_get_stats(&alloc_at_start);
	if (cfg->trace_before_ms > 0 && !(trace = lab_trace_begin(cfg)))
		ret = -ENOMEM;
	lab_rs.start_ns = monotonic_ns();
	race_hook_set(lab_race_hook);
	if (!ret)
		ret = lab_scenario_start(cfg, mm, &s);
	while (!ret) {
		sleep_ns(POLL_NS);
		lab_evidence_poll(ev, false, SETTLE_NS);
		if (trace)
			lab_trace_poll(trace);
		snapshot(res);
		lab_evidence_result(ev, res);
		res->seconds = lab_now_ms() / 1e3;
		if (progress_fn)
			progress_fn(progress_arg, res->seconds, res);
		if (run_over(cfg, &e, res, lab_now_ms(), &stop_at))
			break;
	}
	lab_scenario_stop(s);
	race_hook_set(NULL);
	res->seconds = lab_now_ms() / 1e3;
	lab_evidence_poll(ev, true, 0);
	snapshot(res);
	first_violation(res);
	lab_evidence_result(ev, res);
	if (trace && !(res->trace = lab_trace_end(trace, res)))
		ret = ret ? ret : -ENOMEM;
	res->asan_reports = ptlab_asan_stale_table_reads() - asan0;
	if (res->asan_reports)
		snprintf(res->asan_log, sizeof(res->asan_log), "%s", ptlab_asan_log_path());
	lab_scenario_free(s);
	if (cfg->check_tables)
		check_tables(mm, res);
	if (mm_destroy(mm))
		ret = ret ? ret : -EBUSY;
	fail_alloc_set(0, 0, 0);
	count_allocations(res);
out_cpu:
	cpu_unregister();
	lab_detect_end();
	lab_evidence_free(ev);
	if (ptlab_exit(&rep) == -ENOTEMPTY)
		res->leaked_frames = rep.leaked_total + rep.bad_refcounts + rep.miscounted;
	return ret;
}
