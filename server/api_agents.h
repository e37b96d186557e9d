/*
 * api_agents.h: agents and their commands over REST: the agent list, sync
 * statistics, the stats fallback for agents, and scan / test-print relayed to
 * connected agents through the command channel (any instance may hold them).
 */
#ifndef PM_API_AGENTS_H
#define PM_API_AGENTS_H

#include "server/http.h"

extern const struct http_route api_agents_routes[];

#endif
