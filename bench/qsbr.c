// SPDX-License-Identifier: MIT
/*
 * liburcu-qsbr as a peer of the sync: its readers are threads of their own
 * (not CPUs of the machine, which are liburcu-memb readers), so that no
 * thread is a reader of both flavors, and only this file includes the
 * qsbr header (its rcu_* mappings would clash with memb's). A reader is
 * online while busy, with a quiescent state after each section, and
 * offline while it sleeps, as liburcu's README asks of a thread that
 * blocks.
 */
#include <urcu/urcu-qsbr.h>

#include "bench.h"

static void qsbr_enter(void)
{
	urcu_qsbr_register_thread();
}

static void qsbr_section(void)
{
	urcu_qsbr_read_lock();
	bench_read_side_body();
	urcu_qsbr_read_unlock();
	urcu_qsbr_quiescent_state();
}

static void qsbr_sleep_begin(void)
{
	urcu_qsbr_thread_offline();
}

static void qsbr_sleep_end(void)
{
	urcu_qsbr_thread_online();
}

static void qsbr_leave(void)
{
	urcu_qsbr_unregister_thread();
}

const struct contender_flavor bench_qsbr_flavor = {
	.name = "qsbr reader",
	.enter = qsbr_enter,
	.section = qsbr_section,
	.sleep_begin = qsbr_sleep_begin,
	.sleep_end = qsbr_sleep_end,
	.leave = qsbr_leave,
};

void bench_qsbr_synchronize(void)
{
	urcu_qsbr_synchronize_rcu();
}
