/*
 * store_schema.h: the schema itself: migrations (sql/NNN_*.sql, embedded in
 * the binary) and the readiness probe.
 */
#ifndef PM_STORE_SCHEMA_H
#define PM_STORE_SCHEMA_H

#include <libpq-fe.h>

/* Apply migrations not yet in schema_migrations, each in order, all in one
 * transaction under an advisory lock (instances starting at once queue). 0 or -1. */
int store_schema_migrate(PGconn *c);

/* One trivial statement: 0 when the database answers, -1 when not. */
int store_schema_ping(PGconn *c);

#endif
