// SPDX-License-Identifier: MIT
/*
 * ptlab bench: the machine's first benchmarks, each figure measured side by
 * side with its baseline in the same run (rounds interleaved, median of
 * rounds), because this machine is noisy and has 2 cores.
 *
 *   gup_fast_pin_unpin  pin_user_pages_fast() + unpin_user_pages() of one
 *                       4 KiB page, single thread;
 *   bare_walk_floor     the limit: the same 4-level walk with no
 *                       synchronization, plus one atomic increment and one
 *                       decrement of the page's refcount;
 *   rwlock_walk         that walk under a pthread rwlock read lock;
 *   rcu_walk            that walk under liburcu's rcu_read_lock();
 *   ipi_sync            tlb_remove_table_sync_one() with N other CPUs;
 *   ipi_call            smp_call_function(empty, wait) with N other CPUs
 *                       (every target interrupted: for comparison);
 *   membarrier          one membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)
 *                       with the same N threads.
 * The other CPUs are idle (sleeping) or busy in short interrupts-off loops.
 */
#include <errno.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <urcu/urcu-memb.h>

#include "../cli/commands.h"
#include "mm_internal.h"
#include "ptlab/gup.h"
#include "ptlab/machine.h"
#include "ptlab/smp.h"
#include "ptlab/tlb.h"
#include "util/cli.h"
#include "util/json.h"

#define MAX_RESULTS 64
#define BENCH_ADDR (1ULL << 40)

struct result {
	const char *name;
	const char *mode;      /* "single", "idle" or "busy" */
	unsigned int threads;  /* the measuring thread (1) or the other CPUs (N) */
	double ns_per_op;
};

static struct {
	struct result r[MAX_RESULTS];
	int n;
	unsigned int rounds;
	double scale;          /* multiplies the iteration counts */
} bench;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void record(const char *name, const char *mode, unsigned int threads, double ns)
{
	if (bench.n < MAX_RESULTS)
		bench.r[bench.n++] = (struct result){ name, mode, threads, ns };
}

/* The walk to the PTE of @addr with relaxed loads and no protection. */
static inline struct page *bare_walk(struct mm_struct *mm, uint64_t addr)
{
	uint64_t e = atomic_load_explicit(&pgd_offset_pgd(mm->pgd, addr)->val,
					  memory_order_relaxed);

	e = atomic_load_explicit((_Atomic uint64_t *)page_address(pfn_to_page(entry_pfn(e))) +
					 pud_index(addr), memory_order_relaxed);
	e = atomic_load_explicit((_Atomic uint64_t *)page_address(pfn_to_page(entry_pfn(e))) +
					 pmd_index(addr), memory_order_relaxed);
	e = atomic_load_explicit((_Atomic uint64_t *)page_address(pfn_to_page(entry_pfn(e))) +
					 pte_index(addr), memory_order_relaxed);
	return pfn_to_page(entry_pfn(e));
}

static inline void ref_inc_dec(struct page *p)
{
	atomic_fetch_add_explicit(&p->refcount, 1, memory_order_seq_cst);
	atomic_fetch_sub_explicit(&p->refcount, 1, memory_order_seq_cst);
}

enum walk_kind { WALK_GUP, WALK_BARE, WALK_RWLOCK, WALK_RCU, WALK_KINDS };

static pthread_rwlock_t bench_rwlock = PTHREAD_RWLOCK_INITIALIZER;

/* ns per operation of @iters operations of one kind. */
static double run_walk(enum walk_kind k, struct mm_struct *mm, unsigned long iters)
{
	struct page *p;
	double t0 = now_ns();

	for (unsigned long i = 0; i < iters; i++) {
		switch (k) {
		case WALK_GUP:
			if (pin_user_pages_fast(BENCH_ADDR, 1, 0, &p) != 1)
				abort();
			unpin_user_pages(&p, 1);
			break;
		case WALK_BARE:
			ref_inc_dec(bare_walk(mm, BENCH_ADDR));
			break;
		case WALK_RWLOCK:
			pthread_rwlock_rdlock(&bench_rwlock);
			ref_inc_dec(bare_walk(mm, BENCH_ADDR));
			pthread_rwlock_unlock(&bench_rwlock);
			break;
		case WALK_RCU:
			urcu_memb_read_lock();
			ref_inc_dec(bare_walk(mm, BENCH_ADDR));
			urcu_memb_read_unlock();
			break;
		case WALK_KINDS:
			break;
		}
	}
	return (now_ns() - t0) / (double)iters;
}

