// SPDX-License-Identifier: MIT
/*
 * Traces and the report: the traces are valid Chrome trace-event JSON
 * (every event has ph, ts, pid and tid; every flow has one start and one
 * end, in that order); the report's page holds both oracles' cells, their
 * lines, and bounded timelines that read back as valid traces (the quick
 * tier reads the page's data); and the report works in a real browser
 * (the full tier): Debian's chromium, headless, loads it from disk, runs
 * its script, and the DOM it leaves has the grid, a glyph per cell as the
 * documents say; a click on each unsafe cell shows its lines, both
 * timelines with as many lanes as the trace had tracks, the violation
 * marked, the counterexample's steps, and no script error; its screenshot
 * is no blank page. Without chromium the browser test fails (make check-full
 * installs it: scripts/deps.sh). The
 * scenarios of the RCU walkers (pt-reclaim) and of hugetlb unsharing have
 * traces of their own: the RCU read-side sections and PTE locks, the
 * stale lock, the PUD cleared and the table handed over.
 */
#include <jansson.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "ptlab/model.h"

static char out[4 << 20];

static json_t *load(const char *path)
{
	json_error_t err;
	json_t *doc = json_load_file(path, 0, &err);

	CHECK_MSG(doc, "%s: %s (line %d)", path, err.text, err.line);
	return doc;
}

/* Validates a trace-event document; returns its number of tracks. */
static int validate_trace(const json_t *doc, const char *what)
{
	json_t *events = json_object_get(doc, "traceEvents"), *e;
	json_t *flows = json_object();
	int tracks = 0;
	size_t i;

	CHECK_MSG(json_is_array(events) && json_array_size(events) > 0, "%s: no traceEvents",
		  what);
	json_array_foreach(events, i, e) {
		const char *ph = json_string_value(json_object_get(e, "ph"));
		json_t *ts = json_object_get(e, "ts");

		CHECK_MSG(ph && json_is_number(ts) && json_is_integer(json_object_get(e, "pid")) &&
				  json_is_integer(json_object_get(e, "tid")),
			  "%s: event %zu lacks ph, ts, pid or tid", what, i);
		if (!strcmp(ph, "X"))
			CHECK_MSG(json_number_value(json_object_get(e, "dur")) >= 0,
				  "%s: slice %zu without a duration", what, i);
		if (!strcmp(ph, "M") && !strcmp(json_string_value(json_object_get(e, "name")),
						"thread_name"))
			tracks++;
		if (!strcmp(ph, "s") || !strcmp(ph, "f")) {
			char id[32];
			json_t *pair;

			snprintf(id, sizeof(id), "%lld",
				 (long long)json_integer_value(json_object_get(e, "id")));
			pair = json_object_get(flows, id);
			if (!pair) {
				pair = json_pack("{s:i, s:i, s:f}", "s", 0, "f", 0, "ts", 0.0);
				json_object_set_new(flows, id, pair);
			}
			json_object_set_new(pair, ph, json_integer(json_integer_value(
							       json_object_get(pair, ph)) + 1));
			if (!strcmp(ph, "s"))
				json_object_set(pair, "ts", ts);
			else
				CHECK_MSG(json_number_value(ts) >=
						  json_number_value(json_object_get(pair, "ts")),
					  "%s: flow %s ends before it starts", what, id);
		}
	}
	{
		const char *id;
		json_t *pair;

		json_object_foreach(flows, id, pair)
			CHECK_MSG(json_integer_value(json_object_get(pair, "s")) == 1 &&
					  json_integer_value(json_object_get(pair, "f")) == 1,
				  "%s: flow %s does not pair up", what, id);
	}
	json_decref(flows);
	return tracks;
}

/* Events of category @cat in @doc. */
static size_t count_cat(const json_t *doc, const char *cat)
{
	json_t *e;
	size_t i, n = 0;

	json_array_foreach(json_object_get(doc, "traceEvents"), i, e)
		n += !strcmp(json_string_value(json_object_get(e, "cat")), cat);
	return n;
}

/* Events whose name begins with @prefix. */
static size_t count_named(const json_t *doc, const char *prefix)
{
	json_t *e;
	size_t i, n = 0;

	json_array_foreach(json_object_get(doc, "traceEvents"), i, e)
		n += !strncmp(json_string_value(json_object_get(e, "name")), prefix, strlen(prefix));
	return n;
}

/* The document's title (its process_name). */
static const char *process_name(const json_t *doc)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(doc, "traceEvents"), i, e)
		if (!strcmp(json_string_value(json_object_get(e, "name")), "process_name"))
			return json_string_value(json_object_get(json_object_get(e, "args"), "name"));
	return "";
}

/* Tracks whose name contains @what. */
static size_t count_tracks(const json_t *doc, const char *what)
{
	json_t *e;
	size_t i, n = 0;

	json_array_foreach(json_object_get(doc, "traceEvents"), i, e) {
		const char *name = json_string_value(json_object_get(json_object_get(e, "args"),
								     "name"));

		n += !strcmp(json_string_value(json_object_get(e, "name")), "thread_name") && name &&
		     strstr(name, what);
	}
	return n;
}

