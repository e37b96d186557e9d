/*
 * api_printers.h: the printer endpoints: bulk registration, list, get,
 * patch, delete.
 */
#ifndef PM_API_PRINTERS_H
#define PM_API_PRINTERS_H

#include "server/http.h"

extern const struct http_route api_printers_routes[];

#endif
