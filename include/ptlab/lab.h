/* SPDX-License-Identifier: MIT */
/*
 * The race lab: race windows, detectors, scenarios and one run of a cell
 * (profile x fixes x scenario). The protocol code knows nothing of it: the
 * lab hooks the named race points (ptlab/race.h) while a run lasts.
 */
#ifndef PTLAB_LAB_H
#define PTLAB_LAB_H

#include <stdbool.h>
#include <stdint.h>

#include "ptlab/page.h"
#include "ptlab/profile.h"
#include "ptlab/race.h"
#include "ptlab/rule.h"
#include "ptlab/types.h"

/*
 * A race window: at race point @rp, with @probability, the thread stops
 * for up to @delay_ns (uniformly at random in [delay_ns/2, delay_ns] when
 * @jitter, else exactly), as a kernel developer adds an mdelay(). With
 * @preempt the CPU is also marked as a preempted vCPU meanwhile (a host
 * preempting it), which only the paravirt flush looks at. With
 * @walkers_only only the lab's walker threads stop there: a point that
 * writers pass too (pte_offset_map_lock() in a zap or a fault) then
 * widens the walkers' race without slowing the writers.
 */
struct lab_window {
	enum race_point rp;
	uint64_t delay_ns;
	double probability;
	bool jitter;
	bool preempt;
	bool walkers_only;
};

#define LAB_MAX_WINDOWS 8
#define LAB_MAX_WALKERS 56
#define LAB_MAX_DELAY_NS 100000000ULL   /* 100 ms */

struct lab_run_config {
	struct ptlab_profile profile;
	struct ptlab_fixes fixes;
	/* BARRIER_BIT()s (ptlab/memory_model.h) the machine leaves out
	 * (struct ptlab_config.dropped_barriers): only barriers whose
	 * barrier_info() has .lab. The rule assumes every barrier, so
	 * lab_judge() reports such a run, it does not judge it. 0: none. */
	unsigned int dropped_barriers;
	/* The kernel generation (lab_run_config_default(): today's, with
	 * PT_RECLAIM on in the pt-reclaim scenario whatever the profile). */
	struct ptlab_kernel kernel;
	enum scenario scenario;
	/* Walker kinds (WALKER_MASK()s); @walkers CPUs of each. */
	unsigned int walker_kinds;
	/* Budget: stop after this long, or after this many walker
	 * operations when nonzero. */
	double seconds;
	uint64_t max_ops;
	/* Stop this long after the first violation once the verdict is
	 * known (the grace counts a few more): every walker kind the rule
	 * calls safe has LAB_MIN_OVERLAPS_DEFAULT defended overlaps, or one
	 * of them showed a violation. Negative runs the whole budget. */
	double grace_after_violation;
	unsigned int walkers;
	uint64_t seed;
	unsigned int nr_windows;
	struct lab_window windows[LAB_MAX_WINDOWS];
	/* Frame pool of the run's machine, bytes. */
	uint64_t pool_bytes;
	/* CPUs that run the scenario's mm at least (idle bystanders fill
	 * up): an INVLPGB profile flushes only an mm active on enough CPUs
	 * by broadcast. */
	unsigned int min_mm_cpus;
	/* Stop as soon as the verdict is in (0: run the whole budget): each
	 * walker kind the rule says is safe has this many defended overlaps
	 * and no violation, and each it says is unsafe has a violation. */
	uint64_t stop_at_defended;
	/* Trace the run (0: off): lab_result.trace gets every CPU's events
	 * from this long before the first violation to @trace_after_ms after
	 * it (without a violation: the run's last milliseconds). */
	double trace_before_ms, trace_after_ms;
	/* Memory caps (0: the defaults below). A traced run keeps at most
	 * @trace_cap events per CPU lane of its trace; the evidence keeps at
	 * most @evidence_cap events per writer, and as many walker sections
	 * waiting to be judged. What a cap drops is counted
	 * (lab_trace.dropped, lab_evidence_counts.dropped_events), never
	 * silent. LAB_CAP_MIN..LAB_CAP_MAX. */
	uint32_t trace_cap, evidence_cap;
	/* Once the scenario's threads stopped, check the mm's tables against
	 * its counters (mm_check_tables()) before it is destroyed. */
	bool check_tables;
	/* Allocation failures injected on the paths in fail_alloc_paths
	 * (FAIL_ALLOC_PATH() bits) with fail_alloc_probability (0..1), from
	 * the start of the scenario's threads to the end of the mm. */
	unsigned int fail_alloc_paths;
	double fail_alloc_probability;
};

