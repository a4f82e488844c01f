// SPDX-License-Identifier: MIT
/*
 * The command line, fuzzed: every option of every command (found from the
 * commands themselves, so a new one is covered with no change here) gets
 * bad and extreme values (empty, signs, huge, NaN, infinities, overlong,
 * lists with bad names, control bytes), in both GNU forms, alone and
 * duplicated; plus unknown commands and help topics. Each run must end
 * with exit 2 and one message naming the value, or succeed; never crash,
 * never hang, and never leave a partial output file: a JSON file exists
 * only after success, whole, and no temporary file stays.
 *
 * Runs happen in a private directory (relative paths land there). Each
 * form is first run with an unknown option after it: the parser must
 * reject the value, naming it, or go on and reject that option. A value
 * the parser accepts then runs for real, followed by a bound that keeps
 * the run short (later options override earlier ones), until one such
 * run of the option succeeded (a run a command refuses, such as an
 * output file it cannot write, does not count): a command's work is
 * tested elsewhere; what is fuzzed here is its input. The full tier
 * fuzzes with every value (fuzz_cli_race), the quick tier with a fixed
 * sample of them (fuzz_cli_race_sample): struct fuzz_plan.
 */
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_helpers.h"
#include "harness.h"
#include "sanitizer.h"

/* A hang guard: the longest valid run here takes a few seconds. */
#define RUN_TIMEOUT 120
/* What ends every parse-only run. */
#define SENTINEL "--fuzz-end-of-options"

/*
 * How much of the input space a test covers: every @stride-th plain value
 * (the overlong ones always), in all three forms or in one, the values
 * taking turns (--opt=value, the same twice, --opt value); and for each
 * option up to @real_runs runs that succeed. The full tier tries every
 * value in every form; a sanitizer build, where starting a process costs
 * ten times as much, checks the same parsing code on every other value in
 * one form. The quick tier takes a fixed sample: every seventh value
 * (every fourteenth in a sanitizer build), one form each, and one real run
 * per option.
 */
struct fuzz_plan {
	size_t stride;
	bool all_forms;
	size_t real_runs;
};

#ifdef PTLAB_DEBUG
#define QUICK_STRIDE 14
#define FULL_STRIDE 2
#define FULL_ALL_FORMS false
#else
#define QUICK_STRIDE 7
#define FULL_STRIDE 1
#define FULL_ALL_FORMS true
#endif
static const struct fuzz_plan full = { .stride = FULL_STRIDE, .all_forms = FULL_ALL_FORMS,
				       .real_runs = 1 };
static const struct fuzz_plan quick = { .stride = QUICK_STRIDE, .all_forms = false,
					.real_runs = 1 };
/* bench's shortest run keeps both CPUs busy for 15 s or more (its sync
 * figures on up to 16 spinning CPUs), and the bound overrides --rounds and
 * --scale, so that a real run tries no fuzzed value of theirs:
 * bench_json_has_every_figure runs it once, with --json, and its fuzzing
 * is of the parsing only. */
static const struct fuzz_plan quick_parse_only = { .stride = QUICK_STRIDE, .all_forms = false,
						   .real_runs = 0 };
static const struct fuzz_plan full_parse_only = { .stride = FULL_STRIDE,
						  .all_forms = FULL_ALL_FORMS, .real_runs = 0 };

static const char *const plain_values[] = {
	"", ".", " ", "-1", "-0", "0", "1", "00", "+1", "0x10", "1e3", "1e309", "-1e309", "1e-320",
	"nan", "NaN", "-nan", "inf", "-inf", "Infinity", "18446744073709551615",
	"18446744073709551616", "99999999999999999999999999", "-9223372036854775808", "0.0000001",
	"1.", ",", ",,", "a,b", "x86,", ",x86", "x86,,munmap", "vax", "x86,vax", "none,most",
	"%s%n%s", "\t1", "1\n", "\x01\x7f", "\xff\xfe", "-", "--", "--help", "=", "A=", "=B", "A=B=C",
	"1:2:3", "gup-pmd-read:1", "gup-pmd-read:0:0", "gup-pmd-read:1:nan",
	"gup-pmd-read:100000000:1:jitter:preempt:extra",
};

