// SPDX-License-Identifier: MIT
/*
 * `ptlab bench`: the shape of its report and of its JSON, and that every
 * figure the benchmarks promise is there (never the figures themselves:
 * timing is not tested; `make bench` measures).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_helpers.h"
#include "harness.h"

#define OUT_LEN (1u << 20)

static char out[OUT_LEN];

/* Each result is a flat object; every one has all of these keys. */
static const char *const result_keys[] = { "\"name\":", "\"mode\":", "\"threads\":",
					   "\"batch\":", "\"thp\":", "\"ns_per_op\":" };

/* The results array of @text, as a copy ending at its closing bracket. */
static char *results_of(const char *text)
{
	const char *begin = strstr(text, "\"results\":[");
	const char *end = begin ? strchr(begin, ']') : NULL;
	char *copy;

	CHECK_MSG(begin && end, "no results array in %s", text);
	copy = strndup(begin, (size_t)(end - begin));
	CHECK(copy);
	return copy;
}

/* Every object of @results has every key, and a figure that is a number. */
static size_t check_result_objects(const char *results)
{
	size_t n = 0;

	for (const char *o = strchr(results, '{'); o; o = strchr(o + 1, '{'), n++) {
		const char *close = strchr(o, '}');
		char obj[512];

		CHECK(close && (size_t)(close - o) < sizeof(obj));
		memcpy(obj, o, (size_t)(close - o));
		obj[close - o] = '\0';
		for (size_t k = 0; k < sizeof(result_keys) / sizeof(result_keys[0]); k++)
			CHECK_MSG(strstr(obj, result_keys[k]), "no %s in %s", result_keys[k], obj);
		CHECK_MSG(!strstr(obj, "\"ns_per_op\":null"), "no figure in %s", obj);
	}
	return n;
}

/* Exactly one result with these fields. */
static void check_result(const char *results, const char *name, const char *mode,
			 unsigned int threads, unsigned int batch, bool thp)
{
	char key[256];

	snprintf(key, sizeof(key),
		 "{\"name\":\"%s\",\"mode\":\"%s\",\"threads\":%u,\"batch\":%u,\"thp\":%s,", name,
		 mode, threads, batch, thp ? "true" : "false");
	CHECK_MSG(test_count(results, key) == 1, "%zu times %s", test_count(results, key), key);
}

/* The full tier's: even at its smallest (--rounds 3 --scale 0.01) the
 * benchmark keeps both CPUs busy for about 20 s, its contenders spinning
 * (about 100 CPU seconds, as much as the rest of the quick tier), and
 * under a sanitizer for minutes. The quick tier tests its options
 * (fuzz_cli_bench_sample, the CLI's usage tests): liburcu's make check
 * too leaves its benchmarks to a longer run. */
