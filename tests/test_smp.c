// SPDX-License-Identifier: MIT
/* CPUs, interrupts, IPIs and RCU read-side sections. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <urcu/urcu-memb.h>

#include "machine_helpers.h"

/* A CPU thread body: sleeps until *arg becomes 0. */
static void *hold_while_set(void *arg)
{
	while (atomic_load((atomic_int *)arg))
		sleep_us(200);
	return NULL;
}

/* A CPU thread body: sleeps until *arg becomes nonzero. */
static void *wait_until_set(void *arg)
{
	while (!atomic_load((atomic_int *)arg))
		sleep_us(200);
	return NULL;
}

/* A plain thread body: stores cpu_register()'s result in *arg. */
static void *try_register(void *arg)
{
	*(int *)arg = cpu_register();
	return NULL;
}

TEST(smp_register_limits)
{
	struct cpu_thread t[PTLAB_MAX_CPUS];
	atomic_int hold = 1;
	pthread_t th;
	int r;

	machine_up(NULL, 16);
	CHECK_EQ(cpu_register(), -EEXIST);
	CHECK_EQ(num_online_cpus(), 1);
	CHECK(smp_processor_id() >= 0);
	/* 63 more fill the machine; the 65th is refused. */
	for (int i = 0; i < PTLAB_MAX_CPUS - 1; i++)
		cpu_thread_start(&t[i], hold_while_set, &hold);
	CHECK_EQ(num_online_cpus(), PTLAB_MAX_CPUS);
	pthread_create(&th, NULL, try_register, &r);
	pthread_join(th, NULL);
	CHECK_EQ(r, -ENOSPC);
	atomic_store(&hold, 0);
	for (int i = 0; i < PTLAB_MAX_CPUS - 1; i++)
		cpu_thread_join(&t[i]);
	CHECK_EQ(num_online_cpus(), 1);
	machine_down();
	CHECK_EQ(cpu_unregister(), -EPERM);
}

static atomic_int ran_on[PTLAB_MAX_CPUS];

static void record_cpu(void *arg)
{
	(void)arg;
	atomic_fetch_add(&ran_on[smp_processor_id()], 1);
}

/* A target that keeps interrupts off for a while: the IPI with wait must
 * return only after the target turned them on and ran the function. */
struct irqoff_arg {
	atomic_int phase;       /* 1: interrupts off, 2: turned on */
	unsigned int hold_us;
	double on_at;           /* when it turned interrupts on */
	atomic_int ran_while_off;
};

static struct irqoff_arg *g_irqoff;

/* The IPI function: notes if it runs while its target is still inside
 * its interrupts-off section. */
static void check_not_off(void *arg)
{
	(void)arg;
	if (atomic_load(&g_irqoff->phase) == 1)
		atomic_store(&g_irqoff->ran_while_off, 1);
	record_cpu(NULL);
}

static void *irqoff_target(void *p)
{
	struct irqoff_arg *a = p;
	unsigned long f = local_irq_save();

	atomic_store(&a->phase, 1);
	sleep_us(a->hold_us);   /* a system call with interrupts off */
	a->on_at = test_now();
	atomic_store(&a->phase, 2);
	local_irq_restore(f);
	return NULL;
}

/* Starts irqoff_target() on a CPU and waits until it is in its section. */
static void start_irqoff_target(struct irqoff_arg *a, struct cpu_thread *t)
{
	g_irqoff = a;
	cpu_thread_start(t, irqoff_target, a);
	while (atomic_load(&a->phase) != 1)
		sleep_us(100);
}

TEST(smp_ipi_waits_for_interrupts_off)
{
	struct irqoff_arg a = { .hold_us = 100000 };
	struct cpu_thread t;
	double done;

	machine_up(NULL, 16);
	start_irqoff_target(&a, &t);
	CHECK_EQ(smp_call_function_many((cpumask_t)1 << t.cpu, check_not_off, NULL, true), 0);
	done = test_now();
	CHECK_EQ(atomic_load(&a.ran_while_off), 0);
	CHECK_EQ(atomic_load(&ran_on[t.cpu]), 1);
	CHECK_EQ(atomic_load(&a.phase), 2);
	CHECK(done >= a.on_at);
	cpu_thread_join(&t);
	machine_down();
}

