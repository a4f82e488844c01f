// SPDX-License-Identifier: MIT
/* The frame pool: allocation, LIFO reuse, poison, generations, huge pages,
 * references and failure injection. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "machine_helpers.h"

TEST(page_alloc_lifo_poison_generation)
{
	struct page *a, *b, *c;
	unsigned int gen;
	uint32_t pfn;

	machine_up(NULL, 16);
	a = alloc_page(PAGE_TYPE_ANON);
	CHECK(a);
	CHECK_EQ(page_type(a), PAGE_TYPE_ANON);
	CHECK_EQ(page_ref_count(a), 1);
	for (unsigned int i = 0; i < PAGE_SIZE / 8; i++)
		CHECK_EQ(frame_load64(a, i), 0);
	frame_store64(a, 3, 0x1234);
	gen = page_generation(a);
	pfn = page_to_pfn(a);
	put_page(a);
	/* Freed: poisoned, new generation, type free. */
	CHECK_EQ(page_type(a), PAGE_TYPE_FREE);
	CHECK_EQ(page_generation(a), gen + 1);
	CHECK(frame_load64(a, 3) == PAGE_POISON);
	CHECK(frame_load64(a, 511) == PAGE_POISON);
	/* LIFO: the next allocation, whatever its type, reuses it. */
	b = alloc_page(PAGE_TYPE_PGTABLE);
	CHECK_EQ(page_to_pfn(b), pfn);
	CHECK_EQ(frame_load64(b, 3), 0);
	c = alloc_page(PAGE_TYPE_ANON);
	CHECK(c != b);
	put_page(c);
	put_page(b);
	machine_down();
}

TEST(page_refcounts)
{
	struct page *p;

	machine_up(NULL, 16);
	p = alloc_page(PAGE_TYPE_ANON);
	get_page(p);
	CHECK_EQ(page_ref_count(p), 2);
	CHECK(page_ref_add_unless_zero(p, 3));
	CHECK_EQ(page_ref_count(p), 5);
	folio_put_refs(p, 4);
	CHECK_EQ(page_ref_count(p), 1);
	put_page(p);
	/* Free: get-unless-zero refuses. */
	CHECK(!page_ref_add_unless_zero(p, 1));
	CHECK_EQ(page_ref_count(p), 0);
	machine_down();
}

TEST(page_huge_alloc_and_merge)
{
	struct page_alloc_stats st;
	struct page *small[HPAGE_PMD_NR * 2];
	struct page *h[16];
	int nh = 0;

	/* 16 MiB: 8 blocks. */
	machine_up(NULL, 16);
	page_alloc_get_stats(&st);
	CHECK_EQ(st.nr_frames, 8 * HPAGE_PMD_NR);
	/* Take two blocks' worth of small pages, then all huge pages. */
	for (unsigned int i = 0; i < HPAGE_PMD_NR * 2; i++)
		CHECK(small[i] = alloc_page(PAGE_TYPE_ANON));
	while (nh < 16 && (h[nh] = alloc_huge_page()))
		nh++;
	CHECK_EQ(nh, 6);
	CHECK_EQ(page_type(h[0]), PAGE_TYPE_THP_HEAD);
	CHECK_EQ(page_type(h[0] + 1), PAGE_TYPE_THP_TAIL);
	CHECK(page_folio(h[0] + 511) == h[0]);
	CHECK_EQ(page_to_pfn(h[0]) % HPAGE_PMD_NR, 0);
	CHECK(!alloc_page(PAGE_TYPE_ANON));
	/* Free the small pages: their blocks merge back for huge pages. */
	for (unsigned int i = 0; i < HPAGE_PMD_NR * 2; i++)
		put_page(small[i]);
	CHECK(h[6] = alloc_huge_page());
	CHECK(h[7] = alloc_huge_page());
	CHECK(!alloc_huge_page());
	for (int i = 0; i < 8; i++)
		put_page(h[i]);
	page_alloc_get_stats(&st);
	CHECK_EQ(st.nr_free, st.nr_frames);
	machine_down();
}

