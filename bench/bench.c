// SPDX-License-Identifier: MIT
/*
 * ptlab bench: the command, the machine it measures, and the result list
 * the families fill (see bench.h for the families).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "../cli/commands.h"
#include "bench.h"
#include "ptlab/machine.h"
#include "ptlab/smp.h"
#include "util/cli.h"
#include "util/compare.h"
#include "util/time.h"

struct bench bench;

void bench_record(const char *name, const char *mode, unsigned int threads,
		  unsigned int batch, bool thp, double ns_per_op)
{
	if (bench.n < BENCH_MAX_RESULTS)
		bench.r[bench.n++] = (struct bench_result){ name, mode, threads, batch, thp,
							    ns_per_op };
}

const struct bench_result *bench_find(const char *name, const char *mode,
				      unsigned int threads, unsigned int batch, bool thp)
{
	for (int i = 0; i < bench.n; i++) {
		const struct bench_result *r = &bench.r[i];

		if (!strcmp(r->name, name) && !strcmp(r->mode, mode) && r->threads == threads &&
		    r->batch == batch && r->thp == thp)
			return r;
	}
	return NULL;
}

double bench_now_ns(void)
{
	return (double)monotonic_ns();
}

double bench_median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void bench_progress(const char *fmt, ...)
{
	va_list ap;

	if (!bench.progress)
		return;
	va_start(ap, fmt);
	fputs("ptlab bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs("...\n", stderr);
	va_end(ap);
}

/* The CPU model from /proc/cpuinfo ("unknown" without one). */
static void read_cpu_model(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];

	snprintf(buf, len, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (!strncmp(line, "model name", 10) && colon) {
			snprintf(buf, len, "%s", colon + 2);
			buf[strcspn(buf, "\n")] = 0;
			break;
		}
	}
	fclose(f);
}

static void read_machine(void)
{
	struct utsname u;

	bench.machine.cpus = (unsigned int)sysconf(_SC_NPROCESSORS_ONLN);
	read_cpu_model(bench.machine.cpu_model, sizeof(bench.machine.cpu_model));
	snprintf(bench.machine.kernel, sizeof(bench.machine.kernel), "%s",
		 uname(&u) ? "unknown" : u.release);
	if (getloadavg(bench.machine.load_start, 3) != 3)
		memset(bench.machine.load_start, 0, sizeof(bench.machine.load_start));
}

/* The benchmark mm: BENCH_REGIONS regions of small pages and one THP. */
static struct mm_struct *bench_mm_create(void)
{
	struct mm_struct *mm = mm_create();
	struct mm_stats st;

	if (!mm || use_mm(mm) ||
	    mm_mmap(mm, BENCH_ADDR, BENCH_REGIONS * PMD_SIZE, VM_READ | VM_WRITE) < 0 ||
	    mm_populate(mm, BENCH_ADDR, BENCH_REGIONS * PMD_SIZE, true) ||
	    mm_mmap(mm, BENCH_THP_ADDR, PMD_SIZE, VM_READ | VM_WRITE | VM_HUGEPAGE) < 0 ||
	    mm_populate(mm, BENCH_THP_ADDR, PMD_SIZE, true))
		return NULL;
	mm_get_stats(mm, &st);
	return st.thp_mapped == 1 ? mm : NULL;
}

enum { OPT_JSON = CLI_OPT_FIRST, OPT_ROUNDS, OPT_SCALE };

static const struct cli_opt options[] = {
	{ "json", OPT_JSON, "FILE", "also write the results as JSON" },
	{ "rounds", OPT_ROUNDS, "N",
	  "interleaved rounds per figure, median reported (3..64, default 7)" },
	{ "scale", OPT_SCALE, "X", "multiply iteration counts (0.01..100, default 1)" },
	CLI_OPTS_END
};

static const struct cli_command cmd = {
	.name = "bench",
	.synopsis = "[options]",
	.about = "Benchmarks of the machine: each figure beside its peer (liburcu, a\n"
		 "plain walk) and their ratio, against the targets of docs/benchmarks.md.\n",
	.opts = options,
};

int cmd_bench(int argc, char **argv)
{
	const char *json = NULL;
	struct ptlab_config cfg;
	struct mm_struct *mm;
	uint64_t u;
	int c, ret;

	memset(&bench, 0, sizeof(bench));
	bench.rounds = 7;
	bench.scale = 1;
	while ((c = cli_getopt(&cmd, argc, argv, &ret)) != -1) {
		const char *v = optarg;

		switch (c) {
		case CLI_STOP:
			return ret;
		case OPT_JSON:
			json = v;
			break;
		case OPT_ROUNDS:
			if (!cli_parse_u64(v, 3, BENCH_MAX_ROUNDS, &u))
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
	bench.progress = isatty(2);
	read_machine();
	ptlab_config_default(&cfg);
	cfg.pool_bytes = 64ULL << 20;
	if ((ret = ptlab_init(&cfg)) || (ret = cpu_register()) < 0) {
		fprintf(stderr, "ptlab: cannot set the machine up: %s\n", strerror(-ret));
		return 1;
	}
	if (!(mm = bench_mm_create())) {
		fprintf(stderr, "ptlab: cannot set the benchmark mm up\n");
		return 1;
	}
	bench_walks(mm);
	if (bench_pin_concurrent(mm) || bench_sync())
		return 1;
	unuse_mm();
	mm_destroy(mm);
	cpu_unregister();
	ptlab_exit(NULL);
	if (bench_sync_policies() || bench_memory())
		return 1;
	if (getloadavg(bench.machine.load_end, 3) != 3)
		memset(bench.machine.load_end, 0, sizeof(bench.machine.load_end));
	bench_print(stdout);
	return json ? bench_write_json(json) : 0;
}
