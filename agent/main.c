/*
 * main.c: printmaster-agent. Reads the configuration and runs one of its
 * commands: run (daemon), discover (one shot, prints), sync --once, status. Not
 * here: the work of any command (discover.c, sync.c, stats.c).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "agent/agent_config.h"
#include "agent/discover.h"
#include "agent/sync.h"

/* The command line, kept for SIGHUP: the settings are read again from it. */
struct agent_argv {
	int argc;
	char **argv;
};

static int
agent_reload(struct agent_config *out, char *err, size_t errlen, void *arg)
{
	const struct agent_argv *a = arg;
	struct cfg_args args;

	if (cfg_load(agent_config_table, out, a->argc, a->argv, &args, err, errlen) < 0)
		return -1;
	cfg_args_free(&args);
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: printmaster-agent COMMAND [options]\n"
	    "commands:\n"
	    "  run                  discover and sync forever (the daemon)\n"
	    "  discover [--json] [--sources LIST] [--timeout S]\n"
	    "                       discover once and print what was found; sends nothing\n"
	    "  sync --once          discover once, sync, exit 0 only if all was synced\n"
	    "  status               print the running agent's sync statistics\n"
	    "  config-markdown      print the settings table (docs)\n"
	    "\noptions (file key = value via --config FILE; env PRINTMASTER_<KEY>):\n"
	    "  --config FILE, --print-config, --help, --version\n");
	cfg_usage(agent_config_table, f);
}

int
main(int argc, char **argv)
{
	static struct agent_config cfg;
	struct agent_argv cmdline = { argc, argv };
	struct cfg_args args;
	char err[512];
	int rc = 2;

	signal(SIGPIPE, SIG_IGN);
	if (cfg_load(agent_config_table, &cfg, argc, argv, &args, err, sizeof(err)) < 0) {
		fprintf(stderr, "printmaster-agent: %s\n", err);
		return 2;
	}
	if (args.help) {
		usage(stdout);
		rc = 0;
	} else if (args.version) {
		printf("printmaster-agent %s\n", PM_VERSION);
		rc = 0;
	} else if (args.print_config) {
		cfg_print(agent_config_table, &cfg, stdout);
		rc = 0;
	} else if (log_init("printmaster-agent", cfg.log_level, cfg.log_format) < 0) {
		fprintf(stderr, "printmaster-agent: bad log settings\n");
	} else if (cfg.log_file[0] && log_open_file(cfg.log_file) < 0) {
		fprintf(stderr, "printmaster-agent: cannot open log_file %s: %s\n", cfg.log_file,
		    strerror(errno));
	} else if (args.argc > 0 && strcmp(args.argv[0], "discover") == 0) {
		rc = discover_main(&cfg, args.argc, args.argv);
	} else if (args.argc == 1 && strcmp(args.argv[0], "run") == 0) {
		rc = sync_main(&cfg, SYNC_MODE_RUN, agent_reload, &cmdline);
	} else if (args.argc == 2 && strcmp(args.argv[0], "sync") == 0 &&
	    strcmp(args.argv[1], "--once") == 0) {
		rc = sync_main(&cfg, SYNC_MODE_ONCE, NULL, NULL);
	} else if (args.argc == 1 && strcmp(args.argv[0], "status") == 0) {
		rc = sync_status(&cfg);
	} else if (args.argc > 0 && strcmp(args.argv[0], "config-markdown") == 0) {
		cfg_markdown(agent_config_table, stdout);
		rc = 0;
	} else {
		if (args.argc == 0)
			usage(stderr);
		else
			fprintf(stderr, "printmaster-agent: unknown command '%s' (see --help)\n",
			    args.argv[0]);
	}
	cfg_args_free(&args);
	cfg_free(agent_config_table, &cfg);
	return rc;
}
