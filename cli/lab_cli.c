// SPDX-License-Identifier: MIT
#include <string.h>

#include "lab_cli.h"
#include "util/cli.h"

/* Splits @list on commas and marks each name's index; @lookup returns the
 * index of a name or -1. */
static bool parse_list(const char *list, bool out[], size_t n, const char *what,
		       int (*lookup)(const char *name), const char *allowed)
{
	char buf[512], *save = NULL, *tok;

	memset(out, 0, n * sizeof(*out));
	if (!list || !*list || strlen(list) >= sizeof(buf)) {
		cli_error(what, list ? list : "(none)", allowed);
		return false;
	}
	strcpy(buf, list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int i = lookup(tok);

		if (i < 0) {
			cli_error(what, tok, allowed);
			return false;
		}
		out[i] = true;
	}
	return true;
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

void lab_cli_json_result(struct json *j, const struct lab_run_config *cfg,
			 const struct lab_result *r)
{
	json_string(j, "profile", cfg->profile.name);
	json_string(j, "scenario", scenario_name(cfg->scenario));
	json_bool(j, "pmd_recheck", cfg->fixes.pmd_recheck);
	json_bool(j, "ipi_sync", cfg->fixes.ipi_sync);
	json_u64(j, "ops", r->ops);
	json_object_begin(j, "violations");
	for (int k = 0; k < VIOLATION_KINDS; k++)
		json_u64(j, violation_kind_name((enum violation_kind)k), r->violations[k]);
	json_object_end(j);
	if (r->first_violation_ms >= 0)
		json_double(j, "first_violation_ms", r->first_violation_ms);
	else
		json_null(j, "first_violation_ms");
	json_u64(j, "pages", r->pages);
	json_u64(j, "cycles", r->cycles);
	json_double(j, "cycles_per_sec", r->seconds > 0 ? (double)r->cycles / r->seconds : 0);
	json_u64(j, "collapses", r->collapses);
	json_u64(j, "lost_writes", r->lost_writes);
	json_u64(j, "asan_reports", r->asan_reports);
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