/* Whether the stress lab can leave out every barrier of @mask
 * (BARRIER_BIT()s): those whose barrier_info() has .lab. When not, @err
 * (if given) names the first that it cannot, and says why and how the
 * model can. */
bool lab_barriers_droppable(unsigned int mask, char *err, size_t len);

/* The cell (profile, fixes, kernel, scenario, walker kinds, dropped
 * barriers) of @cfg. */
struct ptlab_cell lab_run_cell(const struct lab_run_config *cfg);

/* The default caps: a traced run's lane of 65536 events is 4 MiB (munmap's
 * mutator logs about 6 million race points a second, so that is about 11
 * ms of its steps), an evidence vector of 65536 is 4 MiB; the bounds of
 * both. */
#define LAB_TRACE_LANE_EVENTS 65536u
#define LAB_EVIDENCE_EVENTS 65536u
#define LAB_CAP_MIN 16u
#define LAB_CAP_MAX (1u << 22)

/* The default trace window, and its bounds, in ms. */
#define LAB_TRACE_BEFORE_MS 10.0
#define LAB_TRACE_AFTER_MS 2.0
#define LAB_TRACE_MAX_MS 1000.0

/* The scenario's default walkers, windows and pool. */
void lab_run_config_default(struct lab_run_config *cfg, const struct ptlab_profile *p,
			    struct ptlab_fixes fixes, enum scenario s);

/*
 * Parses a window "POINT:NS[:PROB][:jitter][:preempt][:walkers]" (e.g.
 * "gup-pmd-read:1000000:0.5:preempt"); 0, or -EINVAL with @err set to
 * what was wrong.
 */
int lab_window_parse(const char *spec, struct lab_window *out, const char **err);

struct lab_violation_detail {
	enum violation_kind kind;
	double at_ms;            /* since the run started */
	int cpu;                 /* the walker's CPU */
	uint64_t addr;           /* the address it walked */
	uint32_t table_pfn;      /* the table (stale table), or PFN_NONE */
	unsigned int gen_seen, gen_now;
	uint32_t page_pfn;       /* the page referenced, or PFN_NONE */
	uint64_t page_index;     /* where that page is (was) mapped */
	char what[160];          /* one line in the protocol's words */
	char history[640];       /* what other threads did to that table */
};

/* Things a scenario's writer tried that did not work (counted, reported,
 * never silently skipped). */
enum lab_failure_kind {
	LAB_FAIL_USER_WRITE,     /* a user-memory write failed */
	LAB_FAIL_MMAP,           /* mm_mmap() failed */
	LAB_FAIL_MUNMAP,         /* mm_munmap() failed */
	LAB_FAIL_SPLIT,          /* split_huge_pmd_at() failed */
	LAB_FAIL_THP_FALLBACK,   /* a THP fault fell back to small pages */
	LAB_FAILURE_KINDS,
};
const char *lab_failure_name(enum lab_failure_kind k);

/*
 * The evidence of a run: every "overlap", i.e. an unlink event (collapse
 * clearing a PMD, munmap unlinking a table it frees, a zap freeing a
 * deposited table) that met a walker inside a section in which it had
 * read that PMD or table, one count per walker section and event; and how
 * the protocol defended each (the first that applies, in this order):
 *   held_off          a flush, tlb_remove_table_sync_one() or a grace
 *                     period that waited for that CPU began after the
 *                     unlink and before the section ended;
 *   recheck_caught    the walker's PMD or PTE re-check saw the change and
 *                     it dropped its reference;
 *   isolation_refused collapse's isolation saw the walker's reference and
 *                     put the table back;
 *   undefended        none of them (a violation, or a section that was
 *                     over before harm could come).
 */
enum lab_defence {
	LAB_HELD_OFF_FLUSH,
	LAB_HELD_OFF_SYNC,
	LAB_HELD_OFF_GRACE_PERIOD,
	LAB_RECHECK_CAUGHT,
	LAB_ISOLATION_REFUSED,
	LAB_UNDEFENDED,
	LAB_DEFENCES,
};
const char *lab_defence_name(enum lab_defence d);

