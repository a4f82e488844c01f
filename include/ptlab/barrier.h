/* SPDX-License-Identifier: MIT */
/*
 * The kernel's names for ordered accesses (mirrors include/linux/compiler.h
 * and include/asm-generic/barrier.h), defined once over C11 atomics, so
 * that the protocol code reads as mm/ does. Every location they touch is
 * a C11 atomic: the walkers read frames that writers change and free, and
 * a plain access there would be a data race.
 *
 *   ptlab                     C11
 *   READ_ONCE(x)              atomic_load_explicit(&x, relaxed)
 *   WRITE_ONCE(x, v)          atomic_store_explicit(&x, v, relaxed)
 *   smp_load_acquire(p)       atomic_load_explicit(p, acquire)
 *   smp_store_release(p, v)   atomic_store_explicit(p, v, release)
 *   xchg(p, v)                atomic_exchange_explicit(p, v, seq_cst)
 *   xchg_acquire(p, v)        atomic_exchange_explicit(p, v, acquire)
 *   xchg_release(p, v)        atomic_exchange_explicit(p, v, release)
 *   smp_mb()                  atomic_thread_fence(seq_cst)
 *   smp_mb__after_atomic()    x86-64: barrier(); elsewhere: smp_mb()
 *   barrier()                 atomic_signal_fence(seq_cst)
 *
 * What C11 cannot say as the kernel does:
 * - READ_ONCE() also orders the accesses that depend on its value by
 *   address (a walker reading a PMD and then the table it points to):
 *   the kernel's dependency ordering, C11's memory_order_consume, which
 *   compilers implement as acquire. ptlab writes smp_load_acquire() where
 *   the kernel relies on that dependency (the pXd_get*() reads of
 *   pgtable.h), and says so there.
 * - The kernel's value-returning atomics (atomic_add_return(),
 *   atomic_cmpxchg(), xchg()) are fully ordered: a later READ_ONCE() of
 *   another location cannot pass them. In C11 a store-load pair is ordered
 *   across two threads only when both sides are seq_cst (or fenced), so
 *   the loads that the kernel orders by such an RMW (gup_fast's PMD and
 *   PTE re-checks after its reference) stay seq_cst loads, written
 *   out where they are, each with the RMW it pairs with.
 * - smp_mb__after_atomic() makes the kernel's unordered RMWs (set_bit(),
 *   atomic_add()) fully ordered, and is defined per architecture as the
 *   kernel's is (checked in 6.12): arch/x86/include/asm/barrier.h makes
 *   __smp_mb__after_atomic() empty ("atomic operations are already
 *   serializing on x86"), include/asm-generic/barrier.h makes it
 *   __smp_mb() where the architecture does not say otherwise (arm64
 *   does not: a dmb ish). ptlab does the same: on x86-64, where gcc and
 *   clang compile every C11 RMW, relaxed ones too, to a lock-prefixed
 *   instruction (or xchg, locked by itself), which no load or store
 *   passes, it is barrier(), so that the compiler keeps the accesses on
 *   their side of it as the kernel's asm atomics make it; elsewhere a
 *   seq_cst fence, as smp_mb(). On x86-64 the ordering it stands for is
 *   then the processor's, not C11's: C11 does not order a relaxed RMW
 *   before a later load without a fence. So ptlab writes it only where
 *   nothing depends on it in C11 terms: after the pin's second atomic in
 *   GUP-fast, whose re-checks are ordered after its seq_cst
 *   get-unless-zero by their own seq_cst (src/gup.c says what the
 *   barrier pairs with in the kernel, which ptlab does not have); where
 *   C11 must order an RMW before a later acquire or relaxed load
 *   (joining mm_cpumask, src/mm.c) it writes smp_mb().
 *   TSan models neither fences nor the processor's order, so its view is
 *   the same with either definition. smp_rmb() and smp_wmb() have no use
 *   in ptlab: every ordering it needs between two loads or two stores is
 *   on the access itself (acquire, release), so they are not defined.
 * - smp_mb() is a seq_cst fence. TSan does not model fences, so ptlab
 *   uses one only where the ordering it gives is also carried by an
 *   atomic TSan sees (see the Makefile's SAN=thread comment).
 * - barrier() keeps the compiler from moving accesses across it, as the
 *   kernel's does; ptlab needs it between a thread and its own signal
 *   handler (an IPI), which run on the same CPU.
 */
#ifndef PTLAB_BARRIER_H
#define PTLAB_BARRIER_H

#include <stdatomic.h>

#define READ_ONCE(x)		atomic_load_explicit(&(x), memory_order_relaxed)
#define WRITE_ONCE(x, v)	atomic_store_explicit(&(x), (v), memory_order_relaxed)
#define smp_load_acquire(p)	atomic_load_explicit((p), memory_order_acquire)
#define smp_store_release(p, v)	atomic_store_explicit((p), (v), memory_order_release)
#define xchg(p, v)		atomic_exchange_explicit((p), (v), memory_order_seq_cst)
#define xchg_acquire(p, v)	atomic_exchange_explicit((p), (v), memory_order_acquire)
#define xchg_release(p, v)	atomic_exchange_explicit((p), (v), memory_order_release)
#define smp_mb()		atomic_thread_fence(memory_order_seq_cst)
#if defined(__x86_64__)
#define smp_mb__after_atomic()	barrier()
#else
#define smp_mb__after_atomic()	smp_mb()
#endif
#define barrier()		atomic_signal_fence(memory_order_seq_cst)

#endif /* PTLAB_BARRIER_H */
