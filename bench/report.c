// SPDX-License-Identifier: MIT
/*
 * The benchmark's report: each figure with its peer and their ratio, the
 * one-page cost part by part, the benchmark targets with the worst ratio
 * measured against each (docs/benchmarks.md), and the same as JSON.
 */
#include <string.h>

#include "bench.h"
#include "util/json.h"

struct target {
	const char *text;
	double limit;
	/* The worst ratio measured and where; worst < 0: nothing measured. */
	double worst;
	char at[48];
};

#define MAX_TARGETS 12

static double ratio(const struct bench_result *a, const struct bench_result *b)
{
	return a && b && b->ns_per_op > 0 ? a->ns_per_op / b->ns_per_op : -1;
}

/* Keeps @r if it is the worst ratio of @t so far. */
static void target_add(struct target *t, double r, const char *at)
{
	if (r < 0 || (t->worst >= 0 && r <= t->worst))
		return;
	t->worst = r;
	snprintf(t->at, sizeof(t->at), "%s", at);
}

static const struct bench_result *walk(const char *name, unsigned int batch, bool thp)
{
	return bench_find(name, "single", 1, batch, thp);
}

static const struct bench_result *pinning(const char *name, unsigned int threads)
{
	return bench_find(name, "concurrent", threads, HPAGE_PMD_NR, false);
}

static const struct bench_result *sync_result(const char *name, unsigned int n, bool busy)
{
	return bench_find(name, busy ? "busy" : "idle", n, 1, false);
}

/* The targets, each with its worst ratio; returns how many. */
static int bench_targets(struct target *t)
{
	static const struct {
		const char *text, *peer;
		double limit;
		bool below_cores;
	} syncs[] = {
		{ "ipi_sync within 2x of membarrier, N < cores, idle and busy", "membarrier", 2,
		  true },
		{ "ipi_sync within 1.5x of urcu_memb_synchronize, every N, idle and busy",
		  "urcu_memb_synchronize", 1.5, false },
		{ "ipi_sync no slower than ipi_all_cpus, every N, idle and busy", "ipi_all_cpus", 1,
		  false },
	};
	static const struct {
		const char *text;
		unsigned int batch;
		bool thp;
		double limit;
	} walks[] = {
		{ "gup_fast_pin_unpin, 1 page, within 1.5x of bare_walk_floor", 1, false, 1.5 },
		{ "gup_fast_pin_unpin, 512 pages, within 1.2x of bare_walk_floor per page",
		  HPAGE_PMD_NR, false, 1.2 },
		{ "gup_fast_pin_unpin, one THP, within 1.2x of bare_walk_floor", HPAGE_PMD_NR,
		  true, 1.2 },
	};
	char at[48];
	int n = 0;

	for (size_t i = 0; i < sizeof(walks) / sizeof(walks[0]); i++, n++) {
		t[n] = (struct target){ walks[i].text, walks[i].limit, -1, "" };
		snprintf(at, sizeof(at), "batch %u%s", walks[i].batch, walks[i].thp ? ", THP" : "");
		target_add(&t[n],
			   ratio(walk("gup_fast_pin_unpin", walks[i].batch, walks[i].thp),
				 walk("bare_walk_floor", walks[i].batch, walks[i].thp)),
			   at);
	}
	t[n] = (struct target){ "concurrent gup_fast_pin_unpin, 2 threads within 1.3x of 1 "
				"thread per page",
				1.3, -1, "" };
	target_add(&t[n++], ratio(pinning("gup_fast_pin_unpin", 2), pinning("gup_fast_pin_unpin", 1)),
		   "2 threads");
	/* Memory must not grow with a run's length: the caps hold. */
	t[n] = (struct target){ "a traced lab cell's peak RSS at 4x the budget within 1.5x of it, "
				"every scenario",
				1.5, -1, "" };
	for (int i = 0; i < bench.nmemory; i++)
		target_add(&t[n], bench.memory[i].peak_mib[BENCH_MEMORY_BUDGETS - 1] /
					  bench.memory[i].peak_mib[0],
			   bench.memory[i].scenario);
	n++;
	for (size_t i = 0; i < sizeof(syncs) / sizeof(syncs[0]); i++, n++) {
		t[n] = (struct target){ syncs[i].text, syncs[i].limit, -1, "" };
		for (int busy = 0; busy < 2; busy++)
			for (int c = 0; c < BENCH_SYNC_COUNTS; c++) {
				unsigned int cpus = bench_sync_counts[c];

				if (syncs[i].below_cores && cpus >= bench.machine.cpus)
					continue;
				snprintf(at, sizeof(at), "N=%u %s", cpus, busy ? "busy" : "idle");
				target_add(&t[n],
					   ratio(sync_result("ipi_sync", cpus, busy),
						 sync_result(syncs[i].peer, cpus, busy)),
					   at);
			}
	}
	return n;
}

