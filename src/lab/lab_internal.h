/* SPDX-License-Identifier: MIT */
/*
 * The lab's private interfaces: the threads of a run and their logs, the
 * race hook (windows + detectors), the evidence analyzer and the scenarios.
 *
 * Threads of a run:
 * - the controller, in lab_run(): a CPU that sets the machine up, starts
 *   the scenario, polls the evidence every few milliseconds, stops the
 *   scenario and tears the machine down;
 * - the walkers (CPUs running gup_fast), the scenario's writers (collapse,
 *   zap, munmap), and bystanders (CPUs that only run the mm, so that it is
 *   active on enough CPUs for a global ASID).
 *
 * The rule every detector follows: nothing on a protocol step takes a lock,
 * runs a fence, or does an atomic read-modify-write on a location another
 * thread writes. Each scenario thread owns a struct lab_tctx: its counters
 * and its event ring are written by it alone, with relaxed stores (and a
 * release store of the ring's head, which only the controller reads); the
 * controller reads them with relaxed loads (counters) or acquire (ring
 * head) and joins the events of all threads afterwards, off the protocol's
 * path. A thread that is not a scenario thread logs nothing, except that
 * a traced run gives liburcu's call_rcu thread a ring of its own
 * (trace.c).
 */
#ifndef PTLAB_LAB_INTERNAL_H
#define PTLAB_LAB_INTERNAL_H

#include <stdatomic.h>

#include "ptlab/lab.h"
#include "ptlab/mm.h"
#include "ptlab/page.h"

/* ---- events ---- */

enum lab_ev_type {
	/* A walker's interrupts-off section that met another thread's event
	 * (walker): PMD slot and value read, table, times, what happened. */
	EV_SECTION,
	/* An entry that named a page table was cleared: a PMD naming a PTE
	 * table (RP_PMD_UNLINKED), a PUD naming a hugetlb PMD table the mm
	 * stopped sharing (RP_PUD_UNSHARED), or a PUD naming a PMD table
	 * free_pgtables() frees (RP_PUD_UNLINKED). .how: 1 for a PUD. */
	EV_UNLINK,
	/* A TLB flush or tlb_remove_table_sync_one() about to wait for the
	 * CPUs in .mask (how: LAB_WAIT_FLUSH or LAB_WAIT_SYNC). */
	EV_WAIT,
	/* A table went to the gather (.how: enum table_free_how). */
	EV_GATHERED,
	/* The tables gathered for RCU since the last hand-off went to
	 * call_rcu(): a grace period starts now. */
	EV_RCU_HANDOFF,
	/* collapse's isolation refused; the old PMD goes back. */
	EV_REFUSED,
	EV_DEPOSIT,
	EV_WITHDRAW,
	/* A table is freed now (.how). */
	EV_FREE,
	/* A zap withdrew a deposited table to free it (.how: at once, or
	 * after a grace period). */
	EV_ZAP_FREE,
	/* mremap moved a whole table (RP_PMD_MOVED, RP_PUD_MOVED): the entry
	 * .slot holding .value is cleared, the table (.pfn: the PTE table,
	 * or for a PUD, .how 1, the PMD table) hung under another entry. */
	EV_MOVE,
	EV_TYPES,
};

enum lab_wait_kind { LAB_WAIT_FLUSH, LAB_WAIT_SYNC };

/* EV_SECTION flags */
#define SEC_RECHECK_FAILED 0x1  /* a re-check dropped the reference */
#define SEC_VIOLATED       0x2  /* the stale-table detector fired */
#define SEC_REF_HELD       0x4  /* it returned a reference (held to t_put) */
/* Set after the section by lab_check_returned(), on the walker's own
 * pending record: gup_fast returned a page, and it was not the page
 * mapped at the address. */
#define SEC_RETURNED       0x10
#define SEC_WRONG_PAGE     0x20
#define SEC_STALE_READ     0x8  /* a PTE read returned non-PTE data */

/* One event, as the controller reads it back. */
struct lab_event {
	uint64_t t;        /* ns since the run began (EV_SECTION: after its PMD read) */
	uint64_t slot;     /* entry slot (EV_SECTION, EV_UNLINK, EV_REFUSED) */
	uint64_t value;    /* entry value read or cleared */
	uint64_t mask;     /* EV_WAIT: CPUs waited for; EV_SECTION: the PFN + 1
			    * of the PMD table its PUD read led to (0: none) */
	uint64_t t_end;    /* EV_SECTION: at its end */
	uint64_t t_put;    /* EV_SECTION: when its reference was dropped */
	uint32_t pfn;      /* the table (PFN_NONE if none) */
	uint32_t gen;      /* its generation when seen */
	uint16_t type;     /* enum lab_ev_type */
	uint16_t how;      /* enum table_free_how / enum lab_wait_kind /
			    * EV_SECTION: enum walker_kind */
	uint16_t flags;    /* EV_SECTION: SEC_* */
	uint16_t cpu;
};

