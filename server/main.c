/*
 * main.c: printmaster-server. Parses the configuration, migrates the database,
 * starts the HTTP side (and the modules hooked into it), then waits in
 * sigwait() for SIGINT or SIGTERM and shuts down in order. Not here: the work
 * of any module it starts.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>

#include "log.h"
#include "server/admin.h"
#include "server/api_agents.h"
#include "server/api_auth.h"
#include "server/api_bulk.h"
#include "server/api_printers.h"
#include "server/api_system.h"
#include "server/auth.h"
#include "server/config.h"
#include "server/db.h"
#include "server/store_schema.h"
#include "server/auth_cache.h"
#include "server/gateway.h"
#include "server/gateway_feed.h"
#include "server/http.h"
#include "server/listener.h"
#include "server/sweeper.h"
#include "server/metrics.h"
#include "server/api_jobs.h"
#include "server/jobs_dispatch.h"
#include "server/web.h"

/* An agent's websocket "sync" is the bulk request it stands for, run by the
 * bulk's own handler (gateway.h). */
static int
main_sync(const struct auth *who, const char *body, size_t len, const char *idem,
    unsigned *status, int *replayed, char **response)
{
	const char *hdr[] = { "Content-Type", "application/json", "Idempotency-Key", idem,
	    NULL };
	struct http_capture cap = { .headers = hdr };

	if (http_run_captured(api_bulk_post, "POST", "/api/v1/printing/printers/bulk", body,
	    len, who, &cap) < 0)
		return -1;
	*status = cap.status;
	*replayed = cap.replayed;
	*response = cap.body;
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: printmaster-server [options]            serve REST, /ws and the page\n"
	    "       printmaster-server migrate [options]    apply database migrations and exit\n"
	    "       printmaster-server config-markdown      print the settings table (docs)\n"
	    "       printmaster-server admin ...            companies, branches, users, agent keys\n"
	    "                                               (see admin --help)\n"
	    "\noptions (file key = value via --config FILE; env PRINTMASTER_<KEY>):\n"
	    "  --config FILE            read settings from FILE (or PRINTMASTER_CONFIG)\n"
	    "  --print-config           print the effective settings (secrets masked) and exit\n"
	    "  --help, --version\n");
	cfg_usage(server_config_table, f);
}

static int
migrate_with_retry(int attempts)
{
	for (int i = 0; i < attempts; i++) {
		PGconn *c = db_connect();

		if (c) {
			int rc = store_schema_migrate(c);

			PQfinish(c);
			if (rc == 0)
				return 0;
		}
		if (i + 1 < attempts) {
			log_warnx("[DB] database not ready, retrying in 1 s (%d/%d)", i + 1,
			    attempts);
			sleep(1);
		}
	}
	return -1;
}

/* A credential changed on some instance: forget what we cached of it. */
static void
main_credentials_changed(const char *what)
{
	int n = auth_cache_invalidate(what);

	log_debug("[API] credential change %s: %d cached entries dropped",
	    what ? what : "(all)", n);
	if (what)
		gateway_feed_credentials(what);
}

/* What the listener hands on: events and commands to the gateway,
 * credential changes to the cache. */
static const struct listener_hooks hooks = {
	.events = gateway_feed_events,
	.command = gateway_feed_command,
	.credentials = main_credentials_changed,
	.jobs = jobs_dispatch_wake,
};