/* One page, part by part: each peer's figure, its part (the difference
 * from the peer before it) and that part's share of the gap from the
 * floor to gup_fast_pin_unpin. False when a peer was not measured. */
struct part_cost {
	const struct bench_part *part;
	double ns, ratio, part_ns, share;
};

static bool part_costs(struct part_cost *out)
{
	const struct bench_result *floor1 = walk(bench_parts[0].name, 1, false);
	const struct bench_result *gup1 = walk(bench_parts[BENCH_PARTS - 1].name, 1, false);
	double gap;

	if (!floor1 || !gup1)
		return false;
	gap = gup1->ns_per_op - floor1->ns_per_op;
	for (int i = 0; i < BENCH_PARTS; i++) {
		const struct bench_result *r = walk(bench_parts[i].name, 1, false);

		if (!r)
			return false;
		out[i] = (struct part_cost){ &bench_parts[i], r->ns_per_op, ratio(r, floor1), 0, 0 };
		if (i) {
			out[i].part_ns = r->ns_per_op - out[i - 1].ns;
			out[i].share = gap != 0 ? out[i].part_ns / gap : 0;
		}
	}
	return true;
}

/* What walk_pin_one_rmw says: the price of the pin's second atomic
 * (walk_pin's figure minus its own). False when either is missing. */
static bool second_atomic(const struct part_cost *p, const struct bench_result **one_rmw,
			  double *price)
{
	*one_rmw = walk("walk_pin_one_rmw", 1, false);
	for (int i = 0; *one_rmw && i < BENCH_PARTS; i++)
		if (!strcmp(p[i].part->name, "walk_pin")) {
			*price = p[i].ns - (*one_rmw)->ns_per_op;
			return true;
		}
	return false;
}

static void print_parts(FILE *f)
{
	struct part_cost p[BENCH_PARTS];
	const struct bench_result *one_rmw;
	double price;

	if (!part_costs(p))
		return;
	fprintf(f, "\nOne page, part by part (each peer is the one above plus one part; ns per "
		   "page,\nratio to bare_walk_floor, the part's ns and its share of the gap):\n");
	for (int i = 0; i < BENCH_PARTS; i++) {
		fprintf(f, "  %-20s %7.2f %6.2fx", p[i].part->name, p[i].ns, p[i].ratio);
		if (i)
			fprintf(f, " %+7.2f %4.0f%%", p[i].part_ns, 100 * p[i].share);
		else
			fprintf(f, " %13s", "");
		fprintf(f, "  %s\n", p[i].part->adds);
	}
	if (second_atomic(p, &one_rmw, &price))
		fprintf(f, "  %-20s %7.2f %6.2fx  beside them: walk_pin with its bias in one atomic;\n"
			   "  %-36s the kernel's second atomic costs %+.2f ns (%.0f%% of the gap)\n",
			one_rmw->name, one_rmw->ns_per_op, ratio(one_rmw, walk(bench_parts[0].name, 1, false)),
			"", price, 100 * price / (p[BENCH_PARTS - 1].ns - p[0].ns));
}

static void print_ratio_cell(FILE *f, const struct bench_result *r, const struct bench_result *base)
{
	if (!r)
		fprintf(f, " %20s", "-");
	else
		fprintf(f, " %11.0f (%5.2fx)", r->ns_per_op, ratio(base, r));
}

