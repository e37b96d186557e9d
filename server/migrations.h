/*
 * migrations.h: the schema, compiled in from the files in sql/ (scripts/embed-sql),
 * in file-name order; the list ends with a row whose name is NULL.
 */
#ifndef PM_MIGRATIONS_H
#define PM_MIGRATIONS_H

struct migration {
	const char *name;
	const char *sql;
};

extern const struct migration migrations[];

#endif
