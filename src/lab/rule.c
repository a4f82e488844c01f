// SPDX-License-Identifier: MIT
/*
 * The rule of docs/rule.md, "When is a cell unsafe": which violations each
 * cell can show, from the profile's properties and the fixes only.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ptlab/rule.h"
#include "util/names.h"

static const char *const scenario_names_tab[SCENARIO_COUNT] = {
	[SCENARIO_COLLAPSE_ZAP] = "collapse-zap",
	[SCENARIO_COLLAPSE_PIN] = "collapse-pin",
	[SCENARIO_MUNMAP] = "munmap",
	[SCENARIO_PT_RECLAIM] = "pt-reclaim",
	[SCENARIO_HUGETLB_UNSHARE] = "hugetlb-unshare",
	[SCENARIO_MUNMAP_PMD] = "munmap-pmd",
	[SCENARIO_RETRACT] = "retract",
	[SCENARIO_MREMAP] = "mremap",
};

const char *scenario_name(enum scenario s)
{
	return (unsigned int)s < SCENARIO_COUNT ? scenario_names_tab[s] : "?";
}

int scenario_parse(const char *name, enum scenario *out)
{
	int i = names_find(name, scenario_names_tab, 0, SCENARIO_COUNT);

	if (i < 0)
		return -EINVAL;
	*out = (enum scenario)i;
	return 0;
}

static const char *scenario_name_at(size_t i)
{
	return scenario_names_tab[i];
}

void scenario_names(char *buf, size_t len)
{
	names_join(buf, len, scenario_name_at, SCENARIO_COUNT);
}

const char *violation_kind_name(enum violation_kind k)
{
	switch (k) {
	case VIOLATION_STALE_TABLE:
		return "stale_table";
	case VIOLATION_STALE_PIN:
		return "stale_pin";
	case VIOLATION_WRONG_PAGE:
		return "wrong_page";
	case VIOLATION_STALE_LOCK:
		return "stale_lock";
	case VIOLATION_KINDS:
		break;
	}
	return "?";
}

const char *walker_kind_name(enum walker_kind k)
{
	return k == WALKER_GUP ? "gup" : k == WALKER_RCU ? "rcu" : "?";
}

int walker_kinds_parse(const char *list, unsigned int *mask)
{
	unsigned int m = 0;

	for (const char *p = list; p && *p;) {
		size_t n = strcspn(p, ",");
		int k;

		for (k = 0; k < WALKER_KINDS; k++)
			if (n == strlen(walker_kind_name((enum walker_kind)k)) &&
			    !strncmp(p, walker_kind_name((enum walker_kind)k), n))
				break;
		if (k == WALKER_KINDS)
			return -EINVAL;
		m |= WALKER_MASK(k);
		p += n;
		if (*p == ',' && !*++p)
			return -EINVAL;
	}
	if (!m)
		return -EINVAL;
	*mask = m;
	return 0;
}

void walker_kinds_format(unsigned int mask, char *buf, size_t len)
{
	size_t used = 0;

	if (len)
		buf[0] = '\0';
	for (int k = 0; k < WALKER_KINDS && used < len; k++)
		if (mask & WALKER_MASK(k))
			used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "," : "",
						 walker_kind_name((enum walker_kind)k));
}

unsigned int scenario_allowed_walkers(enum scenario s, struct ptlab_kernel k)
{
	bool rcu = s == SCENARIO_PT_RECLAIM || (s == SCENARIO_RETRACT && k.retract == RETRACT_DEFER);

	return WALKER_MASK(WALKER_GUP) | (rcu ? WALKER_MASK(WALKER_RCU) : 0);
}

unsigned int scenario_default_walkers(enum scenario s, struct ptlab_kernel k)
{
	return scenario_allowed_walkers(s, k);
}

unsigned int ptlab_cell_walkers(const struct ptlab_cell *c)
{
	return c->walkers ? c->walkers : scenario_default_walkers(c->scenario, c->kernel);
}

struct ptlab_cell ptlab_cell_default(const struct ptlab_profile *p, struct ptlab_fixes fixes,
				     enum scenario s)
{
	struct ptlab_kernel k = ptlab_kernel_default(p);

	return (struct ptlab_cell){ .profile = p, .fixes = fixes, .kernel = k, .scenario = s,
				    .walkers = scenario_default_walkers(s, k) };
}

/*
 * Whether the sync of policy @s at @caller waits for the walkers at
 * stake: issued for their own mm (@own: collapse, a 2025 unshare sync,
 * munmap's fallback) or for another process's (6.19's unshare sync).
 * Empty without MMU_GATHER_RCU_TABLE_FREE (@sync_ipi); skipped where a
 * skip policy trusts the flush (every caller: step 1 is inside the
 * function); at a caller step 2 converts, walkers and mm-cpumask reach
 * only the mm synced, mm-cpumask only where the architecture maintains
 * the mask; at the others they interrupt every CPU, as today.
 */