static int ptlab(const char *const args[])
{
	const char *argv[24] = { test_ptlab_path() };

	for (size_t i = 0; args[i] && i < 22; i++)
		argv[i + 1] = args[i];
	return test_run(argv, out, sizeof(out));
}

/* The trace of @profile's @scenario without fixes, until shortly after
 * its first violation: a violation must be in it. Returns it validated;
 * its number of tracks in *tracks. A trace whose rings were overwritten
 * before the controller copied them (a loaded machine: the trace says so
 * in otherData.lost_events) may lack any event, the violation's too: it
 * is taken again with the next seed, up to 8 times; the one checked has
 * lost nothing. */
static json_t *violation_trace_window(const char *profile, const char *scenario,
				      const char *window, int *tracks)
{
	char dir[256], path[300], seed[16];
	const char *args[] = { "race", "--profile", profile, "--scenario", scenario,
			       "--fixes", "none", "--seconds", "10", "--stop-on-first",
			       "--seed", seed, "--trace-window", window, "--trace", path, NULL };
	json_t *doc = NULL;
	int s;

	test_mkdtemp(dir, sizeof(dir), "trace");
	snprintf(path, sizeof(path), "%s/t.json", dir);
	for (int attempt = 1; attempt <= 8; attempt++) {
		json_decref(doc);
		snprintf(seed, sizeof(seed), "%d", attempt);
		s = ptlab(args);
		CHECK_MSG(s == 0 && strstr(out, "around the first violation"), "exit %d:\n%s", s,
			  out);
		doc = load(path);
		if (!json_integer_value(json_object_get(json_object_get(doc, "otherData"),
							"lost_events")))
			break;
	}
	CHECK_EQ(json_integer_value(json_object_get(json_object_get(doc, "otherData"),
						    "lost_events")), 0);
	*tracks = validate_trace(doc, path);
	CHECK(count_cat(doc, "violation") >= 1);
	CHECK(json_is_true(json_object_get(json_object_get(doc, "otherData"), "violation")));
	test_rmtree(dir);
	return doc;
}

/* The same with the default window, 10 ms before the violation and 2
 * after. */
static json_t *violation_trace(const char *profile, const char *scenario, int *tracks)
{
	return violation_trace_window(profile, scenario, "10:2", tracks);
}

TEST_T(trace_of_a_violation, 120)
{
	int tracks;
	json_t *doc = violation_trace("arm64", "collapse-zap", &tracks);

	/* Two walkers, two writers, the call_rcu thread. */
	CHECK_EQ(tracks, 5);
	CHECK(count_cat(doc, "irqs-off") >= 1);
	CHECK(count_cat(doc, "read") >= 1);
	json_decref(doc);
}

/* x86 flushes by IPI: the IPIs are flows from the flusher to each CPU. */
TEST_T(trace_ipis_are_flows, 120)
{
	char dir[256], path[300];
	json_t *doc;

	test_mkdtemp(dir, sizeof(dir), "trace");
	snprintf(path, sizeof(path), "%s/t.json", dir);
	{
		/* The trace is the point, not the verdict: no minimum of
		 * evidence, which a loaded machine may not gather in time. */
		const char *args[] = { "race", "--profile", "x86", "--fixes", "none",
				       "--seconds", "0.5", "--min-overlaps", "0", "--trace", path,
				       "--trace-window", "100:0", NULL };
		int s = ptlab(args);

		CHECK_MSG(s == 0 && strstr(out, "no violation"), "exit %d:\n%s", s, out);
	}
	doc = load(path);
	validate_trace(doc, path);
	CHECK(count_cat(doc, "ipi") >= 2);
	CHECK(count_cat(doc, "flush") >= 1);
	json_decref(doc);
	test_rmtree(dir);
}

/* pt-reclaim on a profile without RCU table free: the GUP-fast walkers
 * are held off by the IPI flush, the RCU walkers (interrupts on) are not:
 * one takes the lock of a table freed and reused under it. */
TEST_T(trace_of_an_rcu_walker, 120)
{
	int tracks;
	json_t *doc = violation_trace("x86-nopv-6.0", "pt-reclaim", &tracks);

	CHECK_EQ(count_tracks(doc, "gup walker"), 2);
	CHECK_EQ(count_tracks(doc, "rcu walker"), 2);
	CHECK_EQ(count_tracks(doc, "reclaimer"), 1);
	CHECK(!strcmp(json_string_value(json_object_get(json_object_get(doc, "otherData"),
							"walkers")),
		      "gup,rcu"));
	CHECK(count_cat(doc, "rcu-section") >= 1);
	CHECK(count_cat(doc, "ptl") >= 1);
	CHECK(count_named(doc, "PMD read (pte_offset_map_lock") >= 1);
	CHECK(count_named(doc, "VIOLATION stale_lock") >= 1);
	CHECK_EQ(count_named(doc, "VIOLATION stale_table"), 0);
	/* The RCU walker's read of the table it then locked, marked. */
	CHECK(count_cat(doc, "stale-read") >= 1);
	json_decref(doc);
}

