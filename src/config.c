// SPDX-License-Identifier: MIT
/*
 * The names and parsers of a machine's configuration (include/ptlab/
 * config.h), and the few facts the machine reads from it: which policy
 * skips or converts a sync, today's kernel generation.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ptlab/config.h"
#include "util/names.h"

static const char *const sync_policy_names_[SYNC_POLICIES] = {
	[SYNC_NONE] = "none",
	[SYNC_ALL] = "all",
	[SYNC_SKIP_IF_FLUSH_IPI] = "skip-if-flush-ipi",
	[SYNC_SKIP_NAIVE] = "skip-naive",
	[SYNC_WALKERS] = "walkers",
	[SYNC_MM_CPUMASK] = "mm-cpumask",
};

const char *sync_policy_name(enum sync_policy s)
{
	return (unsigned int)s < SYNC_POLICIES ? sync_policy_names_[s] : "?";
}

int sync_policy_parse(const char *name, enum sync_policy *out)
{
	int i = names_find(name, sync_policy_names_, 0, SYNC_POLICIES);

	if (i < 0)
		return -EINVAL;
	*out = (enum sync_policy)i;
	return 0;
}

static const char *sync_policy_name_at(size_t i)
{
	return sync_policy_names_[i];
}

void sync_policy_names(char *buf, size_t len)
{
	names_join(buf, len, sync_policy_name_at, SYNC_POLICIES);
}

bool sync_policy_skips(enum sync_policy s, const struct ptlab_profile *p)
{
	switch (s) {
	case SYNC_SKIP_IF_FLUSH_IPI:
		/* decided once at boot: native flush_tlb_multi(), no INVLPGB */
		return p->flush == TLB_FLUSH_IPI;
	case SYNC_SKIP_NAIVE:
		/* any flush_tlb_multi(), paravirt ones included */
		return p->flush != TLB_FLUSH_BROADCAST;
	default:
		return false;
	}
}

bool sync_policy_converts(enum sync_policy s, enum sync_caller caller)
{
	if (s != SYNC_WALKERS && s != SYNC_MM_CPUMASK)
		return false;
	switch (caller) {
	case SYNC_CALLER_COLLAPSE:
	case SYNC_CALLER_UNSHARE_GATHER:
	case SYNC_CALLER_TABLE_ONE:
		return true;
	case SYNC_CALLER_UNSHARE_EACH:
	case SYNC_CALLER_RETRACT_FREE:
		break;
	}
	return false;
}

static const struct {
	const char *name;
	struct ptlab_fixes fixes;
} fix_settings[PTLAB_FIX_SETTINGS] = {
	{ "none", { .pmd_recheck = false, .sync = SYNC_NONE } },
	{ "pmd-recheck", { .pmd_recheck = true, .sync = SYNC_NONE } },
	{ "ipi-sync", { .pmd_recheck = false, .sync = SYNC_ALL } },
	{ "both", { .pmd_recheck = true, .sync = SYNC_ALL } },
};

struct ptlab_fixes ptlab_fix_setting(unsigned int i)
{
	return fix_settings[i % PTLAB_FIX_SETTINGS].fixes;
}

const char *ptlab_fixes_name(struct ptlab_fixes f)
{
	return fix_settings[(f.pmd_recheck ? 1 : 0) + (f.sync != SYNC_NONE ? 2 : 0)].name;
}

enum sync_policy ptlab_sync_policy(struct ptlab_fixes f)
{
	return f.sync == SYNC_NONE ? SYNC_ALL : f.sync;
}

void ptlab_fixes_words(struct ptlab_fixes f, char *buf, size_t len)
{
	if (f.sync == SYNC_NONE || f.sync == SYNC_ALL)
		snprintf(buf, len, "%s", ptlab_fixes_name(f));
	else
		snprintf(buf, len, "%s/%s", ptlab_fixes_name(f), sync_policy_name(f.sync));
}

int ptlab_fixes_parse(const char *name, struct ptlab_fixes *out)
{
	for (unsigned int i = 0; name && i < PTLAB_FIX_SETTINGS; i++) {
		if (strcmp(name, fix_settings[i].name) == 0) {
			*out = fix_settings[i].fixes;
			return 0;
		}
	}
	return -EINVAL;
}

static const char *const collapse_table_names[COLLAPSE_TABLE_COUNT] = {
	[COLLAPSE_TABLE_REUSE] = "reuse",
	[COLLAPSE_TABLE_ZAP_RCU] = "zap-rcu",
	[COLLAPSE_TABLE_FRESH] = "fresh",
};

const char *collapse_table_name(enum collapse_table c)
{
	return (unsigned int)c < COLLAPSE_TABLE_COUNT ? collapse_table_names[c] : "?";
}

int collapse_table_parse(const char *name, enum collapse_table *out)
{
	int i = names_find(name, collapse_table_names, 0, COLLAPSE_TABLE_COUNT);

	if (i < 0)
		return -EINVAL;
	*out = (enum collapse_table)i;
	return 0;
}

static const char *const unshare_sync_names[UNSHARE_SYNC_COUNT] = {
	[UNSHARE_SYNC_BY_FIXES] = "by-fixes",
	[UNSHARE_SYNC_NONE] = "none",
	[UNSHARE_SYNC_PER_UNSHARE] = "per-unshare",
	[UNSHARE_SYNC_GATHER] = "gather",
};

const char *unshare_sync_name(enum unshare_sync u)
{
	return (unsigned int)u < UNSHARE_SYNC_COUNT ? unshare_sync_names[u] : "?";
}

int unshare_sync_parse(const char *name, enum unshare_sync *out)
{
	int i = names_find(name, unshare_sync_names, UNSHARE_SYNC_NONE, UNSHARE_SYNC_COUNT);

	if (i < 0)
		return -EINVAL;
	*out = (enum unshare_sync)i;
	return 0;
}

static const char *const retract_gen_names_tab[RETRACT_COUNT] = {
	[RETRACT_FREE] = "free",
	[RETRACT_DEFER] = "defer",
};

const char *retract_gen_name(enum retract_gen r)
{
	return (unsigned int)r < RETRACT_COUNT ? retract_gen_names_tab[r] : "?";
}

int retract_gen_parse(const char *name, enum retract_gen *out)
{
	int i = names_find(name, retract_gen_names_tab, 0, RETRACT_COUNT);

	if (i < 0)
		return -EINVAL;
	*out = (enum retract_gen)i;
	return 0;
}

static const char *retract_gen_name_at(size_t i)
{
	return retract_gen_names_tab[i];
}

void retract_gen_names(char *buf, size_t len)
{
	names_join(buf, len, retract_gen_name_at, RETRACT_COUNT);
}

struct ptlab_kernel ptlab_kernel_default(const struct ptlab_profile *p)
{
	return (struct ptlab_kernel){ .collapse_table = COLLAPSE_TABLE_REUSE,
				      .rcu_everywhere = false,
				      .pt_reclaim = p && p->rcu_table_free,
				      .unshare_sync = UNSHARE_SYNC_BY_FIXES,
				      .retract = RETRACT_FREE };
}

enum unshare_sync ptlab_unshare_sync(struct ptlab_kernel k, struct ptlab_fixes fixes)
{
	if (k.unshare_sync == UNSHARE_SYNC_BY_FIXES)
		return fixes.sync != SYNC_NONE ? UNSHARE_SYNC_GATHER : UNSHARE_SYNC_NONE;
	return k.unshare_sync;
}