#define LAB_EVENT_WORDS 8

/*
 * A single-producer ring of events. The owner writes an entry's words with
 * relaxed stores, then publishes it with a release store of head; the
 * controller loads head with acquire, copies entries, and drops those the
 * producer may have overwritten meanwhile (it never waits for the
 * controller).
 */
struct lab_ring {
	_Atomic uint64_t head;     /* entries ever written */
	uint32_t size;             /* a power of two */
	_Atomic uint64_t (*w)[LAB_EVENT_WORDS];
};

/* ---- scenario threads ---- */

enum lab_role { LAB_ROLE_WALKER, LAB_ROLE_WRITER, LAB_ROLE_BYSTANDER };

/* Per-thread counters: each written only by its thread (a relaxed load and
 * store, no read-modify-write), read by the controller (relaxed). */
struct lab_tstats {
	atomic_ullong ops, pages, lost_writes, stale_read, recheck_failed;
	atomic_ullong violations[VIOLATION_KINDS];
	/* writers */
	atomic_ullong collapses, refusals, cycles, zap_table_frees, unlinks, pmd_table_unlinks;
	atomic_ullong table_moves;
	atomic_ullong failures[LAB_FAILURE_KINDS];
};

struct lab_tctx {
	enum lab_role role;
	enum walker_kind kind;     /* walkers */
	int index;                 /* within its role (and kind) */
	int cpu;                   /* its CPU id, set by the thread */
	struct lab_ring ring;
	/* Traced runs: the events its IPI handler logged while the thread
	 * was inside lab_log() itself (evlog.c); empty otherwise. */
	struct lab_ring irq_ring;
	struct lab_tstats st;
	/* The thread's first violation; written by it, read after it is
	 * joined. */
	bool have_first;
	struct lab_violation_detail first;
};

