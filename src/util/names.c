// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <string.h>

#include "util/names.h"

void names_join(char *buf, size_t len, const char *(*name)(size_t i), size_t n)
{
	size_t used = 0;

	if (!buf || !len)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < n && used < len; i++) {
		int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", name(i));

		if (w < 0)
			break;
		used += (size_t)w;
	}
}

int names_find(const char *name, const char *const *tab, size_t from, size_t n)
{
	for (size_t i = from; name && i < n; i++)
		if (!strcmp(name, tab[i]))
			return (int)i;
	return -1;
}
