/*
 * api_bulk.h: POST /api/v1/printing/printers/bulk, bulk registration with
 * duplicate detection (DESIGN 2.2, 2.3).
 */
#ifndef PM_API_BULK_H
#define PM_API_BULK_H

#include "server/http.h"

/* The handler; the caller has checked that the credential may sync (admins
 * and agents). */
int api_bulk_post(struct http_req *r);

#endif
