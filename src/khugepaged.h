/* SPDX-License-Identifier: MIT */
/* khugepaged's registration of mms (private; mirrors khugepaged_enter()). */
#ifndef PTLAB_KHUGEPAGED_INTERNAL_H
#define PTLAB_KHUGEPAGED_INTERNAL_H

struct mm_struct;

/* The mm may have VM_HUGEPAGE mappings: khugepaged scans it from now on. */
void khugepaged_enter(struct mm_struct *mm);
/* The mm goes away: forget it, and wait while khugepaged is scanning it. */
void khugepaged_exit(struct mm_struct *mm);

#endif /* PTLAB_KHUGEPAGED_INTERNAL_H */
