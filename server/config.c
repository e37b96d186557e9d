/*
 * config.c: the one table of server settings. Defaults, ranges and help text
 * live only here; docs/configuration.md is generated from it. Not here: parsing
 * and layering (common/cfg.c).
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
	{ "session_database_url", CFG_STR, S(session_database_url), "", 0, 0, NULL, NULL,
	  CFG_SECRET, "connection for what keeps session state (the listener's LISTEN, "
	  "the lease sweeper's lock): a direct one when "
	  "database_url goes through a transaction-mode pooler; empty: database_url" },
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
	{ "log_file", CFG_STR, S(log_file), "", 0, 0, NULL, NULL, 0,
	  "append log lines to this file instead of stderr; reopened on SIGHUP (logrotate)" },
	{ "event_retention", CFG_INT, S(event_retention), "168", 1, 87600, NULL, NULL, 0,
	  "hours printer_events are kept before pruning" },
	{ "batch_retention", CFG_INT, S(batch_retention), "168", 1, 87600, NULL, NULL, 0,
	  "hours sync_batches rows (stored bulk responses, idempotency keys) are kept" },
	{ "agent_offline_after", CFG_INT, S(agent_offline_after), "90", 1, 86400, NULL, NULL,
	  0, "seconds without contact (websocket or HTTP) after which an agent is offline "
	  "and the printers only it sees turn unknown (agent-offline)" },
	{ "alert_success_rate", CFG_INT, S(alert_success_rate), "90", 0, 100, NULL, NULL, 0,
	  "percent: a branch whose printers synced without error over the last 15 minutes "
	  "fall below it (or with an agent offline) gets a printer:sync:alert" },
	{ "alert_min_items", CFG_INT, S(alert_min_items), "20", 1, 1000000, NULL, NULL, 0,
	  "printers synced in the 15 minutes before the success rate can raise an alert "
	  "(a single small batch is no trend)" },
	{ "alert_interval", CFG_INT, S(alert_interval), "30", 1, 3600, NULL, NULL, 0,
	  "seconds between judgements of every branch's success rate (each reads the "
	  "15-minute window of batches); an agent going offline is noticed every second" },
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
	  "directory of the page's static files (default: the source tree's web/, or "
	  "PREFIX/share/printmaster/web beside an installed PREFIX/bin)" },
	{ "max_job_bytes", CFG_INT, S(max_job_bytes), "4194304", 1, 268435456, NULL, NULL,
	  0, "largest print job content (decoded bytes; 413 above); its request body "
	  "may exceed max_body_bytes by the base64 overhead" },
	{ "job_ttl", CFG_INT, S(job_ttl), "3600", 1, 31536000, NULL, NULL, 0,
	  "seconds a print job may wait for an agent before it is expired" },
	{ NULL, 0, 0, NULL, 0, 0, NULL, NULL, 0, NULL },
};
