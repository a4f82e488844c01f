/* SPDX-License-Identifier: MIT */
/* Sleeping and clocks for the lab and the machine's helpers. */
#ifndef PTLAB_UTIL_TIME_H
#define PTLAB_UTIL_TIME_H

#include <errno.h>
#include <stdint.h>
#include <time.h>

/* Sleeps @ns nanoseconds, resuming after signals (an IPI interrupts a
 * sleep as it would an idle CPU). */
static inline void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ULL), (long)(ns % 1000000000ULL) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static inline uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static inline double monotonic_s(void)
{
	return (double)monotonic_ns() * 1e-9;
}

#endif /* PTLAB_UTIL_TIME_H */