static void print_walks(FILE *f)
{
	static const struct {
		const char *label;
		unsigned int batch;
		bool thp;
	} rows[] = {
		{ "1 page", 1, false },
		{ "16 pages", 16, false },
		{ "512 pages", HPAGE_PMD_NR, false },
		{ "THP (512)", HPAGE_PMD_NR, true },
	};
	static const struct {
		const char *name, *under;
	} locked[] = { { "rwlock_walk", "a read lock" }, { "rcu_walk", "rcu_read_lock()" } };
	const struct bench_result *floor1 = walk("bare_walk_floor", 1, false);

	fprintf(f, "\nGUP-fast, pin and unpin a buffer, one thread (ns per page):\n");
	fprintf(f, "  %-12s %20s %17s %8s\n", "buffer", "gup_fast_pin_unpin", "bare_walk_floor",
		"ratio");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct bench_result *g = walk("gup_fast_pin_unpin", rows[i].batch, rows[i].thp);
		const struct bench_result *b = walk("bare_walk_floor", rows[i].batch, rows[i].thp);

		if (g && b)
			fprintf(f, "  %-12s %20.2f %17.2f %7.2fx\n", rows[i].label, g->ns_per_op,
				b->ns_per_op, ratio(g, b));
	}
	for (size_t i = 0; i < sizeof(locked) / sizeof(locked[0]); i++) {
		const struct bench_result *r = walk(locked[i].name, 1, false);

		if (r && floor1)
			fprintf(f, "  %-12s %20.2f %17s %7.2fx  (1 page: the floor under %s)\n",
				locked[i].name, r->ns_per_op, "", ratio(r, floor1), locked[i].under);
	}
	print_parts(f);
	fprintf(f, "\nConcurrent pinning, each thread its own 512-page buffer of one mm "
		   "(ns per page per thread):\n");
	fprintf(f, "  %-12s %20s %17s %8s %14s\n", "threads", "gup_fast_pin_unpin",
		"bare_walk_floor", "ratio", "vs 1 thread");
	for (int i = 0; i < BENCH_PIN_COUNTS; i++) {
		const struct bench_result *g = pinning("gup_fast_pin_unpin", bench_pin_counts[i]);
		const struct bench_result *b = pinning("bare_walk_floor", bench_pin_counts[i]);

		if (g && b)
			fprintf(f, "  %-12u %20.2f %17.2f %7.2fx %13.2fx\n", bench_pin_counts[i],
				g->ns_per_op, b->ns_per_op, ratio(g, b),
				ratio(g, pinning("gup_fast_pin_unpin", 1)));
	}
}

static void print_syncs(FILE *f)
{
	static const char *const peers[] = { "urcu_memb_synchronize", "urcu_qsbr_synchronize",
					     "ipi_all_cpus", "membarrier" };

	for (int busy = 0; busy < 2; busy++) {
		fprintf(f, "\ntlb_remove_table_sync_one() (ipi_sync) and its peers, N other CPUs "
			   "%s\n(ns per call; in parentheses ipi_sync / peer):\n",
			busy ? "busy in read-side sections" : "idle");
		fprintf(f, "  %3s %10s", "N", "ipi_sync");
		for (size_t p = 0; p < sizeof(peers) / sizeof(peers[0]); p++)
			fprintf(f, " %20s", peers[p]);
		fputc('\n', f);
		for (int c = 0; c < BENCH_SYNC_COUNTS; c++) {
			unsigned int n = bench_sync_counts[c];
			const struct bench_result *s = sync_result("ipi_sync", n, busy);

			if (!s)
				continue;
			fprintf(f, "  %3u %10.0f", n, s->ns_per_op);
			for (size_t p = 0; p < sizeof(peers) / sizeof(peers[0]); p++)
				print_ratio_cell(f, sync_result(peers[p], n, busy), s);
			fputc('\n', f);
		}
	}
}

