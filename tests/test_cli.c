// SPDX-License-Identifier: MIT
/* The ptlab command: bad input gets a message naming the value and what is
 * allowed, with exit status 2; good input works end to end. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli_helpers.h"
#include "harness.h"
#include "ptlab/profile.h"
#include "ptlab/race.h"
#include "ptlab/version.h"

#define OUT_LEN (1u << 20)

/* Retries for a matrix's cell that did not pass (each with twice the
 * budget when short of evidence, the next seed when an unsafe cell showed
 * nothing), more than the command's default: these cells share the CPUs
 * with other tests, and in a sanitizer build run several times slower.
 * A cell that passes at once costs no more. */
#define MATRIX_RETRIES "4"

static char out[OUT_LEN];

/* Runs ptlab with the arguments (NULL-terminated) into out. */
static int ptlab(const char *first, ...)
{
	const char *argv[32] = { test_ptlab_path() };
	size_t n = 1;
	va_list ap;

	va_start(ap, first);
	for (const char *a = first; a && n < 31; a = va_arg(ap, const char *))
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	return test_run(argv, out, sizeof(out));
}

/* Exit 2 and a message holding @value and "allowed" (or @hint). */
#define CHECK_USAGE(value, hint, ...)                                        \
	do {                                                                 \
		int _s = ptlab(__VA_ARGS__, NULL);                           \
		CHECK_MSG(_s == 2, "exit %d for %s:\n%s", _s, value, out);   \
		CHECK_MSG(strstr(out, "ptlab: ") && strstr(out, value) &&    \
				  strstr(out, hint),                         \
			  "message for %s:\n%s", value, out);                \
	} while (0)

TEST(cli_usage_errors)
{
	CHECK_EQ(ptlab(NULL), 2);
	CHECK_USAGE("frobnicate", "allowed: profiles", "frobnicate");
	CHECK_USAGE("--bogus", "allowed", "profiles", "--bogus");
	CHECK_USAGE("vax", "allowed: x86, x86-invlpgb", "race", "--profile", "vax");
	CHECK_USAGE("sideways", "allowed: collapse-zap", "race", "--scenario", "sideways");
	CHECK_USAGE("most", "allowed: none, pmd-recheck", "race", "--fixes", "most");
	CHECK_USAGE("0", "0.01..3600", "race", "--seconds", "0");
	CHECK_USAGE("-1", "0.01..3600", "race", "--seconds", "-1");
	CHECK_USAGE("1e9", "0.01..3600", "race", "--seconds", "1e9");
	CHECK_USAGE("abc", "0.01..3600", "race", "--seconds", "abc");
	CHECK_USAGE("0", "1..1000000000000", "race", "--ops", "0");
	CHECK_USAGE("0", "1..56", "race", "--threads", "0");
	CHECK_USAGE("57", "1..56", "race", "--threads", "57");
	CHECK_USAGE("99999999999999999999", "1..56", "race", "--threads", "99999999999999999999");
	CHECK_USAGE("nowhere:5", "unknown race point", "race", "--window", "nowhere:5");
	/* The message lists the points, all of them. */
	CHECK_USAGE("nowhere:5", "POINT one of gup-pmd-read, gup-pte-read", "race", "--window",
		    "nowhere:5");
	for (int rp = 0; rp < RACE_POINT_COUNT; rp++)
		CHECK_MSG(strstr(out, race_point_name((enum race_point)rp)), "no %s in %s",
			  race_point_name((enum race_point)rp), out);
	CHECK_USAGE("gup-pmd-read:5:2", "probability", "race", "--window", "gup-pmd-read:5:2");
	CHECK_USAGE("--seconds", "missing value", "race", "--seconds");
	CHECK_USAGE("--frob", "allowed", "race", "--frob");
	CHECK_USAGE("0", "0.05..600", "matrix", "--seconds", "0");
	CHECK_USAGE("vax", "allowed: x86", "matrix", "--profiles", "x86,vax");
	CHECK_USAGE("sideways", "allowed: collapse-zap", "matrix", "--scenarios", "munmap,sideways");
	CHECK_USAGE("most", "allowed: none", "matrix", "--fixes", "most");
	CHECK_USAGE("11", "0..10", "matrix", "--retries", "11");
	CHECK_USAGE("1000", "1..56", "matrix", "--threads", "1000");
	CHECK_USAGE("0", "1..64 processes", "matrix", "--jobs", "0");
	CHECK_USAGE("65", "1..64 processes", "matrix", "--jobs", "65");
	CHECK_USAGE("--frob", "allowed", "matrix", "--frob");
	CHECK_USAGE("-3", "0..1000000000", "matrix", "--min-overlaps", "-3");
	CHECK_USAGE("some", "allowed: none, all, skip-if-flush-ipi, skip-naive, walkers, "
			    "mm-cpumask, all-policies", "matrix", "--sync", "all,some");
	CHECK_USAGE("all-policies", "allowed: none, all, skip-if-flush-ipi", "race", "--sync",
		    "all-policies");
	CHECK_USAGE("walkers,all", "one sync policy only", "race", "--sync", "walkers,all");
	CHECK_USAGE("walkers", "--sync with a fix setting without the sync", "race", "--fixes",
		    "pmd-recheck", "--sync", "walkers");
	CHECK_USAGE("--sync", "no fix setting left", "matrix", "--fixes", "ipi-sync", "--sync",
		    "none");
	CHECK_USAGE("x", "unknown sync policy", "model", "--sync", "x");
	CHECK_USAGE("gup,cpu", "allowed: gup, rcu, gup,rcu", "race", "--walkers", "gup,cpu");
	CHECK_USAGE("gup,", "allowed: gup, rcu, gup,rcu", "race", "--walkers", "gup,");
	CHECK_USAGE("scenario collapse-zap: rcu", "allowed: gup; RCU walkers hold mmap_lock",
		    "race", "--walkers", "gup,rcu");
	CHECK_USAGE("new", "allowed: reuse, zap-rcu, fresh", "race", "--collapse-table", "new");
	CHECK_USAGE("reuse,fresh", "one collapse-table generation only", "race",
		    "--collapse-table", "reuse,fresh");
	CHECK_USAGE("nope", "allowed: free, defer", "race", "--retract", "nope");
	CHECK_USAGE("nope", "allowed: free, defer", "matrix", "--retract", "nope");
	CHECK_USAGE("free,defer", "one retract generation only", "race", "--retract",
		    "free,defer");
	CHECK_USAGE("scenario retract: rcu", "allowed: gup; RCU walkers hold mmap_lock", "race",
		    "--scenario", "retract", "--walkers", "rcu");
	CHECK_USAGE("all", "allowed: none, per-unshare, gather", "race", "--unshare-sync", "all");
	CHECK_USAGE("--rcu-everywhere=1", "unexpected value for race", "race",
		    "--rcu-everywhere=1");
	CHECK_USAGE("x", "allowed: reuse, zap-rcu, fresh", "matrix", "--collapse-table", "fresh,x");
	CHECK_USAGE("rcu", "no cell runs the walker kinds", "matrix", "--walkers", "rcu",
		    "--scenarios", "munmap");
	CHECK_USAGE("by-fixes", "allowed: none, per-unshare, gather", "matrix", "--unshare-sync",
		    "by-fixes");
	CHECK_USAGE("pt-reclaim:5", "unknown race point", "race", "--window", "pt-reclaim:5");
	CHECK_USAGE("pte-map-pmd-read:5:1:walker", "unknown field", "race", "--window",
		    "pte-map-pmd-read:5:1:walker");
	CHECK_USAGE("x", "0..1000000000", "race", "--min-overlaps", "x");
	CHECK_USAGE("2", "3..64", "bench", "--rounds", "2");
	CHECK_USAGE("0", "0.01..100", "bench", "--scale", "0");
	CHECK_USAGE("--frob", "allowed", "bench", "--frob");
	CHECK_USAGE("0", "BEFORE[:AFTER]", "race", "--trace-window", "0");
	CHECK_USAGE("5:x", "BEFORE[:AFTER]", "race", "--trace-window", "5:x");
	CHECK_USAGE("/no/such/dir/t.json", "cannot write --trace file", "race", "--trace",
		    "/no/such/dir/t.json");
	CHECK_USAGE("/no/such/dir/r.html", "cannot write --report file", "matrix", "--report",
		    "/no/such/dir/r.html");
	CHECK_USAGE("/no/such/dir", "cannot write --trace directory", "model", "--trace",
		    "/no/such/dir");
	CHECK_USAGE("--from", "missing option for report", "report");
	CHECK_USAGE("/no/such.json", "cannot read --from file", "report", "--from",
		    "/no/such.json");
	CHECK_USAGE("/no/such/dir/r.html", "cannot write report file", "report", "--from",
		    "/etc/hostname", "-o", "/no/such/dir/r.html");
}

