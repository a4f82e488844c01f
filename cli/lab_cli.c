// SPDX-License-Identifier: MIT
#include <stdlib.h>
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
	return (f.pmd_recheck ? 1 : 0) + (f.sync != SYNC_NONE ? 2 : 0);
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

static int collapse_table_index(const char *name)
{
	enum collapse_table c;

	return collapse_table_parse(name, &c) ? -1 : (int)c;
}

static int retract_gen_index(const char *name)
{
	enum retract_gen r;

	return retract_gen_parse(name, &r) ? -1 : (int)r;
}

static int sync_policy_index(const char *name)
{
	enum sync_policy s;

	return sync_policy_parse(name, &s) ? -1 : (int)s;
}

static bool parse_sync(const char *value, bool list, struct lab_cli_kernel *k)
{
	char allowed[160];
	int n = 0;

	sync_policy_names(allowed, sizeof(allowed));
	if (list) {
		if (value && !strcmp(value, "all-policies")) {
			memset(k->sync, 1, sizeof(k->sync));
			k->sync_set = true;
			return true;
		}
		strncat(allowed, ", all-policies", sizeof(allowed) - strlen(allowed) - 1);
	}
	if (!parse_list(value, k->sync, SYNC_POLICIES, "unknown sync policy", sync_policy_index,
			allowed))
		return false;
	for (int i = 0; i < SYNC_POLICIES; i++)
		n += k->sync[i];
	if (!list && n > 1) {
		sync_policy_names(allowed, sizeof(allowed));
		cli_error("one sync policy only", value, allowed);
		return false;
	}
	k->sync_set = true;
	return true;
}

size_t lab_cli_fix_settings(const bool fix[PTLAB_FIX_SETTINGS], const struct lab_cli_kernel *k,
			    struct ptlab_fixes out[LAB_CLI_MAX_FIX_SETTINGS])
{
	size_t n = 0;

	for (unsigned int f = 0; f < PTLAB_FIX_SETTINGS; f++) {
		struct ptlab_fixes base = ptlab_fix_setting(f);

		if (!fix[f])
			continue;
		if (base.sync == SYNC_NONE) {
			if (!k->sync_set || k->sync[SYNC_NONE])
				out[n++] = base;
			continue;
		}
		for (int s = SYNC_NONE + 1; s < SYNC_POLICIES; s++)
			if (k->sync_set ? k->sync[s] : s == SYNC_ALL) {
				base.sync = (enum sync_policy)s;
				out[n++] = base;
			}
	}
	return n;
}

bool lab_cli_kernel_parse(int opt, const char *value, bool list, struct lab_cli_kernel *k)
{
	switch (opt) {
	case LAB_CLI_OPT_SYNC:
		return parse_sync(value, list, k);
	case LAB_CLI_OPT_RCU_EVERYWHERE:
		k->rcu_everywhere = true;
		return true;
	case LAB_CLI_OPT_WALKERS:
		if (walker_kinds_parse(value, &k->walkers)) {
			cli_error("unknown walker kinds", value, "gup, rcu, gup,rcu");
			return false;
		}
		return true;
	case LAB_CLI_OPT_UNSHARE_SYNC:
		if (unshare_sync_parse(value, &k->unshare_sync)) {
			cli_error("unknown unshare sync", value, "none, per-unshare, gather");
			return false;
		}
		k->unshare_sync_set = true;
		return true;
	case LAB_CLI_OPT_RETRACT: {
		char allowed[64];
		int n = 0;

		retract_gen_names(allowed, sizeof(allowed));
		if (!parse_list(value, k->retract, RETRACT_COUNT, "unknown retract generation",
				retract_gen_index, allowed))
			return false;
		for (int r = 0; r < RETRACT_COUNT; r++)
			n += k->retract[r];
		if (!list && n > 1) {
			cli_error("one retract generation only", value, allowed);
			return false;
		}
		return true;
	}
	default:
		break;
	}
	if (!parse_list(value, k->collapse_table, COLLAPSE_TABLE_COUNT,
			"unknown collapse-table generation", collapse_table_index,
			"reuse, zap-rcu, fresh"))
		return false;
	if (!list) {
		int n = 0;

		for (int c = 0; c < COLLAPSE_TABLE_COUNT; c++)
			n += k->collapse_table[c];
		if (n > 1) {
			cli_error("one collapse-table generation only", value,
				  "reuse, zap-rcu, fresh");
			return false;
		}
	}
	return true;
}

