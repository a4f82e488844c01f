// SPDX-License-Identifier: MIT
/*
 * The library API's fuzzer (see fuzz_api.h). An input's first byte sets
 * up the mms (1 to 3) and whether khugepaged runs; then each call takes
 * a CPU, an entry point, an mm (or none) and its arguments from the bytes
 * that follow, until they run out. The calls are decoded first, so that
 * the interleaving of the CPUs changes timing only, never arguments; then
 * every CPU runs its calls at once.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuzz_api.h"
#include "ptlab/gup.h"
#include "ptlab/huge.h"
#include "ptlab/machine.h"
#include "ptlab/mm.h"
#include "ptlab/smp.h"
#include "ptlab/tlb.h"
#include "sanitizer.h"
#include "util/rand.h"

/* A small pool, so that inputs exhaust it too. */
#define FUZZ_POOL (32ULL << 20)
/* Where most addresses fall, so that calls meet: 8 PMDs. */
#define FUZZ_BASE (1ULL << 32)
#define FUZZ_SPAN (8 * PMD_SIZE)
#define FUZZ_MAX_MMS 3
#define FUZZ_MAX_CALLS 256          /* per CPU and input */
#define FUZZ_BUF (64u << 10)        /* user reads and writes */
#define FUZZ_GUP_MAX 512
#define FUZZ_HELD_MAX 2048          /* references a CPU keeps between calls */

__attribute__((noreturn, format(printf, 3, 4)))
static void fuzz_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz_api: %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

#define FUZZ_CHECK(cond, ...)                                        \
	do {                                                         \
		if (!(cond))                                         \
			fuzz_fail(__FILE__, __LINE__, __VA_ARGS__);  \
	} while (0)

/* @ret, an error, is one of the documented ones. */
#define EXPECT_ERRNO(call, ret, ...)                                                     \
	expect_errno(__FILE__, __LINE__, call, ret, (const long[]){ __VA_ARGS__ },        \
		     sizeof((const long[]){ __VA_ARGS__ }) / sizeof(long))

static void expect_errno(const char *file, int line, const char *call, long ret,
			 const long *allowed, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ret == allowed[i])
			return;
	fuzz_fail(file, line, "%s returned %ld (%s), not one of its documented errors", call,
		  ret, ret < 0 ? strerror((int)-ret) : "?");
}

/* One decoded call. */
struct call {
	uint8_t op, mm, sub;
	uint64_t addr, len, arg;
	double p;
};

struct held {
	struct page *page;
	bool pin;
};

/* Per CPU: its calls (written by the controller before it bumps go) and
 * the references it holds (its own). */
struct fuzz_cpu {
	pthread_t thread;
	struct call calls[FUZZ_MAX_CALLS];
	int ncalls;
	struct held held[FUZZ_HELD_MAX];
	int nheld;
	struct page *pages[FUZZ_GUP_MAX];
	uint8_t buf[FUZZ_BUF];
	/* Its counts (fuzz_api_stats), read by the controller between
	 * inputs. */
	struct fuzz_api_stats stats;
	/* The input it finished last (release; the controller acquires). */
	atomic_uint done;
};

static struct {
	struct mm_struct *mms[FUZZ_MAX_MMS];
	int nmm;
	struct fuzz_cpu cpu[FUZZ_CPUS];
	/* Bumped (release) by the controller for each input; the CPUs poll
	 * it (acquire): their calls and the mms are written before. */
	atomic_uint go;
	atomic_bool quit;
	atomic_int ready;
} fz;

static void sleep_us(unsigned int us)
{
	struct timespec ts = { 0, (long)us * 1000 };

	nanosleep(&ts, NULL);
}

/* ---- decoding ---- */

struct input {
	const uint8_t *p;
	size_t left;
};

/* The next @bytes bytes, big-endian (zeros once the input ran out). */
static uint64_t take(struct input *in, unsigned int bytes)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < bytes; i++) {
		v <<= 8;
		if (in->left) {
			v |= *in->p++;
			in->left--;
		}
	}
	return v;
}

/* Addresses and lengths: mostly where and as large as calls meet and
 * succeed, often enough anything at all. */