/* Overlong values, made at run time. */
static char long_name[8192], long_list[8192];

/* What keeps a run with accepted values short (appended after the fuzzed
 * option, so it wins), per command; NULL for none. */
/* A matrix's JSON for report --from, outside the run directory (which
 * is emptied before each run). */
static char matrix_json[PATH_MAX];

static const char *const *bound(const char *command)
{
	static const char *const race[] = { "--profile", "x86", "--scenario", "munmap",
					    "--fixes", "both", "--seconds", "0.05", "--threads",
					    "1", "--ops", "1000000000000", "--no-rule", NULL };
	static const char *const matrix[] = { "--profiles", "x86", "--scenarios", "munmap",
					      "--fixes", "both", "--seconds", "0.05",
					      "--threads", "1", "--retries", "0",
					      "--min-overlaps", "0", NULL };
	static const char *const soak[] = { "--profiles", "x86", "--scenarios", "munmap",
					    "--fixes", "both", "--runs", "1", "--seconds", "1",
					    "--cell-seconds", "0.5", "--threads", "1",
					    "--min-overlaps", "0", "--fail-alloc", "0", NULL };
	static const char *const model[] = { "--profiles", "x86", "--scenarios", "munmap",
					     "--fixes", "both", "--jobs", "1", "--max-depth",
					     "10000", "--memory-mb", "1024", NULL };
	static const char *const bench[] = { "--rounds", "3", "--scale", "0.01", NULL };
	static const char *const report[] = { "--from", matrix_json, "--output", "r.html", NULL };
	static const char *const unshare[] = { "--profile", "x86", "--cpus", "2", "--mm-cpus",
					       "1", "--gib", "1", NULL };
	static const char *const sync[] = { "--profiles", "x86", "--policies", "all", "--cpus",
					    "2", "--mm-cpus", "1", "--collapses", "1",
					    "--seconds", "0.05", "--rounds", "3", "--no-model",
					    "--no-lab", NULL };
	static const struct {
		const char *name;
		const char *const *args;
	} bounds[] = { { "race", race },	   { "matrix", matrix },
		       { "soak", soak },	   { "model", model },
		       { "bench", bench },	   { "report", report },
		       { "study unshare", unshare }, { "study sync", sync } };

	for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++)
		if (strcmp(command, bounds[i].name) == 0)
			return bounds[i].args;
	return NULL;
}

static char dir[256], out[1 << 20];
static char ptlab_path[PATH_MAX];

