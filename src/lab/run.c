// SPDX-License-Identifier: MIT
/* One run of a cell: machine up, scenario, budget, teardown, account. */
#include <errno.h>
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

/* Per scenario: walkers, and windows found to show each race quickly
 * while leaving safe cells many cycles per second. */
void lab_run_config_default(struct lab_run_config *cfg, const struct ptlab_profile *p,
			    struct ptlab_fixes fixes, enum scenario s)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->profile = *p;
	cfg->fixes = fixes;
	cfg->scenario = s;
	cfg->seconds = 1.0;
	cfg->grace_after_violation = 0.05;
	cfg->walkers = 2;
	cfg->seed = 1;
	cfg->pool_bytes = 64ULL << 20;
	switch (s) {
	case SCENARIO_COLLAPSE_ZAP:
		/* A walker stays in its section across a collapse and a zap. */
		cfg->windows[cfg->nr_windows++] = (struct lab_window){
			RP_GUP_FAST_PMD_READ, 2000000, 0.25, true, true };
		break;
	case SCENARIO_COLLAPSE_PIN:
		/* Across a whole collapse (in-table deposits)... */
		cfg->windows[cfg->nr_windows++] = (struct lab_window){
			RP_GUP_FAST_PMD_READ, 2000000, 0.1, true, true };
		/* ...or from its PTE read into collapse's copy phase, which
		 * collapse's own window widens. */
		cfg->windows[cfg->nr_windows++] = (struct lab_window){
			RP_GUP_FAST_PTE_READ, 600000, 0.3, true, true };
		cfg->windows[cfg->nr_windows++] = (struct lab_window){
			RP_COLLAPSE_ISOLATED, 800000, 1.0, false, false };
		break;
	case SCENARIO_MUNMAP:
		cfg->windows[cfg->nr_windows++] = (struct lab_window){
			RP_GUP_FAST_PMD_READ, 500000, 0.3, true, true };
		break;
	case SCENARIO_COUNT:
		break;
	}
}

static bool window_ok(const struct lab_window *w)
{
	return (unsigned int)w->rp < RACE_POINT_COUNT && w->delay_ns >= 1 &&
	       w->delay_ns <= LAB_MAX_DELAY_NS && w->probability >= 0.0 &&
	       w->probability <= 1.0;   /* false for NaN */
}

static bool config_ok(const struct lab_run_config *cfg)
{
	if ((unsigned int)cfg->scenario >= SCENARIO_COUNT || cfg->walkers < 1 ||
	    cfg->walkers > LAB_MAX_WALKERS || cfg->nr_windows > LAB_MAX_WINDOWS ||
	    !(cfg->seconds > 0 && cfg->seconds <= 86400))
		return false;
	for (unsigned int i = 0; i < cfg->nr_windows; i++)
		if (!window_ok(&cfg->windows[i]))
			return false;
	return true;
}

static void snapshot(struct lab_result *r)
{
	r->ops = atomic_load(&lab_ctr.ops);
	r->pages = atomic_load(&lab_ctr.pages);
	r->collapses = atomic_load(&lab_ctr.collapses);
	r->refusals = atomic_load(&lab_ctr.refusals);
	r->cycles = r->collapses + atomic_load(&lab_ctr.zaps);
	r->lost_writes = atomic_load(&lab_ctr.lost_writes);
	for (int k = 0; k < VIOLATION_KINDS; k++)
		r->violations[k] = atomic_load(&lab_ctr.violations[k]);
}

int lab_run(const struct lab_run_config *cfg, struct lab_result *res)
{
	struct ptlab_config mc;
	struct ptlab_teardown_report rep;
	struct lab_scenario *s = NULL;
	struct mm_struct *mm;
	unsigned long asan0 = ptlab_asan_stale_table_reads();
	double start, stop_at = -1;
	int ret;

	if (!cfg || !res)
		return -EINVAL;
	memset(res, 0, sizeof(*res));
	res->first_violation_ms = -1;
	if (!config_ok(cfg))
		return -EINVAL;
	mc = (struct ptlab_config){ .profile = cfg->profile, .fixes = cfg->fixes,
				    .pool_bytes = cfg->pool_bytes };
	ret = ptlab_init(&mc);
	if (ret)
		return ret;
	ret = lab_detect_begin(ptlab_nr_frames);
	if (ret || cpu_register() < 0) {
		ptlab_exit(NULL);
		return ret ? ret : -ENOSPC;
	}
	mm = mm_create();
	if (!mm) {
		ret = -ENOMEM;
		goto out_cpu;
	}
	lab_windows_install(cfg->windows, cfg->nr_windows, cfg->seed);
	race_hook_set(lab_race_hook);
	start = lab_now_ms();
	ret = lab_scenario_start(cfg, mm, &s);
	while (!ret) {
		double now = lab_now_ms();

		snapshot(res);
		res->seconds = (now - start) / 1e3;
		if (progress_fn)
			progress_fn(progress_arg, res->seconds, res);
		if (stop_at < 0 && cfg->grace_after_violation >= 0 && lab_first_violation(NULL))
			stop_at = now + cfg->grace_after_violation * 1e3;
		if (res->seconds >= cfg->seconds || (cfg->max_ops && res->ops >= cfg->max_ops) ||
		    (stop_at >= 0 && now >= stop_at))
			break;
		sleep_ns(10000000);
	}
	if (s)
		lab_scenario_stop(s);
	race_hook_set(NULL);
	snapshot(res);
	res->seconds = (lab_now_ms() - start) / 1e3;
	res->have_detail = lab_first_violation(&res->first);
	/* Times are from lab_detect_begin(), just before the scenario. */
	if (res->have_detail)
		res->first_violation_ms = res->first.at_ms;
	res->asan_reports = ptlab_asan_stale_table_reads() - asan0;
	if (mm_destroy(mm))
		ret = ret ? ret : -EBUSY;
out_cpu:
	cpu_unregister();
	lab_detect_end();
	if (ptlab_exit(&rep) == -ENOTEMPTY)
		res->leaked_frames = rep.leaked_total + rep.bad_refcounts;
	return ret;
}