/* A wait that outlasts its spin sleeps, and the CPU it waits for wakes it
 * the moment it is done, for an interrupts-off section and for an IPI
 * alike: each is tried three times (a wake that falls between two of the
 * waiter's bounded sleeps finds it awake and is not counted). */
TEST(smp_waits_are_woken)
{
	struct smp_stats s0, s1, s2;
	struct cpu_thread t;

	machine_up(NULL, 16);
	smp_get_stats(&s0);
	for (int i = 0; i < 3; i++) {
		struct irqoff_arg a = { .hold_us = 30000 };

		start_irqoff_target(&a, &t);
		CHECK_EQ(smp_wait_irqs_off_sections(~(cpumask_t)0), 0);
		CHECK_EQ(atomic_load(&a.phase), 2);
		cpu_thread_join(&t);
	}
	smp_get_stats(&s1);
	CHECK(s1.waits_woken > s0.waits_woken);
	for (int i = 0; i < 3; i++) {
		struct irqoff_arg a = { .hold_us = 30000 };

		start_irqoff_target(&a, &t);
		CHECK_EQ(smp_call_function_many((cpumask_t)1 << t.cpu, check_not_off, NULL, true),
			 0);
		CHECK_EQ(atomic_load(&a.ran_while_off), 0);
		cpu_thread_join(&t);
	}
	smp_get_stats(&s2);
	CHECK(s2.waits_woken > s1.waits_woken);
	machine_down();
}

/* IPIs to many CPUs, with and without wait, reach each exactly once. */
struct busy_arg {
	atomic_int stop;
	atomic_ullong sections;
};

static void *busy_sections(void *p)
{
	struct busy_arg *a = p;

	while (!atomic_load(&a->stop)) {
		unsigned long f = local_irq_save();
		unsigned long g = local_irq_save();   /* nested */

		CHECK(irqs_disabled());
		local_irq_restore(g);
		CHECK(irqs_disabled());
		local_irq_restore(f);
		CHECK(!irqs_disabled());
		atomic_fetch_add(&a->sections, 1);
	}
	return NULL;
}

static void *idle_cpu(void *p)
{
	struct busy_arg *a = p;

	while (!atomic_load(&a->stop))
		sleep_us(1000);
	return NULL;
}

TEST_T(smp_ipi_many_each_once, 120)
{
	enum { N = 6 };
	struct busy_arg a = { 0 };
	struct cpu_thread t[N];
	cpumask_t mask = 0;

	machine_up(NULL, 16);
	for (int i = 0; i < N; i++) {
		cpu_thread_start(&t[i], i % 2 ? busy_sections : idle_cpu, &a);
		mask |= (cpumask_t)1 << t[i].cpu;
	}
	for (int round = 1; round <= 50; round++) {
		CHECK_EQ(smp_call_function_many(mask, record_cpu, NULL, true), 0);
		for (int i = 0; i < N; i++)
			CHECK_EQ(atomic_load(&ran_on[t[i].cpu]), round);
	}
	/* Without wait: every target still runs it once. */
	for (int round = 0; round < 50; round++)
		CHECK_EQ(smp_call_function_many(mask, record_cpu, NULL, false), 0);
	for (int i = 0; i < N; i++) {
		double start = test_now();

		while (atomic_load(&ran_on[t[i].cpu]) != 100 && test_now() - start < 10)
			sleep_us(100);
		CHECK_EQ(atomic_load(&ran_on[t[i].cpu]), 100);
	}
	/* on_each_cpu includes the caller, with its interrupts off. */
	CHECK_EQ(on_each_cpu(record_cpu, NULL, true), 0);
	CHECK_EQ(atomic_load(&ran_on[smp_processor_id()]), 1);
	atomic_store(&a.stop, 1);
	for (int i = 0; i < N; i++)
		cpu_thread_join(&t[i]);
	machine_down();
}

