/* SPDX-License-Identifier: MIT */
/*
 * The model's matrix, checked once and shared: the model test checks
 * every cell (or the quick tier's sample) against the rule and hands its
 * results to the lab's matrix test, which compares the lab with them
 * instead of searching the same cells again (test_lab.c). Two cells with
 * the same switches get the same search (test_model.c checks it, state
 * for state), so a result is found by the cell's switches.
 */
#ifndef PTLAB_TESTS_MODEL_MATRIX_H
#define PTLAB_TESTS_MODEL_MATRIX_H

#include <stdbool.h>
#include <stddef.h>

#include "ptlab/model.h"

struct model_matrix {
	/* test_model.c's static array of cells: valid until the next
	 * model_agrees_with_rule() */
	const struct ptlab_cell *cells;
	struct ptlab_model_result *results;
	size_t n;
};

/* Checks every cell of the model's matrix (@sample: the quick tier's
 * sample) against the rule, each counterexample replayed by Spin, and
 * hands the cells and results to @keep (model_matrix_release()). */
void model_agrees_with_rule(bool sample, struct model_matrix *keep);
/* The result of a cell with @c's switches, or NULL. */
const struct ptlab_model_result *model_matrix_find(const struct model_matrix *m,
						   const struct ptlab_cell *c);
void model_matrix_release(struct model_matrix *m);

#endif /* PTLAB_TESTS_MODEL_MATRIX_H */
