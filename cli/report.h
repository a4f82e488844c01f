/* SPDX-License-Identifier: MIT */
/*
 * The HTML report (ptlab report, ptlab matrix, make run): one
 * self-contained file, the grid of every cell's verdicts (as ptlab report
 * --grid prints it) and, for the cell clicked, its lines, the timeline of
 * its stress run's trace beside the model's counterexample and the
 * counterexample's steps, drawn by the page's own script
 * (report/report.js, report/report.css, embedded at build time) from the
 * page's data (report_timeline.h: its bounded timelines).
 */
#ifndef PTLAB_CLI_REPORT_H
#define PTLAB_CLI_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The report written cell by cell, for a writer that has its cells one
 * at a time (ptlab matrix): memory for one cell (and the strings the
 * timelines share), whatever their number.
 * open() writes the page's head (NULL after printing why not); add_text()
 * one cell of a matrix document, as JSON text (-1 when it is not one, or
 * out of memory); close() writes the rest and renames the file into place
 * (0, or 1 after printing why); abort() leaves nothing at the path.
 */
struct report_page;
struct report_page *report_page_open(const char *path);
int report_page_add_text(struct report_page *p, const char *cell, size_t len);
int report_page_close(struct report_page *p, const char *path, bool matrix_passed,
		      uint64_t min_overlaps);
void report_page_abort(struct report_page *p);

#endif /* PTLAB_CLI_REPORT_H */
