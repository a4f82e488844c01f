// SPDX-License-Identifier: MIT
/* ptlab profiles: the architecture profiles and their properties. */
#include <stdio.h>

#include "commands.h"
#include "ptlab/profile.h"
#include "util/cli.h"
#include "util/json.h"

static void profiles_json(FILE *f)
{
	struct json j;

	json_init(&j, f);
	json_object_begin(&j, NULL);
	json_array_begin(&j, "profiles");
	for (size_t i = 0; i < ptlab_profiles_count(); i++) {
		const struct ptlab_profile *p = &ptlab_profiles()[i];

		json_object_begin(&j, NULL);
		json_string(&j, "name", p->name);
		json_bool(&j, "rcu_table_free", p->rcu_table_free);
		json_string(&j, "tlb_flush", tlb_flush_style_name(p->flush));
		json_bool(&j, "flush_waits", profile_flush_waits(p));
		json_string(&j, "deposit", deposit_style_name(p->deposit));
		json_bool(&j, "collapse_flush_waits", p->collapse_flush_waits);
		json_string(&j, "pmd_read", pmd_read_name(p->pmd_read));
		json_string(&j, "summary", p->summary);
		json_string(&j, "kernel_facts", p->kernel_facts);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_array_begin(&j, "notes");
	for (const char *const *n = ptlab_profile_notes; *n; n++)
		json_string(&j, NULL, *n);
	json_array_end(&j);
	json_object_end(&j);
	json_finish(&j);
}

static void profiles_table(FILE *f)
{
	fprintf(f, "%-16s %-9s %-10s %-11s %-9s %-14s %-9s %s\n", "profile", "rcu-free",
		"tlb-flush", "flush-waits", "deposit", "collapse-waits", "pmd-read",
		"stands for");
	for (size_t i = 0; i < ptlab_profiles_count(); i++) {
		const struct ptlab_profile *p = &ptlab_profiles()[i];

		fprintf(f, "%-16s %-9s %-10s %-11s %-9s %-14s %-9s %s\n", p->name,
			p->rcu_table_free ? "yes" : "no",
			tlb_flush_style_name(p->flush),
			profile_flush_waits(p) ? "yes" : "no",
			deposit_style_name(p->deposit),
			p->collapse_flush_waits ? "yes" : "no",
			pmd_read_name(p->pmd_read), p->summary);
	}
	fprintf(f, "\nkernel facts (sources):\n");
	for (size_t i = 0; i < ptlab_profiles_count(); i++)
		fprintf(f, "  %s: %s\n", ptlab_profiles()[i].name,
			ptlab_profiles()[i].kernel_facts);
	fprintf(f, "\nnotes:\n");
	for (const char *const *n = ptlab_profile_notes; *n; n++)
		fprintf(f, "  %s\n", *n);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: ptlab profiles [--json]\n"
		   "Lists the architecture profiles: whether each selects\n"
		   "MMU_GATHER_RCU_TABLE_FREE, how its TLB flushes reach other\n"
		   "CPUs, whether a flush waits out interrupts-off sections,\n"
		   "where deposited page tables are kept, whether the collapse\n"
		   "flush itself waits for lockless walkers, and how GUP-fast\n"
		   "reads a PMD; then the kernel facts behind each row, and notes.\n"
		   "  --json    write them as JSON instead of a table\n");
}

enum { OPT_JSON = CLI_OPT_FIRST };

static const struct option options[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	CLI_OPTIONS_END
};

static const struct cli_command cmd = { "profiles", options, usage, false };

int cmd_profiles(int argc, char **argv)
{
	bool json = false;
	int c, status;

	while ((c = cli_getopt(&cmd, argc, argv, &status)) != -1) {
		if (c == CLI_STOP)
			return status;
		if (c == OPT_JSON)
			json = true;
	}
	if (json)
		profiles_json(stdout);
	else
		profiles_table(stdout);
	return 0;
}