static uint64_t gen_addr(struct input *in)
{
	unsigned int k = (unsigned int)(take(in, 1) % 16);

	if (k < 10)
		return FUZZ_BASE + take(in, 2) % (FUZZ_SPAN / PAGE_SIZE) * PAGE_SIZE;
	if (k < 13)
		return FUZZ_BASE + take(in, 1) % (FUZZ_SPAN / PMD_SIZE) * PMD_SIZE;
	switch (k) {
	case 13:
		return take(in, 8);
	case 14:
		return take(in, 1) & 1 ? TASK_SIZE - take(in, 1) * PAGE_SIZE : 0;
	default:
		return FUZZ_BASE + take(in, 2);
	}
}

static uint64_t gen_len(struct input *in)
{
	unsigned int k = (unsigned int)(take(in, 1) % 16);

	if (k < 8)
		return (take(in, 1) % 64 + 1) * PAGE_SIZE;
	if (k < 12)
		return (take(in, 1) % 4 + 1) * PMD_SIZE;
	switch (k) {
	case 12:
		return 0;
	case 13:
		return take(in, 8);
	case 14:
		return take(in, 1) & 1 ? UINT64_MAX - take(in, 1) * PAGE_SIZE + 1 : TASK_SIZE;
	default:
		return take(in, 2);
	}
}

/* A probability, mostly small, sometimes out of [0, 1]. */
static double gen_probability(struct input *in)
{
	uint8_t b = (uint8_t)take(in, 1);

	if (b < 200)
		return b / 1000.0;
	switch (b % 5) {
	case 0:
		return 1.0;
	case 1:
		return NAN;
	case 2:
		return -0.5;
	case 3:
		return 1.5;
	default:
		return INFINITY;
	}
}

static void decode(struct input *in, struct call *c)
{
	uint8_t m = (uint8_t)take(in, 1);

	c->op = (uint8_t)(take(in, 1) % OP_COUNT);
	c->mm = m % 8 == 7 ? (uint8_t)fz.nmm : m % fz.nmm;   /* nmm: no mm */
	c->sub = (uint8_t)take(in, 1);
	switch (c->op) {
	case OP_FAIL_ALLOC:
		c->arg = take(in, 2);
		c->len = take(in, 1) % 8;
		c->p = gen_probability(in);
		break;
	case OP_SMP_CALL:
		c->arg = take(in, 8);
		break;
	case OP_COLLAPSE:
	case OP_SPLIT:
		/* Mostly a huge page's range. */
		c->addr = c->sub & 7 ? FUZZ_BASE + take(in, 1) % (FUZZ_SPAN / PMD_SIZE) * PMD_SIZE
				     : gen_addr(in);
		break;
	default:
		c->addr = gen_addr(in);
		c->len = gen_len(in);
		c->arg = take(in, 2);
		break;
	}
}

/* ---- structured inputs: bytes that decode() reads back as chosen calls ---- */

struct output {
	uint8_t *p;
	size_t max, n;
};

static void put(struct output *o, uint64_t v, unsigned int bytes)
{
	while (bytes--)
		if (o->n < o->max)
			o->p[o->n++] = (uint8_t)(v >> (8 * bytes));
}

/* A call by CPU @cpu to @op on mm @mm with @sub, at page @page of the
 * playground, for @pages pages (1..64, or 1..4 PMDs' worth), @arg. */
static void emit(struct output *o, unsigned int cpu, enum fuzz_op op, unsigned int mm,
		 uint8_t sub, uint64_t page, uint64_t pages, uint16_t arg)
{
	put(o, cpu, 1);
	put(o, mm, 1);
	put(o, op, 1);
	put(o, sub, 1);
	if (op == OP_COLLAPSE || op == OP_SPLIT) {
		put(o, page / HPAGE_PMD_NR, 1);   /* sub & 7 set: a PMD's range */
		return;
	}
	put(o, 0, 1);                             /* gen_addr(): a page */
	put(o, page, 2);
	if (pages % HPAGE_PMD_NR == 0) {
		put(o, 8, 1);                     /* gen_len(): PMDs */
		put(o, pages / HPAGE_PMD_NR - 1, 1);
	} else {
		put(o, 0, 1);                     /* gen_len(): pages */
		put(o, pages - 1, 1);
	}
	put(o, arg, 2);
}

