/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The commands of mmlock, one file each in src/cmd/; main.c dispatches. */
#ifndef MMLOCK_CMD_H
#define MMLOCK_CMD_H

int cmd_record(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_perfetto(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_export(int argc, char **argv);

/* "mmlock: <fmt with arg> (see --help)" on stderr; returns EXIT_USAGE. */
int bad_usage(const char *fmt, const char *arg);

#endif