TEST_FULL(bench_json_has_every_figure, 600)
{
	static const char *const walk_names[] = { "gup_fast_pin_unpin", "bare_walk_floor" };
	static const char *const sync_names[] = { "ipi_sync", "urcu_memb_synchronize",
						  "urcu_qsbr_synchronize", "ipi_all_cpus",
						  "membarrier" };
	static const char *const part_names[] = { "walk_irqs_off", "walk_rechecks", "walk_pin",
						  "walk_folio" };
	static const unsigned int sync_counts[] = { 1, 2, 4, 8, 16 };
	static const unsigned int pin_counts[] = { 1, 2, 4, 8 };
	char dir[256], json[300];
	char *text, *results;
	size_t expected = 2;
	int status;

	test_mkdtemp(dir, sizeof(dir), "bench");
	snprintf(json, sizeof(json), "%s/bench.json", dir);
	status = cli_run((const char *const[]){ "bench", "--rounds", "3", "--scale", "0.01",
						"--json", json, NULL },
			 out, sizeof(out));
	CHECK_MSG(status == 0, "exit %d:\n%s", status, out);
	/* The report names each figure with its peer, and the targets. */
	for (const char *const *s = (const char *const[]){ "gup_fast_pin_unpin", "bare_walk_floor",
							   "ipi_sync / peer", "urcu_memb_synchronize",
							   "urcu_qsbr_synchronize", "ipi_all_cpus",
							   "membarrier", "Targets", "load average",
							   NULL };
	     *s; s++)
		CHECK_MSG(strstr(out, *s), "no \"%s\" in:\n%s", *s, out);

	text = test_read_file(json);
	CHECK(strstr(text, "\"machine\":{\"cpus\":"));
	CHECK(strstr(text, "\"cpu_model\":\"") && strstr(text, "\"kernel\":\""));
	CHECK(strstr(text, "\"loadavg_start\":") && strstr(text, "\"loadavg_end\":"));
	results = results_of(text);
	/* One page: GUP, its floor, the floor under a lock and RCU, and the
	 * peers between the floor and GUP, part by part. */
	check_result(results, "rwlock_walk", "single", 1, 1, false);
	check_result(results, "rcu_walk", "single", 1, 1, false);
	for (size_t p = 0; p < sizeof(part_names) / sizeof(part_names[0]); p++) {
		check_result(results, part_names[p], "single", 1, 1, false);
		expected++;
	}
	/* Beside them, the pin with its bias in one atomic. */
	check_result(results, "walk_pin_one_rmw", "single", 1, 1, false);
	expected++;
	for (size_t w = 0; w < 2; w++) {
		check_result(results, walk_names[w], "single", 1, 1, false);
		check_result(results, walk_names[w], "single", 1, 16, false);
		check_result(results, walk_names[w], "single", 1, 512, false);
		check_result(results, walk_names[w], "single", 1, 512, true);
		for (size_t c = 0; c < sizeof(pin_counts) / sizeof(pin_counts[0]); c++)
			check_result(results, walk_names[w], "concurrent", pin_counts[c], 512,
				     false);
		expected += 4 + sizeof(pin_counts) / sizeof(pin_counts[0]);
	}
	for (size_t s = 0; s < sizeof(sync_names) / sizeof(sync_names[0]); s++)
		for (size_t c = 0; c < sizeof(sync_counts) / sizeof(sync_counts[0]); c++) {
			check_result(results, sync_names[s], "idle", sync_counts[c], 1, false);
			check_result(results, sync_names[s], "busy", sync_counts[c], 1, false);
			expected += 2;
		}
	/* The walkers policy's marker, with and without. */
	check_result(results, "gup_fast_pin_unpin_no_marker", "single", 1, 1, false);
	check_result(results, "gup_fast_pin_unpin_walkers_marker", "single", 1, 1, false);
	expected += 2;
	CHECK_EQ(check_result_objects(results), expected);
	/* Every policy's cost on both profiles at each k of 64 CPUs; the
	 * counts that cannot vary: all on arm64 interrupts the 63 others by
	 * its sync and none by its flush, none interrupts no one there. */
	CHECK_EQ(test_count(text, "{\"policy\":"), 2 * 6 * 4);
	for (size_t k = 0; k < 4; k++) {
		static const unsigned int ks[] = { 1, 4, 16, 63 };
		char key[160];

		snprintf(key, sizeof(key),
			 "{\"policy\":\"all\",\"profile\":\"arm64\",\"cpus\":64,\"mm_cpus\":%u,"
			 "\"interrupted\":63,\"flush_ipis\":0,\"sync_ipis\":63,", ks[k]);
		CHECK_MSG(test_count(text, key) == 1, "no %s", key);
		snprintf(key, sizeof(key),
			 "{\"policy\":\"none\",\"profile\":\"arm64\",\"cpus\":64,\"mm_cpus\":%u,"
			 "\"interrupted\":0,", ks[k]);
		CHECK_MSG(test_count(text, key) == 1, "no %s", key);
	}
	CHECK(strstr(out, "Sync policies") && strstr(out, "with the walkers policy's marker"));
	/* A traced cell of each scenario at two budgets, each with its peak
	 * resident memory. */
	CHECK(strstr(out, "Peak resident memory of one traced lab cell"));
	for (const char *const *s = (const char *const[]){ "collapse-zap", "collapse-pin",
							   "munmap", "pt-reclaim",
							   "hugetlb-unshare", NULL };
	     *s; s++) {
		char key[80];

		snprintf(key, sizeof(key), "{\"scenario\":\"%s\",", *s);
		CHECK_MSG(test_count(text, key) == 2, "no %s twice", key);
	}
	CHECK_EQ(test_count(text, "\"peak_rss_mb\":"), 10);
	CHECK(!strstr(text, "\"peak_rss_mb\":null"));
	/* The one-page cost part by part: every peer from the floor to GUP,
	 * each with its figure, its part and that part's share; in the report
	 * too, and under the one-page target. */
	CHECK_EQ(test_count(text, "{\"name\":\"bare_walk_floor\",\"adds\":"), 1);
	CHECK_EQ(test_count(text, "{\"name\":\"gup_fast_pin_unpin\",\"adds\":"), 1);
	for (size_t p = 0; p < sizeof(part_names) / sizeof(part_names[0]); p++) {
		char key[128];

		snprintf(key, sizeof(key), "{\"name\":\"%s\",\"adds\":", part_names[p]);
		CHECK_MSG(test_count(text, key) == 1, "no %s", key);
		CHECK_MSG(strstr(out, part_names[p]), "no %s in:\n%s", part_names[p], out);
	}
	CHECK_EQ(test_count(text, "\"share_of_gap\":"), 6);
	CHECK_EQ(test_count(text, "\"share_of_gap\":null"), 0);
	CHECK(strstr(out, "One page, part by part") && strstr(out, "the gap by part:"));
	CHECK(strstr(out, "walk_pin_one_rmw") && strstr(out, "the kernel's second atomic"));
	CHECK(strstr(text, "\"pin_second_atomic_ns\":") &&
	      !strstr(text, "\"pin_second_atomic_ns\":null"));
	/* Each target with its limit and, measured or not, a verdict. */
	CHECK_EQ(test_count(text, "{\"target\":"), 8);
	CHECK_EQ(test_count(text, "\"limit\":"), 8);
	CHECK_EQ(test_count(text, "\"met\":"), 8);
	free(results);
	free(text);
	test_rmtree(dir);
}