static bool sync_reaches(const struct ptlab_profile *p, bool sync_ipi, enum sync_policy s,
			 bool own, enum sync_caller caller)
{
	if (!sync_ipi || s == SYNC_NONE || sync_policy_skips(s, p))
		return false;
	if (!sync_policy_converts(s, caller))
		return true;
	if (s == SYNC_WALKERS)
		return own;
	return own && p->mm_cpumask;
}

/* Whether the batch-allocation fallback, for a table on its way to the
 * RCU batch, waits for the walkers: PT_RECLAIM's call_rcu() (which the
 * pt-reclaim scenario always runs with), or the sync of
 * __tlb_remove_table_one() before it frees at once. */
static bool fallback_waits(const struct ptlab_cell *c, const struct ptlab_expectation *e)
{
	return c->scenario == SCENARIO_PT_RECLAIM || ptlab_kernel_pt_reclaim(c->kernel) ||
	       sync_reaches(c->profile, e->sync_ipi, ptlab_sync_policy(c->fixes), true,
			    SYNC_CALLER_TABLE_ONE);
}

/* Whether free_pgtables() may free a PTE table it unlinked while a
 * GUP-fast walker that read the PMD is still inside its section: freed
 * after a flush that does not wait, or, on its way to the RCU batch,
 * by a fallback that does not wait either. */
static bool pte_table_outlived(const struct ptlab_cell *c, const struct ptlab_expectation *e)
{
	return !e->flush_waits && (!e->rcu_free || !fallback_waits(c, e));
}

/*
 * The same for the PMD table of a whole PUD range (munmap-pmd), by the
 * way the architecture frees it: at once, before the flush, whatever the
 * flush; after a flush that does not wait; or through the RCU batch,
 * whose only gap is a fallback that does not wait.
 */
static bool pmd_table_outlived(const struct ptlab_cell *c, const struct ptlab_expectation *e)
{
	switch (e->upper) {
	case UPPER_TABLE_AT_ONCE:
		return true;
	case UPPER_TABLE_AFTER_FLUSH:
		return !e->flush_waits;
	case UPPER_TABLE_RCU:
		return !e->flush_waits && !fallback_waits(c, e);
	}
	return true;
}

/* What can a GUP-fast walker show? (interrupts off: held off by an IPI
 * that waits, and, being an RCU reader, by a grace period) */
