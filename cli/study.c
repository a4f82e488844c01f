// SPDX-License-Identifier: MIT
/*
 * ptlab study: measurements of a protocol step's cost, counted where the
 * protocol sends them.
 *
 *   ptlab study unshare   the IPIs a munmap() of k GiB of shared hugetlb
 *                         memory sends, for each unshare generation
 *   ptlab study sync      every sync policy on every profile: safety by
 *                         both oracles, and cost (cli/study_sync.c)
 *   ptlab study barriers  which barrier each verdict rests on, under tso
 *                         and weak memory (cli/study_barriers.c)
 *
 * The counts come from the race points at the start of each wait
 * (RP_TLB_FLUSH_BEGIN, RP_TABLE_SYNC_BEGIN: the CPUs interrupted), read
 * by a hook on the unmapping thread alone: nothing is added to the
 * protocol. They are the kernel's counts; times are not reported: ptlab's
 * tlb_remove_table_sync_one() waits out the other CPUs' sections with one
 * membarrier() instead of interrupting each (smp_wait_irqs_off_sections()),
 * so its wall time says nothing about a real broadcast.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "profile_set.h"
#include "ptlab/hugetlb.h"
#include "ptlab/machine.h"
#include "ptlab/mm.h"
#include "ptlab/race.h"
#include "ptlab/smp.h"
#include "util/cli.h"
#include "util/json.h"

#define GIB (1ULL << 30)
/* Where the two processes map the file. */
#define A_BASE (1ULL << 40)
#define B_BASE (2ULL << 40)
#define MAX_SIZES 8
#define MAX_GIB 512

/* ---- counting, on the unmapping thread ---- */

struct ipi_counts {
	uint64_t syncs, sync_ipis;     /* tlb_remove_table_sync_one() calls, CPUs */
	uint64_t flushes, flush_ipis;  /* TLB flushes that interrupt CPUs, CPUs */
};

static _Thread_local struct ipi_counts *counting;

static void count_hook(enum race_point rp, const struct race_ctx *ctx)
{
	struct ipi_counts *c = counting;

	if (!c)
		return;
	if (rp == RP_TABLE_SYNC_BEGIN) {
		c->syncs++;
		c->sync_ipis += (uint64_t)__builtin_popcountll(ctx->mask);
	} else if (rp == RP_TLB_FLUSH_BEGIN && ctx->mask) {
		c->flushes++;
		c->flush_ipis += (uint64_t)__builtin_popcountll(ctx->mask);
	}
}

/* ---- idle CPUs: they take the IPIs ---- */

struct idle_cpu {
	pthread_t thread;
	struct mm_struct *mm;   /* the mm it runs, or NULL */
	atomic_bool ready, stop;
	int err;
};

static void *idle_main(void *arg)
{
	struct idle_cpu *c = arg;

	c->err = cpu_register() < 0 ? -ENOSPC : 0;
	if (!c->err && c->mm)
		c->err = use_mm(c->mm);
	atomic_store(&c->ready, true);
	while (!c->err && !atomic_load(&c->stop)) {
		struct timespec ts = { 0, 1000000 };

		nanosleep(&ts, NULL);
	}
	if (c->mm && !c->err)
		unuse_mm();
	if (c->err != -ENOSPC)
		cpu_unregister();
	return NULL;
}

/* ---- one measurement ---- */

struct unshare_args {
	const struct ptlab_profile *profile;
	unsigned int cpus, mm_cpus;
	uint64_t gib[MAX_SIZES];
	unsigned int nsizes;
	const char *json;
};

struct unshare_row {
	enum unshare_sync gen;
	uint64_t gib;
	struct ipi_counts ipis;   /* of the munmap */
	int err;
};

/* Maps @gib GiB of @f at @base in @mm and faults one huge page per GiB:
 * in the second process, each fault shares the first one's PMD table. */
static int map_and_touch(struct mm_struct *mm, struct hugetlb_file *f, uint64_t base,
			 uint64_t gib)
{
	int64_t r = mm_mmap_hugetlb(mm, base, gib * GIB, VM_READ | VM_WRITE, f, 0);
	uint64_t v = 1;

	if (r < 0)
		return (int)r;
	for (uint64_t g = 0; g < gib; g++)
		if ((r = user_write(base + g * GIB, &v, sizeof(v))))
			return (int)r;
	return 0;
}

