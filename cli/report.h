/* SPDX-License-Identifier: MIT */
/*
 * The HTML report (ptlab report, ptlab matrix, make run): one
 * self-contained file, the matrix as a table coloured (and marked) by
 * verdict, and for every unsafe cell the timeline of the stress run's
 * trace beside the model's counterexample, drawn by the page's own script
 * (report/report.js, report/report.css, embedded at build time) from the
 * Chrome trace-event documents embedded in the page.
 */
#ifndef PTLAB_CLI_REPORT_H
#define PTLAB_CLI_REPORT_H

#include <stddef.h>

/* Writes the report of a matrix document (the JSON text of ptlab matrix
 * --json) and, when @model is not NULL, a model document (ptlab model
 * --json) to @path, whole or not at all. 0, or after printing why 2 (a
 * document that is not one) or 1 (the file could not be written). */
int report_write_text(const char *matrix, size_t matrix_len, const char *model,
		      size_t model_len, const char *path);

#endif /* PTLAB_CLI_REPORT_H */