static void expect_gup(const struct ptlab_cell *c, const struct ptlab_expectation *e,
		       bool out[VIOLATION_KINDS])
{
	const struct ptlab_profile *p = c->profile;
	bool in_table = p->deposit == DEPOSIT_IN_TABLE;
	enum collapse_table ct = c->kernel.collapse_table;
	enum unshare_sync unshare;
	bool unshare_held_off, pmd_stale;

	switch (c->scenario) {
	case SCENARIO_COLLAPSE_ZAP:
	case SCENARIO_COLLAPSE_PIN:
		/*
		 * The old table T may change under a walker that read the
		 * old PMD only if nobody waited for it after the clear:
		 * - reuse: a zap (collapse-zap) withdraws T and frees it at
		 *   once, and an in-table deposit writes links into it;
		 * - zap-rcu: the zap frees T after a grace period, which
		 *   waits for the walker; the in-table deposit remains;
		 * - fresh: T is never written again and is freed after a
		 *   grace period.
		 */
		if (!e->held_off && ct != COLLAPSE_TABLE_FRESH)
			out[VIOLATION_STALE_TABLE] =
				in_table || (c->scenario == SCENARIO_COLLAPSE_ZAP &&
					     ct == COLLAPSE_TABLE_REUSE);
		/* Collapse's isolation saw no extra reference, the walker
		 * then took one: only the PMD re-check (or being held off)
		 * stops it. */
		out[VIOLATION_STALE_PIN] = !e->held_off && !c->fixes.pmd_recheck;
		/*
		 * A returned page never mapped at the address: the walker
		 * read its entry from T after T became something else, and
		 * its PMD re-check, which sees the PMD changed, is off. In
		 * collapse-zap T becomes something else while the walker may
		 * still be in it unless the generation is fresh: freed and
		 * handed out again by the zap (reuse), or withdrawn by a
		 * split of the other THP under the same PMD table and filled
		 * with that THP's entries (reuse and zap-rcu: the deposit
		 * list gives the head to whoever withdraws).
		 */
		out[VIOLATION_WRONG_PAGE] = c->scenario == SCENARIO_COLLAPSE_ZAP && !e->held_off &&
					    !c->fixes.pmd_recheck && ct != COLLAPSE_TABLE_FRESH;
		break;
	case SCENARIO_MUNMAP:
	case SCENARIO_PT_RECLAIM:
		/* The table is freed after the flush, or after a grace
		 * period: either holds a GUP-fast walker off if it waits.
		 * munmap without PT_RECLAIM has a third way: when no table
		 * batch can be allocated, the sync and a free at once (with
		 * PT_RECLAIM, call_rcu() again; pt-reclaim runs with it). A
		 * page read from the freed table is returned only without the
		 * PMD re-check (the PMD was cleared). */
		out[VIOLATION_STALE_TABLE] = pte_table_outlived(c, e);
		out[VIOLATION_WRONG_PAGE] = out[VIOLATION_STALE_TABLE] && !c->fixes.pmd_recheck;
		break;
	case SCENARIO_MUNMAP_PMD:
		/*
		 * A walker read the PUD entry, then the PMD entry in the table
		 * it names, then the PTE: either table may be freed under it.
		 * A page taken through a freed PTE table is returned only
		 * without the PMD re-check, as in munmap. A freed PMD table
		 * defeats the re-check: gup_fast_pmd_range() takes the PMD
		 * slot from the PUD value it read (there is no PUD re-check),
		 * so the re-check re-reads the slot of the freed table itself.
		 * Once the frame is reused with contents that stay put (a data
		 * page, another range's PMD table: LIFO hands it to the next
		 * table allocated), the walker's PMD read and its re-check
		 * agree, and the PTE re-check reads through the same entry:
		 * the page is returned, whatever the fixes.
		 */
		pmd_stale = pmd_table_outlived(c, e);
		out[VIOLATION_STALE_TABLE] = pmd_stale || pte_table_outlived(c, e);
		out[VIOLATION_WRONG_PAGE] =
			pmd_stale || (pte_table_outlived(c, e) && !c->fixes.pmd_recheck);
		break;
	case SCENARIO_HUGETLB_UNSHARE:
		/*
		 * Unsharing does not free the PMD table: the last process
		 * keeps it and may map other pages in it at once. Three
		 * processes share it; the walkers' process unshares first
		 * (the table stays shared by two), another second (the
		 * table becomes the last one's own), then the last one
		 * changes it. Only a wait for the walkers before the table
		 * is handed on protects them: their process's own flush if
		 * it waits; the 2025 sync after each unshare, which their
		 * own process issues; or 6.19's single sync, issued by the
		 * second unsharer, whose policy must reach another
		 * process's walkers (walkers and mm-cpumask do not). A
		 * walker then reads the last process's entries: the PMD
		 * re-check reads the same foreign table and agrees.
		 */
		unshare = ptlab_unshare_sync(c->kernel, c->fixes);
		unshare_held_off =
			e->flush_waits ||
			(unshare == UNSHARE_SYNC_PER_UNSHARE &&
			 sync_reaches(p, e->sync_ipi, ptlab_sync_policy(c->fixes), true,
				      SYNC_CALLER_UNSHARE_EACH)) ||
			(unshare == UNSHARE_SYNC_GATHER &&
			 sync_reaches(p, e->sync_ipi, ptlab_sync_policy(c->fixes), false,
				      SYNC_CALLER_UNSHARE_GATHER));
		out[VIOLATION_STALE_TABLE] = !unshare_held_off;
		out[VIOLATION_WRONG_PAGE] = !unshare_held_off;
		break;
	case SCENARIO_RETRACT:
		/*
		 * free (6.1-6.5): after pmdp_collapse_flush() and (with the
		 * ipi-sync fix) tlb_remove_table_sync_one(), the table is
		 * pte_free()d at once: a walker that read the old PMD and was
		 * not held off reads a freed table, soon another's (the pool
		 * hands the frame out again). Its PTEs, left in place, and the
		 * entries of the frame's next life decode as pages: one mapped
		 * at another address (the table reused for another range) is
		 * returned only without the PMD re-check, which sees the PMD
		 * cleared or huge; a table reused at the same PMD maps the same
		 * file pages at the same offsets, the right ones. defer (6.6+):
		 * the PTEs are cleared first and pte_free_defer() frees the
		 * table after a grace period, which waits for every GUP-fast
		 * section: nothing. Never a stale pin: retraction copies no
		 * page away, the pages stay the file's, so a pin through the
		 * old table is a pin of the page the file still maps there.
		 */
		if (c->kernel.retract == RETRACT_FREE && !e->held_off) {
			out[VIOLATION_STALE_TABLE] = true;
			out[VIOLATION_WRONG_PAGE] = !c->fixes.pmd_recheck;
		}
		break;
	case SCENARIO_MREMAP:
		/*
		 * A table moved whole is never freed and keeps its identity:
		 * a walker that read the old entry reads the same table, whose
		 * entries map the same pages (only their address changed), and
		 * the PTE re-check reads through the same pointer. An entry
		 * moved away and back (A -> B -> A) passes the PMD re-check bit
		 * for bit; a moved PMD table needs no re-check at all. Neither
		 * is harm: nothing. Entry-by-entry moves (no move_pmd) clear
		 * each old PTE before the new one is set: the PTE re-check sees
		 * it. What frees a table here is munmap's free_pgtables(): of
		 * the destination while a moved table is there, or of the
		 * old range move_ptes() emptied. A walker can still be inside
		 * such a table (it read the entry before the move: the move's
		 * flush held it off only if the flush waits), so munmap's
		 * terms apply. A refault of the source then often hangs the
		 * same frame under the same entry value (LIFO): the PMD
		 * re-check passes, but the table was freed under the walker
		 * (stale), and the PTE it read first from the old table is
		 * not the new table's, so the PTE re-check drops the page:
		 * only a walker that reads the freed frame as something else
		 * and has no PMD re-check returns a wrong page.
		 */
		out[VIOLATION_STALE_TABLE] = pte_table_outlived(c, e);
		out[VIOLATION_WRONG_PAGE] = out[VIOLATION_STALE_TABLE] && !c->fixes.pmd_recheck;
		break;
	case SCENARIO_COUNT:
		break;
	}
}

