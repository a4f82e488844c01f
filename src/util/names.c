// SPDX-License-Identifier: MIT
#include <stdio.h>

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
