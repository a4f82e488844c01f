/* SPDX-License-Identifier: MIT */
/*
 * The grid of verdicts (ptlab report --grid, make run's screen): per
 * scenario, a row per profile and a column per kernel generation and fix
 * setting, one glyph per cell (report_doc.h: doc_glyph()), then the cells
 * to look at, the totals and times of both oracles, and where the full
 * outputs are. Sized for a terminal: blocks of scenarios at most
 * GRID_WIDTH columns wide, at most GRID_NOTABLE cells listed.
 */
#ifndef PTLAB_CLI_GRID_H
#define PTLAB_CLI_GRID_H

#include <stdio.h>

#include <jansson.h>

#define GRID_WIDTH 80
#define GRID_NOTABLE 8

/* Where the outputs are, for the grid's last lines (NULL: not written). */
struct grid_outputs {
	const char *matrix_json, *model_json, *report;
};

/* Prints the grid of @matrix's cells beside @model's (NULL: the matrix
 * alone). 0, or 1 when out of memory. */
int grid_print(FILE *f, const json_t *matrix, const json_t *model,
	       const struct grid_outputs *out);

#endif /* PTLAB_CLI_GRID_H */
