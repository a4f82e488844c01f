// SPDX-License-Identifier: MIT
/* ptlab race: one scenario on one profile with chosen fixes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "lab_cli.h"
#include "profile_set.h"
#include "trace_json.h"
#include "util/cli.h"

static int write_json(const char *path, const struct lab_run_config *cfg,
		      const struct lab_result *r, const struct ptlab_expectation *e,
		      enum lab_verdict v, const char *why, uint64_t min_overlaps)
{
	struct json j;
	FILE *f = json_file_open(&j, path);

	if (!f)
		return 1;
	json_object_begin(&j, NULL);
	lab_cli_json_result(&j, cfg, r);
	lab_cli_json_verdict(&j, e, v, why, min_overlaps);
	json_object_end(&j);
	return json_file_close(&j, f, path);
}

/* The trace's file, and a line saying what it holds. */
static int write_trace(const char *path, const struct lab_run_config *cfg,
		       const struct lab_result *r)
{
	json_t *doc = trace_json_from_run(cfg, r);
	int ret;

	if (!doc) {
		fprintf(stderr, "ptlab: no trace to write to %s (out of memory)\n", path);
		return 1;
	}
	ret = trace_json_write(doc, path);
	trace_json_free(doc);
	if (!ret)
		printf("  trace: %s, %zu events on %d tracks, %.3f..%.3f ms%s (%s)%s\n", path,
		       r->trace->n, r->trace->nlanes, r->trace->from_ns * 1e-6,
		       r->trace->to_ns * 1e-6,
		       r->trace->violation ? " around the first violation" : ", no violation",
		       "Chrome trace-event JSON: open it in ui.perfetto.dev",
		       r->trace->lost ? " (some events were overwritten before they were read)"
		       : r->trace->dropped ? " (the oldest events of the window gave way to the "
					     "trace's cap)"
					   : "");
	return ret;
}

static void progress(void *arg, double elapsed, const struct lab_result *r)
{
	(void)arg;
	fprintf(stderr, "\r  %.1f s: %llu ops, %llu cycles, ", elapsed,
		(unsigned long long)r->ops, (unsigned long long)r->cycles);
	lab_cli_print_counts(stderr, r);
	fprintf(stderr, "   ");
}

enum {
	OPT_PROFILES = 'p', OPT_SCENARIOS = 's', OPT_FIXES = 'f',
	OPT_PROFILE_FILE = CLI_OPT_FIRST, OPT_SECONDS, OPT_OPS, OPT_SEED, OPT_THREADS, OPT_WINDOW,
	OPT_NO_WINDOWS, OPT_STOP_ON_FIRST, OPT_MIN_OVERLAPS, OPT_NO_RULE, OPT_JSON, OPT_TRACE,
	OPT_TRACE_WINDOW, OPT_DROP_BARRIER,
};

static const struct cli_opt options[] = {
	{ "profiles", OPT_PROFILES, "NAME",
	  "architecture profile: one, race runs one cell (default x86; see ptlab profiles)" },
	{ "profile", OPT_PROFILES, "NAME", NULL },
	{ "profile-file", OPT_PROFILE_FILE, "FILE",
	  "a profile of your own instead: one entry of `ptlab profiles --json` in a file, "
	  "renamed" },
	{ "scenarios", OPT_SCENARIOS, "NAME",
	  "scenario: one (default collapse-zap; an unknown name lists them)" },
	{ "scenario", OPT_SCENARIOS, "NAME", NULL },
	{ "fixes", OPT_FIXES, "SETTING", "none, pmd-recheck, ipi-sync or both (default both)" },
	{ "seconds", OPT_SECONDS, "S", "time budget, 0.01..3600 (default 5)" },
	{ "ops", OPT_OPS, "N", "stop after N walker operations, 1..10^12" },
	{ "seed", OPT_SEED, "N", "random seed (default 1)" },
	{ "threads", OPT_THREADS, "N",
	  "walker CPUs of each kind, 1.." CLI_XSTR(LAB_MAX_WALKERS) " (default 2)" },
	{ "window", OPT_WINDOW, "SPEC",
	  "POINT:NS[:PROB][:jitter][:preempt][:walkers], replaces the scenario's default "
	  "windows (repeatable; the race points: include/ptlab/race.h, or a bad POINT lists "
	  "them)" },
	{ "no-windows", OPT_NO_WINDOWS, NULL, "no race windows at all" },
	{ "stop-on-first", OPT_STOP_ON_FIRST, NULL,
	  "stop shortly after the first violation (once the verdict is known)" },
	{ "min-overlaps", OPT_MIN_OVERLAPS, "N",
	  "defended overlaps a safe cell needs (default " CLI_XSTR(LAB_MIN_OVERLAPS_DEFAULT) ")" },
	{ "no-rule", OPT_NO_RULE, NULL, "report what was seen; exit 0 whatever the rule says" },
	LAB_CLI_KERNEL_OPTIONS,
	{ "drop-barrier", OPT_DROP_BARRIER, "LIST", LAB_CLI_DROP_BARRIER_HELP },
	{ "json", OPT_JSON, "FILE", "also write the result as JSON" },
	{ "trace", OPT_TRACE, "FILE",
	  "trace every CPU around the first violation and write it as Chrome trace-event "
	  "JSON (opens in Perfetto)" },
	{ "trace-window", OPT_TRACE_WINDOW, "B[:A]",
	  "the trace's window: B ms before the first violation, A ms after it (default "
	  CLI_XSTR(LAB_TRACE_BEFORE_MS) ":" CLI_XSTR(LAB_TRACE_AFTER_MS) "; 0.01..1000, 0..1000)" },
	CLI_OPTS_END
};

