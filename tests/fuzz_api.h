/* SPDX-License-Identifier: MIT */
/*
 * The library API's fuzzer (tests/fuzz_api.c): an input is a program of
 * calls to the public entry points (mmap, munmap, madvise, populate, user
 * reads and writes, GUP, collapse, split, flushes, IPIs, failure
 * injection, ...) with arbitrary addresses, lengths and flags, spread over
 * several CPUs that run them at once. Every return code is checked
 * against the documented set; after each input the tables are checked
 * against the counters and every frame must be back. A failed check
 * prints what and aborts (a crash, for libFuzzer and for the harness).
 *
 * The harness keeps its own invariants, as a program would: one machine
 * per process, the CPUs registered before they call, mms created and
 * destroyed by one controlling CPU, khugepaged started and stopped by it.
 */
#ifndef PTLAB_TESTS_FUZZ_API_H
#define PTLAB_TESTS_FUZZ_API_H

#include <stddef.h>
#include <stdint.h>

/* CPUs that run an input's calls (besides the controlling one). */
#define FUZZ_CPUS 3

/* Sets the machine up with profile @profile (both fixes on) and starts
 * the CPUs; the calling thread becomes the controlling CPU. */
void fuzz_api_machine_up(const char *profile);
/* Stops the CPUs and tears the machine down: every frame must be back. */
void fuzz_api_machine_down(void);
/* Runs one input (any bytes; an empty one does nothing). */
void fuzz_api_input(const uint8_t *data, size_t len);
/* Writes into @buf (up to @max bytes) an input that sets up huge pages,
 * pins and unmaps from @seed, then goes on with random bytes: a start
 * from which random inputs reach deep states. Returns its length. */
size_t fuzz_api_seed_input(uint8_t *buf, size_t max, uint64_t seed);

/* What the inputs so far did, by entry point: calls, and calls that
 * succeeded (for hpage_collapse(): that collapsed). */
enum fuzz_op {
	OP_MMAP, OP_MUNMAP, OP_MADVISE, OP_DONTNEED, OP_POPULATE, OP_USE_MM, OP_UNUSE_MM,
	OP_READ, OP_WRITE, OP_GUP, OP_PUT, OP_COLLAPSE, OP_SPLIT, OP_FLUSH, OP_SYNC,
	OP_IRQS_OFF, OP_FAIL_ALLOC, OP_SMP_CALL, OP_GET_VMAS, OP_CHECK, OP_STATS, OP_COUNT
};
struct fuzz_api_stats {
	uint64_t calls[OP_COUNT], succeeded[OP_COUNT];
};
/* Sums the CPUs' counts (between inputs); and the name of an entry point. */
void fuzz_api_stats(struct fuzz_api_stats *out);
const char *fuzz_api_op_name(enum fuzz_op op);

#endif /* PTLAB_TESTS_FUZZ_API_H */
