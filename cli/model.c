// SPDX-License-Identifier: MIT
/*
 * ptlab model: every cell (profile x fixes x scenario, with the kernel
 * generations and walker kinds asked for), checked exhaustively with the
 * Spin model; each verdict compared with the rule (ptlab_expect_cell()),
 * walker kind by walker kind.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "lab_cli.h"
#include "profile_set.h"
#include "ptlab/model.h"
#include "trace_json.h"
#include "util/cli.h"
#include "util/json.h"
#include "util/time.h"

#define FIX_NAMES "none, pmd-recheck, ipi-sync, both"
/* Bounds a model file read with --model. */
#define MODEL_FILE_MAX (1u << 20)

struct model_args {
	/* --profiles and --profile-file (none: every built-in profile) */
	struct profile_set profiles;
	enum scenario scenarios[SCENARIO_COUNT];
	size_t nscenarios;
	/* --fixes (none selected: all four), then with --sync the settings
	 * the cells run (lab_cli_fix_settings()) */
	bool fix[PTLAB_FIX_SETTINGS];
	struct ptlab_fixes fixes[LAB_CLI_MAX_FIX_SETTINGS];
	size_t nfixes;
	const char *json_path;
	const char *trace_dir;
	const char *model_path;
	const char **defines;
	size_t ndefines;
	/* --walkers, --collapse-table, --retract, --rcu-everywhere,
	 * --unshare-sync, --sync */
	struct lab_cli_kernel kernel;
	/* --memory (none: sc alone), in the order given */
	enum memory_model memories[MEMORY_MODELS];
	size_t nmemories;
	/* --drop-barrier: BARRIER_BIT()s */
	unsigned int dropped;
	bool list_barriers;
	struct ptlab_model_options opts;
};

/* ---- option parsing ---- */

static int add_scenario(const char *name, void *arg)
{
	struct model_args *a = arg;
	enum scenario s;
	char allowed[128];

	if (scenario_parse(name, &s)) {
		scenario_names(allowed, sizeof(allowed));
		return cli_error("unknown scenario", name, allowed);
	}
	for (size_t i = 0; i < a->nscenarios; i++)
		if (a->scenarios[i] == s)
			return 0;
	a->scenarios[a->nscenarios++] = s;
	return 0;
}

static int add_fixes(const char *name, void *arg)
{
	struct model_args *a = arg;
	struct ptlab_fixes f;

	if (ptlab_fixes_parse(name, &f))
		return cli_error("unknown fix setting", name, FIX_NAMES);
	a->fix[(f.pmd_recheck ? 1 : 0) + (f.sync != SYNC_NONE ? 2 : 0)] = true;
	return 0;
}

static int add_memory(const char *name, void *arg)
{
	struct model_args *a = arg;
	enum memory_model m;
	char allowed[64];

	if (memory_model_parse(name, &m)) {
		memory_model_names(allowed, sizeof(allowed));
		return cli_error("unknown memory model", name, allowed);
	}
	for (size_t i = 0; i < a->nmemories; i++)
		if (a->memories[i] == m)
			return 0;
	a->memories[a->nmemories++] = m;
	return 0;
}

static int add_dropped(struct model_args *a, const char *list)
{
	char err[768];
	unsigned int mask;

	if (barrier_list_parse(list, &mask, err, sizeof(err))) {
		return cli_error("bad --drop-barrier", list, err);
	}
	a->dropped |= mask;
	return 0;
}

/*
 * Every --memory model must have every dropped barrier: none under sc,
 * where nothing is reordered, and none that the kernel has only under the
 * other one (x86's locked instructions are tso's; the IPI's release and
 * the grace period's ordering are weak's, TSO giving them for free).
 */
static int check_dropped(const struct model_args *a)
{
	for (size_t i = 0; a->dropped && i < a->nmemories; i++) {
		enum memory_model m = a->memories[i];

		if (m == MEMORY_SC) {
			fprintf(stderr, "ptlab: --drop-barrier needs --memory tso or weak (or "
					"both): under sc no access is reordered, so no barrier "
					"is there to drop\n");
			return CLI_EXIT_USAGE;
		}
		for (int b = 0; b < BARRIERS; b++) {
			const struct barrier_info *bi = barrier_info((enum barrier)b);

			if ((a->dropped & BARRIER_BIT(b)) && !(bi->models & (1u << m))) {
				fprintf(stderr, "ptlab: --drop-barrier %s: the kernel has no such "
						"barrier under --memory %s (%s)\n", bi->name,
					memory_model_name(m), bi->orders);
				return CLI_EXIT_USAGE;
			}
		}
	}
	return 0;
}

