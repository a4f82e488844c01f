// SPDX-License-Identifier: MIT
/*
 * The memory of a lab cell: the peak resident size (getrusage()'s
 * ru_maxrss) of one traced cell of each scenario, each in a process of
 * its own (so that nothing else the bench did counts), run to the end of
 * its budget, at a short budget and at four times it, side by side. A
 * buffer that grew with a run's length would show as the difference: a
 * cell's lanes, rings and evidence vectors are capped (ptlab/lab.h), so
 * the longer run should take no more.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "ptlab/lab.h"
#include "ptlab/machine.h"

/* One unsafe cell a scenario, traced (its busiest configuration: a trace
 * and a violation early, then the whole budget). */
static const struct {
	const char *profile;
	unsigned int fixes;
	enum scenario s;
} memory_cells[BENCH_MEMORY_SCENARIOS] = {
	{ "arm64", 0, SCENARIO_COLLAPSE_ZAP },
	{ "ppc64-radix", 1, SCENARIO_COLLAPSE_PIN },
	{ "broadcast-norcu", 3, SCENARIO_MUNMAP },
	{ "x86-nopv-6.0", 3, SCENARIO_PT_RECLAIM },
	{ "arm64", 0, SCENARIO_HUGETLB_UNSHARE },
};

const double bench_memory_seconds[BENCH_MEMORY_BUDGETS] = { 1.0, 4.0 };

/* The peak RSS, in MiB, of a child that runs cell @i for @seconds; -1
 * when it could not run. */
static double cell_peak_mib(size_t i, double seconds)
{
	struct rusage ru;
	int status;
	pid_t pid = ptlab_fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		const struct ptlab_profile *p = ptlab_profile_find(memory_cells[i].profile);
		struct lab_run_config cfg;
		struct lab_result r;

		if (!p)
			_exit(2);
		lab_run_config_default(&cfg, p, ptlab_fix_setting(memory_cells[i].fixes),
				       memory_cells[i].s);
		cfg.seconds = seconds;
		cfg.grace_after_violation = -1;
		cfg.trace_before_ms = LAB_TRACE_BEFORE_MS;
		cfg.trace_after_ms = LAB_TRACE_AFTER_MS;
		_exit(lab_run(&cfg, &r) ? 1 : 0);
	}
	if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		return -1;
	return (double)ru.ru_maxrss / 1024;
}

int bench_memory(void)
{
	for (size_t i = 0; i < BENCH_MEMORY_SCENARIOS; i++) {
		struct bench_memory *m = &bench.memory[i];

		m->scenario = scenario_name(memory_cells[i].s);
		m->profile = memory_cells[i].profile;
		m->fixes = ptlab_fixes_name(ptlab_fix_setting(memory_cells[i].fixes));
		for (int b = 0; b < BENCH_MEMORY_BUDGETS; b++) {
			/* --scale shortens the budgets, down to a twentieth. */
			m->seconds[b] = bench_memory_seconds[b] * (bench.scale < 0.05 ? 0.05
						 : bench.scale > 1 ? 1 : bench.scale);
			bench_progress("memory: %s, %.1f s", m->scenario, m->seconds[b]);
			m->peak_mib[b] = cell_peak_mib(i, m->seconds[b]);
			if (m->peak_mib[b] < 0) {
				fprintf(stderr, "ptlab: bench: the %s cell of %s could not run\n",
					m->scenario, m->profile);
				return -1;
			}
		}
	}
	bench.nmemory = BENCH_MEMORY_SCENARIOS;
	return 0;
}