TEST(page_fail_injection)
{
	struct page_alloc_stats st;
	struct page *p;
	int got = 0;

	machine_up(NULL, 16);
	CHECK_EQ(fail_alloc_set(FAIL_ALLOC_PATH(ALLOC_PATH_RCU_BATCH), 1.5, 0), -EINVAL);
	CHECK_EQ(fail_alloc_set(FAIL_ALLOC_PATH(ALLOC_PATH_RCU_BATCH), -0.1, 0), -EINVAL);
	CHECK_EQ(fail_alloc_set(FAIL_ALLOC_PATH(ALLOC_PATH_RCU_BATCH), 0.0 / 0.0, 0), -EINVAL);
	CHECK_EQ(fail_alloc_set(1U << ALLOC_PATH_COUNT, 0.5, 0), -EINVAL);
	/* Always fail one path, leave the others, whatever the type. */
	CHECK_EQ(fail_alloc_set(FAIL_ALLOC_PATH(ALLOC_PATH_RCU_BATCH), 1.0, 0), 0);
	CHECK(!alloc_page_tagged(PAGE_TYPE_KERNEL, ALLOC_PATH_RCU_BATCH));
	CHECK(p = alloc_page(PAGE_TYPE_KERNEL));
	put_page(p);
	/* Every 3rd allocation on the pages path fails. */
	CHECK_EQ(fail_alloc_set(FAIL_ALLOC_PATH(ALLOC_PATH_PAGES), 0, 3), 0);
	for (int i = 0; i < 9; i++) {
		p = alloc_page_tagged(PAGE_TYPE_ANON, ALLOC_PATH_PAGES);
		if (p) {
			got++;
			put_page(p);
		}
	}
	CHECK_EQ(got, 6);
	/* Huge pages by path too: collapse's fails, the fault's does not. */
	CHECK_EQ(fail_alloc_set(FAIL_ALLOC_PATH(ALLOC_PATH_THP_COLLAPSE), 1.0, 0), 0);
	CHECK(!alloc_huge_page_tagged(ALLOC_PATH_THP_COLLAPSE));
	CHECK(p = alloc_huge_page_tagged(ALLOC_PATH_THP_FAULT));
	put_page(p);
	page_alloc_get_stats(&st);
	CHECK_EQ(st.injected_failures, 5);
	CHECK_EQ(st.path_injected[ALLOC_PATH_RCU_BATCH], 1);
	CHECK_EQ(st.path_injected[ALLOC_PATH_PAGES], 3);
	CHECK_EQ(st.path_injected[ALLOC_PATH_THP_COLLAPSE], 1);
	CHECK_EQ(st.path_injected[ALLOC_PATH_OTHER], 0);
	CHECK_EQ(st.path_attempts[ALLOC_PATH_PAGES], 9);
	CHECK_EQ(st.path_attempts[ALLOC_PATH_OTHER], 1);
	CHECK_EQ(st.path_attempts[ALLOC_PATH_THP_FAULT], 1);
	CHECK_EQ(fail_alloc_set(0, 0, 0), 0);
	CHECK(p = alloc_page_tagged(PAGE_TYPE_KERNEL, ALLOC_PATH_RCU_BATCH));
	put_page(p);
	/* Bad types and paths are refused without a frame. */
	CHECK(!alloc_page(PAGE_TYPE_FREE));
	CHECK(!alloc_page(PAGE_TYPE_THP_TAIL));
	CHECK(!alloc_page_tagged(PAGE_TYPE_ANON, ALLOC_PATH_COUNT));
	CHECK(!alloc_huge_page_tagged((enum alloc_path)-1));
	page_alloc_get_stats(&st);
	CHECK_EQ(st.nr_free, st.nr_frames);
	CHECK(strcmp(alloc_path_name(ALLOC_PATH_RCU_BATCH), "rcu_batch") == 0);
	CHECK(strcmp(alloc_path_name(ALLOC_PATH_COUNT), "?") == 0);
	for (int i = 0; i < ALLOC_PATH_COUNT; i++)
		CHECK(strcmp(alloc_path_name((enum alloc_path)i), "?") != 0);
	machine_down();
}

/* Runs @fn in a child process and returns what it wrote on stderr, with
 * the signal that ended it (0 when it exited). */
static int in_child(void (*fn)(void), char *err, size_t len)
{
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	CHECK_EQ(pipe(fds), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], 2);
		close(fds[0]);
		fn();
		_exit(0);
	}
	close(fds[1]);
	n = read(fds[0], err, len - 1);
	err[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

static void free_twice(void)
{
	struct page *p;

	machine_up(NULL, 16);
	p = alloc_page(PAGE_TYPE_ANON);
	put_page(p);
	/* A reference taken on a free frame (no get-unless-zero), dropped
	 * again: the frame would be freed a second time. */
	get_page(p);
	put_page(p);
}

/* Freeing a frame that is already free is a BUG(), never a corrupted
 * free list. */
TEST(page_double_free_is_a_bug)
{
	char err[512];

	CHECK_EQ(in_child(free_twice, err, sizeof(err)), SIGABRT);
	CHECK_MSG(strstr(err, "BUG: freeing a frame that is not allocated"), "%s", err);
}

TEST(page_bytes_access)
{
	struct page *p;
	char buf[64], out[64];

	machine_up(NULL, 16);
	p = alloc_page(PAGE_TYPE_ANON);
	for (int i = 0; i < 64; i++)
		buf[i] = (char)(i * 7);
	CHECK_EQ(page_write(p, 4090 - 60, buf, 64), 0);
	CHECK_EQ(page_read(p, 4090 - 60, out, 64), 0);
	CHECK(memcmp(buf, out, 64) == 0);
	CHECK_EQ(page_write(p, 4000, buf, 100), -EINVAL);
	CHECK_EQ(page_read(p, 5000, out, 1), -EINVAL);
	put_page(p);
	machine_down();
}
