/* SPDX-License-Identifier: MIT */
/* Comparison functions for qsort(), written once. */
#ifndef PTLAB_UTIL_COMPARE_H
#define PTLAB_UTIL_COMPARE_H

/* Ascending doubles (NaN compares equal to everything: none is sorted). */
static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

#endif /* PTLAB_UTIL_COMPARE_H */
