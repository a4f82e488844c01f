// SPDX-License-Identifier: MIT
/*
 * pin_vs_collapse: libptlab used from a program of its own.
 *
 * A driver pins a user page with pin_user_pages_fast() (to DMA into it)
 * while khugepaged wants to collapse the 2 MiB around that page into one
 * huge page. Collapse copies every page into the huge page: a pinned page
 * must be left alone, or what the device writes through the pin lands in
 * the old copy and is lost. Here one CPU pins while another collapses, on
 * the machine of the architecture profile named by argv[1], and the
 * program reports what happened. It reports; it does not judge: the order
 * of the racing part is up to the scheduler.
 *
 *   cc pin_vs_collapse.c $(pkg-config --static --cflags --libs ptlab)
 *   ./a.out [profile]     (default arm64; `ptlab profiles` lists them)
 *
 * Exit status: 0 when every call worked, 1 when one failed (or a frame
 * leaked), 2 for an unknown profile.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <ptlab/gup.h>
#include <ptlab/huge.h>
#include <ptlab/machine.h>
#include <ptlab/mm.h>
#include <ptlab/smp.h>

/* Split-and-collapse cycles of the racing part. */
#define RACE_COLLAPSES 40
/* The pinned word: in the middle of the range, as any page would do. */
#define PIN_OFFSET (77 * PAGE_SIZE + 8)

/* What the two CPUs share. Written before the hand-off that publishes
 * it (a release store of step), read after it (an acquire load). */
static struct {
	struct mm_struct *mm;
	uint64_t word;             /* the address both CPUs use */
	atomic_int step;           /* the ordered part's hand-offs */
	atomic_bool race_over;     /* the racing part ends */
	unsigned long pins, lost;  /* the pinner's counts */
	atomic_int error;          /* the pinner's failure, -errno */
} shared;

enum { PINNED = 1, COLLAPSE_TRIED, UNPINNED, RACING, PINNER_DONE };

/* Waits for the other CPU in short sleeps. A CPU must never block for
 * long with its interrupts off; here they are on, and a sleep is where
 * an IPI (a TLB flush of the collapse) interrupts it and runs. */
static void wait_step(int step)
{
	const struct timespec ms = { 0, 1000000 };

	while (atomic_load_explicit(&shared.step, memory_order_acquire) < step)
		nanosleep(&ms, NULL);
}

static void set_step(int step)
{
	atomic_store_explicit(&shared.step, step, memory_order_release);
}

/* Pins the word's page for writing, stores @value through the pin as a
 * device would, unpins (marking the page dirty) and reads the word back
 * through the mm: returns 1 when the write was lost, 0, or -errno. */
static int pin_write_unpin(uint64_t value, int step_while_pinned)
{
	struct page *page;
	uint64_t seen = 0;
	long n = pin_user_pages_fast(shared.word & PAGE_MASK, 1, FOLL_WRITE, &page);
	int err;

	if (n != 1)
		return n < 0 ? (int)n : -EFAULT;
	shared.pins++;
	if (step_while_pinned) {
		/* The ordered part: the other CPU collapses now. */
		set_step(step_while_pinned);
		wait_step(step_while_pinned + 1);
	}
	err = page_write(page, shared.word & ~PAGE_MASK, &value, sizeof(value));
	unpin_user_pages_dirty_lock(&page, 1, true);
	if (!err)
		err = user_read(shared.word, &seen, sizeof(seen));
	return err ? err : seen != value;
}