/* hugetlb-unshare without a sync on arm64: a walker of mm W is still in
 * the PMD table W unshared when the table becomes B's own. The window
 * reaches 100 ms back: on a loaded machine the unshare's PUD clear and
 * hand-over can come more than the default 10 ms before the violation,
 * with only sections left out as empty in between. */
TEST_T(trace_of_a_hugetlb_unshare, 120)
{
	int tracks;
	json_t *doc = violation_trace_window("arm64", "hugetlb-unshare", "100:2", &tracks);

	CHECK_EQ(count_tracks(doc, "unsharer (mm W)"), 1);
	CHECK_EQ(count_tracks(doc, "last unsharer (mm A)"), 1);
	CHECK_EQ(count_tracks(doc, "owner (mm B)"), 1);
	CHECK(count_named(doc, "PUD cleared") >= 1);
	CHECK(count_cat(doc, "handover") >= 1);
	CHECK(count_named(doc, "PUD read") >= 1);
	/* The walkers' sections while A has no mapping are left out, and
	 * counted. */
	CHECK(json_is_integer(json_object_get(json_object_get(doc, "otherData"),
					      "empty_sections_left_out")));
	json_decref(doc);
}

/* ptlab model --trace writes a file for every unsafe cell, named by
 * ptlab_model_cell_name() (with the collapse-table generation), and none
 * for a safe one; an RCU walker's counterexample has its read-side
 * section, its lock and the stale lock. */
TEST_T(trace_of_every_unsafe_model_cell, 300)
{
	static const char *const profiles[] = { "x86-nopv-6.0", "arm64" };
	static const enum scenario scen[] = { SCENARIO_PT_RECLAIM, SCENARIO_COLLAPSE_ZAP };
	char dir[256], path[512], name[128];
	int unsafe = 0;

	test_mkdtemp(dir, sizeof(dir), "trace");
	{
		const char *args[] = { "model", "--profiles", "x86-nopv-6.0,arm64", "--scenarios",
				       "pt-reclaim,collapse-zap", "--fixes", "none",
				       "--collapse-table", "zap-rcu", "--trace", dir, NULL };
		int s = ptlab(args);

		CHECK_MSG(s == 0, "exit %d:\n%s", s, out);
	}
	for (size_t p = 0; p < 2; p++)
		for (size_t k = 0; k < 2; k++) {
			struct ptlab_fixes none = { false, false };
			struct ptlab_cell c = ptlab_cell_default(ptlab_profile_find(profiles[p]),
								 none, scen[k]);
			json_t *doc;

			if (scen[k] == SCENARIO_COLLAPSE_ZAP)
				c.kernel.collapse_table = COLLAPSE_TABLE_ZAP_RCU;
			ptlab_model_cell_name(&c, name, sizeof(name));
			snprintf(path, sizeof(path), "%s/%s.json", dir, name);
			if (!ptlab_expect_cell(&c).unsafe) {
				CHECK_MSG(access(path, F_OK) != 0, "%s: a trace of a safe cell", path);
				continue;
			}
			unsafe++;
			doc = load(path);
			CHECK(validate_trace(doc, path) >= 2);
			CHECK_EQ(count_cat(doc, "violation"), 1);
			if (scen[k] == SCENARIO_PT_RECLAIM) {
				CHECK_EQ(count_named(doc, "VIOLATION stale_lock"), 1);
				CHECK_EQ(count_cat(doc, "rcu-section"), 1);
				CHECK_EQ(count_cat(doc, "ptl"), 1);
				CHECK(count_cat(doc, "stale-read") >= 1);
			} else {
				CHECK_MSG(strstr(process_name(doc), "collapse-zap/zap-rcu"), "%s",
					  process_name(doc));
			}
			json_decref(doc);
		}
	CHECK_EQ(unsafe, 2);
	test_rmtree(dir);
}

TEST_T(trace_of_a_counterexample, 120)
{
	char dir[256], path[300];
	json_t *doc, *e;
	bool collapse = false, zapper = false, walker = false;
	size_t i;

	test_mkdtemp(dir, sizeof(dir), "trace");
	{
		const char *args[] = { "model", "--profiles", "arm64", "--scenarios",
				       "collapse-zap", "--fixes", "none", "--trace", dir, NULL };
		int s = ptlab(args);

		CHECK_MSG(s == 0, "exit %d:\n%s", s, out);
	}
	snprintf(path, sizeof(path), "%s/arm64.none.collapse-zap.json", dir);
	doc = load(path);
	CHECK(validate_trace(doc, path) >= 3);
	json_array_foreach(json_object_get(doc, "traceEvents"), i, e) {
		const char *name = json_string_value(json_object_get(json_object_get(e, "args"),
								     "name"));

		if (!name || strcmp(json_string_value(json_object_get(e, "name")), "thread_name"))
			continue;
		collapse |= !strcmp(name, "collapse");
		zapper |= !strcmp(name, "zapper");
		walker |= !strncmp(name, "cpu", 3);
	}
	CHECK(collapse && zapper && walker);
	CHECK_EQ(count_cat(doc, "violation"), 1);
	json_decref(doc);
	test_rmtree(dir);
}