size_t fuzz_api_seed_input(uint8_t *buf, size_t max, uint64_t seed)
{
	struct output o = { buf, max, 0 };
	uint64_t rng = seed | 1;
	unsigned int pages = FUZZ_SPAN / PAGE_SIZE;

	put(&o, rand_next(&rng) % FUZZ_MAX_MMS | (rand_next(&rng) % 4 ? 0 : 0x80), 1);
	if (buf[0] & 0x80) {
		put(&o, 100, 2);                                   /* scan_sleep_us */
		put(&o, rand_next(&rng) % HPAGE_PMD_NR, 2);        /* max_ptes_none */
	}
	for (int round = 0; round < 2; round++) {
		for (unsigned int cpu = 0; cpu < FUZZ_CPUS; cpu++)
			emit(&o, cpu, OP_USE_MM, 0, 0, 0, 1, 0);
		/* CPU 0: small pages collapsed; a THP faulted in, split and
		 * collapsed again. */
		emit(&o, 0, OP_MMAP, 0, 0, 0, 4 * HPAGE_PMD_NR, 0);
		emit(&o, 0, OP_POPULATE, 0, 1, 0, 2 * HPAGE_PMD_NR, 0);
		emit(&o, 0, OP_MADVISE, 0, 1, 0, 4 * HPAGE_PMD_NR, 0);
		emit(&o, 0, OP_COLLAPSE, 0, 1, 0, 0, 0);
		emit(&o, 0, OP_WRITE, 0, 1, 2 * HPAGE_PMD_NR, 1, 0);
		emit(&o, 0, OP_SPLIT, 0, 1, 2 * HPAGE_PMD_NR, 0, 0);
		emit(&o, 0, OP_COLLAPSE, 0, 1, 2 * HPAGE_PMD_NR, 0, 0);
		/* CPU 1: pins, reads and writes in it; CPU 2: zaps, unmaps
		 * and maps parts of it again. */
		for (int i = 0; i < 4; i++) {
			emit(&o, 1, OP_GUP, 0, 3, rand_next(&rng) % pages, 1, 8);
			emit(&o, 1, OP_WRITE, 0, 1, rand_next(&rng) % pages, 4, 0);
			emit(&o, 1, OP_READ, 0, 1, rand_next(&rng) % pages, 4, 0);
			emit(&o, 2, OP_DONTNEED, 0, 0, rand_next(&rng) % pages, 16, 0);
			emit(&o, 2, OP_MUNMAP, 0, 0, rand_next(&rng) % pages, 64, 0);
			emit(&o, 2, OP_MMAP, 0, 1, rand_next(&rng) % pages, 64, 0);
		}
		emit(&o, 1, OP_PUT, 0, 7, 0, 1, 0);
	}
	/* Then anything. */
	while (o.n < o.max / 2 + rand_next(&rng) % (o.max / 2 + 1))
		put(&o, rand_next(&rng), 1);
	return o.n;
}

/* ---- the calls ---- */

static struct mm_struct *call_mm(const struct call *c)
{
	return c->mm < fz.nmm ? fz.mms[c->mm] : NULL;
}

/* What the fuzzer's IPIs run: nothing (the call's delivery and waiting
 * are what is tested). */
static void ipi_noop(void *info)
{
	(void)info;
}

/* Drops the first @n references the CPU holds (all for n < 0). */
static void drop_held(struct fuzz_cpu *cpu, int n)
{
	if (n < 0 || n > cpu->nheld)
		n = cpu->nheld;
	for (int i = 0; i < n; i++) {
		if (cpu->held[i].pin)
			unpin_user_pages(&cpu->held[i].page, 1);
		else
			put_user_pages(&cpu->held[i].page, 1);
	}
	memmove(cpu->held, cpu->held + n, (size_t)(cpu->nheld - n) * sizeof(cpu->held[0]));
	cpu->nheld -= n;
}