/* A file that cannot be written is an error before any work is done:
 * exit 2 at once, naming the path. */
TEST(cli_output_checked_first)
{
	static const char *const cmds[][3] = {
		{ "race", "--seconds", "600" },
		{ "matrix", "--seconds", "600" },
		{ "bench", "--rounds", "64" },
		{ "model", "--jobs", "1" },
	};
	const char *path = "/no/such/dir/x.json";

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		double start = test_now();
		int status = ptlab(cmds[i][0], cmds[i][1], cmds[i][2], "--json", path, NULL);

		CHECK_MSG(status == 2, "%s: exit %d:\n%s", cmds[i][0], status, out);
		CHECK_MSG(strstr(out, path) && strstr(out, "cannot write"), "%s:\n%s",
			  cmds[i][0], out);
		CHECK_MSG(test_now() - start < 5, "%s worked before it refused", cmds[i][0]);
	}
}

/* GNU options: --opt=value, prefixes, "--"; usage errors as above. */
TEST(cli_usage_gnu_options)
{
	CHECK_USAGE("0", "0.01..3600", "race", "--seconds=0");
	CHECK_USAGE("0", "bad --seconds", "race", "--sec=0");
	CHECK_USAGE("0", "bad --seconds", "race", "--sec", "0");
	CHECK_USAGE("vax", "allowed: x86", "matrix", "--profiles=x86,vax");
	CHECK_USAGE("sideways", "allowed: collapse-zap", "matrix", "--scen=sideways");
	CHECK_USAGE("2", "3..64", "bench", "--rounds=2");
	CHECK_USAGE("0", "1..256", "model", "--jobs=0");
	CHECK_USAGE("1BAD", "NAME or NAME=VALUE", "model", "--def=1BAD");
	CHECK_USAGE("--seconds", "missing value", "race", "--sec");
	CHECK_USAGE("--window", "missing value", "race", "--window");
	CHECK_USAGE("--profile-file", "missing value", "matrix", "--profile-file");
	CHECK_USAGE("--json=yes", "unexpected value for profiles", "profiles", "--json=yes");
	CHECK_USAGE("--version=2", "unexpected value for race", "race", "--version=2");
	CHECK_USAGE("-x", "unknown option for race", "race", "-x");
	CHECK_USAGE("--frob=1", "allowed: --profiles, --profile, --profile-file, --scenarios", "race",
		    "--frob=1");
	CHECK_USAGE("--frob", "allowed: --help, --version", "--frob");
	/* "--" ends the options: what follows is an argument, and no
	 * command takes one. */
	CHECK_USAGE("--json", "unexpected argument for profiles", "profiles", "--", "--json");
	CHECK_USAGE("extra", "unexpected argument for race", "race", "--seconds", "1", "extra");
	CHECK_EQ(ptlab("profiles", "--json", "--", NULL), 0);
	CHECK(strstr(out, "\"profiles\": ["));
	CHECK_EQ(ptlab("profiles", "--js", NULL), 0);
	CHECK(strstr(out, "\"profiles\": ["));
}

