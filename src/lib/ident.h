/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Who and where: a random recording id and this machine's device id. */
#ifndef MMLOCK_IDENT_H
#define MMLOCK_IDENT_H

#include <stddef.h>

/* A random (version 4) UUID, lowercase, into out[37]. 0 or -errno. */
int uuid_random(char out[37]);
/*
 * A device id that stays the same across boots (boot_id does not), tried in
 * order: Android's ro.serialno ("android:SERIAL", when getprop exists and
 * answers), /etc/machine-id ("machine-id:ID"), the hostname ("host:NAME").
 */
void device_id_default(char *buf, size_t len);

#endif
