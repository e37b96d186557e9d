/*
 * agent_config.h: the agent's settings, one table (agent_config.c) driving
 * parsing, validation, --help, --print-config and docs/configuration.md.
 */
#ifndef PM_AGENT_CONFIG_H
#define PM_AGENT_CONFIG_H

#include "cfg.h"

struct agent_config {
	char *server_url;
	char *agent_key;
	char *sources;			/* comma list: cups,ipp,dnssd,netscan,usb */
	long scan_interval;		/* seconds */
	char *netscan_cidrs;		/* comma list; empty = no network scan */
	char *netscan_ports;		/* comma list */
	long netscan_timeout_ms;
	long netscan_concurrency;
	char *ipp_uris;			/* comma list of extra ipp:// URIs to query */
	char *sysfs_root;
	char *spool_dir;
	long batch_size;
	long retry_attempts;
	long retry_delay_ms;
	long backoff_multiplier;
	long max_retry_delay_ms;
	char *duplicate_handling;
	long lost_after_scans;
	char *escpos_status;		/* comma list of host:port allowed a DLE EOT query */
	long dnssd_browse_ms;
	long ipp_timeout_ms;		/* one IPP request, connect included */
	long discover_timeout;		/* seconds one discovery pass may take */
	long heartbeat_interval;	/* seconds */
	long http_connect_timeout_ms;
	long http_timeout_ms;
	long stats_interval;		/* seconds */
	int websocket;			/* 1: keep the live connection to /ws */
	char *log_level;
	char *log_format;
	long job_timeout_ms;		/* one print job's connect and send */
	long job_print_delay_ms;	/* testing: pause between go-ahead and printing */
	char *log_file;			/* "" = stderr */
	int enabled;			/* 0: discover, keep state, send nothing */
	long stats_log_interval;	/* seconds between stats log lines */
	long fallback_probe_interval;	/* seconds on the websocket before HTTP is tried */
	long sync_concurrency;		/* batches in flight at once, 1..4 */
};

extern const struct cfg_opt agent_config_table[];

#endif