/* CPU 1: the driver. */
static void *pinner(void *arg)
{
	int ret;

	(void)arg;
	if ((ret = cpu_register()) < 0 || (ret = use_mm(shared.mm)))
		goto out;
	/* Ordered: pin, let the collapse run, then write and unpin. */
	ret = pin_write_unpin(0x1111, PINNED);
	if (ret < 0)
		goto out;
	shared.lost += (unsigned long)ret;
	set_step(UNPINNED);
	/* Racing: pin, write and unpin again and again. */
	wait_step(RACING);
	for (uint64_t v = 2; !atomic_load(&shared.race_over); v++) {
		ret = pin_write_unpin(v, 0);
		if (ret < 0)
			goto out;
		shared.lost += (unsigned long)ret;
	}
	ret = 0;
out:
	atomic_store(&shared.error, ret);
	if (current_mm())
		unuse_mm();
	cpu_unregister();
	set_step(PINNER_DONE);
	return NULL;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "pin_vs_collapse: %s: %s\n", what, strerror(err < 0 ? -err : err));
	return 1;
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "arm64";
	unsigned long succeeded = 0, refused = 0, other = 0;
	struct ptlab_teardown_report report;
	struct ptlab_config cfg;
	uint64_t word = 0;
	pthread_t thread;
	int64_t addr;
	int ret;

	/* The machine: one per process, with the profile's page-table rules
	 * and both fixes on (ptlab_config_profile()'s default). */
	if (ptlab_config_profile(&cfg, name)) {
		char names[256];

		ptlab_profile_names(names, sizeof(names));
		fprintf(stderr, "pin_vs_collapse: unknown profile: %s (allowed: %s)\n", name, names);
		return 2;
	}
	cfg.pool_bytes = 32ULL << 20;
	if ((ret = ptlab_init(&cfg)))
		return fail("ptlab_init", ret);
	printf("profile %s: RCU table free %s, %s TLB flush, %s deposit; fixes: %s\n",
	       cfg.profile.name, cfg.profile.rcu_table_free ? "yes" : "no",
	       tlb_flush_style_name(cfg.profile.flush), deposit_style_name(cfg.profile.deposit),
	       ptlab_fixes_name(cfg.fixes));

	/* This thread becomes CPU 0 (the collapser) and runs a new mm. */
	if ((ret = cpu_register()) < 0)
		return fail("cpu_register", ret);
	shared.mm = mm_create();
	if (!shared.mm)
		return fail("mm_create", errno);
	if ((ret = use_mm(shared.mm)))
		return fail("use_mm", ret);

	/* 2 MiB of anonymous memory, faulted in as 512 small pages, then
	 * marked MADV_HUGEPAGE (VM_HUGEPAGE): what khugepaged collapses. */
	addr = mm_mmap(shared.mm, 0, PMD_SIZE, VM_READ | VM_WRITE);
	if (addr < 0)
		return fail("mm_mmap", (int)addr);
	if ((ret = mm_populate(shared.mm, (uint64_t)addr, PMD_SIZE, true)) ||
	    (ret = mm_madvise(shared.mm, (uint64_t)addr, PMD_SIZE, MADV_HUGEPAGE)))
		return fail("fault in and madvise", ret);
	shared.word = (uint64_t)addr + PIN_OFFSET;
	printf("mapped 2 MiB at 0x%" PRIx64 ", faulted in as 512 pages, MADV_HUGEPAGE\n",
	       (uint64_t)addr);

	/* CPU 1, the pinner. */
	if ((ret = pthread_create(&thread, NULL, pinner, NULL)))
		return fail("pthread_create", ret);

	/* Ordered: collapse while the page is pinned, then after the unpin. */
	wait_step(PINNED);
	if (atomic_load(&shared.error))
		goto pinner_failed;
	ret = hpage_collapse(shared.mm, (uint64_t)addr);
	if (ret < 0)
		return fail("hpage_collapse", ret);
	printf("cpu1 pinned the page at 0x%" PRIx64 "; cpu0 collapses: %s%s\n",
	       (uint64_t)(shared.word & PAGE_MASK), scan_result_name(ret),
	       ret == SCAN_PAGE_COUNT ? " (refused: the pin is a reference no mapping explains)" : "");
	set_step(COLLAPSE_TRIED);
	wait_step(UNPINNED);
	if (atomic_load(&shared.error))
		goto pinner_failed;
	if ((ret = user_read(shared.word, &word, sizeof(word))))
		return fail("user_read", ret);
	printf("cpu1 wrote 0x1111 through the pin and unpinned; cpu0 reads 0x%" PRIx64 ": %s\n",
	       word, word == 0x1111 ? "the write is there" : "the write was LOST");
	ret = hpage_collapse(shared.mm, (uint64_t)addr);
	if (ret < 0)
		return fail("hpage_collapse", ret);
	printf("cpu0 collapses after the unpin: %s", scan_result_name(ret));
	if ((ret = user_read(shared.word, &word, sizeof(word))))
		return fail("user_read", ret);
	printf("; the word reads 0x%" PRIx64 "\n", word);

	/* Racing: cpu1 pins, writes and unpins in a loop while cpu0 splits
	 * the huge PMD and collapses the range again. */
	set_step(RACING);
	for (int i = 0; i < RACE_COLLAPSES && !atomic_load(&shared.error); i++) {
		if ((ret = split_huge_pmd_at(shared.mm, (uint64_t)addr)))
			break;
		ret = hpage_collapse(shared.mm, (uint64_t)addr);
		succeeded += ret == SCAN_SUCCEED;
		refused += ret == SCAN_PAGE_COUNT;
		other += ret != SCAN_SUCCEED && ret != SCAN_PAGE_COUNT;
	}
	atomic_store(&shared.race_over, true);
	wait_step(PINNER_DONE);
	pthread_join(thread, NULL);
	if (atomic_load(&shared.error))
		goto pinner_failed;
	if (ret < 0)
		return fail("split_huge_pmd_at", ret);
	printf("racing: cpu1 pinned %lu times while cpu0 split and collapsed %d times: %lu succeeded, "
	       "%lu refused for a pin, %lu refused otherwise\n",
	       shared.pins, RACE_COLLAPSES, succeeded, refused, other);
	printf("writes through a pin that a later read did not see: %lu\n", shared.lost);

	/* Teardown: every frame must come back free. */
	unuse_mm();
	if ((ret = mm_destroy(shared.mm)))
		return fail("mm_destroy", ret);
	cpu_unregister();
	ret = ptlab_exit(&report);
	if (ret) {
		printf("teardown: %" PRIu64 " frames leaked\n", report.leaked_total);
		return 1;
	}
	printf("teardown: every frame came back free\n");
	return 0;

pinner_failed:
	return fail("cpu1", atomic_load(&shared.error));
}