/* --list-barriers: each barrier, the memory models that have it, the kernel
 * line it stands for and what it orders. */
static void list_barriers(void)
{
	for (int b = 0; b < BARRIERS; b++) {
		const struct barrier_info *bi = barrier_info((enum barrier)b);
		char models[32] = "";

		for (int m = MEMORY_TSO; m < MEMORY_MODELS; m++)
			if (bi->models & (1u << m))
				snprintf(models + strlen(models), sizeof(models) - strlen(models),
					 "%s%s", models[0] ? "," : "",
					 memory_model_name((enum memory_model)m));
		printf("%-16s %-9s %s\n", bi->name, models, bi->kernel);
		printf("%-16s %-9s orders %s%s\n", "", "", bi->orders,
		       bi->lab ? "; the stress lab can drop it too (race, matrix)" : "");
	}
}

/* The longest --define: spin's preprocessor overflows on long ones. */
#define DEFINE_MAX 128

/* NAME or NAME=VALUE, both made of letters, digits and '_'. */
static bool define_valid(const char *d)
{
	size_t name = strspn(d, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			     "0123456789_");

	if (!name || (d[0] >= '0' && d[0] <= '9') || strlen(d) > DEFINE_MAX)
		return false;
	if (d[name] == '\0')
		return true;
	return d[name] == '=' &&
	       d[name + 1 + strspn(d + name + 1,
				   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				   "0123456789_")] == '\0';
}

static int add_define(struct model_args *a, const char *d)
{
	const char **more;

	if (!define_valid(d))
		return cli_error("bad --define", d,
				 "NAME or NAME=VALUE of letters, digits and _, at most 128 characters");
	more = realloc(a->defines, (a->ndefines + 1) * sizeof(*more));
	if (!more)
		return cli_error("out of memory", d, NULL);
	a->defines = more;
	a->defines[a->ndefines++] = d;
	return 0;
}

static int parse_u64_option(const char *what, const char *v, uint64_t min,
			    uint64_t max, uint64_t *out)
{
	char allowed[64];

	if (cli_parse_u64(v, min, max, out))
		return 0;
	snprintf(allowed, sizeof(allowed), "%llu..%llu", (unsigned long long)min,
		 (unsigned long long)max);
	return cli_error(what, v, allowed);
}

enum {
	OPT_PROFILES = 'p', OPT_SCENARIOS = 's', OPT_FIXES = 'f', OPT_JOBS = 'j',
	OPT_PROFILE_FILE = CLI_OPT_FIRST, OPT_JSON, OPT_MODEL, OPT_DEFINE, OPT_MAX_DEPTH,
	OPT_MEMORY_MB, OPT_KEEP, OPT_TRACE, OPT_MEMORY, OPT_DROP_BARRIER, OPT_LIST_BARRIERS,
};

static const struct cli_opt options[] = {
	{ "profiles", OPT_PROFILES, "LIST",
	  "comma-separated profiles (default all, or none with --profile-file)" },
	{ "profile-file", OPT_PROFILE_FILE, "FILE",
	  "also a profile of your own: one entry of `ptlab profiles --json` in a file, "
	  "renamed (repeatable)" },
	{ "scenarios", OPT_SCENARIOS, "LIST", "comma-separated scenarios (default all)" },
	{ "fixes", OPT_FIXES, "LIST", FIX_NAMES " (default all)" },
	LAB_CLI_KERNEL_OPTIONS,
	{ "memory", OPT_MEMORY, "LIST",
	  "memory models, sc, tso, weak (default sc): each cell once per model; tso is "
	  "x86's store buffers, weak an arm64-like model (docs/memory.md)" },
	{ "drop-barrier", OPT_DROP_BARRIER, "LIST",
	  "leave out these named barriers (--list-barriers), with --memory tso or weak; such "
	  "cells are reported, not judged (the rule assumes every barrier)" },
	{ "list-barriers", OPT_LIST_BARRIERS, NULL,
	  "list the named barriers, the memory models that have them and the kernel line "
	  "each stands for, and exit" },
	{ "jobs", OPT_JOBS, "N", "cells checked at once, 1..256 (default: online CPUs)" },
	{ "json", OPT_JSON, "FILE", "write the cells as JSON (docs/model.md)" },
	{ "model", OPT_MODEL, "FILE", "check another model file instead of the embedded one" },
	{ "define", OPT_DEFINE, "NAME[=V]",
	  "pass -DNAME[=V] to spin (repeatable), e.g. SEED_BUG_SYNC_BEFORE_CLEAR, "
	  "SPLIT_AFTER_COLLAPSE, NWALKERS=3" },
	{ "max-depth", OPT_MAX_DEPTH, "N",
	  "pan's depth bound (default " CLI_XSTR(PTLAB_MODEL_DEPTH) "); reaching it is an "
	  "error" },
	{ "memory-mb", OPT_MEMORY_MB, "N",
	  "pan's memory bound (default " CLI_XSTR(PTLAB_MODEL_MEMORY_MB) "); reaching it is "
	  "an error" },
	{ "keep", OPT_KEEP, "DIR", "keep each cell's files (model, pan, trail) in DIR/<cell>/" },
	{ "trace", OPT_TRACE, "DIR",
	  "write each counterexample as Chrome trace-event JSON, one track per model "
	  "process: DIR/<cell>.json" },
	CLI_OPTS_END
};