void lab_cli_default_generations(struct lab_cli_kernel *k)
{
	bool ct = false, rg = false;

	for (int i = 0; i < COLLAPSE_TABLE_COUNT; i++)
		ct |= k->collapse_table[i];
	for (int i = 0; i < RETRACT_COUNT; i++)
		rg |= k->retract[i];
	if (!ct)
		k->collapse_table[COLLAPSE_TABLE_REUSE] = true;
	if (!rg)
		k->retract[RETRACT_FREE] = true;
}

bool lab_cli_generation_wanted(const struct lab_cli_kernel *k, enum scenario s,
			       enum collapse_table ct, enum retract_gen rg)
{
	bool collapse = s == SCENARIO_COLLAPSE_ZAP || s == SCENARIO_COLLAPSE_PIN;

	if (collapse ? !k->collapse_table[ct] : ct != COLLAPSE_TABLE_REUSE)
		return false;
	return s == SCENARIO_RETRACT ? k->retract[rg] : rg == RETRACT_FREE;
}

void lab_cli_scenario_words(enum scenario s, struct ptlab_kernel k, char *buf, size_t len)
{
	const char *gen = k.collapse_table != COLLAPSE_TABLE_REUSE ? collapse_table_name(k.collapse_table)
			  : k.retract != RETRACT_FREE		   ? retract_gen_name(k.retract)
								   : NULL;

	snprintf(buf, len, "%s%s%s", scenario_name(s), gen ? "/" : "", gen ? gen : "");
}

bool lab_cli_walkers_ok(const struct lab_cli_kernel *k, enum scenario s, enum retract_gen rg)
{
	struct ptlab_kernel kernel = { .retract = rg };
	unsigned int allowed_mask = scenario_allowed_walkers(s, kernel);
	char allowed[64] = "", scen[40];

	if (!k->walkers || !(k->walkers & ~allowed_mask))
		return true;
	for (int w = 0; w < WALKER_KINDS; w++)
		if (allowed_mask & WALKER_MASK(w))
			snprintf(allowed + strlen(allowed), sizeof(allowed) - strlen(allowed),
				 "%s%s", allowed[0] ? ", " : "", walker_kind_name((enum walker_kind)w));
	lab_cli_scenario_words(s, kernel, scen, sizeof(scen));
	fprintf(stderr, "ptlab: walker kinds not run in scenario %s: ", scen);
	for (int w = 0, n = 0; w < WALKER_KINDS; w++)
		if (k->walkers & ~allowed_mask & WALKER_MASK(w))
			fprintf(stderr, "%s%s", n++ ? "," : "", walker_kind_name((enum walker_kind)w));
	fprintf(stderr, " (allowed: %s; RCU walkers hold mmap_lock for read, which the "
			"writers of that scenario hold for write)\n", allowed);
	return false;
}

void lab_cli_kernel_apply(struct lab_run_config *cfg, const struct lab_cli_kernel *k,
			  enum collapse_table ct, enum retract_gen rg)
{
	cfg->kernel.collapse_table = ct;
	cfg->kernel.retract = rg;
	cfg->kernel.rcu_everywhere = k->rcu_everywhere;
	if (k->unshare_sync_set)
		cfg->kernel.unshare_sync = k->unshare_sync;
	cfg->walker_kinds = k->walkers ? k->walkers
				       : scenario_default_walkers(cfg->scenario, cfg->kernel);
}