static int switch_mm(struct mm_struct *mm)
{
	unuse_mm();
	return use_mm(mm);
}

/* Runs A's munmap of @row->gib GiB shared with B, counting. */
static void measure(const struct unshare_args *a, struct unshare_row *row)
{
	struct ptlab_config cfg = { .profile = *a->profile, .fixes = { true, true } };
	struct idle_cpu *idle = calloc(a->cpus, sizeof(*idle));
	struct mm_struct *ma = NULL, *mb = NULL;
	struct hugetlb_file *f = NULL;
	unsigned int started = 0;
	int err = 0;

	cfg.kernel = ptlab_kernel_default(a->profile);
	cfg.kernel.unshare_sync = row->gen;
	/* One 2 MiB page per GiB, the tables, room to spare. */
	cfg.pool_bytes = ((row->gib * 2 + 64) << 20);
	if (!idle) {
		row->err = -ENOMEM;
		goto out_free;
	}
	if ((err = ptlab_init(&cfg)))
		goto out_free;
	if (cpu_register() < 0) {
		err = -ENOSPC;
		goto out_exit;
	}
	ma = mm_create();
	mb = mm_create();
	f = hugetlb_file_create(row->gib * GIB);
	if (!ma || !mb || !f) {
		err = -ENOMEM;
		goto out_mm;
	}
	/* The other CPUs: mm_cpus - 1 of them run A, the rest nothing. */
	for (; started + 1 < a->cpus; started++) {
		idle[started].mm = started + 1 < a->mm_cpus ? ma : NULL;
		if (pthread_create(&idle[started].thread, NULL, idle_main, &idle[started])) {
			err = -EAGAIN;
			break;
		}
		while (!atomic_load(&idle[started].ready))
			sched_yield();
		if ((err = idle[started].err)) {
			started++;
			break;
		}
	}
	if (!err && !(err = use_mm(mb)))
		err = map_and_touch(mb, f, B_BASE, row->gib);
	if (!err && !(err = switch_mm(ma)) && !(err = map_and_touch(ma, f, A_BASE, row->gib))) {
		counting = &row->ipis;
		err = mm_munmap(ma, A_BASE, row->gib * GIB);
		counting = NULL;
	}
	unuse_mm();
	if (mb && switch_mm(mb) == 0) {
		mm_munmap(mb, B_BASE, row->gib * GIB);
		unuse_mm();
	}
out_mm:
	for (unsigned int i = 0; i < started; i++) {
		atomic_store(&idle[i].stop, true);
		pthread_join(idle[i].thread, NULL);
	}
	if (f && hugetlb_file_destroy(f) && !err)
		err = -EBUSY;
	if (ma)
		mm_destroy(ma);
	if (mb)
		mm_destroy(mb);
	cpu_unregister();
out_exit:
	if (ptlab_exit(NULL) && !err)
		err = -ENOTEMPTY;
out_free:
	row->err = row->err ? row->err : err;
	free(idle);
}

/* ---- the command ---- */

enum {
	OPT_PROFILES = 'p', OPT_PROFILE_FILE = CLI_OPT_FIRST, OPT_CPUS, OPT_MM_CPUS, OPT_GIB, OPT_JSON,
};

static const struct cli_opt options[] = {
	{ "profiles", OPT_PROFILES, "NAME",
	  "architecture profile: one, the study measures one (default x86)" },
	{ "profile", OPT_PROFILES, "NAME", NULL },
	{ "profile-file", OPT_PROFILE_FILE, "FILE",
	  "a profile of your own instead: one entry of `ptlab profiles --json` in a file, "
	  "renamed" },
	{ "cpus", OPT_CPUS, "N",
	  "simulated CPUs, 2.." CLI_XSTR(PTLAB_MAX_CPUS) " (default " CLI_XSTR(PTLAB_MAX_CPUS) ")" },
	{ "mm-cpus", OPT_MM_CPUS, "N",
	  "CPUs that run A, 1..--cpus (default 4): its flush interrupts these; a sync "
	  "interrupts every CPU" },
	{ "gib", OPT_GIB, "LIST",
	  "sizes in GiB, comma-separated, 1.." CLI_XSTR(MAX_GIB) " (default 1,16,256)" },
	{ "json", OPT_JSON, "FILE", "also write the rows as JSON" },
	CLI_OPTS_END
};