/* The chromium command, or NULL. */
static const char *chromium(void)
{
	static const char *const paths[] = { "/usr/bin/chromium", "/usr/bin/chromium-browser" };

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

static int browse(const char *profile_dir, const char *mode, const char *url)
{
	const char *argv[] = { chromium(), "--headless", "--no-sandbox", "--disable-gpu",
			       "--disable-quic", "--no-first-run",
			       "--disable-background-networking", "--disable-component-update",
			       "--disable-sync", profile_dir, "--virtual-time-budget=10000",
			       "--hide-scrollbars", "--window-size=1000,3000", mode, url, NULL };

	return test_run(argv, out, sizeof(out));
}

/* The DOM text of the <svg> of @cell's @source timeline, or NULL. */
static char *timeline_svg(const char *dom, int cell, const char *source, int *lanes)
{
	char key[96];
	const char *s, *end;

	snprintf(key, sizeof(key), "data-cell=\"%d\" data-source=\"%s\" data-lanes=\"", cell,
		 source);
	s = strstr(dom, key);
	if (!s)
		return NULL;
	*lanes = atoi(s + strlen(key));
	end = strstr(s, "</svg>");
	return end ? strndup(s, (size_t)(end - s)) : NULL;
}

/* Pixels of one exact colour, and distinct colours, of a PNG. */
static void png_colours(const char *path, uint32_t want, size_t *exact, size_t *distinct)
{
	png_image img = { .version = PNG_IMAGE_VERSION };
	uint8_t *px, *seen = calloc(1 << 21, 1);
	size_t n;

	CHECK_MSG(png_image_begin_read_from_file(&img, path), "%s: %s", path, img.message);
	img.format = PNG_FORMAT_RGB;
	px = malloc(PNG_IMAGE_SIZE(img));
	CHECK(px && seen && png_image_finish_read(&img, NULL, px, 0, NULL));
	CHECK(img.width >= 800 && img.height >= 800);
	*exact = *distinct = 0;
	n = (size_t)img.width * img.height;
	for (size_t i = 0; i < n; i++) {
		uint32_t c = (uint32_t)px[3 * i] << 16 | (uint32_t)px[3 * i + 1] << 8 | px[3 * i + 2];

		*exact += c == want;
		if (!(seen[c >> 3] & (1 << (c & 7)))) {
			seen[c >> 3] |= (uint8_t)(1 << (c & 7));
			(*distinct)++;
		}
	}
	free(px);
	free(seen);
}

/* Each cell's "line" in the document at @path, and its "line_header",
 * are lines the command printed (in out[]): what a click shows is what
 * the terminal would have. */
static void lines_in_output(const char *path)
{
	json_t *doc = load(path), *c;
	size_t i;

	CHECK_MSG(strstr(out, json_string_value(json_object_get(doc, "line_header"))),
		  "%s: no line header", path);
	json_array_foreach(json_object_get(doc, "cells"), i, c) {
		const char *line = json_string_value(json_object_get(c, "line"));

		CHECK_MSG(line && strstr(out, line), "%s: cell %zu's line is not in the output:\n%s",
			  path, i, line ? line : "(none)");
	}
	json_decref(doc);
}

/*
 * A matrix and a model run of arm64 (collapse-zap unsafe in both
 * generations without fixes, hugetlb-unshare unsafe without the sync) and
 * x86-nopv-6.0 (IPI flush, no RCU table free: pt-reclaim unsafe for its
 * RCU walkers only), and their report, in @dir: matrix.json, model.json,
 * report.html. The matrix's cells get more retries than by default: they
 * share the CPUs with other tests, and in a sanitizer build run several
 * times slower.
 */
static void make_report(const char *dir, char *matrix, char *model, char *report, size_t len)
{
	const char *margs[] = { "matrix", "--profiles", "arm64,x86-nopv-6.0", "--scenarios",
				"collapse-zap,pt-reclaim,hugetlb-unshare", "--fixes", "none,both",
				"--collapse-table", "reuse,zap-rcu", "--retries", "4", "--json", matrix,
				"--no-report", NULL };
	const char *oargs[] = { "model", "--profiles", "arm64,x86-nopv-6.0", "--scenarios",
				"collapse-zap,pt-reclaim,hugetlb-unshare", "--fixes", "none,both",
				"--collapse-table", "reuse,zap-rcu", "--json", model, NULL };
	const char *rargs[] = { "report", "--from", matrix, "--model", model, "-o", report,
				NULL };

	snprintf(matrix, len, "%s/matrix.json", dir);
	snprintf(model, len, "%s/model.json", dir);
	snprintf(report, len, "%s/report.html", dir);
	CHECK_MSG(ptlab(margs) == 0, "matrix:\n%s", out);
	lines_in_output(matrix);
	CHECK_MSG(ptlab(oargs) == 0, "model:\n%s", out);
	lines_in_output(model);
	CHECK_MSG(ptlab(rargs) == 0 && strstr(out, report), "report:\n%s", out);
}

/* A compact timeline of the page (cli/report_timeline.h) as the
 * trace-event document it stands for, with the page's @strings; fails
 * the test when it is not one, or holds more events than the page's
 * bound @most. */
static json_t *decode_timeline(const json_t *tl, const json_t *strings, json_int_t most)
{
	json_t *events = json_array(), *lane, *v;
	double t0 = json_number_value(json_object_get(tl, "t0"));
	size_t i, n = json_array_size(strings);

	CHECK_MSG(json_is_array(json_object_get(tl, "lanes")) &&
			  json_is_array(json_object_get(tl, "ev")),
		  "a timeline without lanes or events");
	CHECK((json_int_t)json_array_size(json_object_get(tl, "ev")) <= most);
	CHECK_EQ(json_integer_value(json_object_get(tl, "events")) -
			 json_integer_value(json_object_get(tl, "left_out")),
		 json_array_size(json_object_get(tl, "ev")));
#define STR(k) json_string_value(json_array_get(strings, (size_t)k))
	json_array_foreach(json_object_get(tl, "lanes"), i, lane) {
		json_int_t name = json_integer_value(json_array_get(lane, 1));

		CHECK(name > 0 && (size_t)name < n);
		json_array_append_new(events, json_pack("{s:s, s:s, s:s, s:f, s:i, s:I, s:{s:s}}",
							"ph", "M", "name", "thread_name", "cat",
							"__metadata", "ts", 0.0, "pid", 1, "tid",
							json_integer_value(json_array_get(lane, 0)),
							"args", "name", STR(name)));
	}
	json_array_foreach(json_object_get(tl, "ev"), i, v) {
		json_int_t k[11] = { 0 };
		json_t *e, *args = json_object();

		CHECK_MSG(json_array_size(v) >= 6 && json_array_size(v) <= 11, "event %zu", i);
		for (size_t x = 0; x < json_array_size(v); x++)
			if (x != 3 && x != 4)
				k[x] = json_integer_value(json_array_get(v, x));
		for (size_t x = 0; x < 11; x++)
			if (x != 3 && x != 4 && x != 5 && x != 8 && x != 10)
				CHECK_MSG(k[x] >= 0 && (size_t)k[x] < n, "event %zu: string %lld", i,
					  (long long)k[x]);
		if (k[6])
			json_object_set_new(args, "function", json_string(STR(k[6])));
		if (k[7])
			json_object_set_new(args, "table", json_string(STR(k[7])));
		e = json_pack("{s:s, s:s, s:s, s:f, s:i, s:I, s:o}", "ph", STR(k[0]), "cat",
			      STR(k[1]), "name", STR(k[2]), "ts",
			      t0 + json_number_value(json_array_get(v, 3)), "pid", 1, "tid", k[5],
			      "args", args);
		CHECK(e);
		if (!strcmp(STR(k[0]), "X"))
			json_object_set_new(e, "dur", json_real(json_number_value(json_array_get(v, 4))));
		if (k[10])
			json_object_set_new(e, "id", json_integer(k[10]));
		json_array_append_new(events, e);
	}
#undef STR
	return json_pack("{s:o}", "traceEvents", events);
}

/* The text of @page from @begin up to @end, or fails the test. */
static char *between(const char *page, const char *begin, const char *end)
{
	const char *b = strstr(page, begin), *e;
	char *copy;

	CHECK_MSG(b, "no %s in the page", begin);
	b += strlen(begin);
	e = strstr(b, end);
	CHECK_MSG(e, "no %s after %s in the page", end, begin);
	copy = strndup(b, (size_t)(e - b));
	CHECK(copy);
	return copy;
}

/*
 * The report without a browser (the quick tier's; report_in_a_browser
 * runs its script): the page embeds the style and the script of report/
 * and one JSON document with a cell for each of the matrix's, each with
 * the rule walker kind by walker kind, both oracles' verdicts, its glyph
 * in the grid and its lines, and for each unsafe cell both timelines,
 * bounded, reading back as valid traces with the violation and what its
 * scenario has (an RCU walker's read-side sections, an unshare's
 * hand-over), and the model's counterexample step by step.
 */
TEST_T(report_page_holds_both_oracles, 300)
{
	char dir[256], matrix[300], model[300], report[300];
	char *page, *css, *js, *text, *want;
	json_t *m, *mo_doc, *data, *c, *strings;
	json_error_t err;
	json_int_t most;
	size_t i, unsafe = 0, zap_rcu = 0;
	bool scenarios[3] = { false, false, false };

	test_mkdtemp(dir, sizeof(dir), "report");
	make_report(dir, matrix, model, report, sizeof(matrix));
	page = test_read_file(report);
	CHECK(!strncmp(page, "<!DOCTYPE html>", 15));
	CHECK(strstr(page, "data-status=\"loading\" data-errors=\"0\""));
	css = between(page, "<style>\n", "</style>");
	want = test_read_file("report/report.css");
	CHECK_MSG(!strcmp(css, want), "the page's style is not report/report.css: rebuild");
	free(want);
	js = between(page, "<script>\n", "</script>");
	want = test_read_file("report/report.js");
	CHECK_MSG(!strcmp(js, want), "the page's script is not report/report.js: rebuild");
	free(want);
	text = between(page, "<script type=\"application/json\" id=\"ptlab-data\">", "</script>");
	data = json_loads(text, 0, &err);
	CHECK_MSG(data, "the page's data: %s (column %d)", err.text, err.column);
	CHECK(json_is_true(json_object_get(data, "have_model")));
	CHECK(json_is_true(json_object_get(data, "matrix_passed")));
	strings = json_object_get(data, "strings");
	CHECK(json_is_array(strings) && !strcmp(json_string_value(json_array_get(strings, 0)), ""));
	most = json_integer_value(json_object_get(data, "timeline_events"));
	CHECK(most > 0);
	CHECK(json_is_string(json_object_get(json_object_get(data, "line_headers"), "stress")) &&
	      json_is_string(json_object_get(json_object_get(data, "line_headers"), "model")));
	m = load(matrix);
	mo_doc = load(model);
	CHECK_EQ(json_array_size(json_object_get(data, "cells")),
		 json_array_size(json_object_get(m, "cells")));
	json_array_foreach(json_object_get(data, "cells"), i, c) {
		const char *scenario = json_string_value(json_object_get(c, "scenario"));
		const char *rule = json_string_value(json_object_get(c, "rule"));
		json_t *stress = json_object_get(c, "stress"), *mo = json_object_get(c, "model");
		json_t *steps, *trace, *mcell = json_array_get(json_object_get(m, "cells"), i);
		json_t *ocell = NULL, *o;
		size_t k;

		/* The model's cell of the same line (the model lists its cells
		 * in an order of its own). */
		json_array_foreach(json_object_get(mo_doc, "cells"), k, o)
			if (json_equal(json_object_get(o, "line"), json_object_get(mo, "line")))
				ocell = o;
		CHECK_MSG(ocell, "cell %zu: no model cell has its line", i);
		CHECK_MSG(rule && json_is_object(json_object_get(c, "rule_by_walker")),
			  "cell %zu: no rule", i);
		CHECK_MSG(stress && !strcmp(json_string_value(json_object_get(stress, "verdict")),
					    "pass"), "cell %zu: no stress verdict", i);
		CHECK_MSG(mo && !strcmp(json_string_value(json_object_get(mo, "verdict")), rule),
			  "cell %zu: the model's verdict is not the rule's", i);
		/* Both oracles agree with the rule: the rule's glyph. */
		CHECK_MSG(!strcmp(json_string_value(json_object_get(c, "glyph")),
				  strcmp(rule, "unsafe") ? "." : "x"), "cell %zu: glyph", i);
		CHECK(json_equal(json_object_get(stress, "line"), json_object_get(mcell, "line")));
		zap_rcu += !strcmp(scenario, "collapse-zap") &&
			   !strcmp(json_string_value(json_object_get(c, "collapse_table")),
				   "zap-rcu");
		if (strcmp(rule, "unsafe")) {
			CHECK_MSG(!json_object_get(c, "model_timeline") &&
					  !json_object_get(c, "counterexample"),
				  "cell %zu: a safe cell's counterexample", i);
			continue;
		}
		unsafe++;
		CHECK_MSG(json_object_get(c, "stress_timeline"), "no stress timeline for cell %zu", i);
		trace = decode_timeline(json_object_get(c, "stress_timeline"), strings, most);
		CHECK(validate_trace(trace, "stress timeline") >= 2);
		CHECK(count_cat(trace, "violation") >= 1);
		if (!strcmp(scenario, "pt-reclaim"))
			CHECK(count_cat(trace, "rcu-section") >= 1);
		if (!strcmp(scenario, "hugetlb-unshare"))
			CHECK(count_cat(trace, "handover") >= 1);
		json_decref(trace);
		CHECK_MSG(json_object_get(c, "model_timeline"), "no model timeline for cell %zu", i);
		trace = decode_timeline(json_object_get(c, "model_timeline"), strings, most);
		CHECK(validate_trace(trace, "model timeline") >= 3);
		CHECK_EQ(count_cat(trace, "violation"), 1);
		if (!strcmp(scenario, "pt-reclaim"))
			CHECK(count_cat(trace, "rcu-section") >= 1);
		json_decref(trace);
		/* The counterexample, step by step, as the model wrote it. */
		steps = json_object_get(c, "counterexample");
		CHECK_EQ(json_array_size(steps),
			 json_array_size(json_object_get(ocell, "counterexample")));
		for (k = 0; k < json_array_size(steps); k++)
			CHECK(!strcmp(json_string_value(json_array_get(
					      strings, (size_t)json_integer_value(json_array_get(steps, k)))),
				      json_string_value(json_array_get(
					      json_object_get(ocell, "counterexample"), k))));
		scenarios[0] |= !strcmp(scenario, "collapse-zap");
		scenarios[1] |= !strcmp(scenario, "pt-reclaim");
		scenarios[2] |= !strcmp(scenario, "hugetlb-unshare");
	}
	CHECK(unsafe > 0 && scenarios[0] && scenarios[1] && scenarios[2]);
	CHECK_EQ(zap_rcu, 4);
	json_decref(m);
	json_decref(mo_doc);
	json_decref(data);
	free(text);
	free(js);
	free(css);
	free(page);
	test_rmtree(dir);
}

/* The DOM after chromium ran the page's script at @url (plus @hash);
 * fails the test unless the script finished without an error. The
 * caller frees it. */
static char *dom_of(const char *prof, const char *url, const char *hash)
{
	char where[400];
	char *dom;

	snprintf(where, sizeof(where), "%s%s", url, hash);
	CHECK_MSG(browse(prof, "--dump-dom", where) == 0, "chromium --dump-dom:\n%.2000s", out);
	dom = strdup(out);
	CHECK(dom);
	CHECK_MSG(strstr(dom, "data-status=\"rendered\""), "the script did not finish:\n%.3000s",
		  dom);
	CHECK_MSG(strstr(dom, "data-errors=\"0\""), "script errors:\n%.3000s", dom);
	return dom;
}

/* The glyph the DOM's grid shows for cell @i, or 0. */
static char dom_glyph(const char *dom, size_t i)
{
	char key[64];
	const char *td, *g;

	snprintf(key, sizeof(key), "data-cells=\"%zu\"", i);
	for (td = strstr(dom, key); td; td = strstr(td + 1, key)) {
		const char *start = td;

		while (start > dom && strncmp(start, "<td ", 4))
			start--;
		g = strstr(start, "data-glyph=\"");
		if (g && g < td)
			return g[12];
	}
	return 0;
}

TEST_FULL(report_in_a_browser, 600)
{
	char dir[256], matrix[300], model[300], report[300], shot[300], url[320], prof[320];
	char hash[32], shot_hash[32] = "";
	json_t *m, *c;
	size_t i, cells, unsafe = 0, blue, colours;
	bool scenarios[3] = { false, false, false };
	char *dom;

	CHECK_MSG(chromium(), "chromium is not installed: the report cannot be tested in a "
			      "browser (make check-full installs it with scripts/deps.sh)");
	test_mkdtemp(dir, sizeof(dir), "report");
	snprintf(shot, sizeof(shot), "%s/shot.png", dir);
	make_report(dir, matrix, model, report, sizeof(matrix));
	snprintf(url, sizeof(url), "file://%s", report);
	snprintf(prof, sizeof(prof), "--user-data-dir=%s/chromium", dir);
	m = load(matrix);
	cells = json_array_size(json_object_get(m, "cells"));
	/* The page opens on the grid: a glyph per cell (no two of these
	 * cells share a slot), each the rule's verdict (both oracles agree
	 * here), the collapse-table generations over their columns; no cell
	 * is shown before a click. */
	dom = dom_of(prof, url, "");
	CHECK_EQ(test_count(dom, "<td class=\"g "), cells);
	CHECK_EQ(test_count(dom, "<table class=\"grid\""), 3);
	CHECK(strstr(dom, "<th colspan=\"2\" class=\"gen\">zap-rcu</th>"));
	CHECK(!strstr(dom, "class=\"cell-detail\""));
	json_array_foreach(json_object_get(m, "cells"), i, c) {
		bool is_unsafe = !strcmp(json_string_value(json_object_get(c, "expected")), "unsafe");

		CHECK_MSG(dom_glyph(dom, i) == (is_unsafe ? 'x' : '.'), "cell %zu: glyph %c", i,
			  dom_glyph(dom, i));
	}
	free(dom);
	/* A click on each unsafe cell (the page at #cell-N clicks its
	 * glyph): its lines, both timelines, its counterexample. */
	json_array_foreach(json_object_get(m, "cells"), i, c) {
		const char *scenario = json_string_value(json_object_get(c, "scenario"));
		int lanes = 0;
		char *svg, key[64];

		if (strcmp(json_string_value(json_object_get(c, "expected")), "unsafe"))
			continue;
		unsafe++;
		snprintf(hash, sizeof(hash), "#cell-%zu", i);
		dom = dom_of(prof, url, hash);
		snprintf(key, sizeof(key), "<section class=\"cell-detail\" data-cell=\"%zu\"", i);
		CHECK_MSG(strstr(dom, key) && test_count(dom, "class=\"cell-detail\"") == 1,
			  "cell %zu: the click showed no detail (or more than its own)", i);
		CHECK(strstr(dom, "<td class=\"g g-unsafe selected\""));
		CHECK(strstr(dom, "<pre class=\"line\" data-source=\"stress\">profile"));
		CHECK(strstr(dom, "<pre class=\"line\" data-source=\"model\">profile"));
		svg = timeline_svg(dom, (int)i, "stress", &lanes);
		CHECK_MSG(svg, "no stress timeline for cell %zu", i);
		CHECK_EQ(lanes, validate_trace(json_object_get(c, "trace"), "matrix trace"));
		CHECK_EQ(test_count(svg, "<g class=\"lane\""), lanes);
		CHECK(strstr(svg, "class=\"violation-marker\""));
		/* An RCU walker's read-side sections; an unshare's hand-over. */
		if (!strcmp(scenario, "pt-reclaim"))
			CHECK(strstr(svg, "class=\"bar-rcu-section\""));
		if (!strcmp(scenario, "hugetlb-unshare"))
			CHECK(strstr(svg, "class=\"m-handover\""));
		free(svg);
		svg = timeline_svg(dom, (int)i, "model", &lanes);
		CHECK_MSG(svg, "no model timeline for cell %zu", i);
		CHECK(lanes >= 3);
		CHECK_EQ(test_count(svg, "<g class=\"lane\""), lanes);
		CHECK(strstr(svg, "class=\"violation-marker\""));
		if (!strcmp(scenario, "pt-reclaim"))
			CHECK(strstr(svg, "class=\"bar-rcu-section\""));
		free(svg);
		CHECK(strstr(dom, "<ol class=\"counterexample\"><li>start: "));
		CHECK(test_count(dom, "<li>") >= 3);
		/* pt-reclaim's GUP-fast walkers are safe there, its RCU
		 * walkers not: the rule walker kind by walker kind. */
		if (!strcmp(scenario, "pt-reclaim") &&
		    json_array_size(json_object_get(c, "walkers")) > 1)
			CHECK(strstr(dom, "(gup safe, rcu unsafe)"));
		if (!*shot_hash && !strcmp(scenario, "collapse-zap"))
			snprintf(shot_hash, sizeof(shot_hash), "%s", hash);
		free(dom);
		scenarios[0] |= !strcmp(scenario, "collapse-zap");
		scenarios[1] |= !strcmp(scenario, "pt-reclaim");
		scenarios[2] |= !strcmp(scenario, "hugetlb-unshare");
	}
	CHECK(unsafe > 0 && scenarios[0] && scenarios[1] && scenarios[2]);
	json_decref(m);
	{
		char arg[320], where[400];

		snprintf(arg, sizeof(arg), "--screenshot=%s", shot);
		snprintf(where, sizeof(where), "%s%s", url, shot_hash);
		CHECK_MSG(browse(prof, arg, where) == 0, "chromium --screenshot:\n%.2000s", out);
	}
	/* Not blank (the window is tall enough for the grid and a clicked
	 * cell's timelines): many colours, and the interrupts-off bars' blue
	 * (report.css, .bar-irqs-off) over a good many pixels. */
	png_colours(shot, 0x5b8fd1, &blue, &colours);
	CHECK_MSG(colours >= 16 && blue >= 500, "screenshot: %zu colours, %zu blue pixels",
		  colours, blue);
	/* With ptlab study barriers' JSON, the page shows its table: a row
	 * per barrier and memory model, the cells that need it grouped with
	 * their profiles. */
	{
		char study[300], page[300];
		const char *sargs[] = { "study", "barriers", "--profiles", "arm64,x86",
					"--scenarios", "collapse-zap", "--sync", "walkers",
					"--memory", "tso", "--barriers",
					"walker-mark-mb,sync-scan-mb", "--json", study, NULL };
		const char *rargs[] = { "report", "--from", matrix, "--model", model,
					"--barriers", study, "-o", page, NULL };

		snprintf(study, sizeof(study), "%s/study.json", dir);
		snprintf(page, sizeof(page), "%s/barriers.html", dir);
		CHECK_MSG(ptlab(sargs) == 0, "study barriers:\n%s", out);
		CHECK_MSG(ptlab(rargs) == 0, "report --barriers:\n%s", out);
		snprintf(url, sizeof(url), "file://%s", page);
		dom = dom_of(prof, url, "");
		CHECK_MSG(strstr(dom, "<table class=\"barriers\">") &&
			  test_count(dom, "<td title=") == 2 &&
			  strstr(dom, "collapse-zap, re-check, walkers: arm64</div>") &&
			  strstr(dom, "<td>2 of 4</td>") && strstr(dom, "<td>0 of 4</td>"),
			  "the barrier table:\n%.3000s", strstr(dom, "id=\"barriers\"") ?
							    strstr(dom, "id=\"barriers\"") : dom);
		free(dom);
	}
	test_rmtree(dir);
}