void lab_cli_kinds_text(unsigned int walkers, const bool kinds[WALKER_KINDS][VIOLATION_KINDS],
			char *buf, size_t len)
{
	bool both = walkers == (WALKER_MASK(WALKER_GUP) | WALKER_MASK(WALKER_RCU));
	size_t used = 0;

	buf[0] = '\0';
	for (int w = 0; w < WALKER_KINDS && used < len; w++) {
		size_t start;

		if (!(walkers & WALKER_MASK(w)))
			continue;
		if (both)
			used += (size_t)snprintf(buf + used, len - used, "%s%s: ",
						 used ? "; " : "",
						 walker_kind_name((enum walker_kind)w));
		start = used;
		for (int k = 0; k < VIOLATION_KINDS && used < len; k++)
			if (kinds[w][k])
				used += (size_t)snprintf(buf + used, len - used, "%s%s",
							 used > start ? ", " : "",
							 violation_kind_name((enum violation_kind)k));
		if (used == start && used < len)
			used += (size_t)snprintf(buf + used, len - used, "-");
	}
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
	if (e->overlaps_by_walker[WALKER_RCU])
		fprintf(f, "  by walker kind: gup %llu overlaps, %llu defended; rcu %llu overlaps, "
			   "%llu defended\n",
			(unsigned long long)e->overlaps_by_walker[WALKER_GUP],
			(unsigned long long)e->defended_by_walker[WALKER_GUP],
			(unsigned long long)e->overlaps_by_walker[WALKER_RCU],
			(unsigned long long)e->defended_by_walker[WALKER_RCU]);
	if (r->table_moves)
		fprintf(f, "  mremap: %llu tables moved whole; aba: %llu sections whose table moved "
			   "(and back) inside them and whose re-checks passed (%llu at the PUD "
			   "level), %llu of them returned a page not mapped there\n",
			(unsigned long long)r->table_moves, (unsigned long long)e->aba,
			(unsigned long long)e->aba_pud, (unsigned long long)e->aba_wrong);
	if (e->lost_events)
		fprintf(f, "  (%llu logged events were overwritten before they were read: the "
			   "counts above are lower bounds)\n",
			(unsigned long long)e->lost_events);
	if (e->dropped_events)
		fprintf(f, "  (%llu logged events were dropped by the evidence's cap: the counts "
			   "above are lower bounds)\n",
			(unsigned long long)e->dropped_events);
	for (int k = 0; k < LAB_FAILURE_KINDS; k++)
		if (r->failures[k])
			fprintf(f, "  scenario step that failed: %s x%llu\n",
				lab_failure_name((enum lab_failure_kind)k),
				(unsigned long long)r->failures[k]);
}

bool lab_cli_drop_barriers(const char *list, unsigned int *mask)
{
	char err[768];
	unsigned int m;

	if (barrier_list_parse(list, &m, err, sizeof(err)) ||
	    !lab_barriers_droppable(m, err, sizeof(err))) {
		fprintf(stderr, "ptlab: bad --drop-barrier %s: %s\n", list ? list : "", err);
		return false;
	}
	*mask |= m;
	return true;
}

