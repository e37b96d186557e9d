/*
 * api_jobs.h: the print job endpoints: create on a printer, list, get, cancel.
 */
#ifndef PM_API_JOBS_H
#define PM_API_JOBS_H

#include "server/http.h"

extern const struct http_route api_jobs_routes[];

#endif
