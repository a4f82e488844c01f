// SPDX-License-Identifier: MIT
/*
 * ptlab matrix's documents: the JSON of every cell (--json) and the
 * report (--report), and the spool, an unlinked temporary file that keeps
 * the unsafe cells' traces until they are copied into them, so that a
 * matrix's memory does not grow with its cells.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "matrix.h"
#include "report.h"
#include "util/json.h"

long matrix_spool_end(struct matrix *m)
{
	if (!m->spool && !(m->spool = tmpfile()))
		return -1;
	return fseek(m->spool, 0, SEEK_END) ? -1 : ftell(m->spool);
}

void matrix_spool_lost(struct matrix *m, struct cell *c)
{
	c->trace_len = 0;
	if (!m->spool_failed)
		fprintf(stderr, "ptlab: matrix: cannot keep a trace in a temporary file (%s): "
				"the documents leave it out\n", strerror(errno));
	m->spool_failed = true;
}

void matrix_spool_put(struct matrix *m, struct cell *c, const char *text)
{
	size_t len = strlen(text);

	c->trace_at = matrix_spool_end(m);
	c->trace_len = len;
	if (c->trace_at < 0 || fwrite(text, 1, len, m->spool) != len)
		matrix_spool_lost(m, c);
}

/* Copies @c's trace from the spool to @j as the value of @key. */
static void spool_copy(const struct matrix *m, const struct cell *c, struct json *j,
		       const char *key)
{
	char buf[1 << 16];

	json_raw(j, key, "");
	if (fseek(m->spool, c->trace_at, SEEK_SET))
		return;
	for (size_t left = c->trace_len, n; left; left -= n) {
		n = fread(buf, 1, left < sizeof(buf) ? left : sizeof(buf), m->spool);
		if (!n || fwrite(buf, 1, n, j->f) != n)
			return;
	}
}

/* One cell of the matrix's document, into @j. */
static void write_cell(struct json *j, const struct matrix *m, const struct cell *c)
{
	json_object_begin(j, NULL);
	lab_cli_json_result(j, &c->cfg, &c->res);
	/* its line, as the matrix printed it (under "line_header") */
	lab_cli_json_printed(j, "line",
			     m->no_rule ? matrix_print_observed_cell_of : matrix_print_cell_of, c);
	if (m->no_rule) {
		struct ptlab_cell cell = lab_run_cell(&c->cfg);

		json_object_begin(j, "model");
		lab_cli_json_model(j, &cell, &c->model);
		json_object_end(j);
	} else {
		lab_cli_json_verdict(j, &c->exp, c->verdict, c->why, m->min_overlaps);
	}
	json_bool(j, "rcu_table_free", c->cfg.profile.rcu_table_free);
	json_bool(j, "sync_ipi", c->cfg.profile.sync_ipi);
	json_string(j, "upper_table_free", upper_table_free_name(c->cfg.profile.upper_table_free));
	json_string(j, "tlb_flush", tlb_flush_style_name(c->cfg.profile.flush));
	json_string(j, "deposit", deposit_style_name(c->cfg.profile.deposit));
	json_u64(j, "attempts", c->attempts);
	if (c->run_error)
		json_string(j, "error", strerror(-c->run_error));
	if (c->trace_len)
		spool_copy(m, c, j, "trace");
	json_object_end(j);
}

/* The matrix's document, into @j. */
static void write_doc(struct json *j, const struct matrix *m, bool passed)
{
	double self, jobs;

	json_object_begin(j, NULL);
	json_array_begin(j, "cells");
	for (size_t i = 0; i < m->n; i++)
		write_cell(j, m, &m->cells[i]);
	json_array_end(j);
	json_bool(j, "no_rule", m->no_rule);
	matrix_peak_rss(&self, &jobs);
	json_double(j, "peak_rss_mb", self);
	json_double(j, "peak_rss_jobs_mb", jobs);
	json_double(j, "seconds", m->elapsed);
	json_u64(j, "jobs", m->jobs);
	lab_cli_json_printed(j, "line_header", matrix_print_header_of, m);
	if (m->no_rule) {
		json_object_end(j);
		return;
	}
	json_u64(j, "min_overlaps", m->min_overlaps);
	json_bool(j, "passed", passed);
	json_object_end(j);
}

int matrix_write_json(const char *path, const struct matrix *m, bool passed)
{
	struct json j;
	FILE *f = json_file_open(&j, path);

	if (!f)
		return 1;
	write_doc(&j, m, passed);
	return json_file_close(&j, f, path);
}

/* The report of the matrix alone, from the same cells as the document,
 * written one cell at a time. */
int matrix_write_report(const char *path, const struct matrix *m, bool passed)
{
	struct report_page *page = report_page_open(path);
	int ret = 0;

	for (size_t i = 0; page && !ret && i < m->n; i++) {
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);
		struct json j;

		if (!f) {
			ret = -1;
			break;
		}
		json_init(&j, f);
		write_cell(&j, m, &m->cells[i]);
		ret = fclose(f) ? -1 : report_page_add_text(page, text, len);
		free(text);
	}
	if (!page)
		return 1;
	if (ret) {
		report_page_abort(page);
		fprintf(stderr, "ptlab: cannot write %s: out of memory\n", path);
		return 1;
	}
	ret = report_page_close(page, path, passed, m->min_overlaps);
	if (!ret)
		printf("report: %s\n", path);
	return ret;
}