/* A page GUP returned: a user page, referenced. */
static void check_gup_page(struct page *p, uint64_t addr)
{
	enum page_type t;

	FUZZ_CHECK(p && p >= ptlab_pages && p < ptlab_pages + ptlab_nr_frames,
		   "GUP at %#llx returned a pointer outside the pool", (unsigned long long)addr);
	t = page_type(p);
	FUZZ_CHECK(t == PAGE_TYPE_ANON || t == PAGE_TYPE_THP_HEAD || t == PAGE_TYPE_THP_TAIL,
		   "GUP at %#llx returned a frame of type %d", (unsigned long long)addr, t);
	FUZZ_CHECK(page_ref_count(page_folio(p)) > 0, "GUP at %#llx returned a free page",
		   (unsigned long long)addr);
}

static bool do_gup(struct fuzz_cpu *cpu, const struct call *c)
{
	bool pin = c->sub & 1, null_pages = (c->sub & 0xf0) == 0xf0;
	/* Mostly a few pages and known flags; else anything. */
	long nr = c->sub & 0x08 ? (long)(c->len % (FUZZ_GUP_MAX + 3)) - 2
				: (long)(c->arg % 16) + 1;
	unsigned int flags = c->sub & 0x40 ? (unsigned int)c->arg & 0xff
					   : (c->sub & 2 ? FOLL_WRITE : 0) |
						     (c->sub & 4 ? FOLL_FAST_ONLY : 0);
	struct page **pages = null_pages ? NULL : cpu->pages;
	long r = pin ? pin_user_pages_fast(c->addr, nr, flags, pages)
		     : get_user_pages_fast(c->addr, nr, flags, pages);

	if (r <= 0) {
		FUZZ_CHECK(r != 0 || (flags & FOLL_FAST_ONLY),
			   "GUP of %ld pages at %#llx returned 0 without FOLL_FAST_ONLY", nr,
			   (unsigned long long)c->addr);
		if (r)
			EXPECT_ERRNO("GUP", r, -EINVAL, -ESRCH, -EFAULT, -ENOMEM);
		return false;
	}
	FUZZ_CHECK(!null_pages && r <= nr, "GUP of %ld pages returned %ld", nr, r);
	for (long i = 0; i < r; i++) {
		check_gup_page(cpu->pages[i], c->addr + ((uint64_t)i << PAGE_SHIFT));
		if (cpu->nheld == FUZZ_HELD_MAX)
			drop_held(cpu, FUZZ_HELD_MAX / 2);
		cpu->held[cpu->nheld++] = (struct held){ cpu->pages[i], pin };
	}
	return true;
}

static bool do_user_access(struct fuzz_cpu *cpu, const struct call *c, bool write)
{
	bool null_buf = (c->sub & 0xf0) == 0xf0;
	size_t len = null_buf ? c->len : c->len % (FUZZ_BUF + 1);
	int r;

	if (write)
		memset(cpu->buf, c->sub, len < FUZZ_BUF ? len : FUZZ_BUF);
	r = write ? user_write(c->addr, null_buf ? NULL : cpu->buf, len)
		  : user_read(c->addr, null_buf ? NULL : cpu->buf, len);
	if (r)
		EXPECT_ERRNO(write ? "user_write" : "user_read", r, -EFAULT, -EINVAL, -ESRCH,
			     -ENOMEM);
	return !r;
}

static bool do_mmap(const struct call *c)
{
	/* Mostly read-write, half of them huge-page eligible. */
	unsigned long flags = (c->sub & 0xe0) == 0xe0 ? (unsigned long)c->arg
			      : (c->sub & 0xe0) == 0xc0 ? c->sub & VM_FLAGS_ALL
			      : VM_READ | VM_WRITE | (c->sub & 1 ? VM_HUGEPAGE : 0);
	int64_t r = mm_mmap(call_mm(c), c->addr, c->len, flags);

	if (r < 0) {
		EXPECT_ERRNO("mm_mmap", r, -EINVAL, -ENOMEM, -EEXIST);
		return false;
	}
	FUZZ_CHECK(call_mm(c) && !(flags & ~VM_FLAGS_ALL), "mm_mmap accepted a bad call");
	FUZZ_CHECK(!(r & ~PAGE_MASK) && (!c->addr || (uint64_t)r == c->addr) &&
			   (uint64_t)r < TASK_SIZE && c->len <= TASK_SIZE - (uint64_t)r,
		   "mm_mmap(%#llx, %#llx) returned %#llx", (unsigned long long)c->addr,
		   (unsigned long long)c->len, (unsigned long long)r);
	return true;
}