/* A target blocked in a system call (read on an empty pipe) answers. */
static int blocked_pipe[2];

static void *blocked_reader(void *p)
{
	char c;

	(void)p;
	while (read(blocked_pipe[0], &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

TEST(smp_ipi_to_blocked_syscall)
{
	struct cpu_thread t;

	machine_up(NULL, 16);
	CHECK_EQ(pipe(blocked_pipe), 0);
	cpu_thread_start(&t, blocked_reader, NULL);
	sleep_us(20000);
	for (int i = 1; i <= 20; i++) {
		CHECK_EQ(smp_call_function_many((cpumask_t)1 << t.cpu, record_cpu, NULL, true), 0);
		CHECK_EQ(atomic_load(&ran_on[t.cpu]), i);
	}
	CHECK_EQ(write(blocked_pipe[1], "x", 1), 1);
	cpu_thread_join(&t);
	machine_down();
}

/* A plain thread body: an asynchronous IPI from a non-CPU. */
static void *async_from_noncpu(void *p)
{
	*(int *)p = smp_call_function(record_cpu, NULL, false);
	return NULL;
}

TEST(smp_bad_calls)
{
	struct cpu_thread t;
	atomic_int stop = 0;
	unsigned long f;
	int nonpcu_ret;
	pthread_t th;

	machine_up(NULL, 16);
	cpu_thread_start(&t, wait_until_set, &stop);
	CHECK_EQ(smp_call_function(NULL, NULL, true), -EINVAL);
	f = local_irq_save();
	CHECK_EQ(smp_call_function(record_cpu, NULL, true), -EDEADLK);
	CHECK_EQ(smp_wait_irqs_off_sections(~(cpumask_t)0), -EDEADLK);
	local_irq_restore(f);
	/* Asynchronous IPIs need the sender's per-CPU call data. */
	pthread_create(&th, NULL, async_from_noncpu, &nonpcu_ret);
	pthread_join(th, NULL);
	CHECK_EQ(nonpcu_ret, -EPERM);
	/* Restoring "on" when already on is harmless. */
	local_irq_restore(0);
	local_irq_enable();
	CHECK(!irqs_disabled());
	atomic_store(&stop, 1);
	cpu_thread_join(&t);
	machine_down();
}

/* smp_wait_irqs_off_sections() returns only once a section that was open
 * when it was called has ended; sections that start later do not hold it. */
TEST(smp_wait_sections)
{
	struct irqoff_arg a = { .hold_us = 150000 };
	struct busy_arg b = { 0 };
	struct cpu_thread t, busy[3];
	double start, done;
	struct smp_stats st;

	machine_up(NULL, 16);
	for (int i = 0; i < 3; i++)
		cpu_thread_start(&busy[i], busy_sections, &b);
	start_irqoff_target(&a, &t);
	start = test_now();
	CHECK_EQ(smp_wait_irqs_off_sections(~(cpumask_t)0), 0);
	done = test_now();
	CHECK_EQ(atomic_load(&a.phase), 2);
	CHECK(done >= a.on_at);
	CHECK(done - start > 0.05);
	cpu_thread_join(&t);
	/* With busy CPUs only, it keeps completing. */
	for (int i = 0; i < 200; i++)
		CHECK_EQ(smp_wait_irqs_off_sections(~(cpumask_t)0), 0);
	smp_get_stats(&st);
	CHECK(st.membarriers >= 200);
	atomic_store(&b.stop, 1);
	for (int i = 0; i < 3; i++)
		cpu_thread_join(&busy[i]);
	machine_down();
}

/* An interrupts-off section is an RCU read-side section: a grace period
 * does not end while it is open. */
TEST(smp_irqoff_is_rcu_reader)
{
	struct irqoff_arg a = { .hold_us = 100000 };
	struct cpu_thread t;
	double done;

	machine_up(NULL, 16);
	start_irqoff_target(&a, &t);
	urcu_memb_synchronize_rcu();
	done = test_now();
	CHECK_EQ(atomic_load(&a.phase), 2);
	CHECK(done >= a.on_at);
	cpu_thread_join(&t);
	machine_down();
}
