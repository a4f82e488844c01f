/* SPDX-License-Identifier: MIT */
/*
 * Memory models and the protocol's named barriers (docs/memory.md).
 *
 * The Spin model (`ptlab model --memory`) checks a cell under sequential
 * consistency, under TSO (x86: a FIFO store buffer per CPU) or under a
 * weaker, arm64-like model; every barrier of the mirrored kernel code that
 * it relies on has a name here, with the kernel line it stands for, and
 * can be dropped (`--drop-barrier`) to see which verdicts rest on it. The
 * stress lab can drop the ones whose absence its host can show (on x86-64,
 * a TSO machine: the fences between a store and a later load); it runs on
 * real hardware, so its memory model is the host's.
 *
 * Types and names only, read by the machine (src/gup.c and src/mmu_gather.c
 * leave out a dropped fence) and by the lab and the model (a cell's
 * "memory" and "dropped_barriers").
 */
#ifndef PTLAB_MEMORY_MODEL_H
#define PTLAB_MEMORY_MODEL_H

#include <stdbool.h>
#include <stddef.h>

enum memory_model {
	/* Sequential consistency: one order of all accesses (the model's
	 * default, and what every verdict assumed before). */
	MEMORY_SC,
	/* x86-TSO: each CPU's stores wait in a FIFO store buffer, its own
	 * loads read them from there; a full barrier or a locked RMW
	 * drains it. */
	MEMORY_TSO,
	/* arm64-like: also stores to different locations become visible
	 * out of order, and a load may be satisfied before an earlier
	 * access to another location, unless a barrier, acquire/release or
	 * a fully ordered RMW orders them. */
	MEMORY_WEAK,
	MEMORY_MODELS,
};
const char *memory_model_name(enum memory_model m);
/* 0 and *out, or -EINVAL for an unknown name. */
int memory_model_parse(const char *name, enum memory_model *out);
/* "sc, tso, weak" */
void memory_model_names(char *buf, size_t len);
/* The memory model of the machine ptlab runs on (the stress lab's):
 * MEMORY_TSO on x86-64, MEMORY_WEAK elsewhere (arm64, POWER, RISC-V). */
enum memory_model memory_model_host(void);

/* The protocol's named barriers, in the order --list-barriers prints. */
enum barrier {
	/* GUP-fast's reference then its re-checks. */
	BARRIER_GUP_PIN_MB,
	/* Step 2's marker store then the walk's PMD load. */
	BARRIER_WALKER_MARK_MB,
	/* Step 2's syncer: its PMD clear then the marker loads. */
	BARRIER_SYNC_SCAN_MB,
	/* x86's xchg in collapse's PMD clear. */
	BARRIER_PMD_CLEAR_XCHG,
	/* The TLB flush orders the flusher's stores before what follows. */
	BARRIER_TLB_FLUSH_MB,
	/* The fully ordered queueing of the sync's IPIs. */
	BARRIER_SYNC_IPI_MB,
	/* x86's locked RMW in spin_lock(). */
	BARRIER_SPIN_LOCK_RMW,
	/* The IPI's completion: csd_unlock()'s release. */
	BARRIER_IPI_CSD_RELEASE,
	/* A grace period orders each CPU's accesses at its quiescent state. */
	BARRIER_RCU_GP_MB,
	BARRIERS,
};

struct barrier_info {
	/* "gup-pin-mb" */
	const char *name;
	/* The kernel line it stands for: file:line (version), function. */
	const char *kernel;
	/* What it orders before what, and what it pairs with. */
	const char *orders;
	/* The model's switch that removes it ("DROP_GUP_PIN_MB"). */
	const char *model_switch;
	/* Bit m set: the kernel has it under memory model m (x86's locked
	 * RMWs are TSO's alone: arm64's are relaxed where these are). */
	unsigned int models;
	/* The stress lab can leave it out (--drop-barrier of race and
	 * matrix): a fence in ptlab's own code between a store and a later
	 * load, which TSO hardware reorders without it. The others are the
	 * host's own (a locked instruction) or ordered by the lab's
	 * mechanism itself (signals, liburcu). */
	bool lab;
};

const struct barrier_info *barrier_info(enum barrier b);
/* A mask of (1u << enum barrier). */
#define BARRIER_BIT(b) (1u << (b))
/*
 * Parses "NAME[,NAME...]" into a mask; 0, or -EINVAL with @err naming the
 * value and the names allowed (an empty item, an unknown or repeated name).
 */
int barrier_list_parse(const char *list, unsigned int *mask, char *err, size_t len);
/* "gup-pin-mb,walker-mark-mb" ("" for none). */
void barrier_list_format(unsigned int mask, char *buf, size_t len);
/* "gup-pin-mb, walker-mark-mb, ..." (every name). */
void barrier_names(char *buf, size_t len);

#endif /* PTLAB_MEMORY_MODEL_H */
