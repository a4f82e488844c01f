// SPDX-License-Identifier: MIT
#include <string.h>

#include "lab_cli.h"
#include "util/cli.h"

struct list_marks {
	bool *out;
	int (*lookup)(const char *name);
	const char *what, *allowed;
};

static int mark_name(const char *name, void *arg)
{
	struct list_marks *m = arg;
	int i = m->lookup(name);

	if (i < 0)
		return cli_error(m->what, name, m->allowed);
	m->out[i] = true;
	return 0;
}

/* Marks each name of the comma-separated @list in @out; @lookup returns
 * the index of a name or -1. */
static bool parse_list(const char *list, bool out[], size_t n, const char *what,
		       int (*lookup)(const char *name), const char *allowed)
{
	struct list_marks m = { out, lookup, what, allowed };

	memset(out, 0, n * sizeof(*out));
	return cli_for_each_name(list, allowed, mark_name, &m) == 0;
}

static int profile_index(const char *name)
{
	const struct ptlab_profile *p = ptlab_profile_find(name);

	return p ? (int)(p - ptlab_profiles()) : -1;
}

static int scenario_index(const char *name)
{
	enum scenario s;

	return scenario_parse(name, &s) ? -1 : (int)s;
}

static int fixes_index(const char *name)
{
	struct ptlab_fixes f;

	if (ptlab_fixes_parse(name, &f))
		return -1;
	return (f.pmd_recheck ? 1 : 0) + (f.ipi_sync ? 2 : 0);
}

bool lab_cli_profiles(const char *list, bool out[], size_t n)
{
	char allowed[256];

	ptlab_profile_names(allowed, sizeof(allowed));
	return parse_list(list, out, n, "unknown profile", profile_index, allowed);
}

bool lab_cli_scenarios(const char *list, bool out[SCENARIO_COUNT])
{
	char allowed[128];

	scenario_names(allowed, sizeof(allowed));
	return parse_list(list, out, SCENARIO_COUNT, "unknown scenario", scenario_index, allowed);
}

bool lab_cli_fixes(const char *list, bool out[PTLAB_FIX_SETTINGS])
{
	return parse_list(list, out, PTLAB_FIX_SETTINGS, "unknown fix setting", fixes_index,
			  "none, pmd-recheck, ipi-sync, both");
}

void lab_cli_print_counts(FILE *f, const struct lab_result *r)
{
	for (int k = 0; k < VIOLATION_KINDS; k++)
		fprintf(f, "%s%s=%llu", k ? " " : "", violation_kind_name((enum violation_kind)k),
			(unsigned long long)r->violations[k]);
}

void lab_cli_print_detail(FILE *f, const struct lab_violation_detail *d)
{
	fprintf(f, "  first violation (%s) at %.1f ms: %s\n",
		violation_kind_name(d->kind), d->at_ms, d->what);
	if (d->history[0])
		fprintf(f, "  what happened to that table: %s\n", d->history);
}

void lab_cli_print_evidence(FILE *f, const struct lab_result *r)
{
	const struct lab_evidence_counts *e = &r->evidence;

	fprintf(f, "  evidence: %llu overlaps (unlinks that met a walker inside its section), "
		   "%llu defended: held off %llu (flush %llu, sync %llu, grace period %llu), "
		   "re-check caught %llu, isolation refused %llu; %llu undefended\n",
		(unsigned long long)e->overlaps, (unsigned long long)e->defended,
		(unsigned long long)e->held_off, (unsigned long long)e->by[LAB_HELD_OFF_FLUSH],
		(unsigned long long)e->by[LAB_HELD_OFF_SYNC],
		(unsigned long long)e->by[LAB_HELD_OFF_GRACE_PERIOD],
		(unsigned long long)e->by[LAB_RECHECK_CAUGHT],
		(unsigned long long)e->by[LAB_ISOLATION_REFUSED],
		(unsigned long long)e->by[LAB_UNDEFENDED]);
	if (e->lost_events)
		fprintf(f, "  (%llu logged events were overwritten before they were read: the "
			   "counts above are lower bounds)\n",
			(unsigned long long)e->lost_events);
	for (int k = 0; k < LAB_FAILURE_KINDS; k++)
		if (r->failures[k])
			fprintf(f, "  scenario step that failed: %s x%llu\n",
				lab_failure_name((enum lab_failure_kind)k),
				(unsigned long long)r->failures[k]);
}