static bool do_fail_alloc(const struct call *c)
{
	/* Mostly known paths. */
	unsigned int mask = c->sub & 0x30 ? (unsigned int)c->arg & FAIL_ALLOC_ALL_PATHS
				  : (unsigned int)c->arg;
	bool valid = !(mask & ~FAIL_ALLOC_ALL_PATHS) && c->p >= 0.0 && c->p <= 1.0;
	int r = fail_alloc_set(mask, c->p, c->len);

	FUZZ_CHECK(r == (valid ? 0 : -EINVAL), "fail_alloc_set(%#x, %g, %llu) returned %d", mask,
		   c->p, (unsigned long long)c->len, r);
	return !r;
}

static bool do_get_vmas(const struct call *c)
{
	struct vma_info v[32];
	bool null_out = c->sub & 1;
	/* From -8 to the array's size. */
	int max = (int)(c->arg % 41) - 8;
	int n = mm_get_vmas(call_mm(c), null_out ? NULL : v, max);

	if (n < 0) {
		EXPECT_ERRNO("mm_get_vmas", n, -EINVAL);
		return false;
	}
	FUZZ_CHECK(call_mm(c) && max >= 0 && (!max || !null_out), "mm_get_vmas accepted a bad call");
	for (int i = 0; !null_out && i < n && i < max; i++)
		FUZZ_CHECK(v[i].start < v[i].end && !(v[i].start & ~PAGE_MASK) &&
				   !(v[i].end & ~PAGE_MASK) && v[i].end <= TASK_SIZE &&
				   (!i || v[i - 1].end <= v[i].start),
			   "VMA %d is [%#llx, %#llx)", i, (unsigned long long)v[i].start,
			   (unsigned long long)v[i].end);
	return true;
}

static bool do_check(const struct call *c)
{
	struct mm_check_report rep;
	int r = mm_check_tables(call_mm(c), &rep);

	if (r) {
		FUZZ_CHECK(!call_mm(c) && r == -EINVAL, "mm_check_tables returned %d", r);
		return false;
	}
	FUZZ_CHECK(!rep.mismatches, "mm_check_tables: %llu mismatches: %s",
		   (unsigned long long)rep.mismatches, rep.first);
	return true;
}

/* A call made with interrupts off: refused, whatever its arguments. */
static bool do_irqs_off(const struct call *c)
{
	struct mm_check_report rep;
	struct page *p;
	unsigned long flags = local_irq_save();
	long r, want = -EPERM;
	char b = 0;

	switch (c->sub % 10) {
	case 0:
		r = mm_mmap(call_mm(c), c->addr, c->len, VM_READ);
		break;
	case 1:
		r = mm_munmap(call_mm(c), c->addr, c->len);
		break;
	case 2:
		r = mm_populate(call_mm(c), c->addr, c->len, true);
		break;
	case 3:
		r = user_write(c->addr, &b, 1);
		break;
	case 4:
		r = pin_user_pages_fast(c->addr, 1, 0, &p);
		break;
	case 5:
		r = hpage_collapse(call_mm(c), c->addr);
		break;
	case 6:
		r = mm_check_tables(call_mm(c), &rep);
		break;
	case 7:
		r = flush_tlb_mm_range(fz.mms[0], c->addr, c->len);
		want = -EDEADLK;
		break;
	case 8:
		r = tlb_remove_table_sync_one();
		want = -EDEADLK;
		break;
	default:
		r = smp_call_function_many(~(cpumask_t)0, ipi_noop, NULL, true);
		want = -EDEADLK;
		break;
	}
	local_irq_restore(flags);
	FUZZ_CHECK(r == want, "call %d with interrupts off returned %ld, not %ld", c->sub % 10, r,
		   want);
	return true;
}

/* Makes the call; returns whether it succeeded (for a collapse: that it
 * collapsed). */
