/* SPDX-License-Identifier: MIT */
/*
 * What the benchmark families of `ptlab bench` share: the result list,
 * the clock and the median, the read-side section every contender runs,
 * and the benchmark mm's layout.
 *
 * Every figure is measured next to its peer in the same run, rounds
 * interleaved (round r of every kind before round r + 1 of any), and the
 * median of the rounds is reported: this machine is shared and noisy.
 *
 *   walks.c  pin_user_pages_fast() at batches of 1, 16, 512 pages and one
 *            THP, each against its floor; the walk under a read lock and
 *            under rcu_read_lock(); concurrent pinning of disjoint buffers;
 *   sync.c   tlb_remove_table_sync_one() against the peers that wait for
 *            the same readers, with 1 to 16 other CPUs idle or busy;
 *   qsbr.c   liburcu-qsbr's readers and synchronize_rcu() (threads of
 *            their own: they are not CPUs of the machine);
 *   policy.c what each sync policy costs a collapse on 64 simulated CPUs
 *            (CPUs interrupted and waited for), and the walkers policy's
 *            marker on GUP-fast;
 *   contenders.c  the other threads of a sync: idle, busy or parked;
 *   memory.c the peak resident memory of one traced lab cell of each
 *            scenario, at two budgets;
 *   report.c the tables with peers, ratios and targets, and the JSON.
 */
#ifndef PTLAB_BENCH_H
#define PTLAB_BENCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ptlab/mm.h"
#include "ptlab/rule.h"
#include "ptlab/types.h"

#define BENCH_MAX_RESULTS 128
#define BENCH_MAX_ROUNDS 64

/* The benchmark mm: BENCH_REGIONS 2 MiB regions of small pages from
 * BENCH_ADDR on (one per concurrent pinning thread; the single-thread
 * batches use the first), and one THP region after them. */
#define BENCH_ADDR (1ULL << 40)
#define BENCH_REGIONS 8
#define BENCH_THP_ADDR (BENCH_ADDR + BENCH_REGIONS * PMD_SIZE)

struct bench_result {
	const char *name;
	/* "single" (one thread), "concurrent" (threads pinning at once),
	 * "idle" or "busy" (the other CPUs of a sync) */
	const char *mode;
	/* the pinning threads, or the other CPUs of a sync */
	unsigned int threads;
	/* pages per call (ns_per_op is then per page); 1 for a sync */
	unsigned int batch;
	bool thp;
	double ns_per_op;
};

/* One sync policy's cost per collapse (policy.c, synccost.h): CPUs the
 * flush and the sync interrupted and waited for, when @mm_cpus of @cpus
 * simulated CPUs run the collapsed mm; the sync's time here. */
struct bench_policy_cost {
	enum sync_policy policy;
	const char *profile;
	unsigned int cpus, mm_cpus;
	double flush_ipis, sync_ipis, waited, ns_per_op;
};
#define BENCH_POLICY_CPUS 64
#define BENCH_POLICY_KS 4
#define BENCH_MAX_POLICY_COSTS (2 * SYNC_POLICIES * BENCH_POLICY_KS)
extern const unsigned int bench_policy_ks[BENCH_POLICY_KS];

/* The peak resident memory of one traced lab cell (memory.c), in a
 * process of its own, at each budget of bench_memory_seconds[] (times
 * --scale, between 0.05 and 1: @seconds). */
#define BENCH_MEMORY_SCENARIOS 5
#define BENCH_MEMORY_BUDGETS 2
extern const double bench_memory_seconds[BENCH_MEMORY_BUDGETS];
struct bench_memory {
	const char *scenario, *profile, *fixes;
	double seconds[BENCH_MEMORY_BUDGETS];
	double peak_mib[BENCH_MEMORY_BUDGETS];
};

/* What the figures were measured on. */
struct bench_machine {
	unsigned int cpus;
	char cpu_model[128];
	char kernel[128];
	/* load averages (1, 5, 15 min) when the run began and ended */
	double load_start[3], load_end[3];
};

