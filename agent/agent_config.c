/*
 * agent_config.c: the one table of agent settings. Defaults follow the product
 * this replaces (batch 5, 3 retries, 1000 ms, x2, 30000 ms cap). Not here:
 * parsing and layering (common/cfg.c), what the settings do.
 */
#include <stddef.h>

#include "agent/agent_config.h"

#define A(f) offsetof(struct agent_config, f)

const struct cfg_opt agent_config_table[] = {
	{ "server_url", CFG_STR, A(server_url), "http://127.0.0.1:3001", 0, 0, NULL, NULL,
	  0, "base URL of printmaster-server" },
	{ "agent_key", CFG_STR, A(agent_key), "", 0, 0, NULL, NULL, CFG_SECRET,
	  "enrollment key (pmk_...) from 'printmaster-server admin agent create'" },
	{ "sources", CFG_STR, A(sources), "cups,ipp,dnssd,usb", 0, 0, NULL, NULL, 0,
	  "discovery sources to run: cups,ipp,dnssd,netscan,usb" },
	{ "scan_interval", CFG_INT, A(scan_interval), "60", 1, 86400, NULL, NULL, 0,
	  "seconds between discovery scans" },
	{ "netscan_cidrs", CFG_STR, A(netscan_cidrs), "", 0, 0, NULL, NULL, 0,
	  "comma-separated CIDRs the network scan may probe; empty = none" },
	{ "netscan_ports", CFG_STR, A(netscan_ports), "9100,631,515", 0, 0, NULL, NULL, 0,
	  "TCP ports the network scan tries" },
	{ "netscan_timeout_ms", CFG_INT, A(netscan_timeout_ms), "500", 10, 60000, NULL,
	  NULL, 0, "connect timeout per probe" },
	{ "netscan_concurrency", CFG_INT, A(netscan_concurrency), "256", 1, 4096, NULL,
	  NULL, 0, "connects in flight at once" },
	{ "ipp_uris", CFG_STR, A(ipp_uris), "", 0, 0, NULL, NULL, 0,
	  "extra ipp:// or ipps:// printer URIs to query" },
	{ "sysfs_root", CFG_STR, A(sysfs_root), "/sys", 0, 0, NULL, NULL, 0,
	  "root of sysfs for USB discovery (tests point it at a fake tree)" },
	{ "spool_dir", CFG_STR, A(spool_dir), "./var/agent", 0, 0, NULL, NULL, 0,
	  "directory for the sync journal and state" },
	{ "batch_size", CFG_INT, A(batch_size), "5", 1, 1000, NULL, NULL, 0,
	  "printers per bulk request" },
	{ "retry_attempts", CFG_INT, A(retry_attempts), "3", 0, 100, NULL, NULL, 0,
	  "retries of a failed batch before it waits for the next round" },
	{ "retry_delay_ms", CFG_INT, A(retry_delay_ms), "1000", 1, 3600000, NULL, NULL, 0,
	  "first retry delay" },
	{ "backoff_multiplier", CFG_INT, A(backoff_multiplier), "2", 1, 100, NULL, NULL, 0,
	  "factor between successive retry delays" },
	{ "max_retry_delay_ms", CFG_INT, A(max_retry_delay_ms), "30000", 1, 86400000, NULL,
	  NULL, 0, "cap on one retry delay" },
	/* "update", not the seed product's "skip": with skip the server would
	 * leave known rows alone, so status changes and lost printers (offline)
	 * would never reach it. */
	{ "duplicate_handling", CFG_STR, A(duplicate_handling), "update", 0, 0,
	  "update|merge|skip", NULL, 0, "how the server treats printers it already has" },
	{ "lost_after_scans", CFG_INT, A(lost_after_scans), "3", 1, 1000, NULL, NULL, 0,
	  "missed scans before a printer is reported offline" },
	{ "escpos_status", CFG_STR, A(escpos_status), "", 0, 0, NULL, NULL, 0,
	  "host:port list of raw printers that may receive a DLE EOT status query" },
	{ "dnssd_browse_ms", CFG_INT, A(dnssd_browse_ms), "2000", 100, 60000, NULL, NULL, 0,
	  "how long one DNS-SD browse listens" },
	{ "ipp_timeout_ms", CFG_INT, A(ipp_timeout_ms), "3000", 100, 60000, NULL, NULL, 0,
	  "time limit of one IPP Get-Printer-Attributes request, connect included" },
	{ "discover_timeout", CFG_INT, A(discover_timeout), "30", 1, 3600, NULL, NULL, 0,
	  "seconds one discovery pass (all sources) may take" },
	{ "heartbeat_interval", CFG_INT, A(heartbeat_interval), "300", 5, 86400, NULL, NULL,
	  0, "seconds between refreshes of unchanged printers' last_seen" },
	{ "http_connect_timeout_ms", CFG_INT, A(http_connect_timeout_ms), "5000", 100,
	  600000, NULL, NULL, 0, "connect timeout of one sync request" },
	{ "http_timeout_ms", CFG_INT, A(http_timeout_ms), "30000", 100, 3600000, NULL, NULL,
	  0, "total timeout of one sync request (then it is retried)" },
	{ "stats_interval", CFG_INT, A(stats_interval), "30", 1, 86400, NULL, NULL, 0,
	  "seconds between statistics reports to the server" },
	{ "websocket", CFG_BOOL, A(websocket), "1", 0, 0, NULL, NULL, 0,
	  "keep a live connection to the server's /ws (presence, scan and test-print)" },
	{ "log_level", CFG_STR, A(log_level), "info", 0, 0, "error|warn|info|debug", NULL, 0,
	  "least important log lines written" },
	{ "log_format", CFG_STR, A(log_format), "text", 0, 0, "text|json", NULL, 0,
	  "log line format on stderr" },
	{ "job_timeout_ms", CFG_INT, A(job_timeout_ms), "30000", 100, 3600000, NULL, NULL,
	  0, "time limit of sending one print job to its printer" },
	{ "job_print_delay_ms", CFG_INT, A(job_print_delay_ms), "0", 0, 600000, NULL, NULL,
	  0, "for tests only: wait this long after a job is accepted before printing it "
	  "(a window to kill the agent in)" },
	{ "log_file", CFG_STR, A(log_file), "", 0, 0, NULL, NULL, 0,
	  "append log lines to this file instead of stderr; reopened on SIGHUP (logrotate)" },
	{ "enabled", CFG_BOOL, A(enabled), "1", 0, 0, NULL, NULL, 0,
	  "sync with the server; false: discover and keep the local state, send nothing" },
	{ "stats_log_interval", CFG_INT, A(stats_log_interval), "300", 1, 86400, NULL, NULL,
	  0, "seconds between '[AUTO-SYNC] stats:' log lines" },
	{ "fallback_probe_interval", CFG_INT, A(fallback_probe_interval), "30", 1, 3600, NULL,
	  NULL, 0, "while bulk POSTs fail (502/503/504, refused, reset, timeout) batches go "
	  "over the websocket; HTTP is tried again after this many seconds" },
	{ "sync_concurrency", CFG_INT, A(sync_concurrency), "1", 1, 4, NULL, NULL, 0,
	  "batches in flight at once, each with its own key, retries and connection; two "
	  "never carry the same printer" },
	{ NULL, 0, 0, NULL, 0, 0, NULL, NULL, 0, NULL },
};