/* An ambiguous prefix names the candidates, from the command's table. */
TEST(cli_usage_ambiguous_prefix)
{
	CHECK_USAGE("--s", "ambiguous option for race: --s (allowed: --scenarios, --seconds, "
			   "--seed, --stop-on-first, --sync)", "race", "--s", "1");
	CHECK_USAGE("--se=1", "(allowed: --seconds, --seed)", "race", "--se=1");
	CHECK_USAGE("--s", "(allowed: --seconds, --scenarios, --seed, --sync)", "matrix", "--s=1");
	CHECK_USAGE("--m", "(allowed: --memory, --model, --max-depth, --memory-mb)", "model",
		    "--m", "1");
}

/* Good values through --opt=value and prefixes reach the run. */
TEST_T(cli_gnu_options_run, 120)
{
	char dir[256], json[300], arg[320];
	char *text;
	bool report_before;
	int status;

	test_mkdtemp(dir, sizeof(dir), "gnu");
	snprintf(json, sizeof(json), "%s/race.json", dir);
	snprintf(arg, sizeof(arg), "--json=%s", json);
	status = ptlab("race", "--profile=arm64", "--scen", "munmap", "--fix=none", "--sec=0.2",
		       "--thr=1", "--no-w", "--stop", "--no-r", arg, NULL);
	CHECK_MSG(status == 0, "exit %d:\n%s", status, out);
	CHECK(strstr(out, "profile arm64"));
	CHECK(strstr(out, "fixes none, scenario munmap, 1 walkers"));
	text = test_read_file(json);
	CHECK(strstr(text, "\"scenario\":\"munmap\""));
	CHECK(strstr(text, "\"threads\":1"));
	CHECK(strstr(text, "\"walkers\":[\"gup\"]"));
	free(text);
	/* Asked for no report, the matrix writes none (there was a default
	 * file in the working directory once). */
	report_before = access("ptlab-report.html", F_OK) == 0;
	status = ptlab("matrix", "--profiles=x86", "--scen=munmap", "--fixes=both",
		       "--seconds=0.05", "--retri=0", "--min=0", NULL);
	CHECK_MSG(status == 0, "exit %d:\n%s", status, out);
	CHECK(strstr(out, "1 cells: 1 pass, 0 fail"));
	CHECK(!strstr(out, "report:"));
	CHECK(report_before || access("ptlab-report.html", F_OK) != 0);
	test_rmtree(dir);
}

/* --version on ptlab and on every command prints the one version. */
TEST(cli_version_everywhere)
{
	static const char *const forms[] = { "--version", "--vers" };
	const char expect[] = "ptlab " PTLAB_VERSION "\n";
	struct cli_names cmds;

	for (size_t f = 0; f < 2; f++) {
		CHECK_EQ(ptlab(forms[f], NULL), 0);
		CHECK_MSG(strcmp(out, expect) == 0, "ptlab %s: %s", forms[f], out);
	}
	cli_commands(&cmds);
	for (size_t i = 0; i < cmds.n; i++)
		for (size_t f = 0; f < 2; f++) {
			CHECK_EQ(ptlab(cmds.name[i], forms[f], NULL), 0);
			CHECK_MSG(strcmp(out, expect) == 0, "ptlab %s %s: %s", cmds.name[i],
				  forms[f], out);
		}
}

/* Runs ptlab with the words of @words ("study sync"), then @more (NULL
 * ends both), into out. */
static int ptlab_words(const char *words, const char *const *more)
{
	const char *argv[32] = { test_ptlab_path() };
	char buf[64], *save = NULL;
	size_t n = 1;

	snprintf(buf, sizeof(buf), "%s", words);
	for (char *w = strtok_r(buf, " ", &save); w && n < 16; w = strtok_r(NULL, " ", &save))
		argv[n++] = w;
	for (; more && *more && n < 31; more++)
		argv[n++] = *more;
	argv[n] = NULL;
	return test_run(argv, out, sizeof(out));
}

/* `ptlab help <cmd> [<sub>]` is `ptlab <cmd> [<sub>] --help` (and -h): the
 * same text on stdout, exit 0, naming every option the command takes;
 * every command and subcommand has it. */
