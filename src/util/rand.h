/* SPDX-License-Identifier: MIT */
/* A small, fast, deterministic generator (xorshift64) for the lab's and the
 * allocator's random choices; not for anything that needs quality. */
#ifndef PTLAB_UTIL_RAND_H
#define PTLAB_UTIL_RAND_H

#include <stdint.h>

/* Next value of the generator in *state (never 0; seed with a nonzero
 * value, rand_seed() makes one from anything). */
static inline uint64_t rand_next(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

static inline uint64_t rand_seed(uint64_t a, uint64_t b)
{
	uint64_t s = a * 0x9e3779b97f4a7c15ULL ^ b * 0xbf58476d1ce4e5b9ULL ^ 0x2545f4914f6cdd1dULL;

	return s ? s : 1;
}

/* A double in [0, 1). */
static inline double rand_unit(uint64_t *state)
{
	return (double)(rand_next(state) >> 11) * 0x1.0p-53;
}

#endif /* PTLAB_UTIL_RAND_H */