static const struct cli_command cmd = {
	.name = "race",
	.synopsis = "[options]",
	.about = "Runs one cell (profile x fixes x scenario) and judges it like a matrix\n"
		 "cell. The options are those of ptlab matrix, with one value each.\n",
	.opts = options,
	.notes = "Exit status: 0 when the cell agrees with the rule (an unsafe cell showed a\n"
		 "violation; a safe cell none, with enough defended overlaps), 1 when it\n"
		 "does not (fail or inconclusive), 2 on a usage error. With --drop-barrier\n"
		 "the run is reported, not judged: 0 when it was sound (violations or not),\n"
		 "1 when it was not (leaked frames, no collapse, ...).\n",
};

/* race runs one cell: a list option names one value. */
static int one_value(const char *opt, const char *v)
{
	char what[80];

	if (!strchr(v, ','))
		return 0;
	snprintf(what, sizeof(what), "one value only for %s (race runs one cell)", opt);
	return cli_error(what, v, "one name; ptlab matrix takes a list");
}

/* The rule's expectation, the kinds it allows each walker kind, and the
 * terms it was computed from (the profile's properties, the fixes). */
static void print_expectation(const struct lab_run_config *cfg, const struct ptlab_expectation *e)
{
	char kinds[160];

	lab_cli_kinds_text(cfg->walker_kinds, e->by_walker, kinds, sizeof(kinds));
	printf("  the rule expects: %s (violations it allows: %s)\n", e->unsafe ? "unsafe" : "safe",
	       kinds);
	printf("    from: rcu free %s, sync ipi %s, upper tables %s, flush waits %s, sync works %s, "
	       "held off %s\n",
	       e->rcu_free ? "yes" : "no", e->sync_ipi ? "yes" : "no",
	       upper_table_free_name(e->upper), e->flush_waits ? "yes" : "no",
	       e->sync_works ? "yes" : "no", e->held_off ? "yes" : "no");
}