TEST(cli_help_every_command)
{
	static char help[OUT_LEN];
	struct cli_names cmds, opts;
	char usage[64], opt[48], topic[64];

	cli_commands_and_subcommands(&cmds);
	CHECK(cmds.n >= 10);   /* eight commands, study's two */
	for (size_t i = 0; i < cmds.n; i++) {
		const char *c = cmds.name[i];

		snprintf(topic, sizeof(topic), "help %s", c);
		CHECK_EQ(ptlab_words(topic, NULL), 0);
		memcpy(help, out, sizeof(help));
		snprintf(usage, sizeof(usage), "usage: ptlab %s", c);
		CHECK_MSG(strncmp(help, usage, strlen(usage)) == 0, "ptlab help %s: %s", c, help);
		CHECK_EQ(ptlab_words(c, (const char *const[]){ "--help", NULL }), 0);
		CHECK_MSG(strcmp(out, help) == 0, "ptlab %s --help differs from ptlab help", c);
		CHECK_EQ(ptlab_words(c, (const char *const[]){ "-h", NULL }), 0);
		CHECK_MSG(strcmp(out, help) == 0, "ptlab %s -h differs from ptlab help", c);
		cli_long_options(c, &opts);
		for (size_t o = 0; o < opts.n; o++) {
			snprintf(opt, sizeof(opt), "--%s", opts.name[o]);
			CHECK_MSG(strstr(help, opt), "ptlab %s --help does not name %s", c, opt);
		}
		/* the usage is wrapped to 80 columns */
		for (const char *l = help; *l; l += strcspn(l, "\n") + (l[strcspn(l, "\n")] != 0))
			CHECK_MSG(strcspn(l, "\n") < 80, "ptlab help %s: a line of %zu: %.*s", c,
				  strcspn(l, "\n"), (int)strcspn(l, "\n"), l);
	}
	CHECK_EQ(ptlab("help", NULL), 0);
	memcpy(help, out, sizeof(help));
	for (size_t i = 0; i < cmds.n; i++)
		if (!strchr(cmds.name[i], ' '))
			CHECK_MSG(strstr(help, cmds.name[i]), "ptlab help does not name %s",
				  cmds.name[i]);
	CHECK_EQ(ptlab("--help", NULL), 0);
	CHECK(strcmp(out, help) == 0);
	CHECK_USAGE("frob", "unknown help topic: frob (allowed: profiles", "help", "frob");
	CHECK_USAGE("frob", "unknown study: frob (allowed: unshare, sync, barriers)", "help", "study", "frob");
	CHECK_USAGE("x", "unexpected argument for race", "help", "race", "x");
	CHECK_USAGE("x", "unexpected argument for study sync", "help", "study", "sync", "x");
	/* A command with subcommands, alone, lists them and fails: it did
	 * nothing, as ptlab alone. */
	CHECK_EQ(ptlab("study", NULL), 2);
	CHECK(strstr(out, "usage: ptlab study <study>") && strstr(out, "\nsubcommands:\n"));
}

/* The short forms reach the same options as the long ones, in every
 * command that has the option; an alias stays accepted. */
TEST(cli_short_forms)
{
	CHECK_USAGE("vax", "allowed: x86", "matrix", "-p", "x86,vax");
	CHECK_USAGE("vax", "allowed: x86", "model", "-p", "vax");
	CHECK_USAGE("vax", "allowed: x86", "soak", "-p", "vax");
	CHECK_USAGE("vax", "allowed: x86", "study", "sync", "-p", "vax");
	CHECK_USAGE("vax", "allowed: x86", "study", "unshare", "-p", "vax");
	CHECK_USAGE("vax", "allowed: x86", "race", "-p", "vax");
	CHECK_USAGE("vax", "allowed: x86", "race", "--profile", "vax");
	CHECK_USAGE("sideways", "allowed: collapse-zap", "race", "-s", "sideways");
	CHECK_USAGE("sideways", "allowed: collapse-zap", "matrix", "-s", "sideways");
	CHECK_USAGE("most", "allowed: none, pmd-recheck", "race", "-f", "most");
	CHECK_USAGE("most", "allowed: none, pmd-recheck", "matrix", "-f", "most");
	CHECK_USAGE("0", "1..64", "matrix", "-j", "0");
	CHECK_USAGE("0", "1..256", "model", "-j0");
	CHECK_USAGE("-o", "missing value", "report", "--from", "x.json", "-o");
	/* race runs one cell: a list of more than one is refused, naming it */
	CHECK_USAGE("x86,arm64", "one value only for --profiles", "race", "-p", "x86,arm64");
	CHECK_USAGE("munmap,retract", "one value only for --scenarios", "race", "--scenarios",
		    "munmap,retract");
}

TEST(cli_profiles)
{
	CHECK_EQ(ptlab("profiles", NULL), 0);
	CHECK(strstr(out, "broadcast-norcu"));
	CHECK(strstr(out, "ppc64-radix"));
	CHECK_EQ(ptlab("profiles", "--json", NULL), 0);
	CHECK_EQ(test_count(out, "\"name\":"), ptlab_profiles_count());
	CHECK(strstr(out, "x86-hyperv-6.0"));
	CHECK(strstr(out, "\"rcu_table_free\": false"));
	CHECK(strstr(out, "\"deposit\": \"in-table\""));
	/* Indented: one key per line, for a user to copy an entry. */
	CHECK(strstr(out, "\n      \"tlb_flush\": \"broadcast\",\n"));
}

/* A private directory and the path of a JSON file in it. */
static void tmp_json(char *dir, size_t dlen, char *json, size_t jlen, const char *tag)
{
	test_mkdtemp(dir, dlen, tag);
	snprintf(json, jlen, "%s/%s.json", dir, tag);
}

TEST_T(cli_race_reports_a_violation, 300)
{
	char dir[256], json[300];
	char *text;
	int status;

	tmp_json(dir, sizeof(dir), json, sizeof(json), "race");
	/* pmd-recheck: no stale pin can come first; the table goes stale. */
	status = cli_race((const char *const[]){ "--profile", "arm64", "--fixes", "pmd-recheck",
						 "--stop-on-first", "--json", json, NULL },
			  20, out, sizeof(out));
	CHECK_MSG(status == 0, "exit %d:\n%s", status, out);
	CHECK(strstr(out, "profile arm64"));
	CHECK(strstr(out, "first violation (stale_table)"));
	CHECK(strstr(out, "what happened to that table"));
	CHECK(strstr(out, "the rule expects: unsafe"));
	CHECK(strstr(out, "verdict: pass"));
	CHECK(strstr(out, "evidence: "));
	text = test_read_file(json);
	CHECK(strstr(text, "\"verdict\":\"pass\""));
	CHECK(strstr(text, "\"overlaps\":"));
	CHECK(strstr(text, "\"profile\":\"arm64\""));
	CHECK(strstr(text, "\"first_violation\":{\"kind\":\"stale_table\""));
	CHECK(!strstr(text, "\"first_violation_ms\":null"));
	free(text);
	test_rmtree(dir);
}

