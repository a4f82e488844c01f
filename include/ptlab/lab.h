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

/*
 * A race window: at race point @rp, with @probability, the thread stops
 * for up to @delay_ns (uniformly at random in [delay_ns/2, delay_ns] when
 * @jitter, else exactly), as a kernel developer adds an mdelay(). With
 * @preempt the CPU is also marked as a preempted vCPU meanwhile (a host
 * preempting it), which only the paravirt flush looks at.
 */
struct lab_window {
	enum race_point rp;
	uint64_t delay_ns;
	double probability;
	bool jitter;
	bool preempt;
};

#define LAB_MAX_WINDOWS 8
#define LAB_MAX_WALKERS 56
#define LAB_MAX_DELAY_NS 100000000ULL   /* 100 ms */

struct lab_run_config {
	struct ptlab_profile profile;
	struct ptlab_fixes fixes;
	enum scenario scenario;
	/* Budget: stop after this long, or after this many walker
	 * operations when nonzero. */
	double seconds;
	uint64_t max_ops;
	/* Stop this long after the first violation (the verdict is known;
	 * the grace counts a few more); negative runs the whole budget. */
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
	/* Stop as soon as this many defended overlaps were seen and no
	 * violation (0: run the whole budget). */
	uint64_t stop_at_defended;
	/* Once the scenario's threads stopped, check the mm's tables against
	 * its counters (mm_check_tables()) before it is destroyed. */
	bool check_tables;
	/* Allocation failures injected on the paths in fail_alloc_paths
	 * (FAIL_ALLOC_PATH() bits) with fail_alloc_probability (0..1), from
	 * the start of the scenario's threads to the end of the mm. */
	unsigned int fail_alloc_paths;
	double fail_alloc_probability;
};

/* The scenario's default walkers, windows and pool. */
void lab_run_config_default(struct lab_run_config *cfg, const struct ptlab_profile *p,
			    struct ptlab_fixes fixes, enum scenario s);

/*
 * Parses a window "POINT:NS[:PROB][:jitter][:preempt]" (e.g.
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
	uint64_t sections;           /* walker sections that met another thread */
	uint64_t lost_events;        /* events overwritten before they were read */
};

struct lab_result {
	uint64_t ops;            /* walker gup_fast calls */
	uint64_t pages;          /* pages they returned */
	uint64_t cycles;         /* collapses + zaps/munmaps done */
	uint64_t collapses, refusals;
	/* Key events: deposited tables a zap freed; tables munmap unlinked. */
	uint64_t zap_table_frees, unlinks;
	/* Pinned writes a later read did not see (collapse scenarios). */
	uint64_t lost_writes;
	uint64_t violations[VIOLATION_KINDS];
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
};

static inline uint64_t lab_total_violations(const struct lab_result *r)
{
	uint64_t n = 0;

	for (int k = 0; k < VIOLATION_KINDS; k++)
		n += r->violations[k];
	return n;
}

/* A cell's verdict: pass, fail, or inconclusive (a safe cell whose run
 * did not put the protocol to the test often enough). */
enum lab_verdict { LAB_PASS, LAB_FAIL, LAB_INCONCLUSIVE };
const char *lab_verdict_name(enum lab_verdict v);

/* The default minimum of defended overlaps for a safe cell to pass. */
#define LAB_MIN_OVERLAPS_DEFAULT 20

/*
 * Judges a run against the rule's expectation @e: a run error, leaked
 * frames, tables that disagree with the counters or pages left pinned
 * (with check_tables), or a missing key event (no collapse succeeded in
 * a collapse scenario, no zap freed a deposited table in collapse-zap,
 * munmap unlinked no table) fail; so does a kind of violation the rule rules
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
