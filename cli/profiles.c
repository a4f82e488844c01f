// SPDX-License-Identifier: MIT
/* ptlab profiles: the architecture profiles and their properties. */
#include <stdio.h>

#include <jansson.h>

#include "commands.h"
#include "ptlab/profile.h"
#include "profile_set.h"
#include "ptlab/version.h"
#include "util/cli.h"

/* What has no profile and why (sparc64), as a JSON array. */
static json_t *notes_json(void)
{
	json_t *a = json_array();

	for (const char *const *n = ptlab_profile_notes; a && *n; n++)
		if (json_array_append_new(a, json_string(*n))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* Pretty-printed, so that a user can copy an entry into a file of its
 * own, rename it, change a property and give it to --profile-file. */
static int profiles_json(FILE *f, const struct profile_set *ps)
{
	json_t *doc = json_pack("{s:s, s:[]}", "ptlab_version", PTLAB_VERSION, "profiles");
	json_t *list = json_object_get(doc, "profiles");
	int ret = doc ? 0 : -1;

	for (size_t i = 0; !ret && i < ps->n; i++)
		ret = json_array_append_new(list, profile_to_json(ps->list[i]));
	if (!ret)
		ret = json_object_set_new(doc, "notes", notes_json());
	if (!ret)
		ret = json_dumpf(doc, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!ret && fputc('\n', f) == EOF)
		ret = -1;
	json_decref(doc);
	if (ret) {
		fprintf(stderr, "ptlab: cannot write the profiles as JSON\n");
		return 1;
	}
	return 0;
}

static void profiles_table(FILE *f, const struct profile_set *ps)
{
	fprintf(f, "%-16s %-9s %-9s %-12s %-10s %-11s %-9s %-14s %-9s %-13s %s\n", "profile",
		"rcu-free", "sync-ipi", "upper-free", "tlb-flush", "flush-waits", "deposit",
		"collapse-waits", "pmd-read", "moves-pmd/pud", "stands for");
	for (size_t i = 0; i < ps->n; i++) {
		const struct ptlab_profile *p = ps->list[i];

		fprintf(f, "%-16s %-9s %-9s %-12s %-10s %-11s %-9s %-14s %-9s %-13s %s\n", p->name,
			p->rcu_table_free ? "yes" : "no", p->sync_ipi ? "yes" : "no",
			upper_table_free_name(p->upper_table_free),
			tlb_flush_style_name(p->flush),
			profile_flush_waits(p) ? "yes" : "no",
			deposit_style_name(p->deposit),
			p->collapse_flush_waits ? "yes" : "no",
			pmd_read_name(p->pmd_read),
			p->move_pmd ? (p->move_pud ? "yes/yes" : "yes/no")
				    : (p->move_pud ? "no/yes" : "no/no"),
			p->summary);
	}
	fprintf(f, "\nkernel facts (sources):\n");
	for (size_t i = 0; i < ps->n; i++)
		fprintf(f, "  %s: %s\n", ps->list[i]->name, ps->list[i]->kernel_facts);
	fprintf(f, "\nnotes:\n");
	for (const char *const *n = ptlab_profile_notes; *n; n++)
		fprintf(f, "  %s\n", *n);
}

enum { OPT_JSON = CLI_OPT_FIRST, OPT_PROFILE_FILE };

static const struct cli_opt options[] = {
	{ "json", OPT_JSON, NULL,
	  "write them as JSON instead of a table, indented, to standard output: an entry of "
	  "its \"profiles\" array, copied into a file, renamed and changed, is a "
	  "--profile-file for race, matrix, model and study (keys: docs/profiles.md, "
	  "ptlab(1))" },
	{ "profile-file", OPT_PROFILE_FILE, "FILE",
	  "check a profile of your own and list it after the built-in ones (repeatable)" },
	CLI_OPTS_END
};

static const struct cli_command cmd = {
	.name = "profiles",
	.synopsis = "[--json] [--profile-file FILE]...",
	.about = "Lists the architecture profiles: whether each frees PTE tables\n"
		 "after an RCU grace period, whether its tlb_remove_table_sync_one()\n"
		 "sends IPIs (MMU_GATHER_RCU_TABLE_FREE selected), how it frees\n"
		 "PMD and PUD tables, how its TLB flushes reach other\n"
		 "CPUs, whether a flush waits out interrupts-off sections,\n"
		 "where deposited page tables are kept, whether the collapse\n"
		 "flush itself waits for lockless walkers, how GUP-fast reads a\n"
		 "PMD, and whether mremap moves whole PTE and PMD tables; then the\n"
		 "kernel facts behind each row, and notes.\n",
	.opts = options,
};

int cmd_profiles(int argc, char **argv)
{
	struct profile_set ps = { 0 };
	bool json = false;
	int c = 0, status = 0;

	profile_set_default(&ps);
	while (!status && (c = cli_getopt(&cmd, argc, argv, &status)) != -1) {
		if (c == CLI_STOP)
			break;
		if (c == OPT_JSON)
			json = true;
		if (c == OPT_PROFILE_FILE && !profile_set_add_file(&ps, optarg))
			status = CLI_EXIT_USAGE;
	}
	if (c != CLI_STOP && !status) {
		if (json)
			status = profiles_json(stdout, &ps);
		else
			profiles_table(stdout, &ps);
	}
	profile_set_release(&ps);
	return status;
}