static const struct cli_command cmd = {
	.name = "model",
	.synopsis = "[options]",
	.about = "Checks each cell (profile x fixes x scenario) exhaustively with the Spin\n"
		 "model (model/ptlab.pml, embedded in ptlab): safe when the complete search\n"
		 "finds no violation, unsafe with a counterexample in the protocol's words.\n"
		 "Each verdict, and the kinds of violation each kind of walker showed, is\n"
		 "compared with the rule.\n",
	.opts = options,
	.notes = "Needs spin and gcc (apt-get install spin gcc).\n"
		 "Environment: PTLAB_MODEL_CACHE=DIR keeps each cell's search outputs in\n"
		 "DIR (created if missing) and reads them back for a cell checked before\n"
		 "with the same model, switches, bounds and tools (docs/model.md).\n"
		 "Exit status: 0 every cell agrees with the rule, 1 a disagreement or a\n"
		 "cell without a verdict, 2 a usage error.\n",
};

/* Takes option @opt with value @v; 0, or the exit status of a usage error. */
static int parse_option(int opt, const char *v, struct model_args *a)
{
	char allowed[512];
	uint64_t n;

	switch (opt) {
	case OPT_PROFILES:
		return profile_set_add_names(&a->profiles, v) ? 0 : CLI_EXIT_USAGE;
	case OPT_PROFILE_FILE:
		return profile_set_add_file(&a->profiles, v) ? 0 : CLI_EXIT_USAGE;
	case OPT_SCENARIOS:
		scenario_names(allowed, sizeof(allowed));
		return cli_for_each_name(v, allowed, add_scenario, a);
	case OPT_FIXES:
		return cli_for_each_name(v, FIX_NAMES, add_fixes, a);
	case OPT_DEFINE:
		return add_define(a, v);
	case OPT_MEMORY:
		return cli_for_each_name(v, "sc, tso, weak", add_memory, a);
	case OPT_DROP_BARRIER:
		return add_dropped(a, v);
	case OPT_LIST_BARRIERS:
		a->list_barriers = true;
		return 0;
	case OPT_JSON:
		a->json_path = v;
		return 0;
	case OPT_MODEL:
		a->model_path = v;
		return 0;
	case OPT_KEEP:
		a->opts.keep_dir = v;
		return 0;
	case OPT_TRACE:
		a->trace_dir = v;
		return 0;
	case OPT_JOBS:
		if (parse_u64_option("bad --jobs", v, 1, 256, &n))
			return CLI_EXIT_USAGE;
		a->opts.jobs = (unsigned int)n;
		return 0;
	case OPT_MAX_DEPTH:
		return parse_u64_option("bad --max-depth", v, 1, 100000000, &a->opts.max_depth);
	case OPT_MEMORY_MB:
		return parse_u64_option("bad --memory-mb", v, 1, 1048576, &a->opts.memory_mb);
	default:
		if (lab_cli_kernel_option(opt))
			return lab_cli_kernel_parse(opt, v, true, &a->kernel) ? 0 : CLI_EXIT_USAGE;
		break;
	}
	return 0;
}