static void print_policies(FILE *f)
{
	const struct bench_result *plain = walk("gup_fast_pin_unpin_no_marker", 1, false);
	const struct bench_result *marked = walk("gup_fast_pin_unpin_walkers_marker", 1, false);
	const char *profile = NULL;

	if (!bench.npolicy)
		return;
	fprintf(f, "\nSync policies: CPUs a collapse interrupts, the flush's + the sync's, when k "
		   "of %u simulated\nCPUs run the mm (the kernel's counts), and the sync's time here "
		   "(ns, 2 cores for %u CPUs):\n",
		BENCH_POLICY_CPUS, BENCH_POLICY_CPUS);
	for (int i = 0; i < bench.npolicy; i++) {
		const struct bench_policy_cost *c = &bench.policy[i];
		char cell[48];

		if (!profile || strcmp(profile, c->profile)) {
			profile = c->profile;
			fprintf(f, "  %-8s %-18s", profile, "policy");
			for (int k = 0; k < BENCH_POLICY_KS; k++) {
				char head[16];

				snprintf(head, sizeof(head), "k=%u", bench_policy_ks[k]);
				fprintf(f, " %16s", head);
			}
			fputc('\n', f);
		}
		if (c->mm_cpus == bench_policy_ks[0])
			fprintf(f, "  %-8s %-18s", "", sync_policy_name(c->policy));
		snprintf(cell, sizeof(cell), "%.0f+%.0f %.0fns", c->flush_ipis, c->sync_ipis,
			 c->ns_per_op);
		fprintf(f, " %16s", cell);
		if (c->mm_cpus == bench_policy_ks[BENCH_POLICY_KS - 1])
			fputc('\n', f);
	}
	if (plain && marked)
		fprintf(f, "  GUP-fast pin+unpin of one page: %.2f ns, with the walkers policy's "
			   "marker %.2f ns (%+.1f%%)\n",
			plain->ns_per_op, marked->ns_per_op,
			100 * (marked->ns_per_op / plain->ns_per_op - 1));
}

static void print_memory(FILE *f)
{
	if (!bench.nmemory)
		return;
	fprintf(f, "\nPeak resident memory of one traced lab cell, in a process of its own, run to "
		   "the end of its budget (MiB):\n");
	fprintf(f, "  %-16s %-16s %-12s", "scenario", "profile", "fixes");
	for (int b = 0; b < BENCH_MEMORY_BUDGETS; b++)
		fprintf(f, " %7.2f s", bench.memory[0].seconds[b]);
	fprintf(f, "  ratio\n");
	for (int i = 0; i < bench.nmemory; i++) {
		const struct bench_memory *m = &bench.memory[i];

		fprintf(f, "  %-16s %-16s %-12s", m->scenario, m->profile, m->fixes);
		for (int b = 0; b < BENCH_MEMORY_BUDGETS; b++)
			fprintf(f, " %9.1f", m->peak_mib[b]);
		fprintf(f, "  %5.2fx\n", m->peak_mib[BENCH_MEMORY_BUDGETS - 1] / m->peak_mib[0]);
	}
}

void bench_print(FILE *f)
{
	struct target t[MAX_TARGETS];
	int n = bench_targets(t);
	const struct bench_machine *m = &bench.machine;
	struct part_cost p[BENCH_PARTS];

	fprintf(f, "ptlab bench on %u CPUs (%s), Linux %s; load average %.2f before, %.2f after;\n"
		   "median of %u interleaved rounds\n",
		m->cpus, m->cpu_model, m->kernel, m->load_start[0], m->load_end[0], bench.rounds);
	print_walks(f);
	print_syncs(f);
	print_policies(f);
	print_memory(f);
	fprintf(f, "\nTargets (worst ratio measured):\n");
	for (int i = 0; i < n; i++) {
		if (t[i].worst < 0)
			fprintf(f, "  %-8s %s: not measured here\n", "-", t[i].text);
		else
			fprintf(f, "  %-8s %s: %.2fx at %s\n",
				t[i].worst <= t[i].limit ? "met" : "NOT met", t[i].text, t[i].worst,
				t[i].at);
		/* The one-page target (the first) with what its gap is made of. */
		if (i == 0 && part_costs(p)) {
			const struct bench_result *one_rmw;
			double price;

			fprintf(f, "  %-8s   the gap by part:", "");
			for (int k = 1; k < BENCH_PARTS; k++) {
				if (k == 3)
					fprintf(f, ",\n  %-8s  ", "");
				else if (k > 1)
					fputc(',', f);
				fprintf(f, " %s %+.2f ns (%.0f%%)", p[k].part->name, p[k].part_ns,
					100 * p[k].share);
			}
			fputc('\n', f);
			if (second_atomic(p, &one_rmw, &price))
				fprintf(f, "  %-8s   of walk_pin's, the kernel's second atomic: %+.2f ns\n", "",
					price);
		}
	}
}