static bool do_call(struct fuzz_cpu *cpu, const struct call *c)
{
	static const int advice[] = { MADV_DONTNEED, MADV_HUGEPAGE, MADV_NOHUGEPAGE, 0, 99 };
	struct mm_struct *mm = call_mm(c);
	struct mm_stats st;
	int r = 0;

	switch (c->op) {
	case OP_MMAP:
		return do_mmap(c);
	case OP_MUNMAP:
		if ((r = mm_munmap(mm, c->addr, c->len)))
			EXPECT_ERRNO("mm_munmap", r, -EINVAL, -ENOMEM);
		break;
	case OP_MADVISE:
		if ((r = mm_madvise(mm, c->addr, c->len, advice[c->sub % 5])))
			EXPECT_ERRNO("mm_madvise", r, -EINVAL, -EFAULT, -ENOMEM);
		break;
	case OP_DONTNEED:
		if ((r = mm_madvise_dontneed(mm, c->addr, c->len)))
			EXPECT_ERRNO("mm_madvise_dontneed", r, -EINVAL, -EFAULT);
		break;
	case OP_POPULATE:
		if ((r = mm_populate(mm, c->addr, c->len, c->sub & 1)))
			EXPECT_ERRNO("mm_populate", r, -EINVAL, -EFAULT, -ENOMEM);
		break;
	case OP_USE_MM:
		if ((r = use_mm(mm)))
			EXPECT_ERRNO("use_mm", r, -EBUSY, -EINVAL);
		break;
	case OP_UNUSE_MM:
		if ((r = unuse_mm()))
			EXPECT_ERRNO("unuse_mm", r, -EINVAL);
		break;
	case OP_READ:
	case OP_WRITE:
		return do_user_access(cpu, c, c->op == OP_WRITE);
	case OP_GUP:
		return do_gup(cpu, c);
	case OP_PUT:
		drop_held(cpu, c->sub % 8 == 7 ? -1 : c->sub % 8);
		break;
	case OP_COLLAPSE:
		r = hpage_collapse(mm, c->addr);
		FUZZ_CHECK((r >= 0 && r < SCAN_RESULT_COUNT) || r == -EINVAL,
			   "hpage_collapse(%#llx) returned %d", (unsigned long long)c->addr, r);
		return r == SCAN_SUCCEED;
	case OP_SPLIT:
		if ((r = split_huge_pmd_at(mm, c->addr)))
			EXPECT_ERRNO("split_huge_pmd_at", r, -EINVAL);
		break;
	case OP_FLUSH:
		if ((r = flush_tlb_mm_range(mm, c->addr, c->addr + c->len)))
			EXPECT_ERRNO("flush_tlb_mm_range", r, -EINVAL);
		break;
	case OP_SYNC:
		FUZZ_CHECK(tlb_remove_table_sync_one() == 0, "tlb_remove_table_sync_one failed");
		break;
	case OP_IRQS_OFF:
		return do_irqs_off(c);
	case OP_FAIL_ALLOC:
		return do_fail_alloc(c);
	case OP_SMP_CALL:
		r = smp_call_function_many((cpumask_t)c->arg, (c->sub & 6) == 6 ? NULL : ipi_noop,
					   NULL, c->sub & 1);
		FUZZ_CHECK(r == ((c->sub & 6) == 6 ? -EINVAL : 0), "smp_call_function_many: %d", r);
		break;
	case OP_GET_VMAS:
		return do_get_vmas(c);
	case OP_CHECK:
		return do_check(c);
	case OP_STATS:
		mm_get_stats(mm, (c->sub & 1) ? NULL : &st);
		break;
	}
	return r == 0;
}