/* What can an RCU walker show? (interrupts on: no IPI holds it off; only
 * a table freed after a grace period is safe under it) */
static void expect_rcu(const struct ptlab_cell *c, const struct ptlab_expectation *e,
		       bool out[VIOLATION_KINDS])
{
	/* PT_RECLAIM and 6.6+ retraction take a PTE table away under
	 * mmap_lock for read (or no mmap_lock), the lock such a walker
	 * holds: collapse, munmap's table freeing and 6.1-6.5 retraction
	 * exclude it (mmap_lock for write, or no VMA left to walk: munmap
	 * and munmap-pmd detach the VMAs under it first), and a
	 * hugetlb walker holds the hugetlb VMA lock unsharing needs. It
	 * reads no entry before it holds the table's lock and its PMD
	 * re-check passed (the writer clears the PMD under that lock), so
	 * the harm is the lock itself: of a table freed (and reused) after
	 * a flush that did not wait for it. Retraction's pte_free_defer()
	 * frees after a grace period on every profile: never. */
	if (c->scenario == SCENARIO_PT_RECLAIM && !e->rcu_free)
		out[VIOLATION_STALE_LOCK] = true;
}

/*
 * A walker is "held off" when, after collapse clears the PMD, somebody
 * waited until no CPU that could have read the old PMD is still inside its
 * interrupts-off section: either the collapse flush itself (an IPI flush
 * that waits for each target, or a pmdp_collapse_flush() that IPIs
 * mm_cpumask and waits where the architecture maintains the mask) or the
 * seed's tlb_remove_table_sync_one(), which only sends IPIs where the
 * architecture selects MMU_GATHER_RCU_TABLE_FREE (sync_ipi).
 */
