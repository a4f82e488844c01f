/* SPDX-License-Identifier: MIT */
/*
 * The quick tier's fixed sample of the matrix: every scenario, the
 * collapse scenarios in each collapse-table generation, on three profiles
 * with two fix settings (sample.c says which, and why). make check judges
 * these cells with both oracles; make check-full judges every cell.
 */
#ifndef PTLAB_TESTS_SAMPLE_H
#define PTLAB_TESTS_SAMPLE_H

#include <stdbool.h>

#include "ptlab/profile.h"

/* Whether the sample has profile @p, and fix setting @f (an index for
 * ptlab_fix_setting()). */
bool sample_profile(const struct ptlab_profile *p);
bool sample_fix_setting(unsigned int f);

#endif /* PTLAB_TESTS_SAMPLE_H */