/* A CPU: runs its calls for each input, then lets go of what it holds. */
static void *fuzz_cpu_main(void *arg)
{
	struct fuzz_cpu *cpu = arg;
	unsigned int seen = 0;

	FUZZ_CHECK(cpu_register() >= 0, "a fuzzing CPU could not register");
	atomic_fetch_add(&fz.ready, 1);
	for (;;) {
		unsigned int g;

		while ((g = atomic_load_explicit(&fz.go, memory_order_acquire)) == seen &&
		       !atomic_load(&fz.quit))
			sleep_us(50);
		if (atomic_load(&fz.quit))
			break;
		seen = g;
		for (int i = 0; i < cpu->ncalls; i++) {
			cpu->stats.calls[cpu->calls[i].op]++;
			cpu->stats.succeeded[cpu->calls[i].op] += do_call(cpu, &cpu->calls[i]);
		}
		drop_held(cpu, -1);
		if (current_mm())
			FUZZ_CHECK(unuse_mm() == 0, "unuse_mm failed");
		atomic_store_explicit(&cpu->done, g, memory_order_release);
	}
	FUZZ_CHECK(cpu_unregister() == 0, "a fuzzing CPU could not unregister");
	return NULL;
}

void fuzz_api_machine_up(const char *profile)
{
	struct ptlab_config cfg;

	FUZZ_CHECK(ptlab_config_profile(&cfg, profile) == 0, "no profile %s", profile);
	cfg.pool_bytes = FUZZ_POOL;
	FUZZ_CHECK(ptlab_init(&cfg) == 0, "ptlab_init failed");
	/* Every sanitizer report is a bug here: on stderr, not in the log
	 * the lab keeps for its walkers' expected ones. */
	ptlab_asan_log_end();
	FUZZ_CHECK(cpu_register() >= 0, "the controller could not register");
	atomic_store(&fz.quit, false);
	atomic_store(&fz.ready, 0);
	atomic_store(&fz.go, 0);
	for (int i = 0; i < FUZZ_CPUS; i++) {
		atomic_store(&fz.cpu[i].done, 0);
		memset(&fz.cpu[i].stats, 0, sizeof(fz.cpu[i].stats));
	}
	for (int i = 0; i < FUZZ_CPUS; i++)
		FUZZ_CHECK(pthread_create(&fz.cpu[i].thread, NULL, fuzz_cpu_main, &fz.cpu[i]) == 0,
			   "pthread_create failed");
	while (atomic_load(&fz.ready) < FUZZ_CPUS)
		sleep_us(100);
}

void fuzz_api_machine_down(void)
{
	struct ptlab_teardown_report rep;
	int r;

	atomic_store(&fz.quit, true);
	for (int i = 0; i < FUZZ_CPUS; i++) {
		/* Joined in short sleeps, taking IPIs meanwhile. */
		while (pthread_tryjoin_np(fz.cpu[i].thread, NULL))
			sleep_us(100);
	}
	FUZZ_CHECK(cpu_unregister() == 0, "the controller could not unregister");
	r = ptlab_exit(&rep);
	FUZZ_CHECK(r == 0, "teardown: %d, %llu frames leaked, %llu miscounted", r,
		   (unsigned long long)rep.leaked_total, (unsigned long long)rep.miscounted);
}

/* After an input: every CPU idle, no page left pinned, the tables equal
 * to the counters, and once the mms are gone every frame free. */
static void end_of_input(void)
{
	struct page_alloc_stats st;

	khugepaged_stop();
	fail_alloc_set(0, 0, 0);
	/* Asynchronous IPIs still queued are run before this one returns. */
	FUZZ_CHECK(smp_call_function(ipi_noop, NULL, true) == 0, "smp_call_function failed");
	for (int m = 0; m < fz.nmm; m++) {
		struct mm_check_report rep;

		FUZZ_CHECK(mm_check_tables(fz.mms[m], &rep) == 0, "mm_check_tables failed");
		FUZZ_CHECK(!rep.mismatches && !rep.referenced,
			   "mm %d: %llu mismatches, %llu pages still referenced: %s", m,
			   (unsigned long long)rep.mismatches, (unsigned long long)rep.referenced,
			   rep.first);
		FUZZ_CHECK(mm_destroy(fz.mms[m]) == 0, "mm_destroy failed");
	}
	ptlab_rcu_barrier();
	page_alloc_get_stats(&st);
	FUZZ_CHECK(st.nr_free == st.nr_frames, "%llu frames in use with no mm left",
		   (unsigned long long)(st.nr_frames - st.nr_free));
}