struct ptlab_expectation ptlab_expect_cell(const struct ptlab_cell *c)
{
	struct ptlab_expectation e = { 0 };
	unsigned int walkers;

	if (!c || !c->profile)
		return e;
	e.rcu_free = c->profile->rcu_table_free || c->kernel.rcu_everywhere;
	e.sync_ipi = c->profile->sync_ipi || c->kernel.rcu_everywhere;
	e.upper = c->kernel.rcu_everywhere ? UPPER_TABLE_RCU : c->profile->upper_table_free;
	e.flush_waits = profile_flush_waits(c->profile);
	/* The sync of the scenario's writer: collapse's, or retraction's
	 * in collapse_and_free_pmd() (6.1-6.5), which no policy converts. */
	e.sync_works = sync_reaches(c->profile, e.sync_ipi, c->fixes.sync, true,
				    c->scenario == SCENARIO_RETRACT ? SYNC_CALLER_RETRACT_FREE
								    : SYNC_CALLER_COLLAPSE);
	e.held_off = profile_collapse_flush_waits(c->profile) || e.sync_works;
	walkers = ptlab_cell_walkers(c);
	if (walkers & WALKER_MASK(WALKER_GUP))
		expect_gup(c, &e, e.by_walker[WALKER_GUP]);
	if (walkers & WALKER_MASK(WALKER_RCU))
		expect_rcu(c, &e, e.by_walker[WALKER_RCU]);
	for (int w = 0; w < WALKER_KINDS; w++)
		for (int k = 0; k < VIOLATION_KINDS; k++)
			e.possible[k] |= e.by_walker[w][k];
	for (int k = 0; k < VIOLATION_KINDS; k++)
		e.unsafe |= e.possible[k];
	return e;
}

struct ptlab_expectation ptlab_expect(const struct ptlab_profile *p,
				      struct ptlab_fixes fixes,
				      enum scenario s)
{
	struct ptlab_cell c = ptlab_cell_default(p, fixes, s);

	return ptlab_expect_cell(&c);
}
