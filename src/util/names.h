/* SPDX-License-Identifier: MIT */
/* Tables of names: looking one up, and "a, b, c" lists for error messages. */
#ifndef PTLAB_UTIL_NAMES_H
#define PTLAB_UTIL_NAMES_H

#include <stddef.h>

/* Writes name(0), ..., name(n - 1) separated by ", " into @buf
 * (truncated, always terminated; nothing for a NULL or empty buffer). */
void names_join(char *buf, size_t len, const char *(*name)(size_t i), size_t n);

/* The index of @name in @tab[@from..@n), or -1 (also for a NULL @name). */
int names_find(const char *name, const char *const *tab, size_t from, size_t n);

#endif /* PTLAB_UTIL_NAMES_H */