static const struct cli_command unshare_cmd = {
	.name = "study unshare",
	.synopsis = "[options]",
	.about = "Counts the IPIs one munmap() of k GiB of shared hugetlb memory sends,\n"
		 "for each unshare generation: none (before 2025), per-unshare (2025:\n"
		 "tlb_remove_table_sync_one() after each unshared PMD table, one per GiB)\n"
		 "and gather (6.19: one sync per mmu_gather batch, after the flush, only\n"
		 "when a table became exclusive). Process A maps the file at the same\n"
		 "offsets as process B, so that every GiB shares B's PMD table, and then\n"
		 "unmaps it. The counts are the kernel's: a sync interrupts every other\n"
		 "CPU, a flush the other CPUs that run A.\n",
	.opts = options,
};

static bool parse_sizes(const char *list, struct unshare_args *a)
{
	char allowed[64];

	snprintf(allowed, sizeof(allowed), "up to %d sizes of 1..%d GiB, comma-separated",
		 MAX_SIZES, MAX_GIB);
	a->nsizes = 0;
	for (const char *p = list;; p++) {
		size_t n = strcspn(p, ",");
		char one[32];

		if (n >= sizeof(one) || a->nsizes == MAX_SIZES) {
			cli_error("bad --gib", list, allowed);
			return false;
		}
		memcpy(one, p, n);
		one[n] = '\0';
		if (!cli_parse_u64(one, 1, MAX_GIB, &a->gib[a->nsizes++])) {
			cli_error("bad --gib", list, allowed);
			return false;
		}
		p += n;
		if (!*p)
			return true;
	}
}

static void print_row(const struct unshare_row *r)
{
	uint64_t ipis = r->ipis.sync_ipis + r->ipis.flush_ipis;

	if (r->err) {
		printf("%-12s %5llu  error: %s\n", unshare_sync_name(r->gen),
		       (unsigned long long)r->gib, strerror(-r->err));
		return;
	}
	printf("%-12s %5llu %6llu %10llu %8llu %11llu %10llu %9.1f\n",
	       unshare_sync_name(r->gen), (unsigned long long)r->gib,
	       (unsigned long long)r->ipis.syncs, (unsigned long long)r->ipis.sync_ipis,
	       (unsigned long long)r->ipis.flushes, (unsigned long long)r->ipis.flush_ipis,
	       (unsigned long long)ipis, (double)ipis / (double)r->gib);
}

static int write_json(const char *path, const struct unshare_args *a,
		      const struct unshare_row *rows, size_t n)
{
	struct json j;
	FILE *f = json_file_open(&j, path);

	if (!f)
		return 1;
	json_object_begin(&j, NULL);
	json_string(&j, "study", "unshare");
	json_string(&j, "profile", a->profile->name);
	json_u64(&j, "cpus", a->cpus);
	json_u64(&j, "mm_cpus", a->mm_cpus);
	json_array_begin(&j, "rows");
	for (size_t i = 0; i < n; i++) {
		const struct unshare_row *r = &rows[i];

		json_object_begin(&j, NULL);
		json_string(&j, "generation", unshare_sync_name(r->gen));
		json_u64(&j, "gib", r->gib);
		if (r->err) {
			json_string(&j, "error", strerror(-r->err));
		} else {
			json_u64(&j, "syncs", r->ipis.syncs);
			json_u64(&j, "sync_ipis", r->ipis.sync_ipis);
			json_u64(&j, "flushes", r->ipis.flushes);
			json_u64(&j, "flush_ipis", r->ipis.flush_ipis);
			json_u64(&j, "ipis", r->ipis.sync_ipis + r->ipis.flush_ipis);
		}
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);
	return json_file_close(&j, f, path);
}

