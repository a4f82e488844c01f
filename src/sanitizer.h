/* SPDX-License-Identifier: MIT */
/*
 * Sanitizer glue. In an ASan build, freed page-table frames are also
 * poisoned with ASan's manual poisoning interface, so a walker that touches
 * one is reported with its stack (see the lab's ASan report hook).
 */
#ifndef PTLAB_SANITIZER_H
#define PTLAB_SANITIZER_H

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define PTLAB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PTLAB_ASAN 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define PTLAB_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PTLAB_TSAN 1
#endif
#endif

#ifdef PTLAB_ASAN
#include <sanitizer/asan_interface.h>
static inline void ptlab_asan_poison(void *addr, size_t len)
{
	ASAN_POISON_MEMORY_REGION(addr, len);
}
static inline void ptlab_asan_unpoison(void *addr, size_t len)
{
	ASAN_UNPOISON_MEMORY_REGION(addr, len);
}
#else
static inline void ptlab_asan_poison(void *addr, size_t len)
{
	(void)addr;
	(void)len;
}
static inline void ptlab_asan_unpoison(void *addr, size_t len)
{
	(void)addr;
	(void)len;
}
#endif

#ifdef PTLAB_TSAN
/*
 * Bulk frame writes (fill, copy) under TSan: its per-access bookkeeping
 * makes a 2 MiB copy take milliseconds, so frame bulk operations run with
 * the thread's accesses ignored. Frame memory is racy by design (walkers
 * read it with atomics at any time); nothing synchronizes through it.
 */
void __tsan_ignore_thread_begin(void);
void __tsan_ignore_thread_end(void);
#endif

/* Reports of walkers reading a freed (poisoned) table frame, in an ASan
 * build; 0 otherwise. */
unsigned long ptlab_asan_stale_table_reads(void);

/*
 * ASan builds: while a machine exists (ptlab_init() to ptlab_exit()), the
 * reports ASan writes go to a file of the process's own, named by
 * ptlab_asan_log_path(): walkers of unsafe configurations read freed
 * tables on purpose, and their reports should not flood the terminal. A
 * report that is not one of those is still printed to stderr and aborts.
 * Elsewhere these do nothing and the path is "".
 */
void ptlab_asan_log_begin(void);
void ptlab_asan_log_end(void);
const char *ptlab_asan_log_path(void);

#endif /* PTLAB_SANITIZER_H */