static int race(int argc, char **argv, struct profile_set *ps)
{
	const struct ptlab_profile *p = ptlab_profile_find("x86");
	struct ptlab_fixes fixes = { .pmd_recheck = true, .sync = SYNC_ALL };
	enum scenario sc = SCENARIO_COLLAPSE_ZAP;
	struct lab_window win[LAB_MAX_WINDOWS];
	unsigned int nwin = 0;
	bool no_windows = false, stop_first = false, no_rule = false;
	double seconds = 5;
	uint64_t ops = 0, seed = 1, threads = 2, min_overlaps = LAB_MIN_OVERLAPS_DEFAULT;
	struct lab_cli_kernel kopt = { 0 };
	enum collapse_table ct = COLLAPSE_TABLE_REUSE;
	enum retract_gen rg = RETRACT_FREE;
	struct ptlab_expectation e;
	struct ptlab_cell cell;
	enum lab_verdict verdict;
	char why[200];
	const char *json = NULL, *trace = NULL, *err;
	struct lab_run_config window = { .trace_before_ms = LAB_TRACE_BEFORE_MS,
					 .trace_after_ms = LAB_TRACE_AFTER_MS };
	struct lab_run_config cfg;
	struct lab_result res;
	char allowed[256], words[40], props[256], scen[40];
	unsigned int dropped = 0;
	int c, ret;

	while ((c = cli_getopt(&cmd, argc, argv, &ret)) != -1) {
		const char *v = optarg;

		switch (c) {
		case CLI_STOP:
			return ret;
		case OPT_NO_WINDOWS:
			no_windows = true;
			break;
		case OPT_STOP_ON_FIRST:
			stop_first = true;
			break;
		case OPT_NO_RULE:
			no_rule = true;
			break;
		default:
			if (lab_cli_kernel_option(c) && !lab_cli_kernel_parse(c, v, false, &kopt))
				return CLI_EXIT_USAGE;
			break;
		case OPT_MIN_OVERLAPS:
			if (!cli_parse_u64(v, 0, 1000000000, &min_overlaps))
				return cli_error("bad --min-overlaps", v, "0..1000000000");
			break;
		case OPT_PROFILES:
			if ((ret = one_value("--profiles", v)))
				return ret;
			/* fall through */
		case OPT_PROFILE_FILE:
			if (!profile_set_one(ps, c == OPT_PROFILE_FILE, v))
				return CLI_EXIT_USAGE;
			p = ps->list[0];
			break;
		case OPT_SCENARIOS:
			if ((ret = one_value("--scenarios", v)))
				return ret;
			if (scenario_parse(v, &sc)) {
				scenario_names(allowed, sizeof(allowed));
				return cli_error("unknown scenario", v, allowed);
			}
			break;
		case OPT_FIXES:
			if ((ret = one_value("--fixes", v)))
				return ret;
			if (ptlab_fixes_parse(v, &fixes))
				return cli_error("unknown fix setting", v,
						 "none, pmd-recheck, ipi-sync, both");
			break;
		case OPT_SECONDS:
			if (!cli_parse_double(v, 0.01, LAB_CLI_MAX_SECONDS, &seconds))
				return cli_error("bad --seconds", v, "0.01..3600");
			break;
		case OPT_OPS:
			if (!cli_parse_u64(v, 1, LAB_CLI_MAX_OPS, &ops))
				return cli_error("bad --ops", v, "1..1000000000000");
			break;
		case OPT_SEED:
			if (!cli_parse_u64(v, 0, UINT64_MAX, &seed))
				return cli_error("bad --seed", v, "0..18446744073709551615");
			break;
		case OPT_THREADS:
			if (!cli_parse_u64(v, 1, LAB_MAX_WALKERS, &threads)) {
				snprintf(allowed, sizeof(allowed), "1..%d walker CPUs", LAB_MAX_WALKERS);
				return cli_error("bad --threads", v, allowed);
			}
			break;
		case OPT_WINDOW:
			if (nwin == LAB_MAX_WINDOWS)
				return cli_error("too many --window", v, "at most 8");
			if (lab_window_parse(v, &win[nwin], &err)) {
				char points[1024], what[1200];

				race_point_names(points, sizeof(points));
				snprintf(what, sizeof(what), "%s; POINT:NS[:PROB][:jitter][:preempt]"
					 "[:walkers], NS 1..100000000, PROB 0..1, POINT one of %s",
					 err, points);
				return cli_error("bad --window", v, what);
			}
			nwin++;
			break;
		case OPT_DROP_BARRIER:
			if (!lab_cli_drop_barriers(v, &dropped))
				return CLI_EXIT_USAGE;
			break;
		case OPT_JSON:
			json = v;
			break;
		case OPT_TRACE:
			trace = v;
			break;
		case OPT_TRACE_WINDOW:
			if (!lab_cli_trace_window(v, &window))
				return CLI_EXIT_USAGE;
			break;
		}
	}
	if (json && (ret = cli_check_output("--json file", json)))
		return ret;
	if (trace && (ret = cli_check_output("--trace file", trace)))
		return ret;
	lab_cli_default_generations(&kopt);
	for (int r = 0; r < RETRACT_COUNT; r++)
		if (kopt.retract[r])
			rg = (enum retract_gen)r;
	for (int k = 0; k < COLLAPSE_TABLE_COUNT; k++)
		if (kopt.collapse_table[k])
			ct = (enum collapse_table)k;
	if (!lab_cli_walkers_ok(&kopt, sc, rg))
		return CLI_EXIT_USAGE;
	for (int s = 0; kopt.sync_set && s < SYNC_POLICIES; s++) {
		if (!kopt.sync[s])
			continue;
		if (s != SYNC_NONE && fixes.sync == SYNC_NONE)
			return cli_error("--sync with a fix setting without the sync",
					 sync_policy_name((enum sync_policy)s),
					 "--fixes ipi-sync or both (the default)");
		fixes.sync = (enum sync_policy)s;
	}
	lab_run_config_default(&cfg, p, fixes, sc);
	lab_cli_kernel_apply(&cfg, &kopt, ct, rg);
	cfg.dropped_barriers = dropped;
	cfg.seconds = seconds;
	cfg.max_ops = ops;
	cfg.seed = seed;
	cfg.walkers = (unsigned int)threads;
	cfg.grace_after_violation = stop_first ? 0.05 : -1;
	if (trace) {
		cfg.trace_before_ms = window.trace_before_ms;
		cfg.trace_after_ms = window.trace_after_ms;
	}
	if (no_windows || nwin) {
		cfg.nr_windows = nwin;
		memcpy(cfg.windows, win, nwin * sizeof(win[0]));
	}
	cell = lab_run_cell(&cfg);
	e = ptlab_expect_cell(&cell);
	ptlab_fixes_words(fixes, words, sizeof(words));
	profile_describe(p, props, sizeof(props));
	lab_cli_scenario_words(sc, cfg.kernel, scen, sizeof(scen));
	printf("ptlab race: profile %s, fixes %s, scenario %s, %u walkers, seed %llu",
	       p->name, words, scen, cfg.walkers, (unsigned long long)seed);
	if (dropped) {
		char names[128];

		barrier_list_format(dropped, names, sizeof(names));
		printf(", barriers dropped: %s (memory %s, this host's)", names,
		       memory_model_name(memory_model_host()));
	}
	printf("\n  profile %s: %s\n", p->name, props);
	printf("  race windows (POINT:NS:PROB; --window replaces them, --no-windows removes "
	       "them):");
	for (unsigned int k = 0; k < cfg.nr_windows; k++)
		printf(" %s:%llu:%g%s%s%s", race_point_name(cfg.windows[k].rp),
		       (unsigned long long)cfg.windows[k].delay_ns, cfg.windows[k].probability,
		       cfg.windows[k].jitter ? ":jitter" : "", cfg.windows[k].preempt ? ":preempt" : "",
		       cfg.windows[k].walkers_only ? ":walkers" : "");
	printf("%s\n", cfg.nr_windows ? "" : " none");
	print_expectation(&cfg, &e);
	if (isatty(2))
		lab_set_progress(progress, NULL);
	ret = lab_run(&cfg, &res);
	lab_set_progress(NULL, NULL);
	if (isatty(2))
		fputs("\r\033[K", stderr);
	if (ret) {
		fprintf(stderr, "ptlab: the run failed: %s\n", strerror(-ret));
		return 1;
	}
	printf("  %.2f s, %llu operations (%llu pages), %llu cycles (%.0f/s), %llu collapses, "
	       "%llu refused\n",
	       res.seconds, (unsigned long long)res.ops, (unsigned long long)res.pages,
	       (unsigned long long)res.cycles, res.seconds > 0 ? (double)res.cycles / res.seconds : 0,
	       (unsigned long long)res.collapses, (unsigned long long)res.refusals);
	printf("  violations: ");
	lab_cli_print_counts(stdout, &res);
	printf(" (stale reads proven by the value read: %llu)\n",
	       (unsigned long long)res.stale_read);
	lab_cli_print_evidence(stdout, &res);
	if (res.lost_writes)
		printf("  writes through pins that were lost: %llu\n",
		       (unsigned long long)res.lost_writes);
	if (res.asan_reports)
		printf("  AddressSanitizer reports of walkers reading freed tables: %llu (in %s)\n",
		       (unsigned long long)res.asan_reports, res.asan_log);
	if (res.have_detail)
		lab_cli_print_detail(stdout, &res.first);
	else
		printf("  no violation\n");
	verdict = lab_judge(&cfg, &res, 0, &e, min_overlaps, why, sizeof(why));
	printf("  verdict: %s%s%s%s%s\n", lab_verdict_name(verdict), why[0] ? " (" : "", why,
	       why[0] ? ")" : "",
	       no_rule && verdict != LAB_PASS ? " (--no-rule: not judged by the exit status)" : "");
	ret = json && write_json(json, &cfg, &res, &e, verdict, why, min_overlaps);
	if (trace && !ret)
		ret = write_trace(trace, &cfg, &res);
	lab_result_release(&res);
	if (ret)
		return 1;
	if (res.leaked_frames) {
		fprintf(stderr, "ptlab: %llu frames unaccounted for at teardown\n",
			(unsigned long long)res.leaked_frames);
		return 1;
	}
	return no_rule || verdict == LAB_PASS || verdict == LAB_UNJUDGED ? 0 : 1;
}

int cmd_race(int argc, char **argv)
{
	struct profile_set ps = { 0 };
	int ret = race(argc, argv, &ps);

	profile_set_release(&ps);
	return ret;
}