void lab_cli_json_result(struct json *j, const struct lab_run_config *cfg,
			 const struct lab_result *r)
{
	const struct lab_evidence_counts *e = &r->evidence;

	json_string(j, "profile", cfg->profile.name);
	json_string(j, "scenario", scenario_name(cfg->scenario));
	json_bool(j, "pmd_recheck", cfg->fixes.pmd_recheck);
	json_bool(j, "ipi_sync", cfg->fixes.ipi_sync);
	json_u64(j, "ops", r->ops);
	json_object_begin(j, "violations");
	for (int k = 0; k < VIOLATION_KINDS; k++)
		json_u64(j, violation_kind_name((enum violation_kind)k), r->violations[k]);
	json_object_end(j);
	json_u64(j, "unheld", r->violations[VIOLATION_STALE_TABLE]);
	json_u64(j, "stale_read", r->stale_read);
	if (r->first_violation_ms >= 0)
		json_double(j, "first_violation_ms", r->first_violation_ms);
	else
		json_null(j, "first_violation_ms");
	json_u64(j, "overlaps", e->overlaps);
	json_u64(j, "defended", e->defended);
	json_u64(j, "held_off", e->held_off);
	json_object_begin(j, "held_off_by");
	json_u64(j, "flush", e->by[LAB_HELD_OFF_FLUSH]);
	json_u64(j, "sync", e->by[LAB_HELD_OFF_SYNC]);
	json_u64(j, "grace_period", e->by[LAB_HELD_OFF_GRACE_PERIOD]);
	json_object_end(j);
	json_u64(j, "recheck_caught", e->by[LAB_RECHECK_CAUGHT]);
	json_u64(j, "isolation_refused", e->by[LAB_ISOLATION_REFUSED]);
	json_u64(j, "undefended", e->by[LAB_UNDEFENDED]);
	json_u64(j, "sections_logged", e->sections);
	json_u64(j, "lost_events", e->lost_events);
	json_u64(j, "pages", r->pages);
	json_u64(j, "refusals", r->refusals);
	json_u64(j, "cycles", r->cycles);
	json_double(j, "cycles_per_sec", r->seconds > 0 ? (double)r->cycles / r->seconds : 0);
	json_u64(j, "collapses", r->collapses);
	json_u64(j, "zap_table_frees", r->zap_table_frees);
	json_u64(j, "unlinks", r->unlinks);
	json_object_begin(j, "failures");
	for (int k = 0; k < LAB_FAILURE_KINDS; k++)
		json_u64(j, lab_failure_name((enum lab_failure_kind)k), r->failures[k]);
	json_object_end(j);
	json_u64(j, "lost_writes", r->lost_writes);
	json_u64(j, "asan_reports", r->asan_reports);
	if (r->asan_log[0])
		json_string(j, "asan_log", r->asan_log);
	json_u64(j, "leaked_frames", r->leaked_frames);
	json_double(j, "seconds", r->seconds);
	json_u64(j, "walkers", cfg->walkers);
	json_u64(j, "seed", cfg->seed);
	if (r->have_detail) {
		json_object_begin(j, "first_violation");
		json_string(j, "kind", violation_kind_name(r->first.kind));
		json_double(j, "at_ms", r->first.at_ms);
		json_i64(j, "cpu", r->first.cpu);
		json_u64(j, "addr", r->first.addr);
		if (r->first.table_pfn != PFN_NONE) {
			json_u64(j, "table_pfn", r->first.table_pfn);
			json_u64(j, "generation_seen", r->first.gen_seen);
			json_u64(j, "generation_now", r->first.gen_now);
		}
		if (r->first.page_pfn != PFN_NONE) {
			json_u64(j, "page_pfn", r->first.page_pfn);
			json_u64(j, "page_index", r->first.page_index);
		}
		json_string(j, "what", r->first.what);
		json_string(j, "history", r->first.history);
		json_object_end(j);
	}
}

void lab_cli_json_verdict(struct json *j, const struct ptlab_expectation *e,
			  enum lab_verdict v, const char *why, uint64_t min_overlaps)
{
	json_string(j, "expected", e->unsafe ? "unsafe" : "safe");
	json_array_begin(j, "possible");
	for (int k = 0; k < VIOLATION_KINDS; k++)
		if (e->possible[k])
			json_string(j, NULL, violation_kind_name((enum violation_kind)k));
	json_array_end(j);
	json_u64(j, "min_overlaps", min_overlaps);
	json_string(j, "verdict", lab_verdict_name(v));
	if (why && *why)
		json_string(j, "verdict_reason", why);
}
