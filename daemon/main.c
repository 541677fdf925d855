/* SPDX-License-Identifier: MIT */
/* staffsyncd: the directory-sync daemon. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include "config.h"
#include "log.h"
#include "config-open.h"
#include "run.h"
#include "service.h"
#include "util.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define DEFAULT_CONFIG SYSCONFDIR "/staffsync/staffsync.yaml"

struct options {
	const char *config;
	const char *metrics;
	bool check_config, once, dry_run, json, full;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: staffsyncd [-c FILE] [--metrics-file FILE]\n"
		"       staffsyncd [-c FILE] --once [--dry-run [--json]] [--full]\n"
		"       staffsyncd [-c FILE] --check-config\n"
		"Keeps facility workspaces in step with the staff directory. Without --once\n"
		"it is the service: runs on the configured schedule until SIGTERM, reloads\n"
		"the configuration on SIGHUP.\n\n"
		"  -c, --config FILE  configuration (default " DEFAULT_CONFIG ")\n"
		"      --check-config print every problem of the configuration as FILE:LINE:COLUMN: message\n"
		"      --once         run one sync and exit (0 ok, 1 failed, 2 usage/config,\n"
		"                     3 a safety gate stopped it, 4 a listing was incomplete)\n"
		"      --dry-run      with --once: print the plan, write nothing anywhere\n"
		"      --json         with --dry-run: the plan as JSON\n"
		"      --full         force complete listings\n"
		"      --metrics-file FILE  the service writes Prometheus metrics there after each run\n"
		"  -h, --help         this help\n"
		"      --version      the version\n");
}

static int parse_args(int argc, char **argv, struct options *o)
{
	enum { OPT_CHECK = 256, OPT_ONCE, OPT_DRY, OPT_JSON, OPT_FULL, OPT_VERSION, OPT_METRICS };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, OPT_CHECK },
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "dry-run", no_argument, NULL, OPT_DRY },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "full", no_argument, NULL, OPT_FULL },
		{ "metrics-file", required_argument, NULL, OPT_METRICS },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ 0 },
	};
	int c;
	*o = (struct options){ .config = DEFAULT_CONFIG };
	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) >= 0) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case OPT_CHECK: o->check_config = true; break;
		case OPT_ONCE: o->once = true; break;
		case OPT_DRY: o->dry_run = true; break;
		case OPT_JSON: o->json = true; break;
		case OPT_FULL: o->full = true; break;
		case OPT_METRICS: o->metrics = optarg; break;
		case 'h': usage(stdout); exit(0);
		case OPT_VERSION: puts(PACKAGE_STRING); exit(0);
		default: usage(stderr); return -EINVAL;
		}
	}
	if (optind < argc || (o->dry_run && !o->once) || (o->json && !o->dry_run) ||
	    (o->full && !o->once) || (o->metrics && (o->once || o->check_config))) {
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	struct config *cfg = NULL;
	log_setup();
	if (parse_args(argc, argv, &o) < 0)
		return RUN_EXIT_USAGE;
	if (!o.once && !o.check_config)
		return service_main(&(struct service_options){ o.config, o.metrics });
	if (config_open(o.config, true, &cfg) < 0)
		return RUN_EXIT_USAGE;
	int ret = RUN_EXIT_OK;
	if (o.check_config)
		printf("%s: configuration OK\n", o.config);
	else
		ret = run_once(cfg, &(struct run_options){ .dry_run = o.dry_run, .json = o.json,
							   .full = o.full, .out = stdout });
	config_close(cfg);
	return ret;
}
