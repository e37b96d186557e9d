/*
 * admin.h: `printmaster-server admin ...`, the command line for companies,
 * branches, users and agent keys, run against the configured database.
 */
#ifndef PM_ADMIN_H
#define PM_ADMIN_H

#include <stdio.h>

/* argv[0] is "admin". Migrates the database first, like the server. Returns
 * the process exit code: 0 done, 1 failed (message on stderr), 2 usage. */
int admin_main(int argc, char **argv);
void admin_usage(FILE *f);

#endif