struct lab_evidence_counts {
	uint64_t by[LAB_DEFENCES];
	uint64_t overlaps;           /* the sum of by[] */
	uint64_t held_off;           /* by[] of the three held-off kinds */
	uint64_t defended;           /* held_off + recheck_caught + isolation_refused */
	/* overlaps and defended, split by the kind of walker met */
	uint64_t overlaps_by_walker[WALKER_KINDS];
	uint64_t defended_by_walker[WALKER_KINDS];
	uint64_t sections;           /* walker sections that met another thread */
	uint64_t lost_events;        /* events overwritten before they were read */
	/* events a section still to judge may have needed, given up to
	 * the evidence's cap (lab_run_config.evidence_cap) */
	uint64_t dropped_events;
	/*
	 * mremap (the seed's "moved back and forth"): GUP-fast sections
	 * inside which mremap moved the table they were reading (their PMD
	 * entry moved away, or the PUD entry above their PMD table) and
	 * whose re-checks still passed: they returned a page. aba_pud: of
	 * those, the PUD-level ones; aba_wrong: of those, the ones whose
	 * page was not the one mapped at the address (by its linear index,
	 * which a move keeps).
	 */
	uint64_t aba, aba_pud, aba_wrong;
};

struct lab_result {
	uint64_t ops;            /* walker gup_fast calls */
	uint64_t pages;          /* pages they returned */
	uint64_t cycles;         /* collapses + zaps/munmaps done */
	uint64_t collapses, refusals;
	/* Key events: deposited tables a zap freed; tables unlinked from
	 * an mm's tree (by munmap's free_pgtables(), PT_RECLAIM, or a
	 * hugetlb unshare); of those, PMD tables free_pgtables() unlinked
	 * (a PUD entry cleared: munmap-pmd's). */
	uint64_t zap_table_frees, unlinks, pmd_table_unlinks;
	/* Whole tables mremap moved (move_normal_pmd(), move_normal_pud()). */
	uint64_t table_moves;
	/* Pinned writes a later read did not see (collapse scenarios). */
	uint64_t lost_writes;
	uint64_t violations[VIOLATION_KINDS];
	/* The same, by the kind of walker that saw them. */
	uint64_t violations_by_walker[WALKER_KINDS][VIOLATION_KINDS];
	uint64_t ops_by_walker[WALKER_KINDS];
	/* violations[VIOLATION_STALE_TABLE] is "unheld": a table changed
	 * while a walker that had read it was still inside its section.
	 * stale_read counts the harm proven by a value: a PTE read that
	 * returned the free poison or a deposit link. */
	uint64_t stale_read;
	uint64_t asan_reports;   /* walkers reading a poisoned freed table */
	uint64_t failures[LAB_FAILURE_KINDS];
	struct lab_evidence_counts evidence;
	double seconds;          /* how long it ran */
	double first_violation_ms; /* < 0 when none */
	bool have_detail;
	struct lab_violation_detail first;
	/* Frames not accounted for at teardown (must be 0). */
	uint64_t leaked_frames;
	/* With check_tables: disagreements of the tables with the counters,
	 * and pages still referenced beyond their mappings (pins never
	 * dropped), once the scenario stopped; the first in words. */
	uint64_t table_mismatches, table_referenced;
	char table_check[200];
	/* By path (enum alloc_path), from the start of the scenario's
	 * threads: allocations asked for, and failures injected. */
	uint64_t alloc_attempts[ALLOC_PATH_COUNT], injected[ALLOC_PATH_COUNT];
	/* ASan builds: where the expected reports went ("" if none). */
	char asan_log[256];
	/* A traced run: its trace (NULL when not traced); free it with
	 * lab_result_release(). */
	struct lab_trace *trace;
};

/* Frees what a result owns (its trace). */
void lab_result_release(struct lab_result *r);

static inline uint64_t lab_total_violations(const struct lab_result *r)
{
	uint64_t n = 0;

	for (int k = 0; k < VIOLATION_KINDS; k++)
		n += r->violations[k];
	return n;
}

/* A cell's verdict: pass, fail, or inconclusive (a safe cell whose run
 * did not put the protocol to the test often enough); LAB_UNJUDGED when
 * barriers were dropped and the run itself was sound: what it saw is
 * reported, not compared with the rule, which assumes every barrier (as
 * the model's MODEL_UNJUDGED). */