/*
 * pt-reclaim on a profile without RCU table free: the RCU walkers lock
 * freed tables, the GUP-fast walkers are held off by the IPI flush; the
 * JSON splits the counts by walker kind, and the verdict needs evidence
 * for the safe kind too.
 */
TEST_T(cli_race_per_walker_kind, 300)
{
	char dir[256], json[300];
	char *text;
	int status;

	tmp_json(dir, sizeof(dir), json, sizeof(json), "race");
	status = cli_race((const char *const[]){ "--profile", "x86-nopv-6.0", "--scenario",
						 "pt-reclaim", "--json", json, NULL },
			  5, out, sizeof(out));
	CHECK_MSG(status == 0, "exit %d:\n%s", status, out);
	CHECK(strstr(out, "first violation (stale_lock)"));
	text = test_read_file(json);
	CHECK_MSG(strstr(text, "\"walkers\":[\"gup\",\"rcu\"]"), "%s", text);
	CHECK_MSG(strstr(text, "\"violations_by_walker\":{\"gup\":{\"ops\":"), "%s", text);
	CHECK_MSG(strstr(text, "\"possible_by_walker\":{\"gup\":[],\"rcu\":[\"stale_lock\"]}"),
		  "%s", text);
	CHECK_MSG(strstr(text, "\"defended_by_walker\":{\"gup\":"), "%s", text);
	CHECK_MSG(strstr(text, "\"collapse_table\":\"reuse\""), "%s", text);
	CHECK_MSG(strstr(text, "\"pt_reclaim\":true"), "%s", text);
	CHECK_MSG(strstr(text, "\"verdict\":\"pass\""), "%s", text);
	free(text);
	/* The same with GUP-fast walkers alone: safe, held off by the
	 * flush. */
	status = cli_race((const char *const[]){ "--profile", "x86-nopv-6.0", "--scenario",
						 "pt-reclaim", "--walkers", "gup", NULL },
			  3, out, sizeof(out));
	CHECK_MSG(status == 0, "exit %d:\n%s", status, out);
	CHECK_MSG(strstr(out, "the rule expects: safe"), "%s", out);
	test_rmtree(dir);
}

/* A safe cell without enough defended overlaps is inconclusive, which
 * fails: here, no race windows and a very high minimum. */
TEST_T(cli_safe_cell_needs_evidence, 300)
{
	int status = ptlab("race", "--profile", "x86", "--scenario", "munmap", "--seconds", "0.3",
			   "--min-overlaps", "1000000000", NULL);

	CHECK_MSG(status == 1, "exit %d:\n%s", status, out);
	CHECK_MSG(strstr(out, "verdict: inconclusive"), "%s", out);
	status = ptlab("race", "--profile", "x86", "--scenario", "munmap", "--seconds", "0.3",
		       "--min-overlaps", "1000000000", "--no-rule", NULL);
	CHECK_MSG(status == 0, "--no-rule: exit %d:\n%s", status, out);
}

TEST_T(cli_matrix_small, 300)
{
	char dir[256], json[300];
	char *text;
	int status;

	tmp_json(dir, sizeof(dir), json, sizeof(json), "matrix");
	status = ptlab("matrix", "--profiles", "x86,broadcast-norcu", "--scenarios", "munmap",
		       "--fixes", "both", "--seconds", "1", "--retries", MATRIX_RETRIES, "--json", json,
		       "--no-report", NULL);
	CHECK_MSG(status == 0, "exit %d:\n%s", status, out);
	CHECK(strstr(out, "2 cells: 2 pass, 0 fail, 0 inconclusive"));
	text = test_read_file(json);
	CHECK_EQ(test_count(text, "\"verdict\":\"pass\""), 2);
	for (const char *k = "overlaps\0defended\0held_off\0recheck_caught\0"
			     "isolation_refused\0lost_writes\0asan_reports\0refusals\0"
			     "stale_read\0unheld\0pages\0";
	     *k; k += strlen(k) + 1) {
		char key[64];

		snprintf(key, sizeof(key), "\"%s\":", k);
		CHECK_MSG(test_count(text, key) >= 2, "no %s in %s", key, text);
	}
	CHECK(strstr(text, "\"expected\":\"unsafe\""));
	CHECK(strstr(text, "\"expected\":\"safe\""));
	CHECK(strstr(text, "\"violations\":{\"stale_table\":"));
	CHECK(strstr(text, "\"passed\":true"));
	free(text);
	test_rmtree(dir);
}

/* --jobs: the same cells in processes of their own, printed in the
 * matrix's order, the unsafe cells' traces carried back to the JSON. One
 * cell per job: a process that runs a second cell after an RCU-freeing
 * one trips a TSan report on liburcu's call_rcu thread (uninstrumented
 * synchronisation; the same without --jobs), which is not this test's. */