/* Every profile, scenario and fix setting that no option narrowed. */
static void default_lists(struct model_args *a)
{
	profile_set_default(&a->profiles);
	if (!a->fix[0] && !a->fix[1] && !a->fix[2] && !a->fix[3])
		memset(a->fix, 1, sizeof(a->fix));
	a->nfixes = lab_cli_fix_settings(a->fix, &a->kernel, a->fixes);
	if (!a->nscenarios) {
		for (unsigned int i = 0; i < SCENARIO_COUNT; i++)
			a->scenarios[i] = (enum scenario)i;
		a->nscenarios = SCENARIO_COUNT;
	}
	lab_cli_default_generations(&a->kernel);
	if (!a->nmemories)
		a->memories[a->nmemories++] = MEMORY_SC;
}

/* The whole file, NUL-terminated; NULL with errno set. */
static char *read_model_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t len;

	if (!f)
		return NULL;
	buf = malloc(MODEL_FILE_MAX + 1);
	if (!buf) {
		fclose(f);
		errno = ENOMEM;
		return NULL;
	}
	len = fread(buf, 1, MODEL_FILE_MAX + 1, f);
	if (ferror(f) || len > MODEL_FILE_MAX) {
		int err = ferror(f) ? EIO : EFBIG;

		free(buf);
		fclose(f);
		errno = err;
		return NULL;
	}
	fclose(f);
	buf[len] = '\0';
	return buf;
}

/* ---- output ---- */

static const char *expected_name(const struct ptlab_cell *c)
{
	return ptlab_expect_cell(c).unsafe ? "unsafe" : "safe";
}

/* The scenario with the cell's generation where it is not the default. */
static void scenario_text(const struct ptlab_cell *c, char *buf, size_t len)
{
	lab_cli_scenario_words(c->scenario, c->kernel, buf, len);
}

static void print_header(FILE *f)
{
	fprintf(f, "%-16s %-22s %-21s %-6s %-8s %-7s %8s %7s  %-5s %s\n", "profile", "fixes",
		"scenario", "memory", "expected", "model", "states", "seconds", "rule",
		"violations found");
}

struct cell_result {
	const struct ptlab_cell *c;
	const struct ptlab_model_result *r;
};

/* A cell's line, with its error or disagreement under it. */
static void print_line(FILE *f, const void *arg)
{
	const struct ptlab_cell *c = ((const struct cell_result *)arg)->c;
	const struct ptlab_model_result *r = ((const struct cell_result *)arg)->r;
	struct ptlab_expectation e = ptlab_expect_cell(c);
	enum model_judgement j = ptlab_model_judge(c, r);
	char found[160], possible[160], scen[40], fixes[40];

	lab_cli_kinds_text(ptlab_cell_walkers(c), r->found_by_walker, found, sizeof(found));
	lab_cli_kinds_text(ptlab_cell_walkers(c), e.by_walker, possible, sizeof(possible));
	scenario_text(c, scen, sizeof(scen));
	ptlab_fixes_words(c->fixes, fixes, sizeof(fixes));
	fprintf(f, "%-16s %-22s %-21s %-6s %-8s %-7s %8llu %7.2f  %-5s %s\n", c->profile->name,
		fixes, scen, memory_model_name(c->memory), expected_name(c),
		model_verdict_name(r->verdict), (unsigned long long)r->states, r->seconds,
		model_judgement_name(j), r->verdict == MODEL_ERROR ? "" : found);
	if (r->verdict == MODEL_ERROR)
		fprintf(f, "    error: %s\n", r->error);
	if (j == MODEL_FAIL)
		fprintf(f, "    disagrees with the rule: the rule says %s (%s), the model "
			   "found %s (%s)\n", expected_name(c), possible,
			model_verdict_name(r->verdict), found);
	if (r->verdict == MODEL_SAFE && r->aba_witness && r->nsteps) {
		fprintf(f, "    ABA trail (the seed's \"moved back and forth\"; it ends safe):\n");
		for (size_t i = 0; i < r->nsteps; i++)
			fprintf(f, "    %3zu. %s\n", i + 1, r->steps[i]);
	}
}

static void print_cell(const struct ptlab_cell *c, const struct ptlab_model_result *r)
{
	print_line(stdout, &(struct cell_result){ c, r });
	if (r->verdict != MODEL_UNSAFE)
		return;
	printf("    counterexample (%s, %s walker):\n", violation_kind_name(r->kind),
	       walker_kind_name(r->walker));
	for (size_t i = 0; i < r->nsteps; i++)
		printf("    %3zu. %s\n", i + 1, r->steps[i]);
}