static void bench_walks(struct mm_struct *mm)
{
	static const char *const names[WALK_KINDS] = {
		"gup_fast_pin_unpin", "bare_walk_floor", "rwlock_walk", "rcu_walk",
	};
	double samples[WALK_KINDS][64];
	unsigned long iters = (unsigned long)(200000 * bench.scale) + 1;

	for (int k = 0; k < WALK_KINDS; k++)
		run_walk((enum walk_kind)k, mm, iters / 10 + 1);   /* warm up */
	for (unsigned int r = 0; r < bench.rounds; r++)
		for (int k = 0; k < WALK_KINDS; k++)
			samples[k][r] = run_walk((enum walk_kind)k, mm, iters);
	for (int k = 0; k < WALK_KINDS; k++)
		record(names[k], "single", 1, median(samples[k], bench.rounds));
}

/* Other CPUs: idle ones sleep, busy ones loop over short interrupts-off
 * sections. */
struct other_cpu {
	pthread_t thread;
	bool busy;
	atomic_bool started;
};

static atomic_bool others_stop;

static void *other_cpu_main(void *arg)
{
	struct other_cpu *o = arg;

	if (cpu_register() < 0)
		abort();
	atomic_store(&o->started, true);
	while (!atomic_load_explicit(&others_stop, memory_order_relaxed)) {
		if (o->busy) {
			unsigned long f = local_irq_save();

			for (int i = 0; i < 64; i++)
				atomic_signal_fence(memory_order_seq_cst);
			local_irq_restore(f);
		} else {
			struct timespec ts = { 0, 1000000 };

			nanosleep(&ts, NULL);
		}
	}
	cpu_unregister();
	return NULL;
}

static void ipi_nop(void *info)
{
	(void)info;
}

enum sync_kind { SYNC_IPI_SYNC, SYNC_IPI_CALL, SYNC_MEMBARRIER, SYNC_KINDS };

/* Up to @iters operations, but no longer than SYNC_SAMPLE_NS: with busy
 * CPUs outnumbering the cores one operation can take tens of ms. */
#define SYNC_SAMPLE_NS 2e8

static double run_sync(enum sync_kind k, unsigned long iters)
{
	double t0 = now_ns();
	unsigned long i;

	for (i = 0; i < iters && now_ns() - t0 < SYNC_SAMPLE_NS; i++) {
		switch (k) {
		case SYNC_IPI_SYNC:
			tlb_remove_table_sync_one(NULL);
			break;
		case SYNC_IPI_CALL:
			smp_call_function(ipi_nop, NULL, true);
			break;
		case SYNC_MEMBARRIER:
			syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
			break;
		case SYNC_KINDS:
			break;
		}
	}
	return (now_ns() - t0) / (double)i;
}

static void bench_sync(unsigned int nthreads, bool busy)
{
	static const char *const names[SYNC_KINDS] = { "ipi_sync", "ipi_call", "membarrier" };
	struct other_cpu *o = calloc(nthreads, sizeof(*o));
	double samples[SYNC_KINDS][64];
	unsigned long iters = (unsigned long)((busy ? 300 : 1000) * bench.scale) + 1;

	atomic_store(&others_stop, false);
	for (unsigned int i = 0; i < nthreads; i++) {
		o[i].busy = busy;
		pthread_create(&o[i].thread, NULL, other_cpu_main, &o[i]);
		while (!atomic_load(&o[i].started))
			sched_yield();
	}
	for (unsigned int r = 0; r < bench.rounds; r++)
		for (int k = 0; k < SYNC_KINDS; k++)
			samples[k][r] = run_sync((enum sync_kind)k, iters);
	atomic_store(&others_stop, true);
	for (unsigned int i = 0; i < nthreads; i++) {
		/* Join in short sleeps: a leaving CPU may wait for us. */
		while (pthread_tryjoin_np(o[i].thread, NULL) == EBUSY) {
			struct timespec ts = { 0, 100000 };

			nanosleep(&ts, NULL);
		}
	}
	free(o);
	for (int k = 0; k < SYNC_KINDS; k++)
		record(names[k], busy ? "busy" : "idle", nthreads,
		       median(samples[k], bench.rounds));
}

static const struct result *find(const char *name, const char *mode, unsigned int threads)
{
	for (int i = 0; i < bench.n; i++)
		if (!strcmp(bench.r[i].name, name) && !strcmp(bench.r[i].mode, mode) &&
		    bench.r[i].threads == threads)
			return &bench.r[i];
	return NULL;
}

