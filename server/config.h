/*
 * config.h: the server's settings, one table (config.c) driving parsing,
 * validation, --help, --print-config and docs/configuration.md.
 */
#ifndef PM_SERVER_CONFIG_H
#define PM_SERVER_CONFIG_H

#include "cfg.h"

struct server_config {
	long port;
	char *bind;
	char *database_url;
	char *session_database_url;	/* "" = database_url */
	char *data_dir;
	long threads;
	long max_body_bytes;
	long max_printers_per_request;
	char *allowed_origins;
	char *log_level;
	char *log_format;
	char *log_file;			/* "" = stderr */
	long event_retention;		/* hours */
	long batch_retention;		/* hours */
	long agent_offline_after;	/* seconds */
	long alert_success_rate;	/* percent */
	long alert_min_items;		/* items in the window before the rate counts */
	long alert_interval;		/* seconds between success-rate judgements */
	long db_connect_timeout;	/* seconds */
	long refresh_threshold;		/* per-printer events per batch before refresh-required */
	long ws_queue_max;		/* messages queued per websocket client */
	char *session_secret;		/* base64; generated into data_dir when empty */
	long session_ttl;		/* seconds */
	long login_rate_limit;		/* attempts per minute per address and per email */
	char *web_root;
	long max_job_bytes;		/* a print job's content, decoded */
	long job_ttl;			/* seconds a job may wait before it is expired */
};

extern const struct cfg_opt server_config_table[];

#endif