/* Empties the run directory. */
static void clean_dir(void)
{
	DIR *d = opendir(".");
	struct dirent *e;

	CHECK(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			test_rmtree(e->d_name);
	closedir(d);
}

/* No file of the run directory is a temporary JSON file left behind. */
static void check_no_temporary(const char *what)
{
	DIR *d = opendir(".");
	struct dirent *e;

	CHECK(d);
	while ((e = readdir(d)))
		CHECK_MSG(!strstr(e->d_name, ".tmp-"), "%s left %s", what, e->d_name);
	closedir(d);
}

/* A JSON document ptlab wrote, whole: one object from its version to its
 * closing brace and the final newline. */
static void check_whole_json(const char *path, const char *what)
{
	char *text = test_read_file(path);
	size_t n = strlen(text);

	CHECK_MSG(strncmp(text, "{\"ptlab_version\":", 17) == 0 && n >= 2 &&
			  strcmp(text + n - 2, "}\n") == 0,
		  "%s: %s is not a whole document", what, path);
	free(text);
}

/* Whether the message names @value, or a comma-separated item of it. */
static bool names_value(const char *msg, const char *value)
{
	char buf[sizeof(long_list)], *save, *tok;

	if (strstr(msg, value))
		return true;
	snprintf(buf, sizeof(buf), "%s", value);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (strstr(msg, tok))
			return true;
	return false;
}

/*
 * Runs ptlab with @args, then @tail (if any), then SENTINEL when
 * @parse_only, and checks the outcome. @json is the output file the run
 * was given (or NULL), @value what a usage error must name. Returns the
 * exit status, and sets *@accepted (when given) when the parser went past
 * the value to the sentinel.
 */
static int fuzz_run(const char *const *args, const char *const *tail, bool parse_only,
		    const char *json, const char *value, bool *accepted)
{
	const char *argv[64] = { ptlab_path };
	char what[512] = "ptlab";
	size_t n = 1;
	bool existed, sentinel = false;
	int status;

	for (; *args && n < 40; args++)
		argv[n++] = *args;
	for (; tail && *tail && n < 61; tail++)
		argv[n++] = *tail;
	if (parse_only)
		argv[n++] = SENTINEL;
	argv[n] = NULL;
	for (size_t i = 1; i < n && strlen(what) < 200; i++)
		snprintf(what + strlen(what), sizeof(what) - strlen(what), " %.40s", argv[i]);
	clean_dir();
	/* "." and the like exist before any run. */
	existed = json && access(json, F_OK) == 0;
	status = test_run_timeout(argv, out, sizeof(out), RUN_TIMEOUT);
	CHECK_MSG(status == 0 || status == 2, "%s: exit %d:\n%.2000s", what, status, out);
	if (status == 2) {
		CHECK_MSG(test_count(out, "ptlab: ") == 1, "%s: not one message:\n%.2000s", what,
			  out);
		sentinel = parse_only && strstr(out, "unknown option for") && strstr(out, SENTINEL);
		CHECK_MSG(sentinel || names_value(out, value),
			  "%s: the message does not name the value:\n%.2000s", what, out);
		CHECK_MSG(!json || existed || access(json, F_OK) != 0,
			  "%s: %s written by a failed run", what, json);
	} else {
		CHECK_MSG(!parse_only, "%s: ran past an unknown option:\n%.2000s", what, out);
		if (json && !existed && access(json, F_OK) == 0)
			check_whole_json(json, what);
	}
	check_no_temporary(what);
	if (accepted)
		*accepted = sentinel;
	return status;
}

/* Whether @command's --json takes a file (not a flag, as profiles' does). */
static bool json_takes_file(const char *command)
{
	char buf[64], *sub;
	const char *argv[] = { ptlab_path, buf, "--json", NULL, NULL };

	snprintf(buf, sizeof(buf), "%s", command);
	if ((sub = strchr(buf, ' '))) {
		*sub++ = '\0';
		argv[2] = sub;
		argv[3] = "--json";
	}

	clean_dir();
	test_run_timeout(argv, out, sizeof(out), RUN_TIMEOUT);
	return strstr(out, "missing value for option: --json") != NULL;
}

/* Every value for one option of one command, in both forms, and
 * duplicated; with the command's output file when the option is another
 * one. */
static void fuzz_option(const struct fuzz_plan *plan, const char *command, const char *option,
			const char *const *values, size_t nvalues, bool json_file)
{
	bool json_opt = strcmp(option, "json") == 0;
	const char *const *b = bound(command);
	char opt[64], eq[sizeof(long_list) + 64];
	const char *tail[48];
	size_t n = 0, successes = 0;
	char buf[64];
	const char *words[2] = { buf, NULL };
	char *space;

	snprintf(buf, sizeof(buf), "%s", command);
	if ((space = strchr(buf, ' '))) {
		*space = '\0';
		words[1] = space + 1;
	}
	snprintf(opt, sizeof(opt), "--%s", option);
	for (; b && b[n] && n < 40; n++)
		tail[n] = b[n];
	if (json_file && !json_opt) {
		tail[n++] = "--json";
		tail[n++] = "out.json";
	}
	tail[n] = NULL;
	for (size_t i = 0; i < nvalues; i++) {
		const char *v = values[i];
		const char *json = json_opt ? v : json_file ? "out.json" : NULL;
		/* "study sync": the command and its subcommand, two words. */
		const char *sub = words[1];
		const char *sep[] = { words[0], sub ? sub : opt, sub ? opt : v, sub ? v : NULL, NULL };
		const char *joined[] = { words[0], sub ? sub : eq, sub ? eq : NULL, NULL };
		const char *twice[] = { words[0], sub ? sub : eq, eq, sub ? eq : NULL, NULL };
		/* "--opt value": a value that looks like an option is taken as
		 * one by getopt, as in any GNU program. */
		const char *const *forms[] = { joined, twice, v[0] != '-' ? sep : NULL };
		size_t first = 0, last = 2;

		if (!plan->all_forms) {
			first = last = i % 3;
			if (!forms[first])
				first = last = 0;
		}
		snprintf(eq, sizeof(eq), "--%s=%s", option, v);
		for (size_t f = first; f <= last && forms[f]; f++) {
			bool accepted;

			fuzz_run(forms[f], NULL, true, NULL, v, &accepted);
			if (accepted && successes < plan->real_runs)
				successes += fuzz_run(forms[f], tail, false, json, v, NULL) == 0;
		}
	}
}

static void setup(void)
{
	CHECK(realpath(test_ptlab_path(), ptlab_path));
	memset(long_name, 'x', sizeof(long_name) - 1);
	for (size_t i = 0; i + 4 < sizeof(long_list); i += 4)
		memcpy(long_list + i, "x86,", 4);
	long_list[sizeof(long_list) - 2] = 'q';
	test_mkdtemp(dir, sizeof(dir), "fuzzcli");
	CHECK_EQ(chdir(dir), 0);
}

static void teardown(void)
{
	CHECK_EQ(chdir("/"), 0);
	test_rmtree(dir);
}

/* Every option of one command. */
static void fuzz_command(const struct fuzz_plan *plan, const char *command)
{
	const char *values[sizeof(plain_values) / sizeof(plain_values[0]) + 2];
	size_t nv = 0;
	struct cli_names opts, cmds;
	bool found = false, json_file;

	/* The commands and options, asked before leaving the directory the
	 * harness's relative paths start from. */
	cli_commands(&cmds);
	for (size_t i = 0; i < cmds.n; i++)
		found |= strncmp(cmds.name[i], command, strcspn(command, " ")) == 0 &&
			 cmds.name[i][strcspn(command, " ")] == '\0';
	CHECK_MSG(found, "no command %s", command);
	cli_long_options(command, &opts);
	setup();
	/* The overlong ones first: as paths, only a real run refuses them. */
	values[nv++] = long_name;
	values[nv++] = long_list;
	for (size_t i = 0; i < sizeof(plain_values) / sizeof(plain_values[0]); i += plan->stride)
		values[nv++] = plain_values[i];
	json_file = json_takes_file(command);
	for (size_t o = 0; o < opts.n; o++)
		if (strcmp(opts.name[o], "help") && strcmp(opts.name[o], "version"))
			fuzz_option(plan, command, opts.name[o], values, nv, json_file);
	teardown();
}

/* The samples' tier. Parsing runs on one thread, where a TSan build has
 * nothing to find: there the samples are of the full tier too, and the
 * plain and ASan builds fuzz the command line in the quick one. */
#ifdef PTLAB_TSAN
#define SAMPLE_TIER TIER_FULL
#else
#define SAMPLE_TIER TIER_QUICK
#endif

/* A sample's time limit: it takes seconds. (The harness starts the
 * tests with the longest limits first.) */
#define SAMPLE_SECONDS 120

/* A quick test of @command (the @sample plan) and a full one (@whole),
 * as NAME_sample and NAME. */
#define FUZZ_CLI_TESTS(name, command, sample, whole, secs)                   \
	TEST_TIER(name##_sample, SAMPLE_SECONDS, SAMPLE_TIER)                \
	{                                                                    \
		fuzz_command(&(sample), command);                            \
	}                                                                    \
	TEST_FULL(name, secs)                                                \
	{                                                                    \
		fuzz_command(&(whole), command);                             \
	}

FUZZ_CLI_TESTS(fuzz_cli_profiles, "profiles", quick, full, 600)
FUZZ_CLI_TESTS(fuzz_cli_race, "race", quick, full, 600)
FUZZ_CLI_TESTS(fuzz_cli_matrix, "matrix", quick, full, 600)
FUZZ_CLI_TESTS(fuzz_cli_soak, "soak", quick, full, 600)
FUZZ_CLI_TESTS(fuzz_cli_model, "model", quick, full, 900)
FUZZ_CLI_TESTS(fuzz_cli_bench, "bench", quick_parse_only, full_parse_only, 600)
FUZZ_CLI_TESTS(fuzz_cli_study_unshare, "study unshare", quick, full, 600)
FUZZ_CLI_TESTS(fuzz_cli_study_sync, "study sync", quick, full, 900)

/* report reads a matrix's JSON: one is made first. */
static void fuzz_report(const struct fuzz_plan *plan)
{
	char mdir[256];
	const char *argv[] = { ptlab_path, "matrix", "--profiles", "x86", "--scenarios",
			       "munmap", "--fixes", "both", "--seconds", "0.05",
			       "--min-overlaps", "0", "--no-report", "--json", matrix_json,
			       NULL };

	CHECK(realpath(test_ptlab_path(), ptlab_path));
	test_mkdtemp(mdir, sizeof(mdir), "fuzzcli-matrix");
	snprintf(matrix_json, sizeof(matrix_json), "%s/matrix.json", mdir);
	CHECK_MSG(test_run_timeout(argv, out, sizeof(out), RUN_TIMEOUT) == 0, "%s", out);
	fuzz_command(plan, "report");
	test_rmtree(mdir);
}

TEST_TIER(fuzz_cli_report_sample, SAMPLE_SECONDS, SAMPLE_TIER)
{
	fuzz_report(&quick);
}

TEST_FULL(fuzz_cli_report, 600)
{
	fuzz_report(&full);
}

/* Every command is fuzzed above; unknown commands and help topics, and
 * values where no command takes them, here (every @plan->stride-th
 * value). */
static void fuzz_commands(const struct fuzz_plan *plan)
{
	static const char *const known[] = { "profiles", "race", "matrix", "soak", "model",
					     "bench", "report", "study" };
	struct cli_names cmds;

	cli_commands(&cmds);
	setup();
	for (size_t i = 0; i < cmds.n; i++) {
		bool listed = false;

		for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			listed |= strcmp(cmds.name[i], known[k]) == 0;
		CHECK_MSG(listed, "command %s is not fuzzed: add a TEST for it", cmds.name[i]);
	}
	for (size_t i = 0; i < sizeof(plain_values) / sizeof(plain_values[0]); i += plan->stride) {
		const char *v = plain_values[i];
		const char *cmd[] = { v, NULL };
		const char *help[] = { "help", v, NULL };

		/* An option where the command goes is ptlab's own option. */
		if (v[0] != '-' || !v[1]) {
			CHECK_EQ(fuzz_run(cmd, NULL, false, NULL, v, NULL), 2);
			CHECK_EQ(fuzz_run(help, NULL, false, NULL, v, NULL), 2);
		}
		for (size_t c = 0; c < cmds.n; c++) {
			const char *operand[] = { cmds.name[c], v, NULL };

			if (v[0] != '-' && strcmp(v, ""))
				CHECK_EQ(fuzz_run(operand, NULL, false, NULL, v, NULL), 2);
		}
	}
	teardown();
}

TEST_TIER(fuzz_cli_commands_sample, SAMPLE_SECONDS, SAMPLE_TIER)
{
	fuzz_commands(&quick);
}

TEST_FULL(fuzz_cli_commands, 300)
{
	fuzz_commands(&full);
}