int bench_write_json(const char *path)
{
	const struct bench_machine *m = &bench.machine;
	struct target t[MAX_TARGETS];
	int n = bench_targets(t);
	struct part_cost p[BENCH_PARTS];
	const struct bench_result *one_rmw;
	double price;
	struct json j;
	FILE *f = json_file_open(&j, path);

	if (!f)
		return 1;
	json_object_begin(&j, NULL);
	json_object_begin(&j, "machine");
	json_u64(&j, "cpus", m->cpus);
	json_string(&j, "cpu_model", m->cpu_model);
	json_string(&j, "kernel", m->kernel);
	json_double(&j, "loadavg_start", m->load_start[0]);
	json_double(&j, "loadavg_end", m->load_end[0]);
	json_object_end(&j);
	json_u64(&j, "rounds", bench.rounds);
	json_double(&j, "scale", bench.scale);
	json_array_begin(&j, "results");
	for (int i = 0; i < bench.n; i++) {
		const struct bench_result *r = &bench.r[i];

		json_object_begin(&j, NULL);
		json_string(&j, "name", r->name);
		json_string(&j, "mode", r->mode);
		json_u64(&j, "threads", r->threads);
		json_u64(&j, "batch", r->batch);
		json_bool(&j, "thp", r->thp);
		json_double(&j, "ns_per_op", r->ns_per_op);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_array_begin(&j, "sync_policy_cost");
	for (int i = 0; i < bench.npolicy; i++) {
		const struct bench_policy_cost *c = &bench.policy[i];

		json_object_begin(&j, NULL);
		json_string(&j, "policy", sync_policy_name(c->policy));
		json_string(&j, "profile", c->profile);
		json_u64(&j, "cpus", c->cpus);
		json_u64(&j, "mm_cpus", c->mm_cpus);
		json_double(&j, "interrupted", c->flush_ipis + c->sync_ipis);
		json_double(&j, "flush_ipis", c->flush_ipis);
		json_double(&j, "sync_ipis", c->sync_ipis);
		json_double(&j, "waited", c->waited);
		json_double(&j, "ns_per_op", c->ns_per_op);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_array_begin(&j, "lab_cell_memory");
	for (int i = 0; i < bench.nmemory; i++) {
		const struct bench_memory *m = &bench.memory[i];

		for (int b = 0; b < BENCH_MEMORY_BUDGETS; b++) {
			json_object_begin(&j, NULL);
			json_string(&j, "scenario", m->scenario);
			json_string(&j, "profile", m->profile);
			json_string(&j, "fixes", m->fixes);
			json_double(&j, "seconds", m->seconds[b]);
			json_double(&j, "peak_rss_mb", m->peak_mib[b]);
			json_object_end(&j);
		}
	}
	json_array_end(&j);
	if (part_costs(p) && second_atomic(p, &one_rmw, &price))
		json_double(&j, "pin_second_atomic_ns", price);
	else
		json_null(&j, "pin_second_atomic_ns");
	json_array_begin(&j, "one_page_parts");
	if (part_costs(p))
		for (int i = 0; i < BENCH_PARTS; i++) {
			json_object_begin(&j, NULL);
			json_string(&j, "name", p[i].part->name);
			json_string(&j, "adds", p[i].part->adds);
			json_double(&j, "ns_per_op", p[i].ns);
			json_double(&j, "ratio_to_floor", p[i].ratio);
			json_double(&j, "part_ns", p[i].part_ns);
			json_double(&j, "share_of_gap", p[i].share);
			json_object_end(&j);
		}
	json_array_end(&j);
	json_array_begin(&j, "targets");
	for (int i = 0; i < n; i++) {
		json_object_begin(&j, NULL);
		json_string(&j, "target", t[i].text);
		json_double(&j, "limit", t[i].limit);
		if (t[i].worst < 0) {
			json_null(&j, "worst_ratio");
			json_null(&j, "at");
			json_null(&j, "met");
		} else {
			json_double(&j, "worst_ratio", t[i].worst);
			json_string(&j, "at", t[i].at);
			json_bool(&j, "met", t[i].worst <= t[i].limit);
		}
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);
	return json_file_close(&j, f, path);
}