void lab_cli_json_result(struct json *j, const struct lab_run_config *cfg,
			 const struct lab_result *r)
{
	const struct lab_evidence_counts *e = &r->evidence;

	json_string(j, "profile", cfg->profile.name);
	json_string(j, "scenario", scenario_name(cfg->scenario));
	json_bool(j, "pmd_recheck", cfg->fixes.pmd_recheck);
	json_bool(j, "ipi_sync", cfg->fixes.sync != SYNC_NONE);
	json_string(j, "sync", sync_policy_name(cfg->fixes.sync));
	/* The lab runs on the host's memory model, with every barrier but
	 * those --drop-barrier left out. */
	lab_cli_json_memory(j, memory_model_host(), cfg->dropped_barriers);
	json_u64(j, "ops", r->ops);
	json_object_begin(j, "violations");
	for (int k = 0; k < VIOLATION_KINDS; k++)
		json_u64(j, violation_kind_name((enum violation_kind)k), r->violations[k]);
	json_object_end(j);
	json_array_begin(j, "walkers");
	for (int w = 0; w < WALKER_KINDS; w++)
		if (cfg->walker_kinds & WALKER_MASK(w))
			json_string(j, NULL, walker_kind_name((enum walker_kind)w));
	json_array_end(j);
	json_object_begin(j, "violations_by_walker");
	for (int w = 0; w < WALKER_KINDS; w++) {
		if (!(cfg->walker_kinds & WALKER_MASK(w)))
			continue;
		json_object_begin(j, walker_kind_name((enum walker_kind)w));
		json_u64(j, "ops", r->ops_by_walker[w]);
		for (int k = 0; k < VIOLATION_KINDS; k++)
			json_u64(j, violation_kind_name((enum violation_kind)k),
				 r->violations_by_walker[w][k]);
		json_object_end(j);
	}
	json_object_end(j);
	json_string(j, "collapse_table", collapse_table_name(cfg->kernel.collapse_table));
	json_string(j, "retract", retract_gen_name(cfg->kernel.retract));
	json_bool(j, "rcu_everywhere", cfg->kernel.rcu_everywhere);
	json_bool(j, "pt_reclaim", cfg->kernel.pt_reclaim);
	json_string(j, "unshare_sync",
		    unshare_sync_name(ptlab_unshare_sync(cfg->kernel, cfg->fixes)));
	json_u64(j, "unheld", r->violations[VIOLATION_STALE_TABLE]);
	json_u64(j, "stale_read", r->stale_read);
	if (r->first_violation_ms >= 0)
		json_double(j, "first_violation_ms", r->first_violation_ms);
	else
		json_null(j, "first_violation_ms");
	json_u64(j, "overlaps", e->overlaps);
	json_u64(j, "defended", e->defended);
	json_object_begin(j, "overlaps_by_walker");
	for (int w = 0; w < WALKER_KINDS; w++)
		if (cfg->walker_kinds & WALKER_MASK(w))
			json_u64(j, walker_kind_name((enum walker_kind)w), e->overlaps_by_walker[w]);
	json_object_end(j);
	json_object_begin(j, "defended_by_walker");
	for (int w = 0; w < WALKER_KINDS; w++)
		if (cfg->walker_kinds & WALKER_MASK(w))
			json_u64(j, walker_kind_name((enum walker_kind)w), e->defended_by_walker[w]);
	json_object_end(j);
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
	json_u64(j, "dropped_events", e->dropped_events);
	json_u64(j, "pages", r->pages);
	json_u64(j, "refusals", r->refusals);
	json_u64(j, "cycles", r->cycles);
	json_double(j, "cycles_per_sec", r->seconds > 0 ? (double)r->cycles / r->seconds : 0);
	json_u64(j, "collapses", r->collapses);
	json_u64(j, "zap_table_frees", r->zap_table_frees);
	json_u64(j, "unlinks", r->unlinks);
	json_u64(j, "pmd_table_unlinks", r->pmd_table_unlinks);
	json_u64(j, "table_moves", r->table_moves);
	json_u64(j, "aba", e->aba);
	json_u64(j, "aba_pud", e->aba_pud);
	json_u64(j, "aba_wrong", e->aba_wrong);
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
	json_u64(j, "threads", cfg->walkers);
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

void lab_cli_json_kinds(struct json *j, const char *key, const bool kinds[VIOLATION_KINDS])
{
	json_array_begin(j, key);
	for (int k = 0; k < VIOLATION_KINDS; k++)
		if (kinds[k])
			json_string(j, NULL, violation_kind_name((enum violation_kind)k));
	json_array_end(j);
}

void lab_cli_json_kinds_by_walker(struct json *j, const char *key, unsigned int walkers,
				  const bool kinds[WALKER_KINDS][VIOLATION_KINDS])
{
	json_object_begin(j, key);
	for (int w = 0; w < WALKER_KINDS; w++)
		if (walkers & WALKER_MASK(w))
			lab_cli_json_kinds(j, walker_kind_name((enum walker_kind)w), kinds[w]);
	json_object_end(j);
}

void lab_cli_json_model(struct json *j, const struct ptlab_cell *c,
			const struct ptlab_model_result *r)
{
	json_string(j, "model_verdict", model_verdict_name(r->verdict));
	json_u64(j, "states", r->states);
	json_double(j, "seconds", r->seconds);
	if (r->verdict == MODEL_UNSAFE) {
		json_string(j, "violation", violation_kind_name(r->kind));
		json_string(j, "violation_walker", walker_kind_name(r->walker));
	} else {
		json_null(j, "violation");
		json_null(j, "violation_walker");
	}
	lab_cli_json_kinds(j, "violations", r->found);
	lab_cli_json_kinds_by_walker(j, "violations_by_walker", ptlab_cell_walkers(c),
				     r->found_by_walker);
	/* A safe cell's steps are the ABA witness's trail (mremap). */
	json_array_begin(j, "counterexample");
	for (size_t i = 0; r->verdict == MODEL_UNSAFE && i < r->nsteps; i++)
		json_string(j, NULL, r->steps[i]);
	json_array_end(j);
	if (c->scenario == SCENARIO_MREMAP) {
		json_bool(j, "aba_witness", r->aba_witness);
		json_array_begin(j, "aba_trail");
		for (size_t i = 0; r->verdict == MODEL_SAFE && i < r->nsteps; i++)
			json_string(j, NULL, r->steps[i]);
		json_array_end(j);
	}
	if (r->verdict == MODEL_ERROR)
		json_string(j, "error", r->error);
}

bool lab_cli_trace_window(const char *spec, struct lab_run_config *cfg)
{
	char before[64], *after;

	if (!spec || strlen(spec) >= sizeof(before))
		goto bad;
	strcpy(before, spec);
	after = strchr(before, ':');
	if (after)
		*after++ = '\0';
	if (!cli_parse_double(before, 0.01, LAB_TRACE_MAX_MS, &cfg->trace_before_ms) ||
	    (after && !cli_parse_double(after, 0, LAB_TRACE_MAX_MS, &cfg->trace_after_ms)))
		goto bad;
	if (!after)
		cfg->trace_after_ms = LAB_TRACE_AFTER_MS;
	return true;
bad:
	cli_error("bad --trace-window", spec ? spec : "(none)",
		  "BEFORE[:AFTER] in ms, BEFORE 0.01..1000, AFTER 0..1000");
	return false;
}

void lab_cli_json_printed(struct json *j, const char *key, void (*print)(FILE *, const void *),
			  const void *arg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return;
	print(f, arg);
	if (!fclose(f)) {
		/* without the last newline */
		if (len && text[len - 1] == '\n')
			text[len - 1] = '\0';
		json_string(j, key, text);
	}
	free(text);
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
	json_object_begin(j, "possible_by_walker");
	for (int w = 0; w < WALKER_KINDS; w++) {
		json_array_begin(j, walker_kind_name((enum walker_kind)w));
		for (int k = 0; k < VIOLATION_KINDS; k++)
			if (e->by_walker[w][k])
				json_string(j, NULL, violation_kind_name((enum violation_kind)k));
		json_array_end(j);
	}
	json_object_end(j);
	json_u64(j, "min_overlaps", min_overlaps);
	json_string(j, "verdict", lab_verdict_name(v));
	if (why && *why)
		json_string(j, "verdict_reason", why);
}

void lab_cli_json_memory(struct json *j, enum memory_model m, unsigned int dropped)
{
	json_string(j, "memory", memory_model_name(m));
	json_array_begin(j, "dropped_barriers");
	for (int b = 0; b < BARRIERS; b++)
		if (dropped & BARRIER_BIT(b))
			json_string(j, NULL, barrier_info((enum barrier)b)->name);
	json_array_end(j);
}
