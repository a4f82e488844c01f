/* SPDX-License-Identifier: MIT */
/*
 * ptlab matrix's cells and state, shared by its files:
 *   matrix.c        the options, the cells, and the loop that runs them
 *   matrix_print.c  what it prints: the lines of the cells (one column
 *                   list for both modes), progress, the summaries
 *   matrix_jobs.c   the job pool: cells in processes of their own
 *   matrix_doc.c    the JSON document, the report, and the spool file
 *                   that keeps the traces they copy
 */
#ifndef PTLAB_CLI_MATRIX_H
#define PTLAB_CLI_MATRIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lab_cli.h"
#include "ptlab/lab.h"
#include "ptlab/model.h"

/* A safe cell stops once it has this many times --min-overlaps defended
 * overlaps (or at the end of its budget). */
#define MATRIX_EVIDENCE_MARGIN 3
/* --jobs: processes running cells at once (each a machine of its own). */
#define MATRIX_MAX_JOBS 64

struct cell {
	struct lab_run_config cfg;
	struct ptlab_expectation exp;
	struct lab_result res;
	int run_error;
	unsigned int attempts;
	enum lab_verdict verdict;
	char why[200];
	/* An unsafe cell's trace, Chrome trace-event JSON text: @trace_len
	 * bytes at @trace_at of the matrix's spool file (0: none). Kept on
	 * disk, so that a matrix's memory does not grow with its cells. */
	long trace_at;
	size_t trace_len;
	/* --no-rule: what the model proved for the same cell. */
	struct ptlab_model_result model;
};

struct matrix {
	struct cell *cells;
	size_t n;
	double seconds;
	unsigned int jobs;
	unsigned int retries;
	unsigned int walkers;
	uint64_t seed;
	uint64_t min_overlaps;
	bool tty;
	/* --progress: plain progress lines when stderr is no terminal */
	bool progress;
	/* tenths of the cells reported so far (--progress without a tty) */
	unsigned int tenths;
	double t0, elapsed;
	size_t current;
	struct lab_cli_kernel kernel;
	/* --no-rule: observe only, each cell beside the model's proof */
	bool no_rule;
	/* --drop-barrier: BARRIER_BIT()s every cell leaves out */
	unsigned int dropped;
	/* The traces of the cells (an unlinked temporary file), and whether
	 * one could not be kept there. */
	FILE *spool;
	bool spool_failed;
};

/* matrix.c: runs a cell (with its retries); returns its trace as text
 * (the caller frees it), NULL when it has none. */
char *matrix_run_cell(struct matrix *m, struct cell *c);

/* matrix_print.c */
/* The column heads of the mode's lines (the rule's, or --no-rule's). */
void matrix_print_header(FILE *f, const struct matrix *m);
/* One finished cell, as the mode prints it, on stdout. */
void matrix_print_row(const struct matrix *m, const struct cell *c);
/* The same two for lab_cli_json_printed(): @arg is the matrix, or the
 * cell of a rule's line or of an observed one. */
void matrix_print_header_of(FILE *f, const void *m);
void matrix_print_cell_of(FILE *f, const void *c);
void matrix_print_observed_cell_of(FILE *f, const void *c);
/* lab_set_progress()'s hook: the cell running, on a terminal. */
void matrix_progress(void *arg, double elapsed, const struct lab_result *r);
/* Where the matrix is after @done of its cells (@is_done: which, or NULL
 * for the first @done). */
void matrix_show_done(struct matrix *m, size_t done, const bool *is_done);
/* The scenario, with the generation of a collapse or retract cell when
 * it is not the default. */
void matrix_scenario_words(const struct cell *c, char *buf, size_t len);
/* The summary of a judged matrix, and the first violation of each cell
 * that did not pass. */
void matrix_print_summary(FILE *f, const struct matrix *m, size_t passed, size_t inconclusive,
			  double secs);
void matrix_print_details(FILE *f, const struct matrix *m);
/* --no-rule's summary; whether every cell ran and the model gave a
 * verdict on each. */
bool matrix_print_observed_summary(FILE *f, const struct matrix *m, double secs);
/* The peak resident memory of this process and of its largest job
 * process (MiB; 0 when it ran no job), and the line that says them. */
void matrix_peak_rss(double *self, double *jobs);
void matrix_print_peak_rss(FILE *f);

/* matrix_jobs.c: runs the cells in m->jobs processes, printing each in
 * the matrix's order once every cell before it is in. 0, or 1 if no job
 * could start. */
int matrix_run_jobs(struct matrix *m);

/* matrix_doc.c */
/* Where a cell's trace goes next in the spool (-1 if it cannot). */
long matrix_spool_end(struct matrix *m);
/* A trace that could not be kept is left out of the documents, and said. */
void matrix_spool_lost(struct matrix *m, struct cell *c);
/* Keeps @c's trace @text in the spool. */
void matrix_spool_put(struct matrix *m, struct cell *c, const char *text);
/* The document (--json) and the report (--report): 0, or 1 after saying
 * why not. */
int matrix_write_json(const char *path, const struct matrix *m, bool passed);
int matrix_write_report(const char *path, const struct matrix *m, bool passed);

#endif /* PTLAB_CLI_MATRIX_H */
