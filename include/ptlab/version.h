/* SPDX-License-Identifier: MIT */
/*
 * ptlab's version, written here and nowhere else: the Makefile reads it
 * (ptlab.pc), `ptlab --version` prints it, every JSON file ptlab writes
 * carries it as "ptlab_version", and the top entry of debian/changelog
 * must name it (tests/test_version.c checks that they agree).
 */
#ifndef PTLAB_VERSION_H
#define PTLAB_VERSION_H

#define PTLAB_VERSION "0.9.0"

#endif /* PTLAB_VERSION_H */