/* Adds to a counter that only the calling thread writes. */
static inline void lab_count(atomic_ullong *c, unsigned long long n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static inline unsigned long long lab_read(atomic_ullong *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* The calling thread's context (NULL outside a scenario thread). */
extern __thread struct lab_tctx *lab_self;

/* ---- the run's shared, read-only state ---- */

#define LAB_MAX_THREADS PTLAB_MAX_CPUS

/* Written by the controller before the scenario threads start (thread
 * creation orders it for them), read-only while they run. */
struct lab_run_state {
	struct lab_tctx *threads[LAB_MAX_THREADS];
	int nthreads;
	/* Monotonic ns at the run's start. */
	uint64_t start_ns;
	enum scenario scenario;
};
extern struct lab_run_state lab_rs;

uint64_t lab_now_ns(void);
double lab_now_ms(void);

/* evlog.c */
int lab_ring_init(struct lab_ring *r, uint32_t size);
void lab_ring_free(struct lab_ring *r);
/* A scenario thread's rings: its ring of @size entries (more in a traced
 * run, by its role, which must be set) and, in a traced run, its IPI
 * handler's ring. */
int lab_tctx_rings_init(struct lab_tctx *t, uint32_t size);
void lab_tctx_rings_free(struct lab_tctx *t);
/* Appends @e to @r; only @r's one producer may call it. */
void lab_ring_push(struct lab_ring *r, const struct lab_event *e);
/* Appends @e to the calling thread's ring (nothing outside a scenario
 * thread). Safe from the thread's IPI signal handler. */
void lab_log(const struct lab_event *e);
/* Copies the entries [*from, min(head, @until)) still intact into @out (up
 * to @max), advancing *from; returns how many; *lost counts overwritten
 * ones. A reader bounds a poll by the head it saw when the poll began
 * (@until), so that a fast producer cannot keep it reading. */
size_t lab_ring_read(struct lab_ring *r, uint64_t *from, uint64_t until, struct lab_event *out,
		     size_t max, uint64_t *lost);
/* Entries ever written to @r (relaxed: a hint, e.g. "something happened"). */
static inline uint64_t lab_ring_head_relaxed(struct lab_ring *r)
{
	return atomic_load_explicit(&r->head, memory_order_relaxed);
}

/* run.c: the scenario is set up and its threads are about to start:
 * allocation failures begin (cfg->fail_alloc_*), counted from here. */
void lab_faults_begin(const struct lab_run_config *cfg);

/* window.c */
void lab_windows_install(const struct lab_window *w, unsigned int n, uint64_t seed);
/* Stops at @rp if a window says so; @walker: a lab walker thread. */
void lab_windows_apply(enum race_point rp, bool walker);

/* detect.c */
/* Starts a run's detectors: the collapse marks for @nr_frames frames. */
int lab_detect_begin(uint32_t nr_frames);
void lab_detect_end(void);
/* The race hook installed during a run. */
void lab_race_hook(enum race_point rp, const struct race_ctx *ctx);
/* After gup_fast returned @n pages for @start: wrong page check. A page
 * must carry @expect_owner (an mm id, or a hugetlb file's owner id) and
 * the index @expect_index (the address for anonymous memory, the file
 * offset for hugetlb) plus its position. */
void lab_check_returned(struct page **pages, long n, uint64_t start, uint32_t expect_owner,
			uint64_t expect_index);
/* A walker's operation is over (its reference dropped): publishes the
 * record of its last section if that section met another thread. */
void lab_walker_op_done(void);
/* Pins are checked for staleness a little later, once the collapse that
 * may have copied them away is done: remember one (just before unpinning
 * it), check the old ones (all: at the walker's end). */
void lab_pin_note(struct page *page, uint64_t addr);
void lab_pins_check(bool all);
/* Records a violation seen by the calling thread. */
void lab_violation(const struct lab_violation_detail *d);

/* trace.c: a traced run (lab_run_config.trace_before_ms > 0). */
/* Event types of a traced run, beyond enum lab_ev_type: the evidence
 * analyzer skips them. EV_TRACE is one race point: .how the point,
 * .flags the point's race_ctx.how, .slot its pmdp, csd or batch, .value
 * its PMD or PTE value, .mask its CPU mask (an IPI: the target's bit),
 * .t_end its address, .t_put its function's name (a string literal's
 * address), .pfn/.gen its PTE table, else its PMD table, else its page
 * (race_ctx). EV_TRACE_FINDING is a detector's
 * finding: .how the violation kind, .t_end the address, .pfn/.gen the
 * table and its generation now, .value the page (or PFN_NONE). */
#define EV_TRACE 64
#define EV_TRACE_FINDING 65
/* Whether the run is traced: set by the controller before the scenario's
 * threads start and cleared after they stop; read (relaxed) by the race
 * hook and the detectors. */
extern _Atomic bool lab_tracing;
static inline bool lab_trace_on(void)
{
	return atomic_load_explicit(&lab_tracing, memory_order_relaxed);
}
/* The race hook's tracing: logs the point (called first in the hook). */
void lab_trace(enum race_point rp, const struct race_ctx *ctx);
/* Logs a detector's finding. */
void lab_trace_finding(const struct lab_violation_detail *d);
/* The controller's side: starts tracing a run (before its threads
 * start), copies the events of the window out of the rings (each poll),
 * and builds the trace once the threads are joined. */
struct lab_trace_collector;
struct lab_trace_collector *lab_trace_begin(const struct lab_run_config *cfg);
void lab_trace_poll(struct lab_trace_collector *c);
/* Ends tracing; the window around @first (or the run's end), NULL when
 * out of memory. Frees @c. */
struct lab_trace *lab_trace_end(struct lab_trace_collector *c, const struct lab_result *res);

/* evidence.c: the controller's join of every thread's events. */
struct lab_evidence;
/* @cap: the most events each of its vectors keeps (0: LAB_EVIDENCE_EVENTS). */
struct lab_evidence *lab_evidence_new(uint32_t cap);
void lab_evidence_free(struct lab_evidence *ev);
/* Reads what the threads logged since the last call and judges every
 * section older than @settle_ns (all of them with @final). */
void lab_evidence_poll(struct lab_evidence *ev, bool final, uint64_t settle_ns);
/* Fills the evidence fields of @res so far. */
void lab_evidence_result(const struct lab_evidence *ev, struct lab_result *res);
/* What the writers did to table @pfn up to @t (ns), in words. */
void lab_evidence_history(const struct lab_evidence *ev, uint32_t pfn, uint64_t t, char *buf,
			  size_t len);

/* scenario.c */
struct lab_scenario;
/* Sets the scenario up in @mm (called by a CPU), starts its threads. */
int lab_scenario_start(const struct lab_run_config *cfg, struct mm_struct *mm,
		       struct lab_scenario **out);
/* Stops and joins its threads (answering IPIs meanwhile). */
void lab_scenario_stop(struct lab_scenario *s);
/* Frees it and its threads' contexts (after lab_scenario_stop()). */
void lab_scenario_free(struct lab_scenario *s);
/* What writer @index of scenario @s does: "collapser", "zapper", ... */
const char *lab_scenario_writer_name(enum scenario s, int index);

#endif /* PTLAB_LAB_INTERNAL_H */
