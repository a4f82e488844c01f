// SPDX-License-Identifier: MIT
/*
 * What each sync policy costs a collapse (the 2026 question, see
 * include/ptlab/synccost.h): on a machine of BENCH_POLICY_CPUS simulated
 * CPUs of which k run the collapsed mm, the CPUs the flush and the sync
 * interrupt and wait for, and the sync's time here; and what the walkers
 * policy's per-CPU marker adds to one GUP-fast pin and unpin.
 *
 * The counts are the kernel's; the times are this machine's (2 cores for
 * 64 simulated CPUs: read them as relative). Each configuration builds a
 * machine of its own, so this runs after the other families tore theirs
 * down.
 */
#include <errno.h>
#include <string.h>

#include "bench.h"
#include "ptlab/synccost.h"

/* One profile with an IPI flush and one with a broadcast flush: the two
 * ways a policy's counts differ. */
static const char *const policy_profiles[] = { "x86", "arm64" };
const unsigned int bench_policy_ks[BENCH_POLICY_KS] = { 1, 4, 16, 63 };

static int run_costs(void)
{
	for (size_t p = 0; p < sizeof(policy_profiles) / sizeof(policy_profiles[0]); p++) {
		const struct ptlab_profile *prof = ptlab_profile_find(policy_profiles[p]);

		if (!prof) {
			fprintf(stderr, "ptlab: bench: no profile %s\n", policy_profiles[p]);
			return -ENOENT;
		}
		for (int pol = 0; pol < SYNC_POLICIES; pol++) {
			bench_progress("sync policy %s on %s", sync_policy_name((enum sync_policy)pol),
				       prof->name);
			for (unsigned int k = 0; k < BENCH_POLICY_KS; k++) {
				struct sync_cost_config c = {
					.profile = prof, .policy = (enum sync_policy)pol,
					.cpus = BENCH_POLICY_CPUS, .mm_cpus = bench_policy_ks[k],
					.collapses = 5,
				};
				struct bench_policy_cost *out;
				struct sync_cost r;
				int ret = ptlab_sync_cost(&c, &r);

				if (ret) {
					fprintf(stderr, "ptlab: bench: sync policy %s on %s, k=%u: %s\n",
						sync_policy_name(c.policy), prof->name, c.mm_cpus,
						strerror(-ret));
					return ret;
				}
				if (bench.npolicy >= BENCH_MAX_POLICY_COSTS)
					return -ENOSPC;
				out = &bench.policy[bench.npolicy++];
				*out = (struct bench_policy_cost){
					.policy = c.policy, .profile = prof->name,
					.cpus = c.cpus, .mm_cpus = c.mm_cpus,
					.flush_ipis = r.flush_ipis, .sync_ipis = r.sync_ipis,
					.waited = r.waited, .ns_per_op = r.sync_ns,
				};
			}
		}
	}
	return 0;
}

int bench_sync_policies(void)
{
	struct gup_marker_cost m;
	uint64_t ops = (uint64_t)(1000000 * bench.scale);
	int ret = run_costs();

	if (ret)
		return ret;
	bench_progress("the walkers policy's marker on GUP-fast");
	ret = ptlab_gup_marker_cost(bench.rounds, ops ? ops : 1, &m);
	if (ret) {
		fprintf(stderr, "ptlab: bench: the marker's cost: %s\n", strerror(-ret));
		return ret;
	}
	bench_record("gup_fast_pin_unpin_no_marker", "single", 1, 1, false, m.ns_plain);
	bench_record("gup_fast_pin_unpin_walkers_marker", "single", 1, 1, false, m.ns_marked);
	return 0;
}