TEST_T(cli_matrix_jobs, 300)
{
	char dir[256], json[300];
	const char *x86, *norcu;
	char *text;
	int status;

	tmp_json(dir, sizeof(dir), json, sizeof(json), "matrix-jobs");
	status = ptlab("matrix", "--profiles", "x86,broadcast-norcu", "--scenarios", "munmap",
		       "--fixes", "none,both", "--seconds", "1", "--retries", MATRIX_RETRIES, "--jobs",
		       "4", "--json", json,
		       "--no-report", NULL);
	CHECK_MSG(status == 0, "exit %d:\n%s", status, out);
	CHECK(strstr(out, "4 cells: 4 pass, 0 fail, 0 inconclusive"));
	x86 = strstr(out, "\nx86 ");
	norcu = strstr(out, "\nbroadcast-norcu ");
	CHECK(x86 && norcu && x86 < norcu);
	text = test_read_file(json);
	CHECK_EQ(test_count(text, "\"verdict\":\"pass\""), 4);
	CHECK_EQ(test_count(text, "\"expected\":\"unsafe\""), 2);
	CHECK(test_count(text, "\"trace\":") >= 2);
	free(text);
	test_rmtree(dir);
}

/* A hand-written profile: arm64's properties, renamed, with RCU table
 * free as given: with it every level by RCU, without it (and without the
 * Kconfig symbol) every level after the flush. */
static void write_profile(const char *path, const char *name, bool rcu_table_free)
{
	FILE *f = fopen(path, "w");
	const char *rcu = rcu_table_free ? "true" : "false";

	CHECK(f);
	fprintf(f, "{\n  \"name\": \"%s\",\n  \"rcu_table_free\": %s,\n  \"sync_ipi\": %s,\n"
		   "  \"upper_table_free\": \"%s\",\n"
		   "  \"tlb_flush\": \"broadcast\",\n  \"flush_waits\": false,\n"
		   "  \"broadcast_min_cpus\": 0,\n  \"deposit\": \"list\",\n"
		   "  \"mm_cpumask\": false,\n  \"collapse_flush_waits\": false,\n"
		   "  \"pmd_read\": \"one-word\",\n  \"move_pmd\": true,\n  \"move_pud\": true,\n"
		   "  \"summary\": \"arm64, RCU table free %s\",\n"
		   "  \"kernel_facts\": \"written for a test\"\n}\n",
		name, rcu, rcu, rcu_table_free ? "rcu" : "after-flush", rcu_table_free ? "on" : "off");
	CHECK(fclose(f) == 0);
}

/*
 * A profile no code knows gets verdicts from both oracles, computed from
 * its properties: arm64 without RCU table free is unsafe in munmap and
 * munmap-pmd even with both fixes (nothing waits for a walker before the
 * PTE or PMD table is freed), and the same file with RCU table free on
 * is safe.
 */
TEST_T(cli_profile_file_gets_verdicts, 600)
{
	char dir[256], off[300], on[300], json[300];
	char *text;
	int status;

	tmp_json(dir, sizeof(dir), json, sizeof(json), "profile-file");
	snprintf(off, sizeof(off), "%s/arm64-norcu.json", dir);
	snprintf(on, sizeof(on), "%s/arm64-copy.json", dir);
	write_profile(off, "my-arm64-norcu", false);
	write_profile(on, "my-arm64", true);
	status = ptlab("matrix", "--profile-file", off, "--profile-file", on, "--scenarios",
		       "munmap,munmap-pmd", "--fixes", "both", "--seconds", "1", "--retries",
		       MATRIX_RETRIES, "--json", json,
		       "--no-report", NULL);
	CHECK_MSG(status == 0, "exit %d:\n%s", status, out);
	CHECK_MSG(strstr(out, "4 cells: 4 pass"), "%s", out);
	text = test_read_file(json);
	CHECK_MSG(strstr(text, "\"profile\":\"my-arm64-norcu\",\"scenario\":\"munmap\""), "%s",
		  text);
	CHECK_MSG(strstr(text, "\"profile\":\"my-arm64-norcu\",\"scenario\":\"munmap-pmd\""),
		  "%s", text);
	CHECK_MSG(strstr(text, "\"upper_table_free\":\"after-flush\""), "%s", text);
	CHECK_EQ(test_count(text, "\"expected\":\"unsafe\""), 2);
	CHECK_EQ(test_count(text, "\"expected\":\"safe\""), 2);
	CHECK_EQ(test_count(text, "\"verdict\":\"pass\""), 4);
	free(text);
	/* Alone, or with built-in profiles: --profiles adds them. */
	status = ptlab("model", "--profile-file", off, "--profiles", "arm64", "--scenarios",
		       "munmap,munmap-pmd", "--fixes", "both", "--json", json, NULL);
	CHECK_MSG(status == 0, "exit %d:\n%s", status, out);
	text = test_read_file(json);
	CHECK_MSG(strstr(text, "\"profile\":\"my-arm64-norcu\""), "%s", text);
	CHECK_MSG(strstr(text, "\"expected\":\"unsafe\",\"model_verdict\":\"unsafe\""), "%s", text);
	CHECK_MSG(strstr(text, "\"profile\":\"arm64\""), "%s", text);
	CHECK_MSG(strstr(text, "\"expected\":\"safe\",\"model_verdict\":\"safe\""), "%s", text);
	CHECK_EQ(test_count(text, "\"verdict\":\"pass\""), 4);
	free(text);
	/* race takes it as its one profile; its header lists the file's
	 * properties. */
	status = cli_race((const char *const[]){ "--profile-file", off, "--scenario", "munmap",
						 "--stop-on-first", NULL },
			  5, out, sizeof(out));
	CHECK_MSG(status == 0, "exit %d:\n%s", status, out);
	CHECK_MSG(strstr(out, "profile my-arm64-norcu: rcu_table_free false, sync_ipi false, "
			      "upper_table_free after-flush, tlb_flush broadcast"),
		  "%s", out);
	CHECK_MSG(strstr(out, "the rule expects: unsafe"), "%s", out);
	CHECK_MSG(strstr(out, "verdict: pass"), "%s", out);
	test_rmtree(dir);
}