static int study_unshare(int argc, char **argv, struct profile_set *ps)
{
	struct unshare_args a = { .profile = ptlab_profile_find("x86"), .cpus = PTLAB_MAX_CPUS,
				  .mm_cpus = 4, .gib = { 1, 16, 256 }, .nsizes = 3 };
	struct unshare_row rows[MAX_SIZES * 3];
	char allowed[256];
	size_t n = 0;
	uint64_t u;
	int c, ret = 0;

	while ((c = cli_getopt(&unshare_cmd, argc, argv, &ret)) != -1) {
		const char *v = optarg;

		switch (c) {
		case CLI_STOP:
			return ret;
		case OPT_PROFILES:
		case OPT_PROFILE_FILE:
			if (!profile_set_one(ps, c == OPT_PROFILE_FILE, v))
				return CLI_EXIT_USAGE;
			a.profile = ps->list[0];
			break;
		case OPT_CPUS:
			snprintf(allowed, sizeof(allowed), "2..%d", PTLAB_MAX_CPUS);
			if (!cli_parse_u64(v, 2, PTLAB_MAX_CPUS, &u))
				return cli_error("bad --cpus", v, allowed);
			a.cpus = (unsigned int)u;
			break;
		case OPT_MM_CPUS:
			if (!cli_parse_u64(v, 1, PTLAB_MAX_CPUS, &u))
				return cli_error("bad --mm-cpus", v, "1..--cpus");
			a.mm_cpus = (unsigned int)u;
			break;
		case OPT_GIB:
			if (!parse_sizes(v, &a))
				return CLI_EXIT_USAGE;
			break;
		case OPT_JSON:
			a.json = v;
			break;
		}
	}
	if (a.mm_cpus > a.cpus) {
		snprintf(allowed, sizeof(allowed), "1..%u (--cpus)", a.cpus);
		snprintf(allowed + 64, sizeof(allowed) - 64, "%u", a.mm_cpus);
		return cli_error("bad --mm-cpus", allowed + 64, allowed);
	}
	if (a.json && (ret = cli_check_output("--json file", a.json)))
		return ret;
	printf("ptlab study unshare: profile %s, %u CPUs, A runs on %u\n", a.profile->name,
	       a.cpus, a.mm_cpus);
	printf("%-12s %5s %6s %10s %8s %11s %10s %9s\n", "generation", "GiB", "syncs",
	       "sync-IPIs", "flushes", "flush-IPIs", "IPIs", "IPIs/GiB");
	for (int g = UNSHARE_SYNC_NONE; g < UNSHARE_SYNC_COUNT; g++)
		for (unsigned int s = 0; s < a.nsizes; s++) {
			struct unshare_row *r = &rows[n++];

			*r = (struct unshare_row){ .gen = (enum unshare_sync)g, .gib = a.gib[s] };
			if (isatty(2))
				fprintf(stderr, "\r\033[K%s, %llu GiB...", unshare_sync_name(r->gen),
					(unsigned long long)r->gib);
			race_hook_set(count_hook);
			measure(&a, r);
			race_hook_set(NULL);
			if (isatty(2))
				fputs("\r\033[K", stderr);
			print_row(r);
			fflush(stdout);
			ret |= r->err != 0;
		}
	if (a.json && write_json(a.json, &a, rows, n))
		ret = 1;
	return ret;
}

static int study_unshare_cmd(int argc, char **argv)
{
	struct profile_set ps = { 0 };
	int ret = study_unshare(argc, argv, &ps);

	profile_set_release(&ps);
	return ret;
}

static const struct cli_sub studies[] = {
	{ "unshare", study_unshare_cmd,
	  "IPIs per munmap() of shared hugetlb memory, by unshare generation" },
	{ "sync", study_sync,
	  "which CPUs must tlb_remove_table_sync_one() interrupt: every policy, safety "
	  "and cost" },
	{ "barriers", study_barriers,
	  "which barrier each verdict rests on, under tso and weak memory (the Spin "
	  "model)" },
	{ NULL, NULL, NULL }
};

static const struct cli_opt study_options[] = { CLI_OPTS_END };

static const struct cli_command study_cmd = {
	.name = "study",
	.synopsis = "<study> [options]",
	.about = "Measurements of what a protocol step costs ('ptlab help study <study>'\n"
		 "describes one).\n",
	.opts = study_options,
	.subs = studies,
};

int cmd_study(int argc, char **argv)
{
	return cli_dispatch(&study_cmd, "unknown study", argc, argv);
}