struct bench {
	struct bench_machine machine;
	struct bench_result r[BENCH_MAX_RESULTS];
	int n;
	struct bench_policy_cost policy[BENCH_MAX_POLICY_COSTS];
	int npolicy;
	struct bench_memory memory[BENCH_MEMORY_SCENARIOS];
	int nmemory;
	unsigned int rounds;
	/* multiplies the iteration counts */
	double scale;
	/* progress lines on stderr (a terminal only) */
	bool progress;
};

extern struct bench bench;

void bench_record(const char *name, const char *mode, unsigned int threads,
		  unsigned int batch, bool thp, double ns_per_op);
/* The result with these fields, NULL if it was not measured. */
const struct bench_result *bench_find(const char *name, const char *mode,
				      unsigned int threads, unsigned int batch, bool thp);
double bench_now_ns(void);
/* The median of @n samples (reorders them). */
double bench_median(double *v, unsigned int n);
/* One progress line on stderr, when it is a terminal. */
void bench_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The body of every contender's read-side section, whatever protects it
 * (interrupts off, liburcu-memb, liburcu-qsbr): short, as a GUP-fast walk
 * is, and free of memory accesses the compiler could merge away. */
static inline void bench_read_side_body(void)
{
	for (int i = 0; i < 64; i++)
		atomic_signal_fence(memory_order_seq_cst);
}

/*
 * One page, part by part (walks.c): the peers from bare_walk_floor to
 * gup_fast_pin_unpin, each the one before it plus one part of GUP-fast's
 * cost (@adds: what, in one line); the report gives each part's price
 * and its share of the gap between the two ends.
 */
struct bench_part {
	const char *name;
	const char *adds;
};
#define BENCH_PARTS 6
extern const struct bench_part bench_parts[BENCH_PARTS];

/* The families, in the order cmd_bench() runs them; the last two return
 * -1 after printing why a thread could not be started. */
void bench_walks(struct mm_struct *mm);
int bench_pin_concurrent(struct mm_struct *mm);
int bench_sync(void);
/* With no machine up (each cost builds its own): 0 or -errno, after
 * printing why. */
int bench_sync_policies(void);
/* With no machine up (each cell runs in a child): 0, or -1 after printing
 * why. */
int bench_memory(void);

/* The thread counts of the concurrent pinning and of the syncs. */
#define BENCH_PIN_COUNTS 4
extern const unsigned int bench_pin_counts[BENCH_PIN_COUNTS];
#define BENCH_SYNC_COUNTS 5
extern const unsigned int bench_sync_counts[BENCH_SYNC_COUNTS];

/*
 * Contenders (contenders.c): threads that are idle (asleep, outside any
 * read-side section) or busy (read-side sections back to back) while a
 * sync is measured, or parked (asleep) while the other set runs. What a
 * thread does to become a reader, to run one section and to sleep comes
 * from its flavor.
 */
struct contender_flavor {
	const char *name;
	void (*enter)(void);          /* on the thread, before anything */
	void (*section)(void);        /* one read-side section, busy */
	void (*sleep_begin)(void);    /* before sleeping (idle or parked) */
	void (*sleep_end)(void);      /* after */
	void (*leave)(void);          /* on the thread, before it ends */
};
enum contender_state { CONTENDERS_PARKED, CONTENDERS_IDLE, CONTENDERS_BUSY };
struct contenders;
/* Starts @n threads of @flavor, parked. NULL when a thread cannot be
 * created (after printing why). */
struct contenders *contenders_start(const struct contender_flavor *flavor, unsigned int n);
/* Returns once every thread has seen @state. */
void contenders_set(struct contenders *set, enum contender_state state);
void contenders_stop(struct contenders *set);

/* The CPUs of the machine as contenders: interrupts-off sections, which
 * are also liburcu-memb read-side sections (sync.c). */
extern const struct contender_flavor bench_cpu_flavor;
/* liburcu-qsbr readers: sections with quiescent states between them,
 * offline while asleep; not CPUs of the machine (qsbr.c). */
extern const struct contender_flavor bench_qsbr_flavor;
/* One urcu_qsbr_synchronize_rcu(), from a thread that is no qsbr reader. */
void bench_qsbr_synchronize(void);

/* The tables, with each figure's peer, ratio and target. */
void bench_print(FILE *f);
/* 0, or 1 after printing why the file could not be written. */
int bench_write_json(const char *path);

#endif /* PTLAB_BENCH_H */