static void print_header_of(FILE *f, const void *unused)
{
	(void)unused;
	print_header(f);
}

static void json_cell(struct json *j, const struct ptlab_cell *c,
		      const struct ptlab_model_result *r)
{
	struct ptlab_expectation e = ptlab_expect_cell(c);
	unsigned int walkers = ptlab_cell_walkers(c);

	json_object_begin(j, NULL);
	json_string(j, "profile", c->profile->name);
	json_string(j, "scenario", scenario_name(c->scenario));
	json_bool(j, "pmd_recheck", c->fixes.pmd_recheck);
	json_bool(j, "ipi_sync", c->fixes.sync != SYNC_NONE);
	json_string(j, "sync", sync_policy_name(c->fixes.sync));
	json_string(j, "collapse_table", collapse_table_name(c->kernel.collapse_table));
	json_string(j, "retract", retract_gen_name(c->kernel.retract));
	json_bool(j, "rcu_everywhere", c->kernel.rcu_everywhere);
	json_string(j, "unshare_sync", unshare_sync_name(ptlab_unshare_sync(c->kernel, c->fixes)));
	json_array_begin(j, "walkers");
	for (int w = 0; w < WALKER_KINDS; w++)
		if (walkers & WALKER_MASK(w))
			json_string(j, NULL, walker_kind_name((enum walker_kind)w));
	json_array_end(j);
	lab_cli_json_memory(j, c->memory, c->dropped);
	json_string(j, "expected", expected_name(c));
	lab_cli_json_model(j, c, r);
	lab_cli_json_kinds(j, "possible", e.possible);
	lab_cli_json_kinds_by_walker(j, "possible_by_walker", walkers, e.by_walker);
	json_string(j, "verdict", model_judgement_name(ptlab_model_judge(c, r)));
	/* its line, as ptlab model printed it (under "line_header") */
	lab_cli_json_printed(j, "line", print_line, &(struct cell_result){ c, r });
	json_object_end(j);
}

