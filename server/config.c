/*
 * config.c: the one table of server settings. Defaults, ranges and help text
 * live only here; docs/configuration.md is generated from it.
 */
#include <limits.h>
#include <stddef.h>

#include "config.h"

#define S(f) offsetof(struct server_config, f)

const struct cfg_opt server_config_table[] = {
	{ "port", CFG_INT, S(port), "3001", 1, 65535, NULL, "PORT", 0,
	  "TCP port for REST, the page and the /ws gateway" },
	{ "bind", CFG_STR, S(bind), "0.0.0.0", 0, 0, NULL, NULL, 0,
	  "address to listen on (IPv4 or IPv6 literal)" },
	{ "database_url", CFG_STR, S(database_url), "postgresql:///printmaster", 0, 0,
	  NULL, "DATABASE_URL", CFG_SECRET, "libpq connection string or URL" },
	{ "data_dir", CFG_STR, S(data_dir), "./var/data", 0, 0, NULL, NULL, 0,
	  "directory for generated secrets (session signing key)" },
	{ "threads", CFG_INT, S(threads), "16", 1, 256, NULL, NULL, 0,
	  "HTTP worker threads, each with its own database connection (a worker waits "
	  "for PostgreSQL, so more workers than cores keep both busy)" },
	{ "max_body_bytes", CFG_INT, S(max_body_bytes), "1048576", 1024, 268435456,
	  NULL, NULL, 0, "largest request body accepted (413 above)" },
	{ "max_printers_per_request", CFG_INT, S(max_printers_per_request), "1000", 1,
	  100000, NULL, NULL, 0, "most printers in one bulk request (413 above)" },
	{ "allowed_origins", CFG_STR, S(allowed_origins), "", 0, 0, NULL, NULL, 0,
	  "comma-separated extra Origins allowed on /ws (the server's own origin always is)" },
	{ "log_level", CFG_STR, S(log_level), "info", 0, 0, "error|warn|info|debug",
	  NULL, 0, "least important log lines written" },
	{ "log_format", CFG_STR, S(log_format), "text", 0, 0, "text|json", NULL, 0,
	  "log line format on stderr" },
	{ "event_retention", CFG_INT, S(event_retention), "168", 1, 87600, NULL, NULL, 0,
	  "hours printer_events are kept before pruning" },
	{ "db_connect_timeout", CFG_INT, S(db_connect_timeout), "3", 1, 60, NULL, NULL, 0,
	  "seconds to wait for a database connection before answering 503" },
	{ "refresh_threshold", CFG_INT, S(refresh_threshold), "50", 1, 100000, NULL, NULL,
	  0, "a batch changing more printers than this sends printer:refresh-required" },
	{ "ws_queue_max", CFG_INT, S(ws_queue_max), "256", 4, 100000, NULL, NULL, 0,
	  "messages queued for one websocket client before it must refresh" },
	{ "session_secret", CFG_STR, S(session_secret), "", 0, 0, NULL, NULL, CFG_SECRET,
	  "session signing key (base64, 32 bytes); generated into data_dir when empty" },
	{ "session_ttl", CFG_INT, S(session_ttl), "43200", 60, 31536000, NULL, NULL, 0,
	  "seconds a login session lasts" },
	{ "login_rate_limit", CFG_INT, S(login_rate_limit), "10", 1, 100000, NULL, NULL, 0,
	  "login attempts per minute allowed per address and per email" },
	{ "web_root", CFG_STR, S(web_root), "", 0, 0, NULL, NULL, 0,
	  "directory of the page's static files (default: the source tree's web/, or PREFIX/share/printmaster/web beside an installed PREFIX/bin)" },
	{ NULL, 0, 0, NULL, 0, 0, NULL, NULL, 0, NULL },
};
