// SPDX-License-Identifier: MIT
/*
 * tlb_remove_table_sync_one() against the peers that wait for the same
 * thing, with N other CPUs idle or busy:
 *
 *   ipi_sync               tlb_remove_table_sync_one(): returns once no
 *                          other CPU is still inside an interrupts-off
 *                          section that began before the call;
 *   urcu_memb_synchronize  liburcu-memb's synchronize_rcu(), with the same
 *                          threads as readers (an interrupts-off section
 *                          of the machine is a memb read-side section):
 *                          the nearest peer, it waits for readers after a
 *                          membarrier() too;
 *   urcu_qsbr_synchronize  liburcu-qsbr's synchronize_rcu() with N reader
 *                          threads of its own running the same sections,
 *                          quiescent states between them: the cheapest
 *                          peer that waits for readers;
 *   ipi_all_cpus           what the kernel's tlb_remove_table_sync_one()
 *                          does, an IPI to every other CPU with wait
 *                          (smp_call_function(), signal IPIs here);
 *   membarrier             one membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)
 *                          with the same threads: a barrier on every
 *                          running thread, waiting for no reader, the floor.
 *
 * Busy threads run the same read-side loop whatever the flavor
 * (bench_read_side_body()); idle ones sleep outside any section. While one
 * set of contenders is measured the other is parked, asleep.
 */
#include <linux/membarrier.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <urcu/urcu-memb.h>

#include "bench.h"
#include "ptlab/smp.h"
#include "ptlab/tlb.h"

static void cpu_enter(void)
{
	if (cpu_register() < 0) {
		fprintf(stderr, "ptlab: bench: no CPU slot left for a contender\n");
		abort();
	}
}

static void cpu_section(void)
{
	unsigned long flags = local_irq_save();

	bench_read_side_body();
	local_irq_restore(flags);
}

/* An idle CPU is outside any section: nothing to do around its sleep. */
static void cpu_sleep_edge(void)
{
}

static void cpu_leave(void)
{
	cpu_unregister();
}

const struct contender_flavor bench_cpu_flavor = {
	.name = "CPU",
	.enter = cpu_enter,
	.section = cpu_section,
	.sleep_begin = cpu_sleep_edge,
	.sleep_end = cpu_sleep_edge,
	.leave = cpu_leave,
};

enum sync_kind {
	SYNC_IPI_SYNC,
	SYNC_URCU_MEMB,
	SYNC_IPI_ALL,
	SYNC_MEMBARRIER,
	SYNC_CPU_KINDS,                 /* the kinds above: CPU contenders */
	SYNC_URCU_QSBR = SYNC_CPU_KINDS, /* qsbr contenders */
	SYNC_KINDS,
};

static const char *const sync_names[SYNC_KINDS] = {
	[SYNC_IPI_SYNC] = "ipi_sync",
	[SYNC_URCU_MEMB] = "urcu_memb_synchronize",
	[SYNC_IPI_ALL] = "ipi_all_cpus",
	[SYNC_MEMBARRIER] = "membarrier",
	[SYNC_URCU_QSBR] = "urcu_qsbr_synchronize",
};

static void ipi_nop(void *info)
{
	(void)info;
}

/* One operation of kind @k. */
static void sync_once(enum sync_kind k)
{
	switch (k) {
	case SYNC_IPI_SYNC:
		tlb_remove_table_sync_one();
		break;
	case SYNC_URCU_MEMB:
		urcu_memb_synchronize_rcu();
		break;
	case SYNC_IPI_ALL:
		smp_call_function(ipi_nop, NULL, true);
		break;
	case SYNC_MEMBARRIER:
		syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
		break;
	case SYNC_URCU_QSBR:
		bench_qsbr_synchronize();
		break;
	case SYNC_KINDS:
		break;
	}
}

/* Up to @iters operations, but no longer than SYNC_SAMPLE_NS (at least
 * one): with busy CPUs outnumbering the cores one can take milliseconds.
 * One more goes first, untimed: the kind measured before may have left a
 * busy thread descheduled inside its section (membarrier() and an IPI do
 * not wait for a section to end; a sync that waits makes the thread that
 * wakes it give up its core after its section), and the wait for it
 * belongs to that change of kind, not to this kind. */
#define SYNC_SAMPLE_NS 2e8

static double run_sync(enum sync_kind k, unsigned long iters)
{
	double t0;
	unsigned long i;

	sync_once(k);
	t0 = bench_now_ns();
	for (i = 0; i < iters && (i == 0 || bench_now_ns() - t0 < SYNC_SAMPLE_NS); i++)
		sync_once(k);
	return (bench_now_ns() - t0) / (double)i;
}

/* Every kind at @n other threads, round by round. */
static int bench_sync_at(unsigned int n, bool busy)
{
	enum contender_state state = busy ? CONTENDERS_BUSY : CONTENDERS_IDLE;
	unsigned long iters = (unsigned long)((busy ? 300 : 1000) * bench.scale) + 1;
	double samples[SYNC_KINDS][BENCH_MAX_ROUNDS];
	struct contenders *cpus = contenders_start(&bench_cpu_flavor, n);
	struct contenders *qsbr = cpus ? contenders_start(&bench_qsbr_flavor, n) : NULL;

	if (!qsbr) {
		if (cpus)
			contenders_stop(cpus);
		return -1;
	}
	for (unsigned int r = 0; r < bench.rounds; r++) {
		/* Each round starts with another kind: none always comes
		 * first after the contenders changed state. */
		contenders_set(cpus, state);
		for (int i = 0; i < SYNC_CPU_KINDS; i++) {
			int k = (int)((r + (unsigned int)i) % SYNC_CPU_KINDS);

			samples[k][r] = run_sync((enum sync_kind)k, iters);
		}
		contenders_set(cpus, CONTENDERS_PARKED);
		contenders_set(qsbr, state);
		samples[SYNC_URCU_QSBR][r] = run_sync(SYNC_URCU_QSBR, iters);
		contenders_set(qsbr, CONTENDERS_PARKED);
	}
	contenders_stop(qsbr);
	contenders_stop(cpus);
	for (int k = 0; k < SYNC_KINDS; k++)
		bench_record(sync_names[k], busy ? "busy" : "idle", n, 1, false,
			     bench_median(samples[k], bench.rounds));
	return 0;
}

const unsigned int bench_sync_counts[BENCH_SYNC_COUNTS] = { 1, 2, 4, 8, 16 };

int bench_sync(void)
{
	for (int busy = 0; busy < 2; busy++)
		for (int c = 0; c < BENCH_SYNC_COUNTS; c++) {
			bench_progress("sync with %u %s CPUs", bench_sync_counts[c],
				       busy ? "busy" : "idle");
			if (bench_sync_at(bench_sync_counts[c], busy))
				return -1;
		}
	return 0;
}
