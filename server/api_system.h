/*
 * api_system.h: liveness, readiness and metrics endpoints (no credential).
 */
#ifndef PM_API_SYSTEM_H
#define PM_API_SYSTEM_H

#include "server/http.h"

extern const struct http_route api_system_routes[];

#endif