void fuzz_api_input(const uint8_t *data, size_t len)
{
	struct input in = { data, len };
	uint8_t head = (uint8_t)take(&in, 1);
	/* PTLAB_FUZZ_TRACE set: the decoded calls on stderr, to read a crash. */
	bool trace = getenv("PTLAB_FUZZ_TRACE");
	unsigned int g;

	fz.nmm = 1 + head % FUZZ_MAX_MMS;
	for (int m = 0; m < fz.nmm; m++)
		FUZZ_CHECK((fz.mms[m] = mm_create()), "mm_create failed");
	if (head & 0x80) {
		struct khugepaged_config kc = { .scan_sleep_us = (unsigned int)take(&in, 2) % 2000,
						.max_ptes_none = (unsigned int)take(&in, 2) % 600 };
		int r = khugepaged_start(&kc);

		FUZZ_CHECK(r == (kc.max_ptes_none < HPAGE_PMD_NR ? 0 : -EINVAL),
			   "khugepaged_start(%u) returned %d", kc.max_ptes_none, r);
	}
	for (int i = 0; i < FUZZ_CPUS; i++)
		fz.cpu[i].ncalls = 0;
	while (in.left) {
		int i = (int)(take(&in, 1) % FUZZ_CPUS);
		struct fuzz_cpu *cpu = &fz.cpu[i];
		struct call c;

		decode(&in, &c);
		if (trace)
			fprintf(stderr, "cpu%d %s mm %d sub %#x addr %#llx len %#llx arg %#llx p %g\n",
				i, fuzz_api_op_name((enum fuzz_op)c.op), c.mm, c.sub,
				(unsigned long long)c.addr, (unsigned long long)c.len,
				(unsigned long long)c.arg, c.p);
		if (cpu->ncalls < FUZZ_MAX_CALLS)
			cpu->calls[cpu->ncalls++] = c;
	}
	g = atomic_fetch_add_explicit(&fz.go, 1, memory_order_release) + 1;
	for (int i = 0; i < FUZZ_CPUS; i++)
		while (atomic_load_explicit(&fz.cpu[i].done, memory_order_acquire) != g)
			sleep_us(50);
	end_of_input();
}

void fuzz_api_stats(struct fuzz_api_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < FUZZ_CPUS; i++)
		for (int op = 0; op < OP_COUNT; op++) {
			out->calls[op] += fz.cpu[i].stats.calls[op];
			out->succeeded[op] += fz.cpu[i].stats.succeeded[op];
		}
}

const char *fuzz_api_op_name(enum fuzz_op op)
{
	static const char *const names[OP_COUNT] = {
		"mmap", "munmap", "madvise", "dontneed", "populate", "use_mm", "unuse_mm",
		"read", "write", "gup", "put", "collapse", "split", "flush", "sync",
		"irqs_off", "fail_alloc", "smp_call", "get_vmas", "check", "stats",
	};

	return (unsigned int)op < OP_COUNT ? names[op] : "?";
}

/* libFuzzer's entry points (make fuzz): the machine's profile from
 * PTLAB_FUZZ_PROFILE (default x86); with PTLAB_FUZZ_SEED_CORPUS naming an
 * empty directory, structured seed inputs are written there first (the
 * corpus libFuzzer then starts from). */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void write_seed_corpus(const char *dir)
{
	static uint8_t buf[4096];
	char path[4096];

	for (uint64_t i = 0; i < 32; i++) {
		size_t n = fuzz_api_seed_input(buf, 512 + i * 100, i + 1);
		FILE *f;

		snprintf(path, sizeof(path), "%s/seed-%02llu", dir, (unsigned long long)i);
		f = fopen(path, "wbx");
		if (!f)
			return;   /* there already */
		fwrite(buf, 1, n, f);
		fclose(f);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *profile = getenv("PTLAB_FUZZ_PROFILE");
	const char *corpus = getenv("PTLAB_FUZZ_SEED_CORPUS");

	(void)argc;
	(void)argv;
	if (corpus && *corpus)
		write_seed_corpus(corpus);
	fuzz_api_machine_up(profile && *profile ? profile : "x86");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_api_input(data, size);
	return 0;
}