enum lab_verdict { LAB_PASS, LAB_FAIL, LAB_INCONCLUSIVE, LAB_UNJUDGED };
const char *lab_verdict_name(enum lab_verdict v);

/* The default minimum of defended overlaps for a safe cell to pass. */
#define LAB_MIN_OVERLAPS_DEFAULT 20

/*
 * A traced run's events (lab_run_config.trace_before_ms): every race
 * point every CPU of the run passed and every detector finding, in the
 * window, in time order.
 */
#define LAB_TRACE_FINDING (-1)      /* lab_trace_event.rp of a finding */
#define LAB_TRACE_RCU_LANE_CPU (-1) /* lab_trace_lane.cpu of call_rcu's */
/* A lane per CPU of the run, and call_rcu's. */
#define LAB_TRACE_MAX_LANES (PTLAB_MAX_CPUS + 1)

struct lab_trace_event {
	uint64_t t_ns;           /* since the run started */
	int rp;                  /* enum race_point, or LAB_TRACE_FINDING */
	int lane;                /* index into lab_trace.lanes */
	const char *fn;          /* the function of the point (named after
				  * the kernel's it mirrors); NULL: finding */
	uint64_t addr;
	uint64_t value;          /* the PMD or PTE value read or written */
	uint64_t mask;           /* CPUs a flush or sync waits for */
	uint64_t ptr;            /* the PMD slot, IPI request or RCU batch */
	uint32_t pfn, gen;       /* the table (or page) and its generation */
	unsigned int how;        /* race_ctx.how; a finding's violation kind */
	int target;              /* an IPI sent: the target CPU (else -1) */
	uint32_t page;           /* a finding's page, or PFN_NONE */
};

struct lab_trace_lane {
	int cpu;                 /* LAB_TRACE_RCU_LANE_CPU: call_rcu's */
	int walker;              /* a walker's enum walker_kind, else -1 */
	char name[32];           /* "cpu3 gup walker 1", "cpu0 collapser",
				  * "call_rcu thread" */
};

struct lab_trace {
	uint64_t from_ns, to_ns; /* the window */
	/* The run's first violation is in the window (lab_result.first). */
	bool violation;
	uint64_t lost;           /* events overwritten before they were read */
	/* events of the window a lane gave up to its cap
	 * (lab_run_config.trace_cap) */
	uint64_t dropped;
	int nlanes;
	struct lab_trace_lane lanes[LAB_TRACE_MAX_LANES];
	size_t n;
	struct lab_trace_event *ev;
};

void lab_trace_free(struct lab_trace *t);

/*
 * Judges a run against the rule's expectation @e: a run error, leaked
 * frames, tables that disagree with the counters or pages left pinned
 * (with check_tables), or a missing key event (no collapse succeeded in
 * a collapse scenario, no zap freed a deposited table in collapse-zap,
 * munmap unlinked no table, munmap-pmd no PMD table) fail; so does a kind of violation the rule rules
 * out. An unsafe cell passes when it showed a violation. A safe cell
 * passes with no violation, no lost write, no ASan report and at least
 * @min_defended defended overlaps; with fewer it is inconclusive. @why
 * gets one line saying why it did not pass.
 */
enum lab_verdict lab_judge(const struct lab_run_config *cfg, const struct lab_result *r,
			   int run_error, const struct ptlab_expectation *e,
			   uint64_t min_defended, char *why, size_t why_len);

/*
 * Runs one cell: sets a machine up with the profile and fixes, runs the
 * scenario's threads for the budget with the windows and detectors
 * installed, tears the machine down and accounts for every frame. 0, or
 * -EINVAL for a bad config (NULL arguments, no walker or more than
 * LAB_MAX_WALKERS, a budget outside (0, 1 day], a window with an unknown
 * point, a delay outside [1 ns, LAB_MAX_DELAY_NS] or a probability outside
 * [0, 1], an unknown allocation path or a failure probability outside
 * [0, 1]), -EBUSY when a machine exists, or another -errno when the machine
 * could not be set up.
 */
int lab_run(const struct lab_run_config *cfg, struct lab_result *res);

/* Progress callback for long runs (NULL: none): called from the thread
 * that runs lab_run() about every 100 ms. */
typedef void (*lab_progress_fn)(void *arg, double elapsed, const struct lab_result *sofar);
void lab_set_progress(lab_progress_fn fn, void *arg);

#endif /* PTLAB_LAB_H */