/* Every entry of `ptlab profiles --json`, renamed, reads back as itself:
 * the writer and the reader share the table of keys. */
TEST(cli_profiles_json_round_trip)
{
	char dir[256], path[300];
	json_error_t err;
	json_t *doc, *entry;
	size_t i;

	test_mkdtemp(dir, sizeof(dir), "round-trip");
	snprintf(path, sizeof(path), "%s/p.json", dir);
	CHECK_EQ(ptlab("profiles", "--json", NULL), 0);
	doc = json_loads(out, 0, &err);
	CHECK_MSG(doc, "%s: %s", err.text, out);
	CHECK_EQ(json_array_size(json_object_get(doc, "profiles")), ptlab_profiles_count());
	json_array_foreach(json_object_get(doc, "profiles"), i, entry) {
		char name[80];
		json_t *back, *last;

		snprintf(name, sizeof(name), "copy-of-%s", json_string_value(json_object_get(entry,
											  "name")));
		json_object_set_new(entry, "name", json_string(name));
		CHECK_EQ(json_dump_file(entry, path, JSON_INDENT(2)), 0);
		CHECK_MSG(ptlab("profiles", "--json", "--profile-file", path, NULL) == 0, "%s", out);
		back = json_loads(out, 0, &err);
		CHECK(back);
		last = json_array_get(json_object_get(back, "profiles"), ptlab_profiles_count());
		CHECK_MSG(json_equal(last, entry), "%s read back as:\n%s", name, out);
		json_decref(back);
	}
	json_decref(doc);
	test_rmtree(dir);
}

/* Each bad profile file: exit 2 and a message naming the key or value
 * and what is allowed. */
#define RCU_KEYS ",\"sync_ipi\":true,\"upper_table_free\":\"rcu\""
#define ALL_KEYS(rcu, sync, upper)                                                      \
	"{\"name\":\"x\",\"rcu_table_free\":" rcu ",\"sync_ipi\":" sync                    \
	",\"upper_table_free\":\"" upper "\",\"tlb_flush\":\"broadcast\",\"broadcast_min_cpus\":0," \
	"\"deposit\":\"list\",\"mm_cpumask\":false,\"collapse_flush_waits\":false,"         \
	"\"pmd_read\":\"one-word\",\"move_pmd\":true,\"move_pud\":true,\"summary\":\"s\","       \
	"\"kernel_facts\":\"k\"}"
