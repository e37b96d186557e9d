/*
 * jsonlimit.h: checks done on raw JSON bytes before jansson sees them.
 */
#ifndef PM_JSONLIMIT_H
#define PM_JSONLIMIT_H

#include <stddef.h>

/* Deepest nesting of arrays and objects in buf (strings are skipped), or -1
 * once it passes max (so a hostile body costs one pass and no recursion). */
int jsonlimit_depth(const char *buf, size_t len, int max);

#endif