static void print_table(FILE *f)
{
	const struct result *floor = find("bare_walk_floor", "single", 1);
	static const unsigned int counts[] = { 1, 2, 4, 8, 16 };

	fprintf(f, "\nPinning one 4 KiB page, single thread (median of %u rounds):\n",
		bench.rounds);
	fprintf(f, "  %-22s %10s %12s\n", "", "ns/op", "x floor");
	for (int i = 0; i < bench.n; i++) {
		if (strcmp(bench.r[i].mode, "single"))
			continue;
		fprintf(f, "  %-22s %10.1f %11.2fx\n", bench.r[i].name, bench.r[i].ns_per_op,
			bench.r[i].ns_per_op / floor->ns_per_op);
	}
	fprintf(f, "  target: gup_fast_pin_unpin within 1.5x of bare_walk_floor: %s\n",
		find("gup_fast_pin_unpin", "single", 1)->ns_per_op <= 1.5 * floor->ns_per_op
			? "met"
			: "NOT met");
	for (int busy = 0; busy < 2; busy++) {
		const char *mode = busy ? "busy" : "idle";

		fprintf(f, "\ntlb_remove_table_sync_one() with N other CPUs %s:\n",
			busy ? "busy in short interrupts-off loops" : "idle");
		fprintf(f, "  %4s %14s %14s %14s %14s\n", "N", "ipi_sync ns", "membarrier ns",
			"sync/membar", "ipi_call ns");
		for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
			const struct result *s = find("ipi_sync", mode, counts[c]);
			const struct result *m = find("membarrier", mode, counts[c]);
			const struct result *a = find("ipi_call", mode, counts[c]);

			if (!s || !m || !a)
				continue;
			fprintf(f, "  %4u %14.0f %14.0f %13.2fx %14.0f\n", counts[c], s->ns_per_op,
				m->ns_per_op, s->ns_per_op / m->ns_per_op, a->ns_per_op);
		}
	}
	fprintf(f, "  target: ipi_sync within 2x of membarrier at the same N\n");
}

static int write_json(const char *path)
{
	struct json j;
	FILE *f = json_file_open(&j, path);

	if (!f)
		return 1;
	json_object_begin(&j, NULL);
	json_array_begin(&j, "results");
	for (int i = 0; i < bench.n; i++) {
		json_object_begin(&j, NULL);
		json_string(&j, "name", bench.r[i].name);
		json_u64(&j, "threads", bench.r[i].threads);
		json_string(&j, "mode", bench.r[i].mode);
		json_double(&j, "ns_per_op", bench.r[i].ns_per_op);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);
	return json_file_close(&j, f, path);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: ptlab bench [--json FILE] [--rounds N] [--scale X]\n"
		   "  --json FILE  also write the results as JSON\n"
		   "  --rounds N   interleaved rounds per figure, median reported (3..64, default 7)\n"
		   "  --scale X    multiply iteration counts (0.01..100, default 1)\n");
}

enum { OPT_JSON = CLI_OPT_FIRST, OPT_ROUNDS, OPT_SCALE };

static const struct option options[] = {
	{ "json", required_argument, NULL, OPT_JSON },
	{ "rounds", required_argument, NULL, OPT_ROUNDS },
	{ "scale", required_argument, NULL, OPT_SCALE },
	CLI_OPTIONS_END
};

static const struct cli_command cmd = { "bench", options, usage, false };

int cmd_bench(int argc, char **argv)
{
	static const unsigned int counts[] = { 1, 2, 4, 8, 16 };
	const char *json = NULL;
	struct ptlab_config cfg;
	struct mm_struct *mm;
	uint64_t u;
	int c, ret;

	bench.rounds = 7;
	bench.scale = 1;
	bench.n = 0;
	while ((c = cli_getopt(&cmd, argc, argv, &ret)) != -1) {
		const char *v = optarg;

		switch (c) {
		case CLI_STOP:
			return ret;
		case OPT_JSON:
			json = v;
			break;
		case OPT_ROUNDS:
			if (!cli_parse_u64(v, 3, 64, &u))
				return cli_error("bad --rounds", v, "3..64");
			bench.rounds = (unsigned int)u;
			break;
		case OPT_SCALE:
			if (!cli_parse_double(v, 0.01, 100, &bench.scale))
				return cli_error("bad --scale", v, "0.01..100");
			break;
		}
	}
	if (json && (ret = cli_check_output("--json file", json)))
		return ret;
	ptlab_config_default(&cfg);
	cfg.pool_bytes = 64ULL << 20;
	if ((ret = ptlab_init(&cfg)) || cpu_register() < 0) {
		fprintf(stderr, "ptlab: cannot set the machine up: %s\n", strerror(-ret));
		return 1;
	}
	mm = mm_create();
	if (!mm || use_mm(mm) || mm_mmap(mm, BENCH_ADDR, PMD_SIZE, VM_READ | VM_WRITE) < 0 ||
	    mm_populate(mm, BENCH_ADDR, PMD_SIZE, true)) {
		fprintf(stderr, "ptlab: cannot set the benchmark mm up\n");
		return 1;
	}
	fprintf(stderr, "ptlab bench: walks...\n");
	bench_walks(mm);
	for (int busy = 0; busy < 2; busy++)
		for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
			fprintf(stderr, "ptlab bench: sync with %u %s CPUs...\n", counts[c],
				busy ? "busy" : "idle");
			bench_sync(counts[c], busy);
		}
	unuse_mm();
	mm_destroy(mm);
	cpu_unregister();
	ptlab_exit(NULL);
	print_table(stdout);
	return json ? write_json(json) : 0;
}