int
main(int argc, char **argv)
{
	static struct server_config cfg;
	struct cfg_args args;
	char err[512];
	sigset_t sigs;
	int sig, rc = 1;

	/* Signals first, before any library starts a thread. */
	/*
	 * No glibc fastbins: a request frees many small JSON nodes and then asks
	 * for a large buffer (a serialized body, a libpq result), and every such
	 * request first consolidated the fastbins: 7% of the server's CPU on
	 * small bulk batches (perf). The thread caches still serve small sizes.
	 */
	mallopt(M_MXFAST, 0);
	/*
	 * A large bulk allocates and frees tens of megabytes in its thread's
	 * arena: glibc grew the arena 128 KiB at a time (mprotect, then page
	 * faults) and gave the top back at the end of the request, only to grow
	 * it again for the next: 15% of the server's CPU for a 10,000-printer
	 * bulk (perf), 5-25% more CPU per bulk than with these (A/B). The memory
	 * is not given back either way (fragmentation pins it: the same RSS after
	 * a large bulk with and without), so keeping it costs nothing. The
	 * buffers of a large request (its body, the arrays sent to PostgreSQL)
	 * come from the arena too instead of a mmap each. GLIBC_TUNABLES, when
	 * set, decides instead.
	 */
	if (getenv("GLIBC_TUNABLES") == NULL) {
		mallopt(M_MMAP_THRESHOLD, 32 << 20);
		mallopt(M_TOP_PAD, 64 << 20);
		mallopt(M_TRIM_THRESHOLD, 512 << 20);
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);	/* reopens log_file */
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (cfg_load(server_config_table, &cfg, argc, argv, &args, err, sizeof(err)) < 0) {
		fprintf(stderr, "printmaster-server: %s\n", err);
		return 2;
	}
	if (args.help) {
		if (args.argc > 0 && strcmp(args.argv[0], "admin") == 0)
			admin_usage(stdout);
		else
			usage(stdout);
		rc = 0;
		goto out;
	}
	if (args.version) {
		printf("printmaster-server %s\n", PM_VERSION);
		rc = 0;
		goto out;
	}
	if (args.print_config) {
		cfg_print(server_config_table, &cfg, stdout);
		rc = 0;
		goto out;
	}
	if (log_init("printmaster-server", cfg.log_level, cfg.log_format) < 0 ||
	    sodium_init() < 0 || db_init(cfg.database_url, cfg.session_database_url,
	    cfg.db_connect_timeout) < 0) {
		fprintf(stderr, "printmaster-server: start-up failed\n");
		goto out;
	}
	if (args.argc > 0 && strcmp(args.argv[0], "config-markdown") == 0) {
		cfg_markdown(server_config_table, stdout);
		rc = 0;
		goto out;
	}
	if (args.argc > 0 && strcmp(args.argv[0], "migrate") == 0) {
		rc = migrate_with_retry(10) == 0 ? 0 : 1;
		goto out;
	}
	if (args.argc > 0 && strcmp(args.argv[0], "admin") == 0) {
		rc = admin_main(args.argc, args.argv);
		goto out;
	}
	if (args.argc > 0) {
		fprintf(stderr, "printmaster-server: unknown command or option '%s' "
		    "(see --help)\n", args.argv[0]);
		rc = 2;
		goto out;
	}

	/* Serving only: the admin CLI and the other commands keep stderr. */
	if (cfg.log_file[0] && log_open_file(cfg.log_file) < 0) {
		log_warn("[API] cannot open log_file %s", cfg.log_file);
		goto out;
	}
	if (migrate_with_retry(30) < 0) {
		log_error("[DB] could not migrate the database; giving up");
		goto out;
	}
	if (auth_init(&cfg) < 0 || api_auth_start(&cfg) < 0) {
		log_error("[API] could not set up authentication");
		goto out;
	}
	http_set_authenticator(auth_http);
	gateway_set_authenticator(auth_from_token);
	gateway_set_sync(main_sync);
	if (http_add_routes(api_system_routes) < 0 ||
	    http_add_routes(api_printers_routes) < 0 ||
	    http_add_routes(api_auth_routes) < 0 ||
	    http_add_routes(api_agents_routes) < 0 ||
	    http_add_routes(api_jobs_routes) < 0 ||
	    http_add_routes(web_routes) < 0 ||
	    metrics_add_source(http_metrics) < 0 ||
	    metrics_add_source(gateway_metrics) < 0 ||
	    metrics_add_source(listener_metrics) < 0 ||
	    metrics_add_source(jobs_dispatch_metrics) < 0 ||
	    metrics_add_source(sweeper_metrics) < 0) {
		log_error("[API] too many routes");
		goto out;
	}
	if (web_init(&cfg) < 0 || gateway_start(&cfg) < 0)
		goto out;
	if (listener_start(&cfg, &hooks) < 0 || jobs_dispatch_start(&cfg) < 0 ||
	    sweeper_start(&cfg) < 0 || http_start(&cfg) < 0) {
		sweeper_stop();
		jobs_dispatch_stop();
		listener_stop();
		gateway_stop();
		goto out;
	}
	log_info("[API] printmaster-server %s listening on %s:%d", PM_VERSION, cfg.bind,
	    http_bound_port());

	for (;;) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			if (log_reopen() < 0)
				log_warn("[API] SIGHUP: cannot reopen log_file %s", cfg.log_file);
			else
				log_info("[API] SIGHUP: log file reopened");
			continue;
		}
		log_info("[API] signal %d: shutting down", sig);
		break;
	}
	http_stop();
	sweeper_stop();
	jobs_dispatch_stop();
	listener_stop();
	gateway_stop();
	api_auth_stop();
	auth_shutdown();
	web_shutdown();
	db_shutdown();
	rc = 0;
out:
	cfg_args_free(&args);
	cfg_free(server_config_table, &cfg);
	return rc;
}