static int write_json(const char *path, const struct ptlab_cell *cells,
		      const struct ptlab_model_result *results, size_t n,
		      bool passed, double seconds, unsigned int jobs)
{
	FILE *f = fopen(path, "w");
	struct json j;

	if (!f) {
		fprintf(stderr, "ptlab: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	json_init(&j, f);
	json_object_begin(&j, NULL);
	json_array_begin(&j, "cells");
	for (size_t i = 0; i < n; i++)
		json_cell(&j, &cells[i], &results[i]);
	json_array_end(&j);
	json_bool(&j, "passed", passed);
	json_double(&j, "seconds", seconds);
	json_u64(&j, "jobs", jobs);
	lab_cli_json_printed(&j, "line_header", print_header_of, NULL);
	json_object_end(&j);
	json_finish(&j);
	if (fclose(f)) {
		fprintf(stderr, "ptlab: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Each counterexample as a trace, DIR/<cell>.json; 0, or 1 after
 * printing what could not be written. */
static int write_traces(const char *dir, const struct ptlab_cell *cells,
			const struct ptlab_model_result *results, size_t n)
{
	int ret = 0;

	for (size_t i = 0; i < n; i++) {
		char name[160], path[4096], title[256], scen[40], fixes[40];
		json_t *doc;

		if (results[i].verdict != MODEL_UNSAFE)
			continue;
		ptlab_model_cell_name(&cells[i], name, sizeof(name));
		scenario_text(&cells[i], scen, sizeof(scen));
		ptlab_fixes_words(cells[i].fixes, fixes, sizeof(fixes));
		snprintf(path, sizeof(path), "%s/%s.json", dir, name);
		snprintf(title, sizeof(title), "ptlab model %s %s %s: %s (%s walker)",
			 cells[i].profile->name, fixes, scen,
			 violation_kind_name(results[i].kind),
			 walker_kind_name(results[i].walker));
		doc = trace_json_from_model(title, (const char *const *)results[i].steps,
					    results[i].nsteps);
		if (!doc || trace_json_write(doc, path))
			ret = 1;
		else
			printf("trace: %s\n", path);
		trace_json_free(doc);
	}
	return ret;
}

static size_t unjudged_unsafe(const struct ptlab_cell *cells,
			      const struct ptlab_model_result *results, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += cells[i].dropped && results[i].verdict == MODEL_UNSAFE;
	return k;
}

/* Prints the summary line; returns whether every cell passed (or, with
 * barriers dropped, has a verdict). */
static bool summary(const struct ptlab_cell *cells,
		    const struct ptlab_model_result *results, size_t n,
		    double seconds, unsigned int jobs)
{
	size_t count[MODEL_JUDGEMENTS] = { 0 }, cached = 0;
	uint64_t lo = UINT64_MAX, hi = 0;

	for (size_t i = 0; i < n; i++) {
		count[ptlab_model_judge(&cells[i], &results[i])]++;
		cached += results[i].from_cache;
		if (results[i].verdict == MODEL_ERROR)
			continue;
		lo = results[i].states < lo ? results[i].states : lo;
		hi = results[i].states > hi ? results[i].states : hi;
	}
	printf("%zu cells: %zu agree with the rule, %zu disagree, %zu without a "
	       "verdict; ", n, count[MODEL_PASS], count[MODEL_FAIL],
	       count[MODEL_NO_VERDICT]);
	if (count[MODEL_UNJUDGED])
		printf("%zu with barriers dropped, not judged (%zu unsafe); ",
		       count[MODEL_UNJUDGED], unjudged_unsafe(cells, results, n));
	if (hi)
		printf("%llu..%llu states per cell; ", (unsigned long long)lo,
		       (unsigned long long)hi);
	if (cached)
		printf("%zu searches read from the model cache %s; ", cached,
		       getenv("PTLAB_MODEL_CACHE"));
	printf("%.1f s with %u jobs\n", seconds, jobs);
	return count[MODEL_PASS] + count[MODEL_UNJUDGED] == n;
}

/* The cell of profile @p, fixes @f, scenario @sc and generations @ct and
 * @rg, with the walker kinds of --walkers its scenario allows there; false
 * when none is left. */
static bool make_cell(const struct model_args *a, const struct ptlab_profile *p,
		      struct ptlab_fixes f, enum scenario sc, enum collapse_table ct,
		      enum retract_gen rg, enum memory_model m, struct ptlab_cell *c)
{
	*c = ptlab_cell_default(p, f, sc);
	c->memory = m;
	c->dropped = a->dropped;
	c->kernel.collapse_table = ct;
	c->kernel.retract = rg;
	c->kernel.rcu_everywhere = a->kernel.rcu_everywhere;
	if (a->kernel.unshare_sync_set)
		c->kernel.unshare_sync = a->kernel.unshare_sync;
	c->walkers = scenario_default_walkers(sc, c->kernel);
	if (a->kernel.walkers)
		c->walkers = a->kernel.walkers & scenario_allowed_walkers(sc, c->kernel);
	return c->walkers != 0;
}

/* The cells, profile-major, in the order of the lists; the collapse
 * scenarios once per collapse-table generation asked for, retract once
 * per retract generation; each with the walker kinds of --walkers its
 * scenario allows (none: no cell). */
static struct ptlab_cell *make_cells(const struct model_args *a, size_t *n)
{
	struct ptlab_cell *cells;
	size_t k = 0;

	cells = calloc(a->profiles.n * a->nfixes * a->nscenarios * COLLAPSE_TABLE_COUNT *
			       RETRACT_COUNT * a->nmemories,
		       sizeof(*cells));
	for (size_t p = 0; cells && p < a->profiles.n; p++)
		for (size_t f = 0; f < a->nfixes; f++)
			for (size_t s = 0; s < a->nscenarios; s++)
				for (int ct = 0; ct < COLLAPSE_TABLE_COUNT; ct++)
					for (int rg = 0; rg < RETRACT_COUNT; rg++)
						for (size_t m = 0; m < a->nmemories; m++)
							if (lab_cli_generation_wanted(
								    &a->kernel, a->scenarios[s],
								    (enum collapse_table)ct,
								    (enum retract_gen)rg) &&
							    make_cell(a, a->profiles.list[p],
								      a->fixes[f], a->scenarios[s],
								      (enum collapse_table)ct,
								      (enum retract_gen)rg,
								      a->memories[m], &cells[k]))
								k++;
	*n = k;
	return cells;
}

/* The progress line on a terminal: cells done and time so far; cleared
 * before the cells are printed. */
static void progress(void *arg, size_t done, size_t n)
{
	const double *start = arg;

	fprintf(stderr, "\r\033[K[%zu/%zu] cells checked, %.0f s", done, n,
		monotonic_s() - *start);
}

static int run_cells(struct model_args *a)
{
	struct ptlab_cell *cells;
	struct ptlab_model_result *results;
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned int jobs = a->opts.jobs ? a->opts.jobs : (online > 0 ? (unsigned int)online : 1);
	double start;
	size_t n;
	bool passed;
	int err;

	cells = make_cells(a, &n);
	if (cells && !n) {
		free(cells);
		fprintf(stderr, "ptlab: no cell runs the walker kinds of --walkers in the "
				"scenarios asked for (rcu walkers run in pt-reclaim and "
				"retract/defer only)\n");
		return CLI_EXIT_USAGE;
	}
	results = calloc(n ? n : 1, sizeof(*results));
	if (!cells || !results) {
		free(cells);
		free(results);
		fprintf(stderr, "ptlab: out of memory\n");
		return 1;
	}
	printf("ptlab model: %zu cells, %u jobs, model %s", n, jobs,
	       a->model_path ? a->model_path : "model/ptlab.pml (embedded)");
	for (size_t i = 0; i < a->ndefines; i++)
		printf(" -D%s", a->defines[i]);
	if (a->dropped) {
		char names[256];

		barrier_list_format(a->dropped, names, sizeof(names));
		printf(", barriers dropped: %s", names);
	}
	printf("\n");
	print_header(stdout);
	fflush(stdout);
	start = monotonic_s();
	if (isatty(2)) {
		a->opts.progress = progress;
		a->opts.progress_arg = &start;
	}
	err = ptlab_model_check(&a->opts, cells, n, results);
	if (isatty(2))
		fputs("\r\033[K", stderr);
	if (err) {
		fprintf(stderr, "ptlab: cannot run the model: %s\n", strerror(-err));
		free(cells);
		free(results);
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		print_cell(&cells[i], &results[i]);
	passed = summary(cells, results, n, monotonic_s() - start, jobs);
	if (a->json_path && write_json(a->json_path, cells, results, n, passed,
				       monotonic_s() - start, jobs))
		passed = false;
	if (a->trace_dir && write_traces(a->trace_dir, cells, results, n))
		passed = false;
	for (size_t i = 0; i < n; i++)
		ptlab_model_result_release(&results[i]);
	free(cells);
	free(results);
	return passed ? 0 : 1;
}

/* The --trace directory must exist and take files, before any work. */
static int check_trace_dir(const char *dir)
{
	char probe[4096];

	if (strlen(dir) + sizeof("/.ptlab-probe") > sizeof(probe))
		return cli_error("cannot write --trace directory", dir, "a shorter path");
	snprintf(probe, sizeof(probe), "%s/.ptlab-probe", dir);
	return cli_check_output("--trace directory", probe);
}

int cmd_model(int argc, char **argv)
{
	struct model_args a = { 0 };
	char msg[256], *source = NULL;
	int c, ret = 0;

	while ((c = cli_getopt(&cmd, argc, argv, &ret)) != -1)
		if (c == CLI_STOP || (ret = parse_option(c, optarg, &a)))
			goto out;
	if ((a.json_path && (ret = cli_check_output("--json file", a.json_path))) ||
	    (a.opts.keep_dir && (ret = cli_check_output_dir("--keep directory", a.opts.keep_dir))))
		goto out;
	if (a.trace_dir && (ret = check_trace_dir(a.trace_dir)))
		goto out;
	if (a.list_barriers) {
		list_barriers();
		goto out;
	}
	default_lists(&a);
	if ((ret = check_dropped(&a)))
		goto out;
	if (a.model_path) {
		source = read_model_file(a.model_path);
		if (!source) {
			fprintf(stderr, "ptlab: cannot read model file: %s: %s\n",
				a.model_path, strerror(errno));
			ret = CLI_EXIT_USAGE;
			goto out;
		}
		a.opts.source = source;
	}
	if (ptlab_model_tools(msg, sizeof(msg))) {
		fprintf(stderr, "ptlab: %s\n", msg);
		ret = 1;
		goto out;
	}
	a.opts.defines = a.defines;
	a.opts.ndefines = a.ndefines;
	ret = run_cells(&a);
out:
	free(source);
	free(a.defines);
	profile_set_release(&a.profiles);
	return ret;
}