TEST(cli_profile_file_bad_input)
{
	static const struct {
		const char *text, *value, *hint;
	} bad[] = {
		{ "{\"name\":\"a\",\"colour\":\"red\"}", "unknown profile key: colour",
		  "allowed: name, rcu_table_free, sync_ipi, upper_table_free, tlb_flush" },
		{ "{\"name\":\"a\",\"rcu_table_free\":true" RCU_KEYS "}",
		  "missing profile key: tlb_flush", "allowed: ipi, broadcast, paravirt, hypercall" },
		/* a file written before the keys of how upper tables are
		 * freed and whether the sync sends IPIs */
		{ "{\"name\":\"a\",\"rcu_table_free\":true,\"tlb_flush\":\"ipi\"}",
		  "missing profile key: sync_ipi", "allowed: true, false" },
		{ "{\"name\":\"a\",\"rcu_table_free\":true,\"sync_ipi\":true,\"tlb_flush\":\"ipi\"}",
		  "missing profile key: upper_table_free", "allowed: rcu, after-flush, at-once" },
		{ "{\"name\":\"a\",\"rcu_table_free\":true,\"sync_ipi\":true,"
		  "\"upper_table_free\":\"later\"}",
		  "unknown value of upper_table_free: \"later\"", "allowed: rcu, after-flush, at-once" },
		{ "{\"name\":\"a\",\"rcu_table_free\":\"yes\",\"tlb_flush\":\"ipi\"}",
		  "not true or false: rcu_table_free: \"yes\"", "allowed: true, false" },
		{ "{\"name\":\"a\",\"rcu_table_free\":true" RCU_KEYS ",\"tlb_flush\":\"sbi\"}",
		  "unknown value of tlb_flush: \"sbi\"", "allowed: ipi, broadcast" },
		{ "{\"name\":\"a\",\"rcu_table_free\":true" RCU_KEYS ",\"tlb_flush\":\"ipi\","
		  "\"broadcast_min_cpus\":-1}", "out of range: broadcast_min_cpus: -1",
		  "allowed: 0.." },
		{ "{\"name\":\"a\",\"rcu_table_free\":true" RCU_KEYS ",\"tlb_flush\":\"ipi\","
		  "\"broadcast_min_cpus\":1.5}", "not an integer: broadcast_min_cpus: 1.5",
		  "allowed: 0.." },
		{ "{\"name\":7}", "not a string: name: 7", "allowed: a string" },
		{ "{\"name\":\"a\",\"name\":\"b\"}", "duplicate object key", "each key once" },
		{ "[]", "not a JSON object", "allowed: one object" },
		{ "{\"ptlab_version\":\"0\",\"profiles\":[]}", "unknown profile key: ptlab_version",
		  "allowed: name" },
		{ "{\"name\":", "line 1 column", "allowed: a readable file" },
	};
	char dir[256], path[300], good[300], other[300];
	FILE *f;

	test_mkdtemp(dir, sizeof(dir), "bad-profile");
	snprintf(path, sizeof(path), "%s/bad.json", dir);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f = fopen(path, "w");
		CHECK(f && fputs(bad[i].text, f) >= 0 && fclose(f) == 0);
		CHECK_USAGE(bad[i].value, bad[i].hint, "matrix", "--profile-file", path);
	}
	/* A copy of a built-in profile keeps its name: rename it. */
	write_profile(path, "arm64", true);
	CHECK_USAGE("name taken by a built-in profile: arm64", "rename the copy", "model",
		    "--profile-file", path);
	write_profile(path, "my arm64", true);
	CHECK_USAGE("bad profile name: my arm64", "letters, digits", "race", "--profile-file",
		    path);
	/* A derived key must follow from the others. */
	snprintf(good, sizeof(good), "%s/good.json", dir);
	write_profile(good, "mine", false);
	f = fopen(path, "w");
	CHECK(f && fputs("{\"name\":\"x\",\"rcu_table_free\":true" RCU_KEYS ","
			 "\"tlb_flush\":\"broadcast\","
			 "\"flush_waits\":true,\"broadcast_min_cpus\":0,\"deposit\":\"list\","
			 "\"mm_cpumask\":false,\"collapse_flush_waits\":false,"
			 "\"pmd_read\":\"one-word\",\"move_pmd\":true,\"move_pud\":true,"
			 "\"summary\":\"s\",\"kernel_facts\":\"k\"}",
			 f) >= 0 && fclose(f) == 0);
	CHECK_USAGE("flush_waits does not follow from the other keys: true",
		    "allowed: false, or leave it out", "study", "sync", "--profile-file", path);
	/* A table freed by RCU needs the Kconfig symbol that makes the sync
	 * send IPIs: the RCU batch exists only with it. */
	static const char *const contradictions[][2] = {
		{ ALL_KEYS("true", "false", "after-flush"), "rcu_table_free true with sync_ipi false" },
		{ ALL_KEYS("false", "false", "rcu"), "upper_table_free rcu with sync_ipi false" },
	};
	for (size_t i = 0; i < 2; i++) {
		f = fopen(path, "w");
		CHECK(f && fputs(contradictions[i][0], f) >= 0 && fclose(f) == 0);
		CHECK_USAGE(contradictions[i][1], "allowed: sync_ipi true wherever a table is freed "
			    "by RCU", "model", "--profile-file", path);
	}
	/* riscv with IPI flushes up to 6.14: the symbol selected, every
	 * table freed after the flush. */
	f = fopen(path, "w");
	CHECK(f && fputs(ALL_KEYS("false", "true", "after-flush"), f) >= 0 && fclose(f) == 0);
	CHECK_MSG(ptlab("profiles", "--profile-file", path, NULL) == 0, "%s", out);
	/* Two files with one name; two profiles where one is run. */
	snprintf(other, sizeof(other), "%s/other.json", dir);
	write_profile(other, "mine", true);
	CHECK_USAGE("name taken by another --profile-file: mine", "one profile per name",
		    "matrix", "--profile-file", good, "--profile-file", other);
	CHECK_USAGE("one profile only", "one --profiles NAME or one --profile-file FILE", "race",
		    "--profile", "x86", "--profile-file", good);
	CHECK_USAGE("one profile only", "one --profiles NAME or one --profile-file FILE", "study",
		    "unshare", "--profile-file", good, "--profile", "arm64");
	CHECK_USAGE("/no/such.json", "allowed: a readable file", "race", "--profile-file",
		    "/no/such.json");
	/* --profiles names a file's profile once it has been read. */
	CHECK_USAGE("mine", "or a --profile-file given before", "model", "--profiles", "mine",
		    "--profile-file", good);
	test_rmtree(dir);
}

/*
 * --no-rule: each cell once, what the stress lab saw beside what the
 * model proved, with no expectation and no pass or fail.
 */
TEST_T(cli_matrix_no_rule, 600)
{
	char dir[256], json[300];
	char *text;
	int status;

	tmp_json(dir, sizeof(dir), json, sizeof(json), "no-rule");
	status = ptlab("matrix", "--no-rule", "--profiles", "x86,broadcast-norcu", "--scenarios",
		       "munmap", "--fixes", "none", "--seconds", "1", "--json", json, NULL);
	CHECK_MSG(status == 0, "exit %d:\n%s", status, out);
	CHECK_MSG(strstr(out, "stress lab saw"), "%s", out);
	CHECK_MSG(strstr(out, "model found"), "%s", out);
	CHECK_MSG(strstr(out, "observed with no rule"), "%s", out);
	CHECK_MSG(!strstr(out, "pass") && !strstr(out, "FAIL") && !strstr(out, "expect"), "%s",
		  out);
	text = test_read_file(json);
	CHECK_MSG(strstr(text, "\"no_rule\":true"), "%s", text);
	CHECK_MSG(!strstr(text, "\"expected\"") && !strstr(text, "\"verdict\"") &&
			  !strstr(text, "\"passed\""),
		  "%s", text);
	CHECK_EQ(test_count(text, "\"model\":{\"model_verdict\":"), 2);
	CHECK_MSG(strstr(text, "\"model_verdict\":\"unsafe\""), "%s", text);
	CHECK_MSG(strstr(text, "\"model_verdict\":\"safe\""), "%s", text);
	free(text);
	CHECK_USAGE("r.html", "--report with --no-rule", "matrix", "--no-rule", "--report",
		    "r.html");
	/* The report draws verdicts: it refuses an observation. */
	status = ptlab("report", "--from", json, "-o", "/dev/null", NULL);
	CHECK_MSG(status != 0 && strstr(out, "written by matrix --no-rule"), "exit %d:\n%s",
		  status, out);
	test_rmtree(dir);
}
