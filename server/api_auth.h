/*
 * api_auth.h: POST /api/v1/auth/login, POST /api/v1/auth/logout,
 * GET /api/v1/auth/me and GET /api/v1/branches.
 */
#ifndef PM_API_AUTH_H
#define PM_API_AUTH_H

#include "server/config.h"
#include "server/http.h"

extern const struct http_route api_auth_routes[];

/* Set up the login rate limiter (login_rate_limit per minute). Main thread,
 * before http_start. 0 or -1. */
int api_auth_start(const struct server_config *cfg);
/* After http_stop. */
void api_auth_stop(void);

#endif
